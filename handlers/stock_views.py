"""What producers see about their stock: routes, previews, keyboards (no handlers here).

Shared by :mod:`handlers.stock_messages` (stock updates) and :mod:`handlers.shortage`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.callback_data import CallbackData
from handlers.common import escape
from handlers.context import DesserteContext
from handlers.i18n import (
    _,
    format_date,
    format_datetime,
    format_price,
    format_quantity,
    ngettext,
)
from handlers.pages import show_texts, split_html
from handlers.units import amount_phrase, price_phrase, size_phrase
from models.cycle import Cycle, CycleState
from models.cycles import stock_cycle
from models.price_change import PriceChange, PricePreview
from models.shortage import ShortagePreview, read_shortage_message
from models.stock import (
    MAX_QUANTITY,
    AppliedStock,
    PreviewLine,
    ProducerStock,
    Question,
    StockPreview,
)
from models.text import fold


class ValidateStock(CallbackData, prefix="stk:ok"):
    """The stock update ``update_id`` applied as previewed."""

    update_id: int


class FixStock(ValidateStock, prefix="stk:fix"):
    """The previewed update dropped: the producer sends a corrected message."""


class CancelStock(ValidateStock, prefix="stk:no"):
    """The previewed update dropped; the stock stays as it was."""


class PickProduct(CallbackData, prefix="stk:pick"):
    """For the ``line``-th line of an update, the ``candidate``-th of the products it may name."""

    update_id: int
    line: int
    candidate: int


class ConfirmQuantity(CallbackData, prefix="stk:qty"):
    """The unusual quantity asked about for product ``product_id`` of update ``update_id`` is
    right."""

    update_id: int
    product_id: int


NO_CANDIDATE = -1
"""``PickProduct.candidate`` for "none of these": the line is left out."""


class SameStock(CallbackData, prefix="stk:same"):
    """The preview of last week's quantities."""


class ConfirmPrice(CallbackData, prefix="prx:ok"):
    """The price change ``change_id`` confirmed."""

    change_id: int


class CancelPrice(ConfirmPrice, prefix="prx:no"):
    """The price change ``change_id`` dropped."""


class ConfirmShortage(CallbackData, prefix="sht:ok"):
    """The shortage ``update_id`` applied: orders shrink."""

    update_id: int


class CancelShortage(ConfirmShortage, prefix="sht:no"):
    """The shortage dropped: the orders stay as they are."""


class ShortageAsStock(ConfirmShortage, prefix="sht:stk"):
    """The shortage's message read as stock instead (next week's, after the close)."""


class StockAsShortage(ConfirmShortage, prefix="sht:from"):
    """The stock update ``update_id``, set below what is already sold, read as a shortage."""


STOCK_SAME = SameStock()


def quantity(amount: Decimal, sale_unit: str) -> str:
    """ "12 kg", "24 barquettes", "1 botte": the amount in its sale unit, made safe for HTML
    (a sale unit is catalog data: "sac<5kg" must not open a tag)."""
    return escape(amount_phrase(amount, sale_unit))


def delivery_title(cycle: Cycle | None, timezone: ZoneInfo) -> str:
    """ "livraison du mardi 8 décembre", or nothing without a cycle."""
    if cycle is None:
        return ""
    return _("livraison du {date}").format(
        date=format_date(cycle.pickup_starts_at.astimezone(timezone))
    )


def change_line(line: PreviewLine) -> str:
    """ "• Tomates anciennes : 20 → 12 kg (déjà commandé : 3)"."""
    text = _("• {name} : {before} → {after}").format(
        name=escape(line.name),
        before=format_quantity(line.before),
        after=quantity(line.after, line.sale_unit),
    )
    if line.given is not None:
        size = size_phrase(line.sale_unit, line.unit_amount, line.unit_measure)
        converted = quantity(line.requested, line.sale_unit)
        text += " " + (
            _("({given} → {converted} de {size})").format(
                given=escape(line.given), converted=converted, size=escape(size)
            )
            if size
            else _("({given} → {converted})").format(given=escape(line.given), converted=converted)
        )
    if line.ordered > 0:
        text += " " + _("(déjà commandé : {ordered})").format(ordered=format_quantity(line.ordered))
    return text


