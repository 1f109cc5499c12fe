"""Purchase orders at close: each producer's people get what to bring, per pickup point, with a
CSV document, in their own language.

:func:`purchase_order_parts` renders them for the outbox when the scheduler dispatches a close.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import numbers
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import BaseHandler

from handlers.common import escape
from handlers.context import Services
from handlers.i18n import _, current_locale, format_date, format_price, use_locale
from handlers.pages import split_html
from handlers.stock_views import delivery_title, quantity
from models.cells import spreadsheet_row
from models.outbox import Part, parts
from models.producers import producer_members
from models.purchase_orders import PurchaseOrder, purchase_orders


def purchase_order_text(order: PurchaseOrder, timezone: ZoneInfo) -> list[str]:
    """The purchase order as messages (split when long): per pickup point, then totals."""
    lines = [
        _("📦 <b>Bon de commande — {producer}</b>").format(producer=escape(order.producer_name)),
        _("Pour la {title}.").format(title=delivery_title(order.cycle, timezone)),
    ]
    for point, point_lines in order.by_pickup_point.items():
        lines.append("")
        if point_lines[0].kitchen:
            lines.append(_("🍲 <b>Pour la cuisine : {kitchen}</b>").format(kitchen=escape(point)))
        else:
            where = point or _("Sans point de retrait")
            lines.append(f"📍 <b>{escape(where)}</b>")
        lines.extend(
            _("• {name} : {quantity}").format(
                name=escape(line.name), quantity=quantity(line.quantity, line.sale_unit)
            )
            for line in point_lines
        )
    lines.append("")
    lines.append(_("<b>Totaux</b>"))
    lines.extend(
        _("• {name} : {quantity} — {amount}").format(
            name=escape(total.name),
            quantity=quantity(total.quantity, total.sale_unit),
            amount=_amount(total.amount_cents, total.estimate),
        )
        for total in order.totals
    )
    lines.append(
        _("<b>Total : {amount}</b>").format(amount=_amount(order.total_cents, order.estimate))
    )
    if order.estimate:
        lines.append(
            _(
                "≈ : montant estimé des produits vendus au poids ; pesez-les après la clôture "
                "avec /pesees (ou écrivez « poulet Jeanne 1,82 »)."
            )
        )
    lines.append(_("Le détail est dans le fichier CSV ci-dessous."))
    return split_html(lines)


def _amount(cents: int, estimate: bool) -> str:
    return _("≈ {total}").format(total=format_price(cents)) if estimate else format_price(cents)


def _number(value: Decimal) -> str:
    return numbers.format_decimal(value, format="0.###", locale=current_locale())


def _money(cents: int) -> str:
    return numbers.format_decimal(Decimal(cents) / 100, format="0.00", locale=current_locale())


def purchase_order_csv(order: PurchaseOrder, timezone: ZoneInfo) -> bytes:
    """The purchase order as CSV in the current language: one row per pickup point and
    product, then one total row per product, each naming the producer and the delivery day
    (ISO, which every spreadsheet reads as a date), so a file read on its own still says
    whose it is and for when. French uses ``;`` and decimal commas (as French spreadsheets
    expect), English ``,`` and points. UTF-8 with a BOM, for spreadsheets."""
    day = order.cycle.pickup_starts_at.astimezone(timezone).date().isoformat()
    delimiter = ";" if _number(Decimal("1.5")) == "1,5" else ","
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(
        spreadsheet_row(
            [
                _("Producteur"),
                _("Date de livraison"),
                _("Point de retrait"),
                _("Référence"),
                _("Produit"),
                _("Unité"),
                _("Quantité"),
                _("Commandes"),
                _("Montant (€)"),
                _("Montant"),
            ]
        )
    )
    for line in order.lines:
        writer.writerow(
            spreadsheet_row(
                [
                    order.producer_name,
                    day,
                    _("Cuisine : {kitchen}").format(kitchen=line.pickup_point)
                    if line.kitchen
                    else line.pickup_point,
                    line.sku,
                    line.name,
                    line.sale_unit,
                    _number(line.quantity),
                    line.orders,
                    _money(line.amount_cents),
                    _("estimé") if line.estimate else _("définitif"),
                ]
            )
        )
    for total in order.totals:
        writer.writerow(
            spreadsheet_row(
                [
                    order.producer_name,
                    day,
                    _("TOTAL"),
                    total.sku,
                    total.name,
                    total.sale_unit,
                    _number(total.quantity),
                    "",
                    _money(total.amount_cents),
                    _("estimé") if total.estimate else _("définitif"),
                ]
            )
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_file_name(order: PurchaseOrder, timezone: ZoneInfo) -> str:
    """ "bon-de-commande-2026-12-08.csv"."""
    day = order.cycle.pickup_starts_at.astimezone(timezone).date().isoformat()
    return _("bon-de-commande-{date}.csv").format(date=day)


async def purchase_order_parts(
    session: AsyncSession, services: Services, cycle_id: int
) -> list[Part]:
    """Each producer's purchase order for the closed cycle, for every person linked to the
    producer, in their language: the text (split when long) and the CSV, as outbox parts.
    Ends its read (commits)."""
    drafts: list[Part] = []
    for order in await purchase_orders(session, cycle_id):
        # Everyone linked, reachable or not: what must arrive is written for each, and the
        # outbox settles one who blocked the bot as blocked, which the admins then hear of.
        for member in await producer_members(session, order.producer_id, reachable_only=False):
            with use_locale(member.locale):
                drafts += parts(
                    member.telegram_id,
                    member.locale,
                    purchase_order_text(order, services.timezone),
                    document=purchase_order_csv(order, services.timezone),
                    filename=csv_file_name(order, services.timezone),
                    caption=_("Bon de commande du {date}").format(
                        date=format_date(order.cycle.pickup_starts_at.astimezone(services.timezone))
                    ),
                    member_id=member.id,
                )
    await session.commit()
    return drafts


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Nothing to answer: purchase orders are sent by the scheduler."""
    return []
