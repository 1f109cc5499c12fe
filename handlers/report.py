"""/rapport (/report): the cycle's figures for admins, and the chart of the last 12 cycles."""

from __future__ import annotations

import asyncio
from typing import Any

from babel.support import LazyProxy
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.common import escape
from handlers.context import DesserteContext
from handlers.documents.chart import revenue_chart
from handlers.i18n import (
    _,
    format_date,
    format_percent,
    format_price,
    format_quantity,
    lazy_gettext,
    ngettext,
)
from handlers.menu import ADMIN, Command
from handlers.pages import split_html
from handlers.units import amount_phrase
from models import CycleState
from models.errors import NoOpenCycle
from models.reports import CycleReport, cycle_report, find_cycle, history

COMMAND = Command("rapport", "report", lazy_gettext("Chiffres du cycle et tendances"), ADMIN)
CHART_CYCLES = 12

STATES: dict[CycleState, LazyProxy] = {
    CycleState.PLANNED: lazy_gettext("à venir"),
    CycleState.OPEN: lazy_gettext("ouvert"),
    CycleState.CLOSED: lazy_gettext("clos"),
    CycleState.DELIVERED: lazy_gettext("livré"),
}


def _trend(revenue: float | None, basket: float | None) -> str:
    if revenue is None and basket is None:
        return _("pas de cycle à comparer")
    return _("chiffre d’affaires {revenue}, panier moyen {basket}").format(
        revenue=format_percent(revenue) if revenue is not None else "—",
        basket=format_percent(basket) if basket is not None else "—",
    )


def orders_text(count: int) -> str:
    """ "12 commandes"."""
    return ngettext("{count} commande", "{count} commandes", count).format(
        count=format_quantity(count)
    )


def report_text(context: DesserteContext, report: CycleReport) -> list[str]:
    """The report as HTML messages (one, unless the network is very large)."""
    cycle, figures = report.cycle, report.figures
    day = format_date(cycle.pickup_starts_at.astimezone(context.services.timezone))
    lines = [
        _("📊 <b>Rapport — cycle du {day}</b> ({state})").format(
            day=day, state=STATES[cycle.state]
        ),
        "",
        _("Commandes : {count}").format(count=format_quantity(figures.orders)),
        _("Chiffre d’affaires : {amount}").format(amount=format_price(figures.revenue_cents)),
        _("Panier moyen : {amount}").format(amount=format_price(figures.average_basket_cents)),
        _("Sur une semaine : {trend}").format(
            trend=_trend(report.revenue_vs_week, report.basket_vs_week)
        ),
        _("Sur un an : {trend}").format(
            trend=_trend(report.revenue_vs_year, report.basket_vs_year)
        ),
    ]
    if report.top_products:
        lines += ["", _("<b>Meilleures ventes</b>")]
        for rank, product in enumerate(report.top_products, start=1):
            lines.append(
                _("{rank}. {product} ({producer}) — {quantity} — {amount}").format(
                    rank=rank,
                    product=escape(product.name),
                    producer=escape(product.producer),
                    quantity=escape(amount_phrase(product.quantity, product.sale_unit)),
                    amount=format_price(product.revenue_cents),
                )
            )
    for title, groups in (
        (_("<b>Par producteur</b>"), report.producers),
        (_("<b>Par point de retrait</b>"), report.pickup_points),
    ):
        if groups:
            lines += ["", title]
            for group in groups:
                lines.append(
                    _("• {name} — {orders} — {amount}").format(
                        name=escape(group.name),
                        orders=orders_text(group.orders),
                        amount=format_price(group.revenue_cents),
                    )
                )
    return split_html(lines)


async def show_report(update: Update, context: DesserteContext) -> None:
    """Sends the report of the open (or last closed) cycle, then its 12-cycle chart."""
    if not await admin_or_refuse(update, context):
        return
    message = update.effective_message
    assert message is not None
    try:
        cycle = await find_cycle(context.session, None)
    except NoOpenCycle:
        await message.reply_text(_("Aucun cycle à présenter pour l’instant."))
        return
    report = await cycle_report(context.session, cycle)
    past = await history(context.session, cycle, CHART_CYCLES)
    await context.session.commit()
    for text in report_text(context, report):
        await message.reply_text(text, parse_mode=ParseMode.HTML)
    # matplotlib takes a moment: draw off the event loop (the locale follows the context).
    png = await asyncio.to_thread(revenue_chart, past, context.services.timezone)
    await message.reply_photo(
        png,
        caption=_("Chiffre d’affaires et panier moyen des {count} derniers cycles.").format(
            count=len(past)
        ),
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/rapport and /report."""
    return [CommandHandler(list(COMMAND.names), show_report)]
