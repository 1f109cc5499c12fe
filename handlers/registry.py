"""All the handlers, registered in one ordered list: the map of what the bot answers."""

from __future__ import annotations

from typing import Any

from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import errors, help, language, start
from handlers.menu import MENU


def _command(names: tuple[str, ...], callback: Any) -> CommandHandler[Any, Any]:
    return CommandHandler(list(names), callback)


def build_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Every handler, in the order PTB must try them."""
    return [
        _command(("start",), start.start),
        _command(("aide", "help"), help.show_help),
        _command(("langue", "language"), language.ask_language),
        CallbackQueryHandler(start.show_menu, pattern=MENU.pattern),
        CallbackQueryHandler(help.show_help, pattern=help.HELP.pattern),
        CallbackQueryHandler(language.ask_language, pattern=language.LANGUAGE.pattern),
        CallbackQueryHandler(language.choose_language, pattern=language.SET_LANGUAGE.pattern),
        # Last: whatever nobody took gets a polite answer.
        MessageHandler(filters.COMMAND, errors.answer_unknown_command),
        CallbackQueryHandler(errors.answer_unknown_button),
    ]


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Install every handler and the error handler on ``application``."""
    application.add_handlers(build_handlers())
    application.add_error_handler(errors.report_error)
