"""The bot's commands: their French and English names, who sees them, and the menu per locale."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from babel.support import LazyProxy
from telegram import BotCommand

from handlers.callback_data import CallbackData
from handlers.i18n import _, current_locale, lazy_gettext, use_locale


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

START_COMMAND = Command("start", "start", lazy_gettext("Accueil et menu"), EVERYONE)
HELP_COMMAND = Command("aide", "help", lazy_gettext("Ce que je sais faire"), EVERYONE)
LANGUAGE_COMMAND = Command("langue", "language", lazy_gettext("Changer de langue"), EVERYONE)
# Commands another feature names in its texts (the producer's welcome, the small talk).
BASKET_COMMAND = Command("panier", "basket", lazy_gettext("Votre panier"), CONSUMER)
CATALOG_COMMAND = Command(
    "catalogue", "catalog", lazy_gettext("Les produits de la semaine"), CONSUMER
)
STOCK_COMMAND = Command("stock", "stock", lazy_gettext("Donner mon stock de la semaine"), PRODUCER)
MY_PRODUCTS_COMMAND = Command(
    "produits",
    "products",
    lazy_gettext("Mon offre et ce qui est commandé"),
    PRODUCER,
    aliases=("mes_produits", "my_products"),
)
SHORTAGE_COMMAND = Command(
    "manque", "shortage", lazy_gettext("Signaler un manque (moins que vendu)"), PRODUCER
)

COMMANDS: list[Command] = []
"""The command menu, in order: ``handlers.registry.COMMAND_MENU``, installed by
:func:`use_commands` when the registry is imported."""


def use_commands(commands: Iterable[Command]) -> None:
    """Make ``commands`` the menu (help and Telegram's command list), in their order."""
    COMMANDS[:] = list(commands)


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


def producer_tools_lines(tools: list[Command] | None = None) -> list[str]:
    """A producer's tools, first of what they see: a heading, one line per command, and how
    to give stock without any command."""
    if tools is None:
        tools = [command for command in commands_for(PRODUCER) if command.producer_tool]
    return [
        _("<b>Vos outils de producteur</b>"),
        *(f"/{command.localized_name()} — {command.description}" for command in tools),
        _("Ou écrivez simplement votre stock : « tomates 12 kg, plus de radis »."),
    ]
