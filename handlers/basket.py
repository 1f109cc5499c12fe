"""/panier (/basket): the lines, change a quantity, remove, empty, confirm; and the reorder.

Confirming sends a summary as a new message (the receipt) and turns the basket message into
the confirmed order. The confirm button carries a fingerprint of the basket it was shown with:
pressed under an older view, it shows the current basket again instead of confirming.
"""

from __future__ import annotations

import logging
import zlib
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TimedOut
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, format_price, format_quantity, lazy_gettext
from handlers.menu import BASKET, BASKET_COMMAND, CATALOG, CONSUMER, MENU, Command, OpenBasket
from handlers.pages import navigation_row, page_of
from handlers.phone_offer import offer_text, phone_keyboard
from handlers.routes import AskQuantity, ReorderNow, ReorderPast
from handlers.shop import (
    answer_refusal,
    current_cycle,
    order_lines,
    pickup_window,
    refusal,
    when,
)
from handlers.units import (
    estimate_note,
    line_amount_phrase,
    order_total_phrase,
    quantity_phrase,
    unit_name,
)
from handlers.vocabulary import product_name
from handlers.week_texts import order_number, order_updated_text
from models import Cycle, Order, OrderStatus, Product, catalog
from models.amounts import order_is_final
from models.errors import (
    AboveMaximum,
    AlreadyConfirmed,
    BelowMinimum,
    DomainError,
    InvalidQuantity,
)
from models.members import await_input, awaited, stop_awaiting
from models.ordering import (
    MAX_LINE_QUANTITY,
    ReorderReport,
    add_to_basket,
    claim_receipt,
    confirm_order,
    count_past_orders,
    current_basket,
    empty_basket,
    line_quantity,
    load_order,
    reorder_last,
    reorder_order,
    set_quantity,
)

log = logging.getLogger(__name__)


class MoreOfLine(CallbackData, prefix="bsk:more"):
    """One more step of the basket's line of ``product_id``, shown on the basket's ``page``."""

    cycle_id: int
    product_id: int
    page: int


class LessOfLine(MoreOfLine, prefix="bsk:less"):
    """One step less of the line (the line goes at zero)."""


class RemoveLine(MoreOfLine, prefix="bsk:rm"):
    """The line removed from the basket."""


class BasketPage(CallbackData, prefix="bsk:page"):
    """The basket shown at its ``page``-th page of lines."""

    cycle_id: int
    page: int


class AskEmpty(CallbackData, prefix="bsk:empty"):
    """The question before emptying the basket."""

    cycle_id: int


class EmptyNow(AskEmpty, prefix="bsk:empty!"):
    """The basket emptied (the member said yes)."""


class ConfirmBasket(CallbackData, prefix="bsk:ok"):
    """The basket confirmed, if it still is what was shown (``shown``: its fingerprint)."""

    cycle_id: int
    shown: str


class Reorder(CallbackData, prefix="bsk:again"):
    """Last week's order copied into the basket of ``cycle_id``."""

    cycle_id: int


LINES_PER_PAGE = 8
"""Lines of the basket shown (and changed) at once: 8 lines of 4 buttons, the pages and the
actions stay well under Telegram's 100 buttons, and a phone's screen shows them all."""

COMMAND = BASKET_COMMAND
REORDER_COMMAND = Command(
    "memepanier", "same", lazy_gettext("Même panier que la semaine dernière"), CONSUMER
)


def fingerprint(order: Order | None) -> str:
    """A short digest of the basket's lines and total, to detect a stale view."""
    if order is None:
        return "0"
    content = ";".join(f"{line.product_id}:{line.quantity}" for line in order.lines)
    return format(zlib.crc32(f"{content}|{order.total_cents}".encode()), "x")


