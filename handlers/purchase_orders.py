"""Purchase orders at close: each producer's people get what to bring, per pickup point, with a
CSV document, in their own language.

:func:`send_purchase_orders` is called by the scheduler once a cycle is closed.
"""

from __future__ import annotations

import csv
import io
import logging
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import numbers
from telegram import InputFile
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, BaseHandler

from handlers.common import escape
from handlers.context import services_of
from handlers.i18n import _, current_locale, format_date, format_price, use_locale
from handlers.stock_views import delivery_title, quantity
from models.cells import spreadsheet_row
from models.cycle_event import NotificationStatus
from models.notifications import claim_message, record_outcome
from models.producers import producer_members
from models.purchase_orders import PurchaseOrder, purchase_orders
from models.unit_of_work import write_intent

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # Telegram allows 4096 characters per message; keep a margin


def purchase_order_text(order: PurchaseOrder, timezone: ZoneInfo) -> list[str]:
    """The purchase order as messages (split when long): per pickup point, then totals."""
    lines = [
        _("📦 <b>Bon de commande — {producer}</b>").format(producer=escape(order.producer_name)),
        _("Pour la {title}.").format(title=delivery_title(order.cycle, timezone)),
    ]
    for point, point_lines in order.by_pickup_point.items():
        lines.append("")
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
            amount=format_price(total.amount_cents),
        )
        for total in order.totals
    )
    lines.append(_("<b>Total : {amount}</b>").format(amount=format_price(order.total_cents)))
    lines.append(_("Le détail est dans le fichier CSV ci-dessous."))
    return _chunks(lines)


def _chunks(lines: list[str]) -> list[str]:
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > MAX_TEXT:
            messages.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        messages.append("\n".join(current))
    return messages


def _number(value: Decimal) -> str:
    return numbers.format_decimal(value, format="0.###", locale=current_locale())


def _money(cents: int) -> str:
    return numbers.format_decimal(Decimal(cents) / 100, format="0.00", locale=current_locale())


def purchase_order_csv(order: PurchaseOrder) -> bytes:
    """The purchase order as CSV in the current language: one row per pickup point and
    product, then one total row per product. French uses ``;`` and decimal commas (as French
    spreadsheets expect), English ``,`` and points. UTF-8 with a BOM, for spreadsheets."""
    delimiter = ";" if _number(Decimal("1.5")) == "1,5" else ","
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(
        spreadsheet_row(
            [
                _("Point de retrait"),
                _("Référence"),
                _("Produit"),
                _("Unité"),
                _("Quantité"),
                _("Commandes"),
                _("Montant (€)"),
            ]
        )
    )
    for line in order.lines:
        writer.writerow(
            spreadsheet_row(
                [
                    line.pickup_point,
                    line.sku,
                    line.name,
                    line.sale_unit,
                    _number(line.quantity),
                    line.orders,
                    _money(line.amount_cents),
                ]
            )
        )
    for total in order.totals:
        writer.writerow(
            spreadsheet_row(
                [
                    _("TOTAL"),
                    total.sku,
                    total.name,
                    total.sale_unit,
                    _number(total.quantity),
                    "",
                    _money(total.amount_cents),
                ]
            )
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_file_name(order: PurchaseOrder, timezone: ZoneInfo) -> str:
    """ "bon-de-commande-2026-12-08.csv"."""
    day = order.cycle.pickup_starts_at.astimezone(timezone).date().isoformat()
    return _("bon-de-commande-{date}.csv").format(date=day)


PURCHASE_ORDER = "purchase_order"
"""The per-person message kind (``CycleNotification``) claimed before each purchase order."""


async def send_purchase_orders(
    application: Application[Any, Any, Any, Any, Any, Any], cycle_id: int
) -> int:
    """Send each producer's purchase order for the closed cycle to every person linked to the
    producer (message + CSV, in their language); returns how many people received one.

    Each person's purchase order is claimed in the database before it goes out, so running this
    again — after a crash midway, or from two closes at once — sends only the missing ones and
    never one twice.
    """
    services = services_of(application)
    sent = 0
    async with services.sessions() as session:
        orders = [
            (order, await producer_members(session, order.producer_id))
            for order in await purchase_orders(session, cycle_id)
        ]
        await session.commit()  # end the read: each claim below is a short write of its own
    for order, members in orders:
        for member in members:
            # A session of its own: a claim refused rolls back, which must not expire ``order``.
            async with services.sessions() as claims:
                with write_intent():
                    claimed = await claim_message(
                        claims, cycle_id, PURCHASE_ORDER, member.telegram_id
                    )
            if not claimed:
                continue
            status = NotificationStatus.SENT
            with use_locale(member.locale):
                texts = purchase_order_text(order, services.timezone)
                document = purchase_order_csv(order)
                name = csv_file_name(order, services.timezone)
                caption = _("Bon de commande du {date}").format(
                    date=format_date(order.cycle.pickup_starts_at.astimezone(services.timezone))
                )
            try:
                for text in texts:
                    await application.bot.send_message(
                        member.telegram_id, text, parse_mode=ParseMode.HTML
                    )
                await application.bot.send_document(
                    member.telegram_id,
                    InputFile(document, filename=name),
                    caption=caption,
                )
            except Forbidden:
                log.info("producer member %s blocked the bot; no purchase order", member.id)
                status = NotificationStatus.BLOCKED
            except TelegramError:
                log.warning("purchase order to member %s failed", member.id, exc_info=True)
                status = NotificationStatus.FAILED
            async with services.sessions() as outcome:
                with write_intent():
                    await record_outcome(
                        outcome, cycle_id, PURCHASE_ORDER, member.telegram_id, status
                    )
            if status == NotificationStatus.SENT:
                sent += 1
    return sent


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Nothing to answer: purchase orders are sent by the scheduler."""
    return []
