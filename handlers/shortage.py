"""Shortages: "seulement 8 tomates anciennes" (or /manque), after the close or while the cycle
is open, shrinks the orders.

The producer confirms a preview; the quantity is shared out first-confirmed first-served, each
affected consumer is told what changed and their new total, and the admins are told.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.buttons import button
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.delivery import deliver
from handlers.i18n import _
from handlers.menu import SHORTAGE_COMMAND
from handlers.pages import show_texts
from handlers.shortage_notices import shortage_notices, shortage_product_lines
from handlers.stock_views import (
    CancelShortage,
    ConfirmShortage,
    ShortageAsStock,
    StockAsShortage,
    offer_shortage,
    orders_changed,
    preview_keyboard,
    preview_text,
    quantity,
    show_shortage,
)
from models.cycles import open_cycle
from models.errors import StaleAction
from models.outbox import Kind, enqueue
from models.shortage import (
    apply_shortage,
    ordered_products,
    shortage_cycle,
    stock_as_shortage,
)
from models.stock import cancel_update, pending_update, preview, read_stock_message

log = logging.getLogger(__name__)


async def stock_to_shortage(
    update: Update, context: DesserteContext, data: StockAsShortage
) -> None:
    """ "J’en ai moins que vendu": the stock preview's lines below what is sold, as a shortage."""
    try:
        found, left_out = await stock_as_shortage(
            context.session, context.member, data.update_id, context.services.now()
        )
    except StaleAction:
        await tell_stale(update)
        return
    await show_shortage(update, context, found, left_out)


async def report_shortage(update: Update, context: DesserteContext) -> None:
    """/manque [message]: the shortage preview, or how to report one."""
    member = context.member
    if member.producer_id is None:
        await show(update, _("Cette commande est réservée aux producteurs du réseau."))
        return
    text = " ".join(context.args or []).strip()
    cycle = await open_cycle(context.session)
    if text and await offer_shortage(update, context, text, cycle, asked=True):
        return
    if cycle is None and await shortage_cycle(context.session) is None:
        await show(update, _("Aucune commande en cours ni close : rien à signaler."))
        return
    products = await ordered_products(context.session, member, cycle)
    parts = [
        _(
            "Dites-moi ce que vous pourrez livrer, par exemple : "
            "« /manque seulement 8 tomates anciennes »."
        ),
    ]
    if products:
        parts.append("")
        parts.append(_("Commandé chez vous cette semaine :"))
        parts.extend(
            _("• {name} : {ordered}").format(
                name=escape(line.name), ordered=quantity(line.ordered, line.sale_unit)
            )
            for line in products
        )
    await show(update, "\n".join(parts))


async def confirm_shortage(update: Update, context: DesserteContext, data: ConfirmShortage) -> None:
    """Confirmer le manque: orders shrink, consumers and admins are told."""
    try:
        report = await apply_shortage(
            context.session, context.member, data.update_id, context.services.now()
        )
    except StaleAction:
        await tell_stale(update)
        return
    producer = context.member.producer
    producer_name = producer.name if producer is not None else ""
    notices = await shortage_notices(context, report, producer_name)
    topic = f"shortage:{data.update_id}"
    await enqueue(context.session, topic, Kind.SHORTAGE_NOTICE, notices)
    parts = [_("✅ <b>Manque enregistré</b>")]
    parts.extend(shortage_product_lines(report))
    parts.append(orders_changed(len(report.orders)))
    await show(update, "\n".join(parts))
    await deliver(context.application, topic)


async def cancel_shortage(update: Update, context: DesserteContext, data: CancelShortage) -> None:
    """Annuler: the orders stay as they are."""
    try:
        await cancel_update(context.session, context.member, data.update_id)
    except StaleAction:
        await tell_stale(update)
        return
    await show(update, _("Rien n’a changé : les commandes restent telles quelles."))


async def shortage_as_stock(
    update: Update, context: DesserteContext, data: ShortageAsStock
) -> None:
    """ "C’est mon stock de la semaine prochaine": the same message read as a stock update."""
    try:
        pending = await pending_update(context.session, context.member, data.update_id)
        stock_update = await read_stock_message(
            context.session, context.member, pending.text, context.services.now(), always=True
        )
        if stock_update is None:
            raise StaleAction(update_id=data.update_id)
        shown = await preview(context.session, context.member, stock_update.id)
    except StaleAction:
        await tell_stale(update)
        return
    await show_texts(
        update, preview_text(shown, context.services.timezone), preview_keyboard(shown)
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/manque and the shortage preview's buttons."""
    return [
        CommandHandler(list(SHORTAGE_COMMAND.names), report_shortage),
        button(ConfirmShortage, confirm_shortage),
        button(CancelShortage, cancel_shortage),
        button(ShortageAsStock, shortage_as_stock),
        button(StockAsShortage, stock_to_shortage),
    ]
