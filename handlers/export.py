"""/exporter (/export): the cycle's orders as CSV or XLSX, and the printable pickup lists (PDF).

The documents are rendered by :func:`orders_document` and :func:`pickup_document`, which the
command line (``desserte export``) uses too, so the bot and the terminal give the same files.
"""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.documents.pickup_list import pickup_lists_pdf
from handlers.documents.spreadsheet import orders_csv, orders_xlsx, pickup_lists_csv
from handlers.i18n import _, format_date, lazy_gettext
from handlers.menu import ADMIN, Command
from handlers.pages import choice_rows
from models import Cycle
from models.errors import NoOpenCycle, StaleAction
from models.exports import order_lines, pickup_lists, totals
from models.pickup import active_points
from models.reports import find_cycle, recent_cycles

COMMAND = Command(
    "exporter", "export", lazy_gettext("Commandes et listes de retrait en fichiers"), ADMIN
)


class ExportsOf(CallbackData, prefix="exp:of"):
    """The exports of one cycle, chosen among the last few."""

    cycle_id: int


class ExportCsv(CallbackData, prefix="exp:csv"):
    """The cycle's orders as a CSV document."""

    cycle_id: int


class ExportXlsx(ExportCsv, prefix="exp:xlsx"):
    """The cycle's orders as an XLSX document."""


class ExportPickupList(CallbackData, prefix="exp:pdf"):
    """The printable pickup list of one point (``point_id`` 0: of every point), as a PDF."""

    cycle_id: int
    point_id: int


class ExportPickupCsv(CallbackData, prefix="exp:pcsv"):
    """The pickup lists of every point as CSV, one row per order with what it still owes."""

    cycle_id: int


FORMATS = ("csv", "xlsx")
CHOICES = 6


def _day(cycle: Cycle, timezone: ZoneInfo) -> str:
    return cycle.pickup_starts_at.astimezone(timezone).date().isoformat()


