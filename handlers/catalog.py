"""/catalogue (/catalog): categories, a paginated product list, product cards with − / + / add.

Every step edits the same message in place; a product card with a photo replaces it with a
photo message (Telegram cannot turn text into a photo).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler

from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.card_texts import story_lines
from handlers.common import escape, show, tell, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, format_price
from handlers.menu import BASKET, CATALOG, CATALOG_COMMAND, MENU, OpenCatalog
from handlers.routes import NO_CATEGORY, AskQuantity, ShowCard
from handlers.shop import current_cycle, product_title, refusal
from handlers.units import price_phrase, quantity_phrase
from handlers.vocabulary import category_name, label_name, product_description, product_name
from handlers.week_texts import order_updated_text
from models import Cycle, catalog
from models.errors import DomainError
from models.ordering import add_to_basket, floor_to_step, line_quantity, line_total

log = logging.getLogger(__name__)


class ShowCategory(CallbackData, prefix="cat:c"):
    """A page of the ``category``-th category of the cycle."""

    cycle_id: int
    category: int
    page: int


class AddToBasket(ShowCard, prefix="cat:a"):
    """Adds ``quantity`` of the product to the basket; the card is shown again."""


PER_PAGE = 8

COMMAND = CATALOG_COMMAND


def basket_button() -> InlineKeyboardButton:
    """The button that opens the basket (its route lives in handlers.basket)."""
    return InlineKeyboardButton(_("🧺 Panier"), callback_data=BASKET.pack())


async def show_categories(update: Update, context: DesserteContext) -> None:
    """The open cycle's categories, each with how many products are available."""
    cycle = await current_cycle(update, context)
    if cycle is None:
        return
    counts = await catalog.categories(context.session, cycle.id)
    if not counts:
        await show(
            update,
            _("Le catalogue de cette semaine n’est pas encore rempli : revenez un peu plus tard."),
        )
        return
    rows = [
        [
            InlineKeyboardButton(
                f"{category_name(category.name)} ({category.available})",
                callback_data=ShowCategory(cycle.id, index, 0).pack(),
            )
        ]
        for index, category in enumerate(counts)
    ]
    rows.append([basket_button(), InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())])
    await show(
        update,
        _("<b>Catalogue de la semaine</b>\nChoisissez un rayon :"),
        InlineKeyboardMarkup(rows),
    )


def _scarcity(view: catalog.OfferView) -> str:
    if view.sold_out:
        return _("épuisé")
    if view.scarce:
        return _("plus que {left}").format(
            left=escape(quantity_phrase(view.product, view.remaining))
        )
    return ""


async def show_category(
    update: Update, context: DesserteContext, data: ShowCategory, cycle: Cycle
) -> None:
    """One page of a category: names, prices per sale unit, scarcity; a button per product."""
    await render_category(update, context, cycle, data.category, data.page)


async def render_category(
    update: Update, context: DesserteContext, cycle: Cycle, index: int, page: int
) -> None:
    """Show page ``page`` of the ``index``-th category (back to the list if it vanished)."""
    name = await catalog.category_name(context.session, cycle.id, index)
    if name is None:
        await show_categories(update, context)
        return
    result = await catalog.category_page(context.session, cycle.id, name, page, PER_PAGE)
    lines = [
        _("<b>{category}</b> — page {page}/{pages}").format(
            category=escape(category_name(name)), page=result.number + 1, pages=result.count
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for view in result.items:
        scarcity = _scarcity(view)
        shown = product_name(view.product)
        line = f"• {escape(shown)} — {escape(price_phrase(view.product))}"
        lines.append(f"{line} <i>({scarcity})</i>" if scarcity else line)
        label = shown if not view.sold_out else f"{shown} ✖️"
        rows.append(
            [
                InlineKeyboardButton(
                    label,
                    callback_data=ShowCard(
                        cycle.id, view.product.id, str(view.product.step), index, result.number
                    ).pack(),
                )
            ]
        )
    navigation = []
    if result.number > 0:
        navigation.append(
            InlineKeyboardButton(
                "◀️", callback_data=ShowCategory(cycle.id, index, result.number - 1).pack()
            )
        )
    if result.number + 1 < result.count:
        navigation.append(
            InlineKeyboardButton(
                "▶️", callback_data=ShowCategory(cycle.id, index, result.number + 1).pack()
            )
        )
    if navigation:
        rows.append(navigation)
    rows.append(
        [InlineKeyboardButton(_("⬅️ Rayons"), callback_data=CATALOG.pack()), basket_button()]
    )
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows))