def basket_text(context: DesserteContext, cycle: Cycle, order: Order | None, page: int = 0) -> str:
    """The ``page``-th page of lines (:data:`LINES_PER_PAGE`) with quantities and subtotals,
    then the whole basket's total, the pickup point and day, the status."""
    lines = [
        _("<b>Votre panier</b> — commandes ouvertes jusqu’au {when}").format(
            when=when(context, cycle.closes_at)
        )
    ]
    if order is None or not order.lines:
        lines.append("")
        lines.append(_("Votre panier est vide. Ouvrez le catalogue pour le remplir."))
        return "\n".join(lines)
    shown, page, pages = page_of(order.lines, page, LINES_PER_PAGE)
    lines.append("")
    if pages > 1:
        first = page * LINES_PER_PAGE + 1
        lines.append(
            _("Produits {first} à {last} sur {count} :").format(
                first=first, last=first + len(shown) - 1, count=len(order.lines)
            )
        )
    for line in shown:
        product = line.product
        if line.price_per_kg_cents is not None:
            lines.append(
                _("• {product} — {quantity} : <b>{total}</b>").format(
                    product=escape(product.name),
                    quantity=escape(quantity_phrase(product, line.quantity)),
                    total=escape(line_amount_phrase(line)),
                )
            )
            continue
        lines.append(
            _("• {product} — {quantity} × {price} = <b>{total}</b>").format(
                product=escape(product_name(product)),
                quantity=escape(quantity_phrase(product, line.quantity)),
                price=format_price(line.unit_price_cents),
                total=format_price(line.total_cents),
            )
        )
    lines.append("")
    lines.append(_("<b>Total : {total}</b>").format(total=order_total_phrase(order)))
    if not order_is_final(order):
        lines.append(estimate_note())
    minimum = context.services.minimum_order_cents
    if order.status != OrderStatus.CONFIRMED and order.total_cents < minimum:
        lines.append(refusal(BelowMinimum(total=order.total_cents, minimum=minimum), context))
    point = order.pickup_point or context.member.pickup_point
    if point is not None:
        lines.append(
            _("📍 Retrait : {point} — {window}").format(
                point=escape(point.name), window=pickup_window(context, cycle, point)
            )
        )
    else:
        lines.append(_("📍 Choisissez votre point de retrait avec /retrait."))
    if order.status == OrderStatus.CONFIRMED:
        lines.append(
            _(
                "✅ Commande {number} confirmée. Vous pouvez la modifier jusqu’à la clôture : "
                "chaque modification compte aussitôt, sans rien reconfirmer."
            ).format(number=order_number(order.id))
        )
    else:
        lines.append(
            _("⏳ Panier pas encore confirmé : sans confirmation, il sera abandonné à la clôture.")
        )
    return "\n".join(lines)


