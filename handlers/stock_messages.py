"""Producers' stock by message: one plain message, a preview, one tap to apply.

``handle_stock_text`` is called first by the free-text handler for every plain message; it takes
the message when the sender is linked to a producer and names one of that farm's products (any
message while the weekly prompt is pending). Also: ``/stock`` (the weekly prompt on demand),
``/produits`` (``/mes_produits``), ``/defaire`` (``/annuler_stock``), and :func:`weekly_prompt_parts` for the scheduler.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.buttons import button
from handlers.common import escape, show, tell, tell_stale
from handlers.context import DesserteContext, Services
from handlers.delivery import markup_json
from handlers.i18n import _, format_price, lazy_gettext, use_locale
from handlers.menu import MY_PRODUCTS_COMMAND, PRODUCER, STOCK_COMMAND, Command
from handlers.pages import show_texts, split_html
from handlers.stock_views import (
    CancelPrice,
    CancelStock,
    ConfirmPrice,
    ConfirmQuantity,
    FixStock,
    PickProduct,
    SameStock,
    ValidateStock,
    applied_text,
    delivery_title,
    nudge_text,
    offer_shortage,
    preview_keyboard,
    preview_text,
    price_done_text,
    price_keyboard,
    price_preview_text,
    producer_stock_lines,
    prompt_keyboard,
    prompt_text,
)
from handlers.units import price_phrase
from models.cycle import Cycle
from models.cycles import open_cycle, stock_cycle
from models.errors import DomainError, NoOpenCycle, QuestionPending, StaleAction
from models.outbox import Part, parts
from models.price_change import (
    MAX_PRICE_CENTS,
    PriceRefused,
    cancel_price,
    confirm_price,
    confirmed_price,
    read_price_message,
)
from models.producer import Product
from models.stock import (
    WeekPhrase,
    all_to_zero,
    apply_update,
    cancel_update,
    confirm_quantity,
    mark_prompted,
    not_sold_here,
    preview,
    producer_products,
    producer_stock,
    producers_to_prompt,
    producers_without_stock,
    read_stock_message,
    recorded_update,
    resolve_choice,
    same_as_last_week,
    undo_last_update,
    week_phrase,
)
from models.text import fold

log = logging.getLogger(__name__)

PRICES_COMMAND = Command("prix", "prices", lazy_gettext("Voir et changer mes prix"), PRODUCER)
UNDO_COMMAND = Command(
    "defaire",
    "undo",
    lazy_gettext("Annuler ma dernière mise à jour"),
    PRODUCER,
    aliases=("annuler_stock", "undo_stock"),
)

# "annuler la dernière mise à jour", "annule la derniere maj", "undo the last update"
_UNDO_PHRASE = re.compile(
    r"^\s*(annule[rz]?\s+(la\s+)?(derniere\s+)?(mise\s+a\s+jour|maj)"
    r"|undo\s+(the\s+)?last\s+update)\b"
)


def _not_a_producer() -> str:
    return _("Cette commande est réservée aux producteurs du réseau.")


# ------------------------------------------------------------------ free text


async def handle_stock_text(update: Update, context: DesserteContext) -> bool:
    """A producer's plain message read as a stock update (or a shortage after close, or an
    undo); True when it was taken. Anyone else's message is left to the consumer's search."""
    message = update.effective_message
    member = context.member
    if message is None or not message.text or member.producer_id is None:
        return False
    text = message.text
    if _UNDO_PHRASE.match(fold(text)):
        await undo_stock(update, context)
        return True
    now = context.services.now()
    if await offer_shortage(update, context, text, await open_cycle(context.session)):
        return True
    if await _price_message(update, context, text):
        return True
    phrase = week_phrase(text)
    if phrase is not None:
        await _whole_week(update, context, text, *phrase)
        return True
    stock_update = await read_stock_message(context.session, member, text, now)
    if stock_update is None:
        return await _not_stock(update, context, text)
    await show_preview(update, context, stock_update.id)
    return True


async def _price_message(update: Update, context: DesserteContext, text: str) -> bool:
    """ "tomates 5,80 le kilo": the preview of the price change; True when it was one."""
    member = context.member
    assert member.producer_id is not None
    products = await producer_products(context.session, member.producer_id)
    try:
        found = await read_price_message(
            context.session, member, products, text, context.services.now()
        )
    except PriceRefused as refused:
        await show(update, _price_refusal(refused))
        return True
    if found is None:
        return False
    await show(update, price_preview_text(found), price_keyboard(found.change_id))
    return True


def _price_refusal(refused: PriceRefused) -> str:
    names = ", ".join(escape(name) for name in refused.names)
    if refused.reason == "unit":
        return _(
            "{name} ne se vend pas au poids ni au volume : donnez le prix de l’unité de vente, "
            "par exemple « {name} 2,50 € »."
        ).format(name=names)
    if refused.reason == "bounds":
        return _("Ce prix n’est pas possible pour {name} : au plus {limit}, et plus que 0.").format(
            name=names, limit=format_price(MAX_PRICE_CENTS)
        )
    if refused.names:
        return _("De quel produit s’agit-il ? Écrivez son nom complet : {names}.").format(
            names=names
        )
    return _("Je ne trouve pas ce produit parmi les vôtres. Tapez /prix pour voir vos prix.")


async def confirm_new_price(update: Update, context: DesserteContext, data: ConfirmPrice) -> None:
    """Confirmer le prix: now, or from the next cycle; the message says which."""
    again = False
    try:
        change = await confirm_price(
            context.session, context.member, data.change_id, context.services.now()
        )
    except StaleAction:
        try:  # pressed again once confirmed (a double tap, or after a restart): say so
            change = await confirmed_price(context.session, context.member, data.change_id)
        except StaleAction:
            await tell_stale(update)
            return
        again = True
    product = await context.session.get(Product, change.product_id)
    assert product is not None
    price = price_phrase(product, change.new_price_cents)
    text = price_done_text(change, product.name, price)
    if again:
        text = _("Ce prix est déjà enregistré : rien n’a changé.") + "\n\n" + text
    await show(update, text)


async def cancel_new_price(update: Update, context: DesserteContext, data: CancelPrice) -> None:
    """Annuler: the price stays."""
    try:
        await cancel_price(context.session, context.member, data.change_id)
    except StaleAction:
        await tell_stale(update)
        return
    await show(update, _("Prix inchangé."))


async def show_prices(update: Update, context: DesserteContext) -> None:
    """/prix: the farm's prices, and how to change one."""
    member = context.member
    if member.producer_id is None:
        await show(update, _not_a_producer())
        return
    products = await producer_products(context.session, member.producer_id)
    lines = [_("<b>Vos prix</b>")]
    lines.extend(
        _("• {name} : {price}").format(name=escape(p.name), price=escape(price_phrase(p)))
        for p in products
    )
    lines.append("")
    lines.append(
        _(
            "Pour changer un prix, écrivez-le simplement, par exemple « tomates anciennes 5,80 € "
            "le kilo »."
        )
    )
    await show(update, "\n".join(lines))


