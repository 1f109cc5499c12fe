"""/notifications: the member chooses which messages about the cycle they get.

One button per kind (ordering open, reminder before close, pickup-day reminder); a press
switches it on or off and the message is edited in place.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers.callback_data import CallbackDataError, Route
from handlers.common import answer_stale, show
from handlers.context import DesserteContext
from handlers.i18n import _, lazy_gettext
from handlers.menu import CONSUMER, MENU, Command, register_command
from models.errors import StaleAction
from models.member import NOTIFICATION_KINDS, Member
from models.notifications import toggle_notification

SHOW = Route("ntf")
TOGGLE = Route("ntf:tog", (str,))

COMMAND = register_command(
    Command(
        "notifications",
        "notifications",
        lazy_gettext("Choisir les messages que je vous envoie"),
        CONSUMER,
    )
)


def kind_label(kind: str) -> str:
    """A notification kind in words."""
    return {
        "cycle_open": _("Ouverture des commandes"),
        "close_reminder": _("Rappel avant la clôture"),
        "pickup_reminder": _("Rappel le jour du retrait"),
    }.get(kind, kind)


def notifications_text() -> str:
    """What the settings are about."""
    return "\n".join(
        [
            _("<b>Vos notifications</b>"),
            _("Touchez un message pour le recevoir (🔔) ou ne plus le recevoir (🔕)."),
        ]
    )


def notifications_keyboard(member: Member) -> InlineKeyboardMarkup:
    """One toggling button per kind, then the menu."""
    off = set(member.notifications_off or [])
    rows = [
        [
            InlineKeyboardButton(
                ("🔕 " if kind in off else "🔔 ") + kind_label(kind),
                callback_data=TOGGLE.pack(kind),
            )
        ]
        for kind in NOTIFICATION_KINDS
    ]
    rows.append([InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())])
    return InlineKeyboardMarkup(rows)


async def show_notifications(update: Update, context: DesserteContext) -> None:
    """Shows which notifications the member gets, each with its switch."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await show(update, notifications_text(), notifications_keyboard(context.member))


async def toggle(update: Update, context: DesserteContext) -> None:
    """Switches one kind on or off, in place."""
    query = update.callback_query
    assert query is not None
    try:
        (kind,) = TOGGLE.unpack(query.data)
        now_on = await toggle_notification(context.session, context.member, str(kind))
    except (CallbackDataError, StaleAction):
        await answer_stale(update)
        return
    label = kind_label(str(kind))
    await query.answer(
        (_("🔔 {kind} : activé") if now_on else _("🔕 {kind} : désactivé")).format(kind=label)
    )
    await show(update, notifications_text(), notifications_keyboard(context.member))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/notifications and its switches."""
    return [
        CommandHandler(list(COMMAND.names), show_notifications),
        CallbackQueryHandler(show_notifications, pattern=SHOW.pattern),
        CallbackQueryHandler(toggle, pattern=TOGGLE.pattern),
    ]