def basket_keyboard(
    cycle: Cycle, order: Order | None, page: int = 0, minimum_cents: int = 0
) -> InlineKeyboardMarkup:
    """Per line of the ``page``-th page: − name + 🗑 (the name and quantity ask "how many?"); the pages; then confirm (on every page, for
    a basket not yet confirmed that reaches ``minimum_cents``), reorder, empty, catalog."""
    rows: list[list[InlineKeyboardButton]] = []
    if order is not None and order.lines:
        shown, page, pages = page_of(order.lines, page, LINES_PER_PAGE)
        for line in shown:
            name = product_name(line.product)
            short = name if len(name) <= 22 else name[:21] + "…"
            rows.append(
                [
                    InlineKeyboardButton(
                        "➖", callback_data=LessOfLine(cycle.id, line.product_id, page).pack()
                    ),
                    InlineKeyboardButton(
                        f"{short} · {quantity_phrase(line.product, line.quantity)}",
                        callback_data=AskQuantity(cycle.id, line.product_id).pack(),
                    ),
                    InlineKeyboardButton(
                        "➕", callback_data=MoreOfLine(cycle.id, line.product_id, page).pack()
                    ),
                    InlineKeyboardButton(
                        "🗑", callback_data=RemoveLine(cycle.id, line.product_id, page).pack()
                    ),
                ]
            )
        navigation = navigation_row(page, pages, lambda n: BasketPage(cycle.id, n))
        if navigation:
            rows.append(navigation)
        if order.status != OrderStatus.CONFIRMED and order.total_cents >= minimum_cents:
            rows.append(
                [
                    InlineKeyboardButton(
                        _("✅ Confirmer la commande ({total})").format(
                            total=format_price(order.total_cents)
                        ),
                        callback_data=ConfirmBasket(cycle.id, fingerprint(order)).pack(),
                    )
                ]
            )
        rows.append(
            [InlineKeyboardButton(_("🗑 Vider le panier"), callback_data=AskEmpty(cycle.id).pack())]
        )
    else:
        rows.append(
            [
                InlineKeyboardButton(
                    _("🔁 Même panier que la semaine dernière"),
                    callback_data=Reorder(cycle.id).pack(),
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
    page: int = 0,
) -> None:
    """Show the member's basket for ``cycle`` at its ``page``-th page of lines (the last one
    when it has fewer pages now) in place, or as a new message for a command; ``order`` when
    the caller has just loaded it."""
    if order is None:
        order = await current_basket(context.session, context.member, cycle.id)
    text = basket_text(context, cycle, order, page)
    if notice:
        text = f"{notice}\n\n{text}"
    keyboard = basket_keyboard(cycle, order, page, context.services.minimum_order_cents)
    await show(update, text, keyboard)


async def show_basket(update: Update, context: DesserteContext) -> None:
    """The basket of the open cycle."""
    cycle = await current_cycle(update, context)
    if cycle is not None:
        await render_basket(update, context, cycle)


async def show_basket_as_it_is(
    update: Update,
    context: DesserteContext,
    data: object = None,
    cycle: Cycle | None = None,
    *,
    notice: str,
) -> None:
    """The basket as it is now (at the pressed page), ``notice`` (HTML) above: what a press
    from before an interruption gets instead of changing it (``button(current=...)``)."""
    if cycle is None:
        cycle = await current_cycle(update, context)
        if cycle is None:
            return
    await render_basket(update, context, cycle, notice, page=getattr(data, "page", 0))


async def show_basket_page(
    update: Update, context: DesserteContext, data: BasketPage, cycle: Cycle
) -> None:
    """Another page of the basket's lines."""
    await render_basket(update, context, cycle, page=data.page)


async def _line_action(
    update: Update, context: DesserteContext, data: MoreOfLine, cycle: Cycle
) -> None:
    """One more, one less or none of a line; the basket shown again says what happened."""
    order = await current_basket(context.session, context.member, cycle.id)
    line = (
        next((ln for ln in order.lines if ln.product_id == data.product_id), None)
        if order
        else None
    )
    if line is None:
        notice = _("Ce produit n’est plus dans votre panier.")
        await render_basket(update, context, cycle, notice, page=data.page)
        return
    step = line.product.step
    name = product_name(line.product)
    now = context.services.now()
    minimum = context.services.minimum_order_cents
    notices = []
    try:
        if isinstance(data, MoreOfLine) and not isinstance(data, LessOfLine | RemoveLine):
            result = await add_to_basket(
                context.session,
                context.member,
                cycle.id,
                data.product_id,
                step,
                now,
                overdraft_cents=context.services.payments.order_overdraft,
            )
            if result.maximum is not None:
                notices.append(
                    escape(
                        refusal(
                            AboveMaximum(
                                maximum=result.maximum,
                                held=result.line_quantity,
                                sale_unit=line.product.sale_unit,
                            ),
                            context,
                        )
                    )
                )
            elif result.short or result.granted == 0:
                notices.append(_("Il n’en reste plus."))
        else:
            left = Decimal(0) if isinstance(data, RemoveLine) else line.quantity - step
            result = await set_quantity(
                context.session,
                context.member,
                cycle.id,
                data.product_id,
                max(Decimal(0), left),
                now,
                minimum_cents=minimum,
                overdraft_cents=context.services.payments.order_overdraft,
            )
            if result.line_quantity == 0:
                notices.append(_("{product} retiré du panier.").format(product=escape(name)))
        if result.confirmed and result.order_id is not None:
            notices.append(order_updated_text(result.order_id, result.total_cents))
    except DomainError as error:
        notices.append(escape(refusal(error, context)))
    await render_basket(update, context, cycle, "\n".join(notices), page=data.page)


async def more(update: Update, context: DesserteContext, data: MoreOfLine, cycle: Cycle) -> None:
    """One more step of a line."""
    await _line_action(update, context, data, cycle)


async def less(update: Update, context: DesserteContext, data: LessOfLine, cycle: Cycle) -> None:
    """One step less of a line (the line goes at zero)."""
    await _line_action(update, context, data, cycle)


async def remove(update: Update, context: DesserteContext, data: RemoveLine, cycle: Cycle) -> None:
    """Removes a line."""
    await _line_action(update, context, data, cycle)


async def ask_empty(update: Update, context: DesserteContext, data: AskEmpty, cycle: Cycle) -> None:
    """Asks before emptying the basket."""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Oui, vider le panier"), callback_data=EmptyNow(cycle.id).pack()
                )
            ],
            [InlineKeyboardButton(_("Non, garder mon panier"), callback_data=BASKET.pack())],
        ]
    )
    await show(update, _("Vider tout votre panier ?"), keyboard)


