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
    aliases: tuple[str, ...] = ()
    """Older or longer names the command still answers to (never shown)."""

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the command answers to, whatever the member's language."""
        return tuple(dict.fromkeys((self.fr, self.en, *self.aliases)))

    @property
    def producer_tool(self) -> bool:
        """Whether this is one of a producer's own tools (not a command everyone has)."""
        return "producer" in self.roles and "consumer" not in self.roles

    def localized_name(self, locale: str | None = None) -> str:
        """The name shown to a member speaking ``locale``."""
        return self.en if (locale or current_locale()) == "en" else self.fr


EVERYONE = frozenset({"consumer", "producer", "admin"})
CONSUMER = frozenset({"consumer"})
PRODUCER = frozenset({"producer"})
ADMIN = frozenset({"admin"})

COMMANDS: list[Command] = [
    Command("start", "start", lazy_gettext("Accueil et menu"), EVERYONE),
    Command("aide", "help", lazy_gettext("Ce que je sais faire"), EVERYONE),
    Command("langue", "language", lazy_gettext("Changer de langue"), EVERYONE),
]


def register_command(command: Command) -> Command:
    """Add a feature's command to the menu (features call it at import time)."""
    if all(existing.fr != command.fr for existing in COMMANDS):
        COMMANDS.append(command)
    return command


def commands_for(roles: Iterable[str]) -> list[Command]:
    """The commands visible to a member with ``roles``: a producer's own tools first."""
    wanted = set(roles)
    visible = [command for command in COMMANDS if command.roles & wanted]
    return sorted(visible, key=lambda command: not command.producer_tool)


def bot_commands(locale: str) -> list[BotCommand]:
    """The menu Telegram shows to consumers speaking ``locale`` (setMyCommands)."""
    with use_locale(locale):
        return [
            BotCommand(command.localized_name(locale), str(command.description))
            for command in commands_for(CONSUMER)
        ]
