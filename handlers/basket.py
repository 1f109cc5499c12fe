"""/panier (/basket): the lines, change a quantity, remove, empty, confirm; and the reorder.

Confirming sends a summary as a new message (the receipt) and turns the basket message into
the confirmed order. The confirm button carries a fingerprint of the basket it was shown with:
pressed under an older view, it shows the current basket again instead of confirming.
"""

from __future__ import annotations

import logging
import zlib
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TimedOut
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers.callback_data import Route
from handlers.catalog import CARD, NO_CATEGORY
from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.i18n import _, format_price, lazy_gettext
from handlers.menu import BASKET, CATALOG, CONSUMER, MENU, Command, register_command
from handlers.shop import (
    answer_refusal,
    current_cycle,
    order_lines,
    pickup_window,
    pressed_in_cycle,
    when,
)
from handlers.units import quantity_phrase
from models import Cycle, Order, OrderStatus, Product
from models.errors import AlreadyConfirmed, DomainError
from models.ordering import (
    add_to_basket,
    confirm_order,
    current_basket,
    empty_basket,
    reorder_last,
    set_quantity,
)

log = logging.getLogger(__name__)

MORE = Route("bsk:more", (int, int))  # cycle, product
LESS = Route("bsk:less", (int, int))
REMOVE = Route("bsk:rm", (int, int))
EMPTY = Route("bsk:empty", (int,))
EMPTY_CONFIRMED = Route("bsk:empty!", (int,))
CONFIRM = Route("bsk:ok", (int, str))  # cycle, fingerprint of what was shown
REORDER = Route("bsk:again", (int,))
REORDER_NOW = Route("bsk:again")  # from the main menu: whatever cycle is open

COMMAND = register_command(Command("panier", "basket", lazy_gettext("Votre panier"), CONSUMER))
REORDER_COMMAND = register_command(
    Command("memepanier", "same", lazy_gettext("Même panier que la semaine dernière"), CONSUMER)
)


def fingerprint(order: Order | None) -> str:
    """A short digest of the basket's lines and total, to detect a stale view."""
    if order is None:
        return "0"
    content = ";".join(f"{line.product_id}:{line.quantity}" for line in order.lines)
    return format(zlib.crc32(f"{content}|{order.total_cents}".encode()), "x")


def basket_text(context: DesserteContext, cycle: Cycle, order: Order | None) -> str:
    """Lines with quantities and subtotals, the total, the pickup point and day, the status."""
    lines = [
        _("<b>Votre panier</b> — commandes ouvertes jusqu’au {when}").format(
            when=when(context, cycle.closes_at)
        )
    ]
    if order is None or not order.lines:
        lines.append("")
        lines.append(_("Votre panier est vide. Ouvrez le catalogue pour le remplir."))
        return "\n".join(lines)
    lines.append("")
    for line in order.lines:
        product = line.product
        lines.append(
            _("• {product} — {quantity} × {price} = <b>{total}</b>").format(
                product=escape(product.name),
                quantity=escape(quantity_phrase(product, line.quantity)),
                price=format_price(line.unit_price_cents),
                total=format_price(line.total_cents),
            )
        )
    lines.append("")
    lines.append(_("<b>Total : {total}</b>").format(total=format_price(order.total_cents)))
    minimum = context.services.minimum_order_cents
    if minimum and order.total_cents < minimum:
        lines.append(_("Commande minimum : {minimum}.").format(minimum=format_price(minimum)))
    point = order.pickup_point or context.member.pickup_point
    if point is not None:
        lines.append(
            _("📍 Retrait : {point} — {window}").format(
                point=escape(point.name), window=pickup_window(context, cycle, point)
            )
        )
    else:
        lines.append(_("📍 Choisissez votre point de retrait avec /retrait."))
    if order.status == OrderStatus.CONFIRMED and order.changed_since_confirmed:
        lines.append(_("✏️ Vous avez modifié votre commande : confirmez les modifications."))
    elif order.status == OrderStatus.CONFIRMED:
        lines.append(_("✅ Commande confirmée. Vous pouvez la modifier jusqu’à la clôture."))
    else:
        lines.append(_("⏳ Panier pas encore confirmé."))
    return "\n".join(lines)