def clamp_note(line: PreviewLine) -> str:
    """Why the stock stays higher than asked: consumers already bought that many."""
    return _(
        "⚠️ {name} : les consommateurs en ont déjà acheté {ordered}, le stock ne peut pas "
        "descendre plus bas que {ordered}."
    ).format(name=escape(line.name), ordered=quantity(line.ordered, line.sale_unit))


def preview_text(preview: StockPreview, timezone: ZoneInfo) -> list[str]:
    """The preview of a pending stock update: changes, then whatever needs an answer (as
    messages Telegram accepts: :func:`handlers.pages.split_html`)."""
    title = delivery_title(preview.cycle, timezone)
    parts = [
        _("<b>Votre stock pour la {title}</b>").format(title=title)
        if title
        else _("<b>Votre stock</b>")
    ]
    if preview.lines:
        parts.append(_("Voici ce que j’ai compris :"))
        parts.extend(change_line(line) for line in preview.lines)
        parts.extend(clamp_note(line) for line in preview.lines if line.clamped)
    else:
        parts.append(_("Je n’ai reconnu aucune quantité à enregistrer pour vos produits."))
    if preview.choices:
        parts.append("")
        for choice in preview.choices:
            if len(choice.candidates) == 1:
                parts.append(
                    _("❓ « {text} » : vouliez-vous dire {name} ?").format(
                        text=escape(choice.text), name=escape(choice.candidates[0][1])
                    )
                )
            else:
                parts.append(
                    _("❓ « {text} » : de quel produit s’agit-il ? Choisissez ci-dessous.").format(
                        text=escape(choice.text)
                    )
                )
    if preview.questions:
        parts.append("")
        parts.extend(question_line(question) for question in preview.questions)
    if preview.problems:
        parts.append("")
        for problem in preview.problems:
            parts.append(
                _(
                    "❓ « {text} » : {name} se vend à l’unité « {unit} », je ne sais pas convertir "
                    "{quantity} {given}. Combien de {unit} ? Renvoyez la ligne corrigée."
                ).format(
                    text=escape(problem.text),
                    name=escape(problem.name),
                    unit=escape(problem.sale_unit),
                    quantity=format_quantity(problem.quantity),
                    given=escape(problem.unit),
                )
            )
    if preview.unknown:
        parts.append("")
        parts.append(
            _("🤷 Pas reconnu parmi vos produits : {items}").format(
                items=", ".join(f"« {escape(item)} »" for item in preview.unknown)
            )
        )
    if preview.declined:
        parts.append("")
        parts.append(not_recorded_line(preview.declined))
    if preview.actionable:
        parts.append("")
        parts.append(_("Tout est juste ? Validez en un geste."))
    elif preview.lines and preview.open_questions:
        parts.append("")
        parts.append(_("Répondez d’abord aux questions ❓ : je pourrai ensuite enregistrer."))
    return split_html(parts)


def question_line(question: Question) -> str:
    """ "❓ Radis : vous avez écrit 99 999 bottes : est-ce bien ça ?" (or why it is refused)."""
    written = quantity(question.quantity, question.sale_unit)
    if question.refused:
        return _(
            "⛔ {name} : vous avez écrit {quantity}, c’est plus que je ne peux enregistrer "
            "(au plus {limit}). Renvoyez la ligne corrigée."
        ).format(
            name=escape(question.name),
            quantity=written,
            limit=quantity(MAX_QUANTITY, question.sale_unit),
        )
    if question.last_week:
        return _(
            "❓ {name} : vous avez écrit {quantity} (semaine dernière : {last}) : est-ce bien ça ?"
        ).format(
            name=escape(question.name),
            quantity=written,
            last=quantity(question.last_week, question.sale_unit),
        )
    return _("❓ {name} : vous avez écrit {quantity} : est-ce bien ça ?").format(
        name=escape(question.name), quantity=written
    )


def not_recorded_line(items: list[str]) -> str:
    """ "Pas enregistré : « navets », « 20 kg de radis »"."""
    return _("Pas enregistré : {items}").format(
        items=", ".join(f"« {escape(item)} »" for item in items)
    )