async def orders_document(
    session: AsyncSession, cycle: Cycle, file_format: str, timezone: ZoneInfo
) -> tuple[str, bytes]:
    """(file name, content) of the cycle's orders as ``csv`` or ``xlsx``, in the current
    locale."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown export format {file_format!r}")
    lines = await order_lines(session, cycle.id)
    name = _("commandes-{day}").format(day=_day(cycle, timezone))
    if file_format == "csv":
        return f"{name}.csv", orders_csv(lines, timezone)
    title = _("Commandes du cycle du {day}").format(
        day=format_date(cycle.pickup_starts_at.astimezone(timezone))
    )
    return f"{name}.xlsx", orders_xlsx(lines, totals(lines), title, timezone)


async def pickup_document(
    session: AsyncSession,
    cycle: Cycle,
    point_slug: str | None,
    network: str,
    timezone: ZoneInfo,
) -> tuple[str, bytes]:
    """(file name, PDF) of the pickup lists of every point with orders, or of one point."""
    lists = await pickup_lists(session, cycle, point_slug)
    name = _("retraits-{day}").format(day=_day(cycle, timezone))
    if point_slug is not None:
        name = f"{name}-{point_slug}"
    # fpdf2 is pure Python and a long list takes a moment: render off the event loop.
    content = await asyncio.to_thread(pickup_lists_pdf, lists, network, timezone)
    return f"{name}.pdf", content


async def pickup_csv_document(
    session: AsyncSession, cycle: Cycle, point_slug: str | None, timezone: ZoneInfo
) -> tuple[str, bytes]:
    """(file name, CSV) of the pickup lists (every point, or one), one row per order with what
    it still owes."""
    lists = await pickup_lists(session, cycle, point_slug)
    name = _("retraits-{day}").format(day=_day(cycle, timezone))
    if point_slug is not None:
        name = f"{name}-{point_slug}"
    return f"{name}.csv", pickup_lists_csv(lists)


async def show_exports(update: Update, context: DesserteContext) -> None:
    """The exports of the cycle to be collected next, one button per file."""
    if not await admin_or_refuse(update, context):
        return
    try:
        cycle = await find_cycle(context.session, None)
    except NoOpenCycle:
        await show(update, _("Aucun cycle à exporter pour l’instant."))
        return
    await show_menu(update, context, cycle)


async def show_exports_of(update: Update, context: DesserteContext, data: ExportsOf) -> None:
    """The exports of the cycle the admin chose, in place."""
    try:
        cycle = await find_cycle(context.session, data.cycle_id)
    except StaleAction:
        await tell_stale(update)
        return
    await show_menu(update, context, cycle)


async def show_menu(update: Update, context: DesserteContext, cycle: Cycle) -> None:
    """A button per file of ``cycle``, then a button per recent cycle to export another."""
    tz = context.services.timezone
    points = await active_points(context.session)
    recent = await recent_cycles(context.session, CHOICES)
    rows = [
        [
            InlineKeyboardButton(_("📄 Commandes (CSV)"), callback_data=ExportCsv(cycle.id).pack()),
            InlineKeyboardButton(
                _("📊 Commandes (XLSX)"), callback_data=ExportXlsx(cycle.id).pack()
            ),
        ],
        [
            InlineKeyboardButton(
                _("🖨 Listes de retrait (tous les points)"),
                callback_data=ExportPickupList(cycle.id, 0).pack(),
            ),
            InlineKeyboardButton(
                _("📋 Listes de retrait (tableur)"), callback_data=ExportPickupCsv(cycle.id).pack()
            ),
        ],
    ]
    rows += [
        [
            InlineKeyboardButton(
                _("🖨 {point}").format(point=point.name),
                callback_data=ExportPickupList(cycle.id, point.id).pack(),
            )
        ]
        for point in points
    ]

    def label(other: Cycle) -> str:
        return format_date(other.pickup_starts_at.astimezone(tz))

    rows += choice_rows([(label(c), ExportsOf(c.id)) for c in recent], label(cycle), per_row=2)
    day = label(cycle)
    await show(
        update,
        _("🗂 <b>Exports — cycle du {day}</b>\nQuel fichier voulez-vous ?").format(day=escape(day)),
        InlineKeyboardMarkup(rows),
    )


async def send_orders(update: Update, context: DesserteContext, data: ExportCsv) -> None:
    """Sends the cycle's orders as a CSV or XLSX document."""
    try:
        cycle = await find_cycle(context.session, data.cycle_id)
    except StaleAction:
        await tell_stale(update)
        return
    file_format = "xlsx" if isinstance(data, ExportXlsx) else "csv"
    name, content = await orders_document(
        context.session, cycle, file_format, context.services.timezone
    )
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(content, filename=name, caption=name)


async def send_pickup_list(
    update: Update, context: DesserteContext, data: ExportPickupList
) -> None:
    """Sends the printable pickup list of one point, or of every point, as a PDF."""
    try:
        cycle = await find_cycle(context.session, data.cycle_id)
        slug = None
        if data.point_id:
            points = {p.id: p.slug for p in await active_points(context.session)}
            if data.point_id not in points:
                raise StaleAction(point_id=data.point_id)
            slug = points[data.point_id]
    except StaleAction:
        await tell_stale(update)
        return
    name, content = await pickup_document(
        context.session, cycle, slug, context.services.network_name, context.services.timezone
    )
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(content, filename=name, caption=name)


async def send_pickup_csv(update: Update, context: DesserteContext, data: ExportPickupCsv) -> None:
    """Sends the pickup lists of every point as CSV (what each order still owes)."""
    try:
        cycle = await find_cycle(context.session, data.cycle_id)
    except StaleAction:
        await tell_stale(update)
        return
    name, content = await pickup_csv_document(
        context.session, cycle, None, context.services.timezone
    )
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(content, filename=name, caption=name)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/exporter, /export and their buttons."""
    return [
        CommandHandler(list(COMMAND.names), show_exports),
        button(ExportsOf, show_exports_of, admin=True),
        button(ExportCsv, send_orders, admin=True),
        button(ExportXlsx, send_orders, admin=True),
        button(ExportPickupList, send_pickup_list, admin=True),
        button(ExportPickupCsv, send_pickup_csv, admin=True),
    ]