def basket_keyboard(cycle: Cycle, order: Order | None) -> InlineKeyboardMarkup:
    """Per line: − name + 🗑; then confirm, reorder, empty, catalog."""
    rows: list[list[InlineKeyboardButton]] = []
    if order is not None and order.lines:
        for line in order.lines:
            name = line.product.name
            short = name if len(name) <= 22 else name[:21] + "…"
            rows.append(
                [
                    InlineKeyboardButton("➖", callback_data=LESS.pack(cycle.id, line.product_id)),
                    InlineKeyboardButton(
                        f"{short} · {quantity_phrase(line.product, line.quantity)}",
                        callback_data=CARD.pack(
                            cycle.id, line.product_id, str(line.product.step), NO_CATEGORY, 0
                        ),
                    ),
                    InlineKeyboardButton("➕", callback_data=MORE.pack(cycle.id, line.product_id)),
                    InlineKeyboardButton("🗑", callback_data=REMOVE.pack(cycle.id, line.product_id)),
                ]
            )
        if order.status != OrderStatus.CONFIRMED or order.changed_since_confirmed:
            label = (
                _("✅ Confirmer les modifications ({total})")
                if order.status == OrderStatus.CONFIRMED
                else _("✅ Confirmer la commande ({total})")
            )
            rows.append(
                [
                    InlineKeyboardButton(
                        label.format(total=format_price(order.total_cents)),
                        callback_data=CONFIRM.pack(cycle.id, fingerprint(order)),
                    )
                ]
            )
        rows.append(
            [InlineKeyboardButton(_("🗑 Vider le panier"), callback_data=EMPTY.pack(cycle.id))]
        )
    else:
        rows.append(
            [
                InlineKeyboardButton(
                    _("🔁 Même panier que la semaine dernière"),
                    callback_data=REORDER.pack(cycle.id),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(_("🛍 Catalogue"), callback_data=CATALOG.pack()),
            InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack()),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def render_basket(
    update: Update,
    context: DesserteContext,
    cycle: Cycle,
    notice: str = "",
    order: Order | None = None,
) -> None:
    """Show the member's basket for ``cycle`` in place (or as a new message for a command);
    ``order`` when the caller has just loaded it."""
    if order is None:
        order = await current_basket(context.session, context.member, cycle.id)
    text = basket_text(context, cycle, order)
    if notice:
        text = f"{notice}\n\n{text}"
    await show(update, text, basket_keyboard(cycle, order))


async def show_basket(update: Update, context: DesserteContext) -> None:
    """The basket of the open cycle."""
    if update.callback_query:
        await update.callback_query.answer()
    cycle = await current_cycle(update, context)
    if cycle is not None:
        await render_basket(update, context, cycle)


async def _line_action(update: Update, context: DesserteContext, route: Route) -> None:
    query = update.callback_query
    assert query is not None
    pressed = await pressed_in_cycle(update, context, route)
    if pressed is None:
        return
    cycle, (product,) = pressed
    product_id = int(product)
    order = await current_basket(context.session, context.member, cycle.id)
    line = next((ln for ln in order.lines if ln.product_id == product_id), None) if order else None
    if line is None:
        await query.answer(_("Ce produit n’est plus dans votre panier."))
        await render_basket(update, context, cycle)
        return
    step = line.product.step
    now = context.services.now()
    try:
        if route is MORE:
            result = await add_to_basket(
                context.session, context.member, cycle.id, product_id, step, now
            )
            if result.short or result.granted == 0:
                await query.answer(_("Il n’en reste plus."), show_alert=True)
            else:
                await query.answer()
        elif route is LESS:
            await set_quantity(
                context.session,
                context.member,
                cycle.id,
                product_id,
                max(Decimal(0), line.quantity - step),
                now,
            )
            await query.answer()
        else:
            await set_quantity(
                context.session, context.member, cycle.id, product_id, Decimal(0), now
            )
            await query.answer(_("Retiré du panier."))
    except DomainError as error:
        await answer_refusal(update, context, error)
    await render_basket(update, context, cycle)


async def more(update: Update, context: DesserteContext) -> None:
    """One more step of a line."""
    await _line_action(update, context, MORE)


async def less(update: Update, context: DesserteContext) -> None:
    """One step less of a line (the line goes at zero)."""
    await _line_action(update, context, LESS)


async def remove(update: Update, context: DesserteContext) -> None:
    """Removes a line."""
    await _line_action(update, context, REMOVE)


async def ask_empty(update: Update, context: DesserteContext) -> None:
    """Asks before emptying the basket."""
    query = update.callback_query
    assert query is not None
    pressed = await pressed_in_cycle(update, context, EMPTY)
    if pressed is None:
        return
    cycle, _values = pressed
    await query.answer()
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Oui, vider le panier"), callback_data=EMPTY_CONFIRMED.pack(cycle.id)
                )
            ],
            [InlineKeyboardButton(_("Non, garder mon panier"), callback_data=BASKET.pack())],
        ]
    )
    await show(update, _("Vider tout votre panier ?"), keyboard)


async def empty(update: Update, context: DesserteContext) -> None:
    """Empties the basket; the stock goes back."""
    query = update.callback_query
    assert query is not None
    pressed = await pressed_in_cycle(update, context, EMPTY_CONFIRMED)
    if pressed is None:
        return
    cycle, _values = pressed
    try:
        await empty_basket(context.session, context.member, cycle.id, context.services.now())
    except DomainError as error:
        await answer_refusal(update, context, error)
        return
    await query.answer(_("Panier vidé."))
    await render_basket(update, context, cycle)