async def _whole_week(
    update: Update, context: DesserteContext, text: str, phrase: WeekPhrase, exceptions: str
) -> None:
    """ "Rien cette semaine" (everything to 0) or "pareil que la semaine dernière [sauf …]",
    previewed like any stock message."""
    now = context.services.now()
    try:
        if phrase == "nothing":
            stock_update = await all_to_zero(context.session, context.member, text, now)
        else:
            stock_update = await same_as_last_week(
                context.session, context.member, now, text, exceptions
            )
    except NoOpenCycle:
        await show(update, _no_cycle_text())
        return
    except StaleAction:
        await show(update, _no_last_week_text())
        return
    await show_preview(update, context, stock_update.id)


def _no_last_week_text() -> str:
    return _("Je n’ai pas de semaine précédente à recopier.")


async def _not_stock(update: Update, context: DesserteContext, text: str) -> bool:
    """A producer's message naming none of their products: another farm's product is said to
    be none of theirs, a message with a number gets the producer's answer; True when answered
    (else the message is left to the catalog search: "miel", "bonjour")."""
    member = context.member
    assert member.producer_id is not None
    elsewhere = await not_sold_here(context.session, member.producer_id, text)
    if not elsewhere and not any(ch.isdigit() for ch in text):
        return False
    stock = await producer_stock(context.session, member.producer_id, context.services.now())
    network = escape(context.services.network_name)
    lines = [
        (
            _("Vous ne vendez pas d’{name} sur {network}.")
            if fold(name)[:1] in "aeiouyh"
            else _("Vous ne vendez pas de {name} sur {network}.")
        ).format(name=escape(name), network=network)
        for name in elsewhere
    ] or [_("Je n’ai reconnu aucun de vos produits dans ce message.")]
    names = ", ".join(escape(item.product.name) for item in stock.products)
    lines.append(_("Vos produits : {products}.").format(products=names))
    lines.append(
        _(
            "Pour votre stock, écrivez par exemple « tomates 12 kg, plus de radis ». Pour "
            "chercher un produit à acheter, écrivez seulement son nom, par exemple « miel »."
        )
    )
    await show(update, "\n".join(lines))
    return True


