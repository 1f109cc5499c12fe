"""The pickup points a member may choose, as a message: what /retrait and a first /start show."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.common import escape
from handlers.context import DesserteContext
from handlers.i18n import _, format_time
from handlers.menu import MENU
from handlers.routes import ChoosePickupPoint
from models import PickupPoint
from models.pickup import points_for


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
