"""All the handlers, registered in one ordered list: the map of what the bot answers.

Each feature module exposes ``handlers() -> list[BaseHandler]``; :data:`FEATURES` orders them.
Order matters where patterns overlap: commands and buttons first, free text last, then the
polite fallbacks for whatever nobody took. :data:`COMMAND_MENU` orders the commands as help and
Telegram's menu list them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import (
    basket,
    broadcast,
    catalog,
    cycle_admin,
    error_reporting,
    export,
    free_text,
    help,
    language,
    menu,
    notification_settings,
    orders,
    pickup_choice,
    pickup_day,
    producer_join,
    purchase_orders,
    report,
    rounds,
    shortage,
    start,
    stock_messages,
)
from handlers.buttons import button
from handlers.menu import Command, OpenMenu
from handlers.routes import AskLanguage, OpenHelp

# Feature modules, in the order PTB must try them (each has ``handlers()``).
FEATURES: list[ModuleType] = [
    # Admin conversations first: the admin's text must reach them before any free-text handler.
    broadcast,
    report,
    export,
    catalog,
    basket,
    orders,
    pickup_choice,
    producer_join,
    stock_messages,
    shortage,
    purchase_orders,
    cycle_admin,
    notification_settings,
    pickup_day,
    rounds,
]
# The command menu, in the order help and Telegram's menu show it (each list is per role).
COMMAND_MENU: list[Command] = [
    menu.START_COMMAND,
    menu.HELP_COMMAND,
    menu.LANGUAGE_COMMAND,
    basket.COMMAND,
    basket.REORDER_COMMAND,
    broadcast.COMMAND,
    catalog.COMMAND,
    menu.SHORTAGE_COMMAND,
    menu.STOCK_COMMAND,
    menu.MY_PRODUCTS_COMMAND,
    stock_messages.UNDO_COMMAND,
    stock_messages.PRICES_COMMAND,
    cycle_admin.CYCLE_COMMAND,
    cycle_admin.NEW_CYCLE_COMMAND,
    export.COMMAND,
    notification_settings.COMMAND,
    orders.COMMAND,
    pickup_choice.COMMAND,
    pickup_day.PICKUPS_COMMAND,
    pickup_day.INVITE_COMMAND,
    producer_join.INVITE_COMMAND,
    rounds.INVITE_DRIVER_COMMAND,
    report.COMMAND,
]
menu.use_commands(COMMAND_MENU)
# Last of all: plain text (stock messages, then search), edits and other message kinds.
LAST_FEATURES: list[ModuleType] = [free_text]


def _core() -> list[BaseHandler[Any, Any, Any]]:
    return [
        CommandHandler("start", start.start),
        CommandHandler(["aide", "help"], help.show_help),
        CommandHandler(["langue", "language"], language.ask_language),
        button(OpenMenu, start.show_menu),
        button(OpenHelp, help.show_help),
        button(AskLanguage, language.ask_language),
        button(language.SetLanguage, language.choose_language),
    ]


def _fallbacks() -> list[BaseHandler[Any, Any, Any]]:
    return [
        MessageHandler(filters.COMMAND, error_reporting.answer_unknown_command),
        CallbackQueryHandler(error_reporting.answer_unknown_button),
    ]


def build_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Every handler, in the order PTB must try them."""
    ordered = _core()
    for feature in [*FEATURES, *LAST_FEATURES]:
        ordered.extend(feature.handlers())
    return ordered + _fallbacks()


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Install every handler and the error handler on ``application``."""
    application.add_handlers(build_handlers())
    application.add_error_handler(error_reporting.report_error)
