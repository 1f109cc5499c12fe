"""/rapport (/report): a cycle's figures for admins, and the chart of the last 12 cycles.

The report is about the cycle to be collected next (:func:`models.reports.report_cycle`);
buttons under it show one of the last few cycles instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from babel.support import LazyProxy
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.documents.chart import revenue_chart
from handlers.i18n import (
    _,
    format_date,
    format_percent,
    format_price,
    format_quantity,
    format_share,
    lazy_gettext,
    ngettext,
)
from handlers.menu import ADMIN, Command
from handlers.pages import choice_rows, show_texts, split_html
from handlers.units import amount_phrase
from models import Cycle, CycleState
from models.errors import NoOpenCycle, StaleAction
from models.reports import (
    CycleReport,
    GroupFigure,
    cycle_report,
    find_cycle,
    history,
    recent_cycles,
)

COMMAND = Command("rapport", "report", lazy_gettext("Chiffres du cycle et tendances"), ADMIN)
CHART_CYCLES = 12
CHOICES = 6


class ReportOf(CallbackData, prefix="rep"):
    """The report of one cycle, chosen among the last few."""

    cycle_id: int


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


def _group_line(group: GroupFigure) -> str:
    line = _("• {name} — {orders} — {amount}").format(
        name=escape(group.name),
        orders=orders_text(group.orders),
        amount=format_price(group.revenue_cents),
    )
    if group.fill_rate is None:
        return line
    return _("{line} — offre vendue à {share}").format(
        line=line, share=format_share(group.fill_rate)
    )


def report_text(context: DesserteContext, report: CycleReport) -> list[str]:
    """The report as HTML messages (one, unless the network is very large)."""
    cycle, figures = report.cycle, report.figures
    tz = context.services.timezone
    day = format_date(cycle.pickup_starts_at.astimezone(tz))
    if report.previous is None:
        against_previous = _("Par rapport au cycle précédent : {trend}").format(
            trend=_trend(None, None)
        )
    else:
        against_previous = _("Par rapport au cycle du {day} : {trend}").format(
            day=format_date(report.previous.pickup_starts_at.astimezone(tz)),
            trend=_trend(report.revenue_vs_previous, report.basket_vs_previous),
        )
    lines = [
        _("📊 <b>Rapport — cycle du {day}</b> ({state})").format(
            day=day, state=STATES[cycle.state]
        ),
        "",
        _("Commandes : {count}").format(count=format_quantity(figures.orders)),
        _("Chiffre d’affaires : {amount}").format(amount=format_price(figures.revenue_cents)),
        _("Panier moyen : {amount}").format(amount=format_price(figures.average_basket_cents)),
        against_previous,
        _("Sur un an : {trend}").format(
            trend=_trend(report.revenue_vs_year, report.basket_vs_year)
        ),
    ]
    if report.to_weigh:
        lines.append(
            ngettext(
                "≈ {count} produit vendu au poids pas encore pesé : son montant est estimé.",
                "≈ {count} produits vendus au poids pas encore pesés : leurs montants sont estimés.",
                report.to_weigh,
            ).format(count=report.to_weigh)
        )
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
            lines += [_group_line(group) for group in groups]
    return split_html(lines)


def chart_caption(cycles: int) -> str:
    """What the chart shows: "… des 3 derniers cycles", "… du dernier cycle"."""
    return ngettext(
        "Chiffre d’affaires et panier moyen du dernier cycle.",
        "Chiffre d’affaires et panier moyen des {count} derniers cycles.",
        cycles,
    ).format(count=cycles)


def cycle_choices(
    context: DesserteContext, cycles: list[Cycle], chosen: Cycle
) -> InlineKeyboardMarkup:
    """A button per recent cycle (its pickup day), the one shown marked."""
    tz = context.services.timezone

    def label(cycle: Cycle) -> str:
        return format_date(cycle.pickup_starts_at.astimezone(tz))

    return InlineKeyboardMarkup(
        choice_rows([(label(c), ReportOf(c.id)) for c in cycles], label(chosen), per_row=2)
    )


async def send_report(update: Update, context: DesserteContext, cycle: Cycle) -> None:
    """Shows the report of ``cycle`` with the choice of another recent cycle under it, then
    sends its chart."""
    report = await cycle_report(context.session, cycle)
    past = await history(context.session, cycle, CHART_CYCLES)
    recent = await recent_cycles(context.session, CHOICES)
    await context.session.commit()
    await show_texts(update, report_text(context, report), cycle_choices(context, recent, cycle))
    # matplotlib takes a moment: draw off the event loop (the locale follows the context).
    png = await asyncio.to_thread(revenue_chart, past, context.services.timezone)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_photo(png, caption=chart_caption(len(past)))


async def show_report(update: Update, context: DesserteContext) -> None:
    """Sends the report of the cycle to be collected next, then its 12-cycle chart."""
    if not await admin_or_refuse(update, context):
        return
    try:
        cycle = await find_cycle(context.session, None)
    except NoOpenCycle:
        await show(update, _("Aucun cycle à présenter pour l’instant."))
        return
    await send_report(update, context, cycle)


async def show_report_of(update: Update, context: DesserteContext, data: ReportOf) -> None:
    """The report of the cycle the admin chose, in place, then its chart."""
    try:
        cycle = await find_cycle(context.session, data.cycle_id)
    except StaleAction:
        await tell_stale(update)
        return
    await send_report(update, context, cycle)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/rapport, /report and the choice of a cycle."""
    return [
        CommandHandler(list(COMMAND.names), show_report),
        button(ReportOf, show_report_of, admin=True),
    ]