async def show_preview(
    update: Update, context: DesserteContext, update_id: int, notice: str = ""
) -> None:
    """The preview of a pending update, with its buttons (in place after a press), under
    ``notice`` when there is one."""
    try:
        shown = await preview(context.session, context.member, update_id)
    except StaleAction:
        await tell_stale(update)
        return
    if shown.cycle is None:
        await cancel_update(context.session, context.member, update_id)
        await show(update, _no_cycle_text())
        return
    texts = preview_text(shown, context.services.timezone)
    if notice:
        texts = [f"{notice}\n\n{texts[0]}", *texts[1:]]
    await show_texts(update, texts, preview_keyboard(shown))


def _no_cycle_text() -> str:
    return _(
        "Aucun cycle de commande n’est ouvert ni prévu : je ne peux pas encore enregistrer "
        "votre stock. L’équipe vous préviendra à l’ouverture."
    )


# ------------------------------------------------------------------ buttons


async def validate_update(update: Update, context: DesserteContext, data: ValidateStock) -> None:
    """Valider: the whole update applied at once; the message says what changed."""
    try:
        applied = await apply_update(
            context.session, context.member, data.update_id, context.services.now()
        )
    except StaleAction:
        await _tell_recorded(update, context, data.update_id)
        return
    except NoOpenCycle:
        await show(update, _no_cycle_text())
        return
    except QuestionPending:
        notice = _("⚠️ Une question attend encore votre réponse : rien n’est enregistré.")
        await show_preview(update, context, data.update_id, notice)
        return
    await show_texts(update, applied_text(applied, context.services.timezone))
    if context.services.wake is not None:  # the catalog may now be ready to announce
        await context.services.wake(context.application)


async def _tell_recorded(update: Update, context: DesserteContext, update_id: int) -> None:
    """Valider on an update no longer pending: when it is this farm's and recorded (a double
    tap, or a press after the process died once it was committed), what it recorded, said to
    be so already; otherwise that the button is stale."""
    try:
        recorded = await recorded_update(context.session, context.member, update_id)
    except StaleAction:
        await tell_stale(update)
        return
    await show_texts(update, applied_text(recorded, context.services.timezone, again=True))
    if context.services.wake is not None:  # in case the first press died before it woke
        await context.services.wake(context.application)


async def fix_update(update: Update, context: DesserteContext, data: FixStock) -> None:
    """Corriger: the preview is dropped; the producer sends the corrected message."""
    try:
        await cancel_update(context.session, context.member, data.update_id)
    except StaleAction:
        await tell_stale(update)
        return
    await show(
        update,
        _(
            "D’accord : envoyez-moi le message corrigé, par exemple « tomates 12 kg, plus de "
            "radis »."
        ),
    )


async def cancel_pending(update: Update, context: DesserteContext, data: CancelStock) -> None:
    """Annuler: nothing changes."""
    try:
        await cancel_update(context.session, context.member, data.update_id)
    except StaleAction:
        await tell_stale(update)
        return
    await show(update, _("Mise à jour annulée : votre stock n’a pas changé."))


async def pick_product(update: Update, context: DesserteContext, data: PickProduct) -> None:
    """A product picked for an ambiguous name; the preview is shown again, updated."""
    try:
        await resolve_choice(
            context.session, context.member, data.update_id, data.line, data.candidate
        )
    except StaleAction:
        await tell_stale(update)
        return
    await show_preview(update, context, data.update_id)


async def confirm_unusual(update: Update, context: DesserteContext, data: ConfirmQuantity) -> None:
    """ "Oui, c’est bien ça": the unusual quantity is kept; the preview is shown again."""
    try:
        await confirm_quantity(context.session, context.member, data.update_id, data.product_id)
    except StaleAction:
        await tell_stale(update)
        return
    await show_preview(update, context, data.update_id)


async def copy_last_week(update: Update, context: DesserteContext) -> None:
    """ "Même stock que la semaine dernière": the preview of last week's quantities."""
    if context.member.producer_id is None:
        await tell_stale(update)
        return
    try:
        stock_update = await same_as_last_week(
            context.session, context.member, context.services.now()
        )
    except NoOpenCycle:
        await show(update, _no_cycle_text())
        return
    except StaleAction:
        await tell(update, _no_last_week_text())
        return
    await show_preview(update, context, stock_update.id)