def preview_keyboard(preview: StockPreview) -> InlineKeyboardMarkup:
    """Product choices for each ambiguity, then Valider / Corriger / Annuler."""
    rows = []
    for choice in preview.choices:
        if len(choice.candidates) == 1:
            rows.append(
                [
                    InlineKeyboardButton(
                        _("Oui, {name}").format(name=choice.candidates[0][1]),
                        callback_data=PickProduct(preview.update_id, choice.index, 0).pack(),
                    ),
                    InlineKeyboardButton(
                        _("Non"),
                        callback_data=PickProduct(
                            preview.update_id, choice.index, NO_CANDIDATE
                        ).pack(),
                    ),
                ]
            )
            continue
        for position, (_sku, name) in enumerate(choice.candidates):
            rows.append(
                [
                    InlineKeyboardButton(
                        _("{text} → {name}").format(text=choice.text, name=name),
                        callback_data=PickProduct(preview.update_id, choice.index, position).pack(),
                    )
                ]
            )
        rows.append(
            [
                InlineKeyboardButton(
                    _("{text} → aucun de ceux-là").format(text=choice.text),
                    callback_data=PickProduct(preview.update_id, choice.index, NO_CANDIDATE).pack(),
                )
            ]
        )
    for question in preview.questions:
        if question.refused:
            continue
        rows.append(
            [
                InlineKeyboardButton(
                    _("Oui, {quantity} de {name}").format(
                        quantity=amount_phrase(question.quantity, question.sale_unit),
                        name=question.name,
                    ),
                    callback_data=ConfirmQuantity(preview.update_id, question.product_id).pack(),
                )
            ]
        )
    open_cycle = preview.cycle is not None and preview.cycle.state == CycleState.OPEN
    if open_cycle and any(line.clamped for line in preview.lines):
        rows.append(
            [
                InlineKeyboardButton(
                    _("⚠️ J’en ai moins que vendu : signaler un manque"),
                    callback_data=StockAsShortage(preview.update_id).pack(),
                )
            ]
        )
    actions = []
    if preview.actionable:
        actions.append(
            InlineKeyboardButton(
                _("✅ Valider"), callback_data=ValidateStock(preview.update_id).pack()
            )
        )
    actions.append(
        InlineKeyboardButton(_("✏️ Corriger"), callback_data=FixStock(preview.update_id).pack())
    )
    actions.append(
        InlineKeyboardButton(_("❌ Annuler"), callback_data=CancelStock(preview.update_id).pack())
    )
    rows.append(actions)
    return InlineKeyboardMarkup(rows)


def applied_text(
    applied: AppliedStock, timezone: ZoneInfo, *, undo: bool = False, again: bool = False
) -> list[str]:
    """What Valider (or the undo) changed; ``again``: Valider pressed on an update already
    recorded, which says so."""
    title = delivery_title(applied.cycle, timezone)
    if undo:
        head = _("↩️ <b>Dernière mise à jour annulée</b> ({title}) :")
    elif again:
        head = _("✅ <b>Ce stock est déjà enregistré</b> ({title}) :")
    else:
        head = _("✅ <b>Stock enregistré</b> ({title}) :")
    parts = [head.format(title=title)]
    parts.extend(change_line(line) for line in applied.lines)
    parts.extend(clamp_note(line) for line in applied.lines if line.clamped)
    if applied.not_recorded:
        parts.append(not_recorded_line(applied.not_recorded))
    if not undo:
        parts.append("")
        parts.append(
            _("Une erreur ? Écrivez « annuler la dernière mise à jour » ou tapez /defaire.")
        )
    return split_html(parts)


