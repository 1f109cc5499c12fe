"""/retrait (/pickup): where the member collects orders; company points join by invitation."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, format_time, lazy_gettext
from handlers.menu import CATALOG, CONSUMER, MENU, Command, register_command
from models import PickupPoint
from models.errors import StaleAction
from models.pickup import choose_point, points_for


class AskPickupPoint(CallbackData, prefix="pk"):
    """The pickup points to choose from."""


class ChoosePickupPoint(CallbackData, prefix="pk:set"):
    """The member collects at ``point_id`` from now on."""

    point_id: int


PICKUP = AskPickupPoint()

COMMAND = register_command(
    Command("retrait", "pickup", lazy_gettext("Choisir votre point de retrait"), CONSUMER)
)


def point_line(point: PickupPoint) -> str:
    """ "Halle centrale — 12 rue des Carmes (17:00–19:30)"."""
    company = (
        _(" · réservé {company}").format(company=escape(point.company)) if point.company else ""
    )
    return _("<b>{name}</b>{company}\n{address} — {start}–{end}").format(
        name=escape(point.name),
        company=company,
        address=escape(point.address),
        start=format_time(point.window_start),
        end=format_time(point.window_end),
    )


async def points_message(context: DesserteContext, intro: str) -> tuple[str, InlineKeyboardMarkup]:
    """The list of points the member may choose, the current one ticked."""
    points = await points_for(context.session, context.member)
    current = context.member.pickup_point_id
    lines = [intro, ""]
    rows = []
    for point in points:
        lines.append(point_line(point))
        tick = "✅ " if point.id == current else ""
        rows.append(
            [
                InlineKeyboardButton(
                    f"{tick}{point.name}", callback_data=ChoosePickupPoint(point.id).pack()
                )
            ]
        )
    rows.append([InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


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
        _("📍 Vous retirerez vos commandes ici :\n{point}").format(point=point_line(point)),
        keyboard,
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The pickup point command and buttons."""
    return [
        CommandHandler(list(COMMAND.names), show_pickup_points),
        button(AskPickupPoint, show_pickup_points),
        button(ChoosePickupPoint, set_pickup_point),
    ]