def card_text(view: catalog.OfferView, in_basket: Decimal, took_last: bool = False) -> str:
    """A product's card: producer and town, labels, origin, farming, price, what is left
    (``took_last``: the member's own add just took the last ones)."""
    product = view.product
    producer = product.producer
    lines = [product_title(product_name(product))]
    where = f" — {escape(producer.town)}" if producer.town else ""
    lines.append(_("🧑‍🌾 {producer}{where}").format(producer=escape(producer.name), where=where))
    if product.labels:
        labels = ", ".join(label_name(label) for label in product.labels)
        lines.append(f"🏷 {escape(labels)}")
    if product.origin:
        lines.append(_("📍 Origine : {origin}").format(origin=escape(product.origin)))
    if product.farming:
        lines.append(_("🌱 {farming}").format(farming=escape(product.farming)))
    description = product_description(product)
    if description:
        lines.append(f"\n<i>{escape(description)}</i>\n")
    if view.ingredients:
        made_of = ", ".join(
            _("{product} ({producer})").format(product=escape(name), producer=escape(producer))
            for name, producer in view.ingredients
        )
        lines.append(_("🥕 Avec : {ingredients}").format(ingredients=made_of))
    if told := story_lines(product):
        lines += [*told, ""]
    lines.append(f"💶 <b>{escape(price_phrase(product))}</b>")
    if view.sold_out and took_last:
        lines.append(_("📦 Vous avez pris les derniers : il n’en reste plus cette semaine."))
    elif view.sold_out:
        lines.append(_("📦 Épuisé cette semaine"))
    elif view.scarce:
        lines.append(
            _("📦 Plus que {left} !").format(left=escape(quantity_phrase(product, view.remaining)))
        )
    else:
        lines.append(
            _("📦 Disponible : {left}").format(
                left=escape(quantity_phrase(product, view.remaining))
            )
        )
    if in_basket:
        lines.append(
            _("🧺 Dans votre panier : {quantity}").format(
                quantity=escape(quantity_phrase(product, in_basket))
            )
        )
    return "\n".join(lines)


def card_keyboard(
    cycle: Cycle, view: catalog.OfferView, quantity: Decimal, index: int, page: int
) -> InlineKeyboardMarkup:
    """− / quantity / + / add, and the way back; the quantity asks "how many?"."""
    product = view.product
    step = product.step
    rows: list[list[InlineKeyboardButton]] = []
    if not view.sold_out:
        less = max(step, quantity - step)
        more = quantity + step  # past what is left, the card says so (see show_card)
        rows.append(
            [
                InlineKeyboardButton(
                    "➖",
                    callback_data=ShowCard(cycle.id, product.id, str(less), index, page).pack(),
                ),
                InlineKeyboardButton(
                    quantity_phrase(product, quantity),
                    callback_data=AskQuantity(cycle.id, product.id).pack(),
                ),
                InlineKeyboardButton(
                    "➕",
                    callback_data=ShowCard(cycle.id, product.id, str(more), index, page).pack(),
                ),
            ]
        )
        total = format_price(line_total(quantity, product.price_cents))
        if product.price_per_kg_cents is not None:
            total = _("≈ {total}").format(total=total)
        rows.append(
            [
                InlineKeyboardButton(
                    _("🧺 Ajouter ({total})").format(total=total),
                    callback_data=AddToBasket(
                        cycle.id, product.id, str(quantity), index, page
                    ).pack(),
                )
            ]
        )
    back = CATALOG if index == NO_CATEGORY else ShowCategory(cycle.id, index, page)
    rows.append([InlineKeyboardButton(_("⬅️ Retour"), callback_data=back.pack()), basket_button()])
    return InlineKeyboardMarkup(rows)


async def show_card(update: Update, context: DesserteContext, data: ShowCard, cycle: Cycle) -> None:
    """A product's card with the quantity stepper (held to what is left, and saying so)."""
    view = await catalog.offer_view(context.session, cycle.id, data.product_id)
    if view is None:
        await tell_stale(update)
        return
    quantity, notice = data.amount, ""
    most = floor_to_step(view.remaining, view.product.step)
    if quantity > most > 0:
        notice = _("Il n’en reste que {left}.").format(
            left=escape(quantity_phrase(view.product, most))
        )
        quantity = most
    await render_card(
        update, context, cycle, view, quantity, data.category, data.page, notice=notice
    )