async def empty(update: Update, context: DesserteContext, data: EmptyNow, cycle: Cycle) -> None:
    """Empties the basket; the stock goes back."""
    try:
        await empty_basket(context.session, context.member, cycle.id, context.services.now())
    except DomainError as error:
        await answer_refusal(update, context, error)
        return
    await render_basket(update, context, cycle, _("Panier vidé."))


def summary_text(context: DesserteContext, cycle: Cycle, order: Order) -> str:
    """The receipt sent when an order is confirmed."""
    lines = [
        _("✅ <b>Commande {number} confirmée</b> — merci !").format(number=order_number(order.id)),
        "",
    ]
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
        _(
            "Vous pouvez la modifier jusqu’au {when} avec /panier : chaque modification compte "
            "aussitôt, sans rien reconfirmer. Le reçu définitif vous arrive à la clôture."
        ).format(when=when(context, cycle.closes_at))
    )
    return "\n".join(lines)


async def confirm(
    update: Update, context: DesserteContext, data: ConfirmBasket, cycle: Cycle
) -> None:
    """Turns the basket into an order (or confirms its changes) and sends the summary."""
    current = await current_basket(context.session, context.member, cycle.id)
    if fingerprint(current) != data.shown:
        notice = _("Votre panier a changé depuis ce message : vérifiez-le avant de confirmer.")
        await render_basket(update, context, cycle, f"⚠️ {notice}", order=current)
        return
    try:
        order = await confirm_order(
            context.session,
            context.member,
            cycle.id,
            context.services.now(),
            context.services.minimum_order_cents,
            refuse_unchanged=True,
            overdraft_cents=context.services.payments.order_overdraft,
        )
    except AlreadyConfirmed as already:
        # A second tap, or a retry after a lost answer: the receipt went with the first. Unless
        # the process died between the confirmation and its receipt: then this press sends it.
        order_id = int(already.params["order_id"])
        receipt = await _claim_receipt(context, order_id)
        await render_basket(update, context, cycle, _("Votre commande est déjà confirmée."))
        if receipt is not None:
            await _send_receipt(
                update, context, cycle, await load_order(context.session, order_id), receipt
            )
        return
    except DomainError as error:
        await answer_refusal(update, context, error)
        return
    # Claimed before the basket is shown confirmed: a process dying before the claim leaves
    # the confirm button in place, and the next press sends the receipt.
    receipt = await _claim_receipt(context, order.id)
    # The order is confirmed: from here on, a lost answer must neither stop the receipt nor
    # tell the member to try again.
    try:
        await render_basket(update, context, cycle, order=order)
    except TimedOut:
        log.warning("the confirmed basket's edit timed out; the receipt follows anyway")
    if receipt is not None:
        await _send_receipt(update, context, cycle, order, receipt)


