"""The pickup points a member may choose, as a message: what /retrait and a first /start show."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.common import escape
from handlers.context import DesserteContext
from handlers.i18n import _, format_date, format_time
from handlers.menu import MENU
from handlers.routes import ASK_PHONE, ChoosePickupPoint
from models import PickupPoint
from models.cycles import next_cycle, open_cycle
from models.pickup import points_for


def point_line(point: PickupPoint, day: str | None = None) -> str:
    """ "Halle centrale — 12 rue des Carmes — jeudi 10 décembre, 17:00–19:30" (without the day
    when none is given)."""
    company = (
        _(" · réservé {company}").format(company=escape(point.company)) if point.company else ""
    )
    hours = _("{start}–{end}").format(
        start=format_time(point.window_start), end=format_time(point.window_end)
    )
    if day is not None:
        hours = _("{day}, {hours}").format(day=day, hours=hours)
    return _("<b>{name}</b>{company}\n{address} — {hours}").format(
        name=escape(point.name), company=company, address=escape(point.address), hours=hours
    )


async def pickup_day(context: DesserteContext) -> str | None:
    """The coming pickup day ("jeudi 10 décembre"): the open cycle's, else the next planned
    one's; None when no cycle is open or planned."""
    cycle = await open_cycle(context.session) or await next_cycle(
        context.session, context.services.now()
    )
    if cycle is None:
        return None
    return format_date(cycle.pickup_starts_at.astimezone(context.services.timezone))


async def points_message(context: DesserteContext, intro: str) -> tuple[str, InlineKeyboardMarkup]:
    """The list of points the member may choose (with the coming pickup day and each point's
    hours), the current one ticked; a button to share a phone number while none is known."""
    day = await pickup_day(context)
    points = await points_for(context.session, context.member)
    current = context.member.pickup_point_id
    lines = [intro, ""]
    rows = []
    for point in points:
        lines.append(point_line(point, day))
        tick = "✅ " if point.id == current else ""
        rows.append(
            [
                InlineKeyboardButton(
                    f"{tick}{point.name}", callback_data=ChoosePickupPoint(point.id).pack()
                )
            ]
        )
    if context.member.phone is None:
        rows.append(
            [InlineKeyboardButton(_("📱 Partager mon numéro"), callback_data=ASK_PHONE.pack())]
        )
    rows.append([InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())])
    return "\n".join(lines), InlineKeyboardMarkup(rows)