def summary_text(context: DesserteContext, cycle: Cycle, order: Order) -> str:
    """The receipt sent when an order is confirmed."""
    lines = [_("✅ <b>Commande confirmée</b> — merci !"), ""]
    lines.extend(order_lines(order))
    if order.pickup_point is not None:
        point = order.pickup_point
        lines.append(
            _("📍 {point}, {address} — {window}").format(
                point=escape(point.name),
                address=escape(point.address),
                window=pickup_window(context, cycle, point),
            )
        )
    lines.append(
        _("Vous pouvez la modifier jusqu’au {when} avec /panier.").format(
            when=when(context, cycle.closes_at)
        )
    )
    return "\n".join(lines)


async def confirm(update: Update, context: DesserteContext) -> None:
    """Turns the basket into an order (or confirms its changes) and sends the summary."""
    query = update.callback_query
    assert query is not None
    pressed = await pressed_in_cycle(update, context, CONFIRM)
    if pressed is None:
        return
    cycle, (shown,) = pressed
    current = await current_basket(context.session, context.member, cycle.id)
    if fingerprint(current) != shown:
        await query.answer(
            _("Votre panier a changé depuis ce message : vérifiez-le avant de confirmer."),
            show_alert=True,
        )
        await render_basket(update, context, cycle)
        return
    try:
        order = await confirm_order(
            context.session,
            context.member,
            cycle.id,
            context.services.now(),
            context.services.minimum_order_cents,
            refuse_unchanged=True,
        )
    except AlreadyConfirmed:
        # A second tap (or a retry after a lost answer): the receipt was sent the first time.
        await query.answer(_("Votre commande est déjà confirmée."))
        await render_basket(update, context, cycle)
        return
    except DomainError as error:
        await answer_refusal(update, context, error)
        return
    await query.answer(_("Commande confirmée !"))
    # The order is confirmed: from here on, a lost answer must neither stop the receipt nor
    # tell the member to try again. A timed-out request may well have been delivered, so it is
    # never sent again (that would show two receipts).
    try:
        await render_basket(update, context, cycle, order=order)
    except TimedOut:
        log.warning("the confirmed basket's edit timed out; the receipt follows anyway")
    chat = update.effective_chat
    assert chat is not None
    try:
        await chat.send_message(summary_text(context, cycle, order), parse_mode=ParseMode.HTML)
    except TimedOut:
        log.warning("the receipt of order %s timed out; not sent again", order.id)


async def reorder(update: Update, context: DesserteContext) -> None:
    """Copies last week's order into the basket as far as stock allows; lists what is missing."""
    query = update.callback_query
    if query is not None and query.data != REORDER_NOW.pack():
        pressed = await pressed_in_cycle(update, context, REORDER)
        if pressed is None:
            return
        cycle, _values = pressed
        await query.answer()
    else:
        if query is not None:
            await query.answer()
        open_now = await current_cycle(update, context)
        if open_now is None:
            return
        cycle = open_now
    try:
        report = await reorder_last(
            context.session, context.member, cycle.id, context.services.now()
        )
    except DomainError as error:
        await answer_refusal(update, context, error)
        return
    if report.source_order_id is None:
        await render_basket(
            update, context, cycle, _("Je ne trouve pas de commande précédente à reprendre.")
        )
        return
    notice = [_("🔁 J’ai repris votre dernière commande.")]
    basket = await current_basket(context.session, context.member, cycle.id)
    names = {line.product_id: line.product for line in basket.lines} if basket else {}
    for reservation in report.short:
        product = names.get(reservation.product_id)
        if product is not None:
            notice.append(
                _("⚠️ {product} : seulement {granted} (stock limité)").format(
                    product=escape(product.name),
                    granted=escape(quantity_phrase(product, reservation.granted)),
                )
            )
    if report.missing:
        missing = await context.session.scalars(
            select(Product.name).where(Product.id.in_(report.missing)).order_by(Product.name)
        )
        notice.append(
            _("❌ Pas disponible cette semaine : {products}").format(
                products=", ".join(escape(name) for name in missing)
            )
        )
    await render_basket(update, context, cycle, "\n".join(notice))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The basket's commands and buttons."""
    return [
        CommandHandler(list(COMMAND.names), show_basket),
        CommandHandler(list(REORDER_COMMAND.names), reorder),
        CallbackQueryHandler(show_basket, pattern=BASKET.pattern),
        CallbackQueryHandler(more, pattern=MORE.pattern),
        CallbackQueryHandler(less, pattern=LESS.pattern),
        CallbackQueryHandler(remove, pattern=REMOVE.pattern),
        CallbackQueryHandler(ask_empty, pattern=EMPTY.pattern),
        CallbackQueryHandler(empty, pattern=EMPTY_CONFIRMED.pattern),
        CallbackQueryHandler(confirm, pattern=CONFIRM.pattern),
        CallbackQueryHandler(reorder, pattern=REORDER.pattern),
        CallbackQueryHandler(reorder, pattern=REORDER_NOW.pattern),
    ]