async def _claim_receipt(context: DesserteContext, order_id: int) -> bool | None:
    """None when another press sends the order's receipt; else whether it is the member's
    first order (its receipt then offers to share a phone number), read before the claim, so
    that once claimed nothing but sending is left (:func:`models.ordering.claim_receipt`)."""
    member = context.member
    first_order = member.phone is None and await count_past_orders(context.session, member, 2) == 1
    if not await claim_receipt(context.session, order_id, context.services.now()):
        return None
    return first_order


async def _send_receipt(
    update: Update, context: DesserteContext, cycle: Cycle, order: Order, first_order: bool
) -> None:
    """Send the confirmed order's receipt, claimed by this press. A timed-out request may well
    have been delivered, so it is never sent again (that would show two receipts)."""
    chat = update.effective_chat
    assert chat is not None
    text, keyboard = summary_text(context, cycle, order), None
    if first_order:
        # The first order: once, the offer to be found at the counter comes with it.
        text, keyboard = f"{text}\n\n{offer_text()}", phone_keyboard()
    try:
        await chat.send_message(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except TimedOut:
        log.warning("the receipt of order %s timed out; not sent again", order.id)


async def reorder(update: Update, context: DesserteContext) -> None:
    """Last week's order copied into the open cycle's basket (the command, the menu's button)."""
    cycle = await current_cycle(update, context)
    if cycle is not None:
        await reorder_into(update, context, cycle)


async def reorder_from_basket(
    update: Update, context: DesserteContext, data: Reorder, cycle: Cycle
) -> None:
    """Last week's order copied into the basket the button was shown with."""
    await reorder_into(update, context, cycle)


async def reorder_into(update: Update, context: DesserteContext, cycle: Cycle) -> None:
    """Copies last week's order into the basket as far as stock allows; lists what is missing."""
    try:
        report = await reorder_last(
            context.session,
            context.member,
            cycle.id,
            context.services.now(),
            overdraft_cents=context.services.payments.order_overdraft,
        )
    except DomainError as error:
        await answer_refusal(update, context, error)
        return
    if report.source_order_id is None:
        await render_basket(
            update, context, cycle, _("Je ne trouve pas de commande précédente à reprendre.")
        )
        return
    await _show_reorder(
        update, context, cycle, report, _("🔁 J’ai repris votre dernière commande.")
    )


async def reorder_past(update: Update, context: DesserteContext, data: ReorderPast) -> None:
    """One of the member's past orders (from /commandes) copied into the open cycle's basket."""
    cycle = await current_cycle(update, context)
    if cycle is None:
        return
    try:
        report = await reorder_order(
            context.session,
            context.member,
            cycle.id,
            data.order_id,
            context.services.now(),
            overdraft_cents=context.services.payments.order_overdraft,
        )
    except DomainError as error:
        await answer_refusal(update, context, error)
        return
    intro = _("🔁 J’ai repris votre commande {number}.").format(number=order_number(data.order_id))
    await _show_reorder(update, context, cycle, report, intro)


async def _show_reorder(
    update: Update, context: DesserteContext, cycle: Cycle, report: ReorderReport, intro: str
) -> None:
    """The basket after a reorder, ``intro`` then what was short, rounded or missing above."""
    notice = [intro]
    basket = await current_basket(context.session, context.member, cycle.id)
    names = {line.product_id: line.product for line in basket.lines} if basket else {}
    for reservation in report.short:
        product = names.get(reservation.product_id)
        if product is not None:
            notice.append(
                _("⚠️ {product} : seulement {granted} (stock limité)").format(
                    product=escape(product_name(product)),
                    granted=escape(quantity_phrase(product, reservation.granted)),
                )
            )
    for rounded in report.rounded:
        product = names.get(rounded.product_id)
        if product is not None:
            notice.append(
                _(
                    "✂️ {product} : {rounded} au lieu de {asked} (vendu par {step} cette semaine)"
                ).format(
                    product=escape(product_name(product)),
                    rounded=escape(quantity_phrase(product, rounded.rounded)),
                    asked=escape(quantity_phrase(product, rounded.asked)),
                    step=escape(quantity_phrase(product, product.step)),
                )
            )
    if report.missing:
        missing = await context.session.scalars(
            select(Product).where(Product.id.in_(report.missing)).order_by(Product.name)
        )
        notice.append(
            _("❌ Pas disponible cette semaine : {products}").format(
                products=", ".join(escape(product_name(product)) for product in missing)
            )
        )
    if basket is not None and basket.status == OrderStatus.CONFIRMED:
        notice.append(order_updated_text(basket.id, basket.total_cents))
    await render_basket(update, context, cycle, "\n".join(notice), order=basket)


# -- "how many?" ---------------------------------------------------------------------------

TYPED_QUANTITY = "typed_quantity"
"""What the member is awaited to type (``models.members.await_input``): the quantity of
``[cycle id, product id]``, in the database so that any worker reads it."""


def _typed_number(text: str) -> Decimal | None:
    """ "3", "2,5", "1.5", "3 kg": the number a member typed, or None."""
    words = text.strip().split()
    if not words or len(words) > 2:
        return None
    try:
        value = Decimal(words[0].replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


async def ask_quantity(
    update: Update, context: DesserteContext, data: AskQuantity, cycle: Cycle
) -> None:
    """ "How many?": the product, what the basket holds and what is left; the next number the
    member types sets the quantity."""
    view = await catalog.offer_view(context.session, cycle.id, data.product_id)
    if view is None:
        await tell_stale(update)
        return
    product = view.product
    held = await line_quantity(context.session, context.member, cycle.id, product.id)
    lines = [
        _("<b>{product}</b> : combien de {unit} ?").format(
            product=escape(product_name(product)),
            unit=escape(unit_name(product.sale_unit, Decimal(2))),
        ),
        _("Tapez un nombre, par exemple {example} (0 pour l’enlever du panier).").format(
            example=format_quantity(product.step * (2 if product.step < 1 else 3))
        ),
        _("Dans votre panier : {held}. Il en reste {left}.").format(
            held=escape(quantity_phrase(product, held)),
            left=escape(quantity_phrase(product, max(Decimal(0), view.remaining))),
        ),
    ]
    if product.max_per_person is not None:
        lines.append(
            _("Au plus {maximum} par personne.").format(
                maximum=escape(quantity_phrase(product, product.max_per_person))
            )
        )
    await await_input(context.session, context.member, TYPED_QUANTITY, [cycle.id, product.id])
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message("\n".join(lines), parse_mode=ParseMode.HTML)


async def _quantity_help(
    context: DesserteContext, product_id: int, refused: InvalidQuantity
) -> str:
    """What to type instead of a quantity product ``product_id`` cannot have."""
    step = refused.params.get("step")
    product = await context.session.get(Product, product_id)
    if step is None or product is None:
        return _("Tapez un nombre de 0 à {maximum} (0 pour l’enlever du panier).").format(
            maximum=format_quantity(MAX_LINE_QUANTITY)
        )
    name, sold_by = product_name(product), quantity_phrase(product, step)
    if step == 1:
        return _(
            "{name} se vend par {step} : tapez un nombre entier (0 pour l’enlever du panier)."
        ).format(name=name, step=sold_by)
    return _(
        "{name} se vend par {step} : tapez un multiple de {number} (0 pour l’enlever du panier)."
    ).format(name=name, step=sold_by, number=format_quantity(step))


async def set_typed_quantity(update: Update, context: DesserteContext) -> None:
    """The text typed after "how many?": a number sets the basket's quantity (the basket shown
    says what it holds now, or why not); anything else is refused politely, still waiting.
    With no question pending, the text goes on to the other handlers."""
    message = update.effective_message
    pending = awaited(context.member, TYPED_QUANTITY)
    if message is None or not message.text or pending is None:
        return
    cycle_id, product_id = pending
    typed = message.text.strip()[:40]
    quantity = _typed_number(typed)
    if quantity is None:
        await message.reply_text(
            _(
                "« {typed} » n’est pas un nombre : tapez par exemple 2, ou touchez un bouton "
                "pour faire autre chose."
            ).format(typed=escape(typed)),
            parse_mode=ParseMode.HTML,
        )
        raise ApplicationHandlerStop
    cycle = await current_cycle(update, context)
    if cycle is None or cycle.id != cycle_id:
        await stop_awaiting(context.session, context.member, TYPED_QUANTITY)
        if cycle is not None:
            await tell_stale(update)
        raise ApplicationHandlerStop
    try:
        result = await set_quantity(
            context.session,
            context.member,
            cycle.id,
            product_id,
            quantity,
            context.services.now(),
            minimum_cents=context.services.minimum_order_cents,
        )
    except InvalidQuantity as error:  # still waiting: say which numbers the product can take
        await message.reply_text(await _quantity_help(context, product_id, error))
        raise ApplicationHandlerStop from None
    except DomainError as error:
        # Still waiting: the member may type another number.
        await message.reply_text(refusal(error, context))
        raise ApplicationHandlerStop from None
    await stop_awaiting(context.session, context.member, TYPED_QUANTITY)
    view = result.view
    assert view is not None
    product = view.product
    if result.maximum is not None:
        notice = escape(
            refusal(
                AboveMaximum(
                    maximum=result.maximum, held=result.line_quantity, sale_unit=product.sale_unit
                ),
                context,
            )
        )
    elif result.short:
        notice = _(
            "⚠️ Il n’en restait pas autant : votre panier en a maintenant {held}, tout ce qui "
            "restait."
        ).format(held=escape(quantity_phrase(product, result.line_quantity)))
    elif result.line_quantity == 0:
        notice = _("{product} retiré du panier.").format(product=escape(product_name(product)))
    else:
        notice = _("✅ {product} : {quantity} dans votre panier.").format(
            product=escape(product_name(product)),
            quantity=escape(quantity_phrase(product, result.line_quantity)),
        )
    if result.confirmed and result.order_id is not None:
        notice += "\n" + order_updated_text(result.order_id, result.total_cents)
    await render_basket(update, context, cycle, notice)
    raise ApplicationHandlerStop


async def leave_question(update: Update, context: DesserteContext) -> None:
    """A command or another button: the "how many?" is no longer pending. The update goes on."""
    await stop_awaiting(context.session, context.member, TYPED_QUANTITY)


def early_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """What must see an update before the others (in an earlier group): the number typed after
    "how many?"; a command or another button drops the question."""
    return [
        MessageHandler(filters.TEXT & ~filters.COMMAND, set_typed_quantity),
        MessageHandler(filters.COMMAND, leave_question),
        CallbackQueryHandler(leave_question, pattern=r"^(?!qty)"),
    ]


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The basket's commands and buttons."""
    return [
        CommandHandler(list(COMMAND.names), show_basket),
        CommandHandler(list(REORDER_COMMAND.names), reorder),
        button(OpenBasket, show_basket),
        button(BasketPage, show_basket_page, cycle=True),
        button(MoreOfLine, more, cycle=True, current=show_basket_as_it_is),
        button(LessOfLine, less, cycle=True, current=show_basket_as_it_is),
        button(RemoveLine, remove, cycle=True, current=show_basket_as_it_is),
        button(AskEmpty, ask_empty, cycle=True),
        button(EmptyNow, empty, cycle=True, current=show_basket_as_it_is),
        button(ConfirmBasket, confirm, cycle=True, current=show_basket_as_it_is),
        button(Reorder, reorder_from_basket, cycle=True, current=show_basket_as_it_is),
        button(ReorderNow, reorder, current=show_basket_as_it_is),
        button(ReorderPast, reorder_past, current=show_basket_as_it_is),
        button(AskQuantity, ask_quantity, cycle=True),
    ]