# ------------------------------------------------------------------ commands


async def ask_stock(update: Update, context: DesserteContext) -> None:
    """/stock: the product list with last week's quantities; the next message is read as stock."""
    member = context.member
    if member.producer_id is None:
        await show(update, _not_a_producer())
        return
    cycle = await stock_cycle(context.session, context.services.now())
    if cycle is None:
        await show(update, _no_cycle_text())
        return
    stock = await producer_stock(context.session, member.producer_id, context.services.now(), cycle)
    await mark_prompted(context.session, member.producer_id, cycle.id)
    await show_texts(update, prompt_text(stock, context.services.timezone), prompt_keyboard(stock))


async def show_my_products(update: Update, context: DesserteContext) -> None:
    """/produits: this week's offer and what consumers ordered so far, per product."""
    member = context.member
    if member.producer_id is None:
        await show(update, _not_a_producer())
        return
    stock = await producer_stock(context.session, member.producer_id, context.services.now())
    if stock.cycle is None:
        await show(update, _no_cycle_text())
        return
    parts = [
        _("<b>{producer} — {title}</b>").format(
            producer=escape(stock.producer.name),
            title=delivery_title(stock.cycle, context.services.timezone),
        ),
        *producer_stock_lines(stock, last_week=False),
        "",
        _("Pour changer votre stock, écrivez-le simplement, par exemple « tomates 12 kg »."),
    ]
    await show_texts(update, split_html(parts))


async def undo_stock(update: Update, context: DesserteContext) -> None:
    """/defaire (or "annuler la dernière mise à jour"): the last applied update undone."""
    member = context.member
    if member.producer_id is None:
        await show(update, _not_a_producer())
        return
    try:
        applied = await undo_last_update(context.session, member, context.services.now())
    except DomainError:
        await show(update, _("Il n’y a pas de mise à jour de stock à annuler cette semaine."))
        return
    await show_texts(update, applied_text(applied, context.services.timezone, undo=True))


# ------------------------------------------------------------------ the scheduler's call


async def weekly_prompt_parts(
    session: AsyncSession, services: Services, cycle: Cycle
) -> tuple[list[int], list[Part]]:
    """The weekly stock prompt of every producer's people, in their language, as outbox parts,
    with the ids of the producers asked (whose next plain message is then read as stock
    whatever it says: :func:`models.stock.add_prompted`). Ends its read (commits)."""
    drafts: list[Part] = []
    producer_ids: list[int] = []
    for producer, members in await producers_to_prompt(session):
        stock = await producer_stock(session, producer.id, services.now(), cycle)
        producer_ids.append(producer.id)
        for member in members:
            with use_locale(member.locale):
                drafts += parts(
                    member.telegram_id,
                    member.locale,
                    prompt_text(stock, services.timezone),
                    markup=markup_json(prompt_keyboard(stock)),
                    member_id=member.id,
                )
    await session.commit()
    return producer_ids, drafts


async def stock_nudge_parts(session: AsyncSession, services: Services, cycle: Cycle) -> list[Part]:
    """The one reminder of every producer's people who gave no stock for ``cycle`` yet, in their
    language, as outbox parts. Ends its read (commits)."""
    drafts: list[Part] = []
    for producer, members in await producers_without_stock(session, cycle.id):
        stock = await producer_stock(session, producer.id, services.now(), cycle)
        for member in members:
            with use_locale(member.locale):
                drafts += parts(
                    member.telegram_id,
                    member.locale,
                    [nudge_text(stock, services.timezone)],
                    markup=markup_json(prompt_keyboard(stock)),
                    member_id=member.id,
                )
    await session.commit()
    return drafts


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Producers' stock commands and preview buttons (free text goes through free_text)."""
    return [
        CommandHandler(list(STOCK_COMMAND.names), ask_stock),
        CommandHandler(list(MY_PRODUCTS_COMMAND.names), show_my_products),
        CommandHandler(list(UNDO_COMMAND.names), undo_stock),
        CommandHandler(list(PRICES_COMMAND.names), show_prices),
        button(ConfirmPrice, confirm_new_price),
        button(CancelPrice, cancel_new_price),
        button(ValidateStock, validate_update),
        button(FixStock, fix_update),
        button(CancelStock, cancel_pending),
        button(PickProduct, pick_product),
        button(ConfirmQuantity, confirm_unusual),
        button(SameStock, copy_last_week),
    ]