def producer_stock_lines(stock: ProducerStock, *, last_week: bool) -> list[str]:
    """One line per product: last week's quantity (the prompt), or this week's offer — what
    is sold and what is left — with the products not offered this week gathered on one line."""
    lines = []
    idle = []
    for item in stock.products:
        name = escape(item.product.name)
        unit = item.product.sale_unit
        if last_week:
            if item.last_week is None:
                lines.append(_("• {name}").format(name=name))
            else:
                lines.append(
                    _("• {name} — semaine dernière : {quantity}").format(
                        name=name, quantity=quantity(item.last_week, unit)
                    )
                )
        elif item.offered == 0 and item.ordered == 0:
            idle.append(name)
        else:
            lines.append(
                _(
                    "• {name} — proposé : {offered} · commandé : {ordered} · reste : {remaining}"
                ).format(
                    name=name,
                    offered=quantity(item.offered, unit),
                    ordered=quantity(item.ordered, unit),
                    remaining=quantity(item.remaining, unit),
                )
            )
    if idle:
        lines.append(_("Pas proposés cette semaine : {products}").format(products=", ".join(idle)))
    return lines


def prompt_text(stock: ProducerStock, timezone: ZoneInfo) -> list[str]:
    """The weekly "what can you offer?" message (as messages Telegram accepts)."""
    parts = [
        _("<b>Votre stock pour la {title}</b>").format(title=delivery_title(stock.cycle, timezone)),
        _(
            "Qu’avez-vous à proposer ? Répondez en un seul message, par exemple : "
            "« tomates 12 kg, plus de radis »."
        ),
        "",
        *producer_stock_lines(stock, last_week=True),
    ]
    return split_html(parts)


def nudge_text(stock: ProducerStock, timezone: ZoneInfo) -> str:
    """The one reminder to a producer who gave no stock yet: when orders close, how to answer,
    and last week's quantities."""
    assert stock.cycle is not None
    parts = [
        _("⏰ <b>Votre stock pour la {title}</b>").format(
            title=delivery_title(stock.cycle, timezone)
        ),
        _(
            "Vous ne m’avez pas encore donné votre stock, et les commandes ferment le {moment}. "
            "Répondez en un message, par exemple « tomates 12 kg, plus de radis », ou "
            "« pareil que la semaine dernière », ou « rien cette semaine »."
        ).format(moment=format_datetime(stock.cycle.closes_at.astimezone(timezone))),
        "",
        *producer_stock_lines(stock, last_week=True),
    ]
    return "\n".join(parts)


def prompt_keyboard(stock: ProducerStock) -> InlineKeyboardMarkup | None:
    """ "Même stock que la semaine dernière", when there is a last week."""
    if not stock.has_last_week:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("🔁 Même stock que la semaine dernière"), callback_data=STOCK_SAME.pack()
                )
            ]
        ]
    )


def shortage_text(preview: ShortagePreview, timezone: ZoneInfo) -> list[str]:
    """The preview of a shortage: per product, ordered → available (as messages Telegram
    accepts)."""
    parts = [
        _("<b>Manque pour la {title}</b>").format(title=delivery_title(preview.cycle, timezone)),
        _("Vous avez déjà vendu plus que cela. Vous ne pourrez livrer que :")
        if preview.cycle.state == CycleState.OPEN
        else _("Les commandes sont closes. Vous ne pourrez livrer que :"),
    ]
    for line in preview.lines:
        parts.append(
            _("• {name} : {available} au lieu des {ordered} commandés").format(
                name=escape(line.name),
                available=format_quantity(line.available),
                ordered=quantity(line.ordered, line.sale_unit),
            )
        )
    parts.append("")
    parts.append(
        _(
            "Si vous confirmez, je répartis ce qui reste entre les commandes, les premières "
            "confirmées d’abord, et je préviens les consommateurs concernés."
        )
    )
    return split_html(parts)