async def render_card(
    update: Update,
    context: DesserteContext,
    cycle: Cycle,
    view: catalog.OfferView,
    quantity: Decimal,
    index: int,
    page: int,
    in_basket: Decimal | None = None,
    notice: str = "",
    took_last: bool = False,
) -> None:
    """Show the card (as a photo with caption when the product has one), ``notice`` (HTML) above;
    ``in_basket`` when the caller already knows how much of it the basket holds; ``took_last``
    when the member's own add just took the last ones."""
    if in_basket is None:
        in_basket = await line_quantity(context.session, context.member, cycle.id, view.product.id)
    text = card_text(view, in_basket, took_last)
    if notice:
        text = f"{notice}\n\n{text}"
    keyboard = card_keyboard(cycle, view, quantity, index, page)
    product = view.product
    photo = product.photo
    if not photo or product.photo_failed_at is not None or len(text) > 1024:
        await show(update, text, keyboard)
        return
    if not await _show_photo(update, photo, text, keyboard):
        await catalog.photo_unfetchable(context.session, product.id, photo, context.services.now())


_UNFETCHABLE = ("wrong file identifier", "failed to get http url content")


async def _show_photo(
    update: Update, photo: str, caption: str, keyboard: InlineKeyboardMarkup
) -> Any:
    """The card as a photo: a press on a photo card (➕/➖) edits its caption and keyboard; else
    the photo is sent, then the pressed message deleted (never before: the person always sees
    a view). A photo Telegram cannot fetch gives the text card instead, and None (the caller
    remembers it); otherwise the message shown."""
    query = update.callback_query
    message = query.message if query is not None else None
    if isinstance(message, Message) and message.photo:
        try:
            return await message.edit_caption(
                caption=caption, parse_mode=ParseMode.HTML, reply_markup=keyboard
            )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return message
            raise
    chat = update.effective_chat
    assert chat is not None
    try:
        sent = await chat.send_photo(
            photo, caption=caption, parse_mode=ParseMode.HTML, reply_markup=keyboard
        )
    except BadRequest as exc:
        if not any(reason in str(exc).lower() for reason in _UNFETCHABLE):
            raise
        log.warning("photo %s could not be fetched by Telegram: %s", photo, exc)
        await show(update, caption, keyboard)
        return None
    if isinstance(message, Message):
        try:
            await message.delete()
        except BadRequest:  # older than 48 hours, or already gone: it stays
            log.info("could not delete message %s after showing its card", message.message_id)
    return sent


async def add_product(
    update: Update, context: DesserteContext, data: AddToBasket, cycle: Cycle
) -> None:
    """Adds the chosen quantity to the basket; the card shown again says so, or says what was
    left, or why not."""
    try:
        result = await add_to_basket(
            context.session,
            context.member,
            cycle.id,
            data.product_id,
            data.amount,
            context.services.now(),
            overdraft_cents=context.services.payments.order_overdraft,
        )
    except DomainError as error:
        view = await catalog.offer_view(context.session, cycle.id, data.product_id)
        if view is None:
            await tell(update, refusal(error, context))
            return
        await render_card(
            update,
            context,
            cycle,
            view,
            view.product.step,
            data.category,
            data.page,
            notice=escape(refusal(error, context)),
        )
        return
    view = result.view
    assert view is not None
    product = view.product
    if result.maximum is not None:
        notice = _(
            "C’est au plus {maximum} par personne : votre panier en a maintenant {held}."
        ).format(
            maximum=escape(quantity_phrase(product, result.maximum)),
            held=escape(quantity_phrase(product, result.line_quantity)),
        )
    elif result.short:
        notice = _("Il n’en restait que {granted} : je les ai ajoutés à votre panier.").format(
            granted=escape(quantity_phrase(product, result.granted))
        )
    else:
        notice = _("Ajouté au panier : {product}, {quantity}.").format(
            quantity=escape(quantity_phrase(product, result.granted)),
            product=escape(product_name(product)),
        )
    if result.confirmed and result.order_id is not None:
        notice += "\n" + order_updated_text(result.order_id, result.total_cents)
    await render_card(
        update,
        context,
        cycle,
        view,
        product.step,
        data.category,
        data.page,
        result.line_quantity,
        notice=f"✅ {notice}" if not result.short else f"⚠️ {notice}",
        took_last=result.remaining == 0,
    )


async def show_card_as_it_is(
    update: Update, context: DesserteContext, data: AddToBasket, cycle: Cycle, *, notice: str
) -> None:
    """The card as it is now (what the basket holds of it), ``notice`` (HTML) above: what a
    press of Add from before an interruption gets instead of adding (``button(current=...)``)."""
    view = await catalog.offer_view(context.session, cycle.id, data.product_id)
    if view is None:
        await tell_stale(update)
        return
    await render_card(
        update, context, cycle, view, view.product.step, data.category, data.page, notice=notice
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The catalog's command and buttons."""
    return [
        CommandHandler(list(COMMAND.names), show_categories),
        button(OpenCatalog, show_categories),
        button(ShowCategory, show_category, cycle=True),
        button(ShowCard, show_card, cycle=True),
        button(AddToBasket, add_product, cycle=True, current=show_card_as_it_is),
    ]
