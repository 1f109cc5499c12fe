"""All the handlers, registered in one ordered list: the map of what the bot answers.

Each feature module exposes ``handlers() -> list[BaseHandler]``; :data:`FEATURES` orders them.
Order matters where patterns overlap: commands and buttons first, free text last, then the
polite fallbacks for whatever nobody took.
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
    notification_settings,
    orders,
    pickup_choice,
    pickup_day,
    producer_join,
    purchase_orders,
    report,
    shortage,
    start,
    stock_messages,
)
from handlers.buttons import button
from handlers.menu import OpenMenu
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
]
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
