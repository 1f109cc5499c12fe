"""All the handlers, registered in one ordered list: the map of what the bot answers.

Each feature module exposes ``handlers() -> list[BaseHandler]``; :data:`FEATURES` orders them.
Order matters where patterns overlap: commands and buttons first, free text last, then the
polite fallbacks for whatever nobody took. :data:`COMMAND_MENU` orders the commands as help and
Telegram's menu list them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from telegram import Update
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
    card_stories,
    catalog,
    chat_status,
    cycle_admin,
    error_reporting,
    events,
    export,
    free_text,
    help,
    kitchen,
    language,
    members_admin,
    menu,
    notification_settings,
    orders,
    payments,
    phone,
    pickup_choice,
    pickup_day,
    producer_join,
    purchase_orders,
    report,
    rounds,
    shortage,
    start,
    statements,
    stock_messages,
    weighing,
)
from handlers.buttons import button
from handlers.context import DesserteContext
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
    payments,
    pickup_choice,
    phone,
    producer_join,
    stock_messages,
    card_stories,
    shortage,
    purchase_orders,
    kitchen,
    cycle_admin,
    notification_settings,
    pickup_day,
    events,
    chat_status,
    rounds,
    weighing,
    statements,
    members_admin,
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
    weighing.COMMAND,
    stock_messages.UNDO_COMMAND,
    stock_messages.PRICES_COMMAND,
    card_stories.STORY_COMMAND,
    card_stories.TIP_COMMAND,
    cycle_admin.CYCLE_COMMAND,
    cycle_admin.NEW_CYCLE_COMMAND,
    export.COMMAND,
    notification_settings.COMMAND,
    orders.COMMAND,
    payments.BALANCE_COMMAND,
    payments.PAY_COMMAND,
    payments.CREDIT_COMMAND,
    payments.UNPAID_COMMAND,
    pickup_choice.COMMAND,
    pickup_day.PICKUPS_COMMAND,
    pickup_day.INVITE_COMMAND,
    producer_join.INVITE_COMMAND,
    rounds.INVITE_DRIVER_COMMAND,
    report.COMMAND,
    statements.COMMAND,
    events.COMMAND,
    members_admin.COMMAND,
    members_admin.MAXIMUM_COMMAND,
]
menu.use_commands(COMMAND_MENU)
# Last of all: plain text (stock messages, then search), edits and other message kinds.
LAST_FEATURES: list[ModuleType] = [free_text]


PRODUCER_INVITATION = "f-"
"""The deep-link prefix of a producer's single-use invitation (``/start f-CODE``)."""
DRIVER_INVITATION = "d-"
"""The deep-link prefix of a driver's single-use invitation (``/start d-CODE``)."""


async def start_or_join(update: Update, context: DesserteContext) -> None:
    """/start: a producer's or a driver's invitation goes to its feature, the rest (company
    pickup point invitations included) to the greeting."""
    payload = " ".join(context.args or []).strip()
    if payload.startswith(PRODUCER_INVITATION) and await producer_join.handle_producer_invitation(
        update, context, payload[len(PRODUCER_INVITATION) :]
    ):
        return
    if payload.startswith(DRIVER_INVITATION) and await rounds.handle_driver_invitation(
        update, context, payload[len(DRIVER_INVITATION) :]
    ):
        return
    await start.start(update, context)


def _core() -> list[BaseHandler[Any, Any, Any]]:
    return [
        CommandHandler("start", start_or_join),
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
    # Seen first, each in its own group (one handler per group answers an update): they let
    # the update go on to the handlers below, except what they take — the text of a broadcast
    # being written, the number typed after "how many?", a search in a pickup list.
    application.add_handlers(broadcast.early_handlers(), group=-3)
    application.add_handlers(basket.early_handlers(), group=-2)
    application.add_handlers(pickup_day.early_handlers(), group=-1)
    application.add_handlers(build_handlers())
    application.add_error_handler(error_reporting.report_error)
