"""/retrait (/pickup): where the member collects orders; company points join by invitation."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.buttons import button
from handlers.common import show, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, lazy_gettext
from handlers.menu import CATALOG, CONSUMER, MENU, Command
from handlers.pickup_points import pickup_day, point_line, points_message
from handlers.routes import AskPickupPoint, ChoosePickupPoint
from models.errors import StaleAction
from models.pickup import choose_point

COMMAND = Command("retrait", "pickup", lazy_gettext("Choisir votre point de retrait"), CONSUMER)


async def ask_pickup_point(
    update: Update, context: DesserteContext, intro: str | None = None
) -> None:
    """Lists the pickup points (address and window) with a button each."""
    text, keyboard = await points_message(
        context, intro or _("<b>Où voulez-vous retirer vos commandes ?</b>")
    )
    await show(update, text, keyboard)


async def show_pickup_points(update: Update, context: DesserteContext) -> None:
    """/retrait: the pickup points to choose from."""
    await ask_pickup_point(update, context)


async def set_pickup_point(
    update: Update, context: DesserteContext, data: ChoosePickupPoint
) -> None:
    """Stores the chosen point and confirms it in place."""
    try:
        point = await choose_point(context.session, context.member, data.point_id)
    except StaleAction:
        await tell_stale(update)
        return
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("🛍 Voir le catalogue"), callback_data=CATALOG.pack())],
            [InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())],
        ]
    )
    await show(
        update,
        _("📍 Vous retirerez vos commandes ici :\n{point}").format(
            point=point_line(point, await pickup_day(context))
        ),
        keyboard,
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The pickup point command and buttons."""
    return [
        CommandHandler(list(COMMAND.names), show_pickup_points),
        button(AskPickupPoint, show_pickup_points),
        button(ChoosePickupPoint, set_pickup_point),
    ]
