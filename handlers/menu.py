"""The bot's commands: their French and English names, who sees them, and the menu per locale."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from babel.support import LazyProxy
from telegram import BotCommand

from handlers.callback_data import CallbackData
from handlers.i18n import current_locale, lazy_gettext, use_locale


class OpenMenu(CallbackData, prefix="menu"):
    """The main menu."""


# Navigation routes several features link to (their handlers live in catalog.py and basket.py).
class OpenCatalog(CallbackData, prefix="cat"):
    """The open cycle's categories."""


class OpenBasket(CallbackData, prefix="bsk"):
    """The basket of the open cycle."""


MENU = OpenMenu()
CATALOG = OpenCatalog()
BASKET = OpenBasket()


@dataclass(frozen=True)
class Command:
    """A command with its name per locale, its description and the roles that see it."""

    fr: str
    en: str
    description: LazyProxy
    roles: frozenset[str]

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the command answers to, whatever the member's language."""
        return (self.fr,) if self.fr == self.en else (self.fr, self.en)

    def localized_name(self, locale: str | None = None) -> str:
        """The name shown to a member speaking ``locale``."""
        return self.en if (locale or current_locale()) == "en" else self.fr


EVERYONE = frozenset({"consumer", "producer", "admin"})
CONSUMER = frozenset({"consumer"})
PRODUCER = frozenset({"producer"})
ADMIN = frozenset({"admin"})

START_COMMAND = Command("start", "start", lazy_gettext("Accueil et menu"), EVERYONE)
HELP_COMMAND = Command("aide", "help", lazy_gettext("Ce que je sais faire"), EVERYONE)
LANGUAGE_COMMAND = Command("langue", "language", lazy_gettext("Changer de langue"), EVERYONE)
COMMANDS: list[Command] = [START_COMMAND, HELP_COMMAND, LANGUAGE_COMMAND]


def register_command(command: Command) -> Command:
    """Add a feature's command to the menu (features call it at import time)."""
    if all(existing.fr != command.fr for existing in COMMANDS):
        COMMANDS.append(command)
    return command


def commands_for(roles: Iterable[str]) -> list[Command]:
    """The commands visible to a member with ``roles``."""
    wanted = set(roles)
    return [command for command in COMMANDS if command.roles & wanted]


def bot_commands(locale: str) -> list[BotCommand]:
    """The menu Telegram shows to consumers speaking ``locale`` (setMyCommands)."""
    with use_locale(locale):
        return [
            BotCommand(command.localized_name(locale), str(command.description))
            for command in commands_for(CONSUMER)
        ]
