"""/notifications: the member chooses which messages about the cycle they get.

One button per kind (ordering open, reminder before close, pickup-day reminder); a press
switches it on or off and the message is edited in place.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import show, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, lazy_gettext
from handlers.menu import CONSUMER, MENU, Command
from models.audiences import set_notification
from models.errors import StaleAction
from models.member import NOTIFICATION_KINDS, Member


class ShowNotifications(CallbackData, prefix="ntf"):
    """The member's notification switches."""


class SetNotification(CallbackData, prefix="ntf:set"):
    """Turns the member's notifications of ``kind`` on (``on`` 1) or off (0): the state the
    button was shown to set, so that a double tap does not undo the first."""

    kind: str
    on: int

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in NOTIFICATION_KINDS:
            raise ValueError(f"ntf:set: {self.kind!r} is not a notification kind")


COMMAND = Command(
    "notifications",
    "notifications",
    lazy_gettext("Choisir les messages que je vous envoie"),
    CONSUMER,
)


def kind_label(kind: str) -> str:
    """A notification kind in words."""
    return {
        "cycle_open": _("Ouverture des commandes"),
        "close_reminder": _("Rappel avant la clôture"),
        "pickup_reminder": _("Rappel le jour du retrait"),
        "events": _("Invitations aux rencontres (dégustations, visites)"),
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
    """One switch per kind (it sets the other state), then the menu."""
    off = set(member.notifications_off or [])
    rows = [
        [
            InlineKeyboardButton(
                ("🔕 " if kind in off else "🔔 ") + kind_label(kind),
                callback_data=SetNotification(kind, 1 if kind in off else 0).pack(),
            )
        ]
        for kind in NOTIFICATION_KINDS
    ]
    rows.append([InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())])
    return InlineKeyboardMarkup(rows)


async def show_notifications(update: Update, context: DesserteContext) -> None:
    """Shows which notifications the member gets, each with its switch."""
    await show(update, notifications_text(), notifications_keyboard(context.member))


async def switch(update: Update, context: DesserteContext, data: SetNotification) -> None:
    """Switches one kind on or off, in place; the message says which way it went."""
    try:
        now_on = await set_notification(context.session, context.member, data.kind, bool(data.on))
    except StaleAction:
        await tell_stale(update)
        return
    label = kind_label(data.kind)
    notice = (_("🔔 {kind} : activé") if now_on else _("🔕 {kind} : désactivé")).format(kind=label)
    text = f"{notice}\n\n{notifications_text()}"
    await show(update, text, notifications_keyboard(context.member))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/notifications and its switches."""
    return [
        CommandHandler(list(COMMAND.names), show_notifications),
        button(ShowNotifications, show_notifications),
        button(SetNotification, switch),
    ]