def shortage_keyboard(preview: ShortagePreview, *, can_be_stock: bool) -> InlineKeyboardMarkup:
    """Confirmer le manque / (c’est mon stock [de la semaine prochaine]) / Annuler."""
    rows = [
        [
            InlineKeyboardButton(
                _("✅ Confirmer le manque"), callback_data=ConfirmShortage(preview.update_id).pack()
            )
        ]
    ]
    if can_be_stock:
        rows.append(
            [
                InlineKeyboardButton(
                    _("📦 Non, c’est simplement mon stock")
                    if preview.cycle.state == CycleState.OPEN
                    else _("📅 Non, c’est mon stock de la semaine prochaine"),
                    callback_data=ShortageAsStock(preview.update_id).pack(),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                _("❌ Annuler"), callback_data=CancelShortage(preview.update_id).pack()
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


def orders_changed(count: int) -> str:
    """ "3 commandes modifiées"."""
    return ngettext("{count} commande modifiée", "{count} commandes modifiées", count).format(
        count=count
    )


def price_preview_text(preview: PricePreview) -> str:
    """The preview of a price change: old → new, the conversion, and when it applies."""
    product = preview.product
    parts = [
        _("💶 <b>Nouveau prix</b>"),
        _("• {name} : {old} → {new}").format(
            name=escape(product.name),
            old=escape(price_phrase(product, preview.old_cents)),
            new=escape(price_phrase(product, preview.new_cents)),
        ),
    ]
    if preview.request.per is not None and preview.request.cents != preview.new_cents:
        given = (
            _("({given} le kg → {price})")
            if preview.request.per == "kg"
            else _("({given} le litre → {price})")
        )
        parts.append(
            given.format(
                given=format_price(preview.request.cents),
                price=escape(price_phrase(product, preview.new_cents)),
            )
        )
    parts.append("")
    if preview.at_once:
        parts.append(
            _("Il s’appliquera tout de suite : rien n’est encore commandé à l’ancien prix.")
        )
    else:
        parts.append(
            ngettext(
                "Il s’appliquera à partir du prochain cycle : {count} commande de cette semaine "
                "est déjà passée à l’ancien prix.",
                "Il s’appliquera à partir du prochain cycle : {count} commandes de cette semaine "
                "sont déjà passées à l’ancien prix.",
                preview.ordered_lines,
            ).format(count=preview.ordered_lines)
        )
    return "\n".join(parts)


def price_keyboard(change_id: int) -> InlineKeyboardMarkup:
    """Confirmer le prix / Annuler."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("✅ Confirmer le prix"), callback_data=ConfirmPrice(change_id).pack()
                ),
                InlineKeyboardButton(_("❌ Annuler"), callback_data=CancelPrice(change_id).pack()),
            ]
        ]
    )


def price_done_text(change: PriceChange, product_name: str, price: str) -> str:
    """What confirming did: the price now, or from the next cycle."""
    if change.applied_at is not None:
        return _("✅ <b>Prix enregistré</b> : {name}, {price}, dès maintenant.").format(
            name=escape(product_name), price=escape(price)
        )
    return _(
        "✅ <b>Prix enregistré</b> : {name}, {price}, à partir du prochain cycle (les commandes "
        "de cette semaine gardent l’ancien prix)."
    ).format(name=escape(product_name), price=escape(price))


# "seulement 8 tomates", "il ne me reste que 8 radis", "only 8 tomatoes" (folded text)
_SHORTAGE_WORDS = re.compile(r"\b(seulement|que|qu|uniquement|manque|only|just)\b")


async def offer_shortage(
    update: Update,
    context: DesserteContext,
    text: str,
    cycle: Cycle | None = None,
    *,
    asked: bool = False,
) -> bool:
    """A message giving less than was ordered becomes a shortage preview; True when it did.
    After the close (``cycle`` None) any such message; while ``cycle`` is open, one about
    shortages only that says so ("seulement 8 tomates", or sent with /manque: ``asked``)."""
    if cycle is not None and not asked and not _SHORTAGE_WORDS.search(fold(text)):
        return False
    found = await read_shortage_message(
        context.session, context.member, text, context.services.now(), cycle, whole=bool(cycle)
    )
    if found is None:
        return False
    await show_shortage(update, context, found)
    return True


async def show_shortage(
    update: Update,
    context: DesserteContext,
    found: ShortagePreview,
    left_out: list[str] | None = None,
) -> None:
    """The shortage preview with its buttons (and what the stock preview left out, if any)."""
    can_be_stock = await stock_cycle(context.session, context.services.now()) is not None
    texts = shortage_text(found, context.services.timezone)
    if left_out:
        texts[-1] += "\n" + not_recorded_line(left_out)
    await show_texts(update, texts, shortage_keyboard(found, can_be_stock=can_be_stock))
