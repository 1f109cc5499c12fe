"""Weighing after the close (``/pesees``): the producer, or a packer of the team, gives each
weighed line its real weight — one line at a time (type the weight), by message ("poulet Jeanne
1,82"), or from the pickup-day screen's "⚖ Peser" — and each consumer whose order is then final
gets the final receipt through the outbox."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import refusal as admin_refusal
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show
from handlers.context import DesserteContext, Services
from handlers.delivery import deliver
from handlers.i18n import _, format_price, format_quantity, lazy_gettext, ngettext, use_locale
from handlers.menu import ADMIN, PRODUCER, Command
from handlers.money import invoice_part
from handlers.routes import StartWeighing
from handlers.shop import order_lines
from handlers.units import amount_phrase
from handlers.week_texts import order_number, payment_line
from models.amounts import weighed_cents
from models.errors import StaleAction
from models.order import Order
from models.outbox import Part, parts
from models.payment import PaymentMode
from models.weighing import (
    MAX_WEIGHT_KG,
    WeighingLine,
    WeighingRequest,
    WeightRefused,
    awaited_line,
    next_to_weigh,
    read_weighing_message,
    read_weight,
    set_weighing,
    weigh,
    weighing_cycle,
    weighing_lines,
)

COMMAND = Command(
    "pesees",
    "weights",
    lazy_gettext("Peser les produits vendus au poids"),
    PRODUCER | ADMIN,
    aliases=("pesee", "peser"),
)


class SkipLine(CallbackData, prefix="wgh:skip"):
    """Leave this line for later and show the next one."""

    line_id: int


class StopWeighing(CallbackData, prefix="wgh:stop"):
    """End the guided weighing."""


_NUMERIC = re.compile(r"\d")


def _scope(context: DesserteContext) -> int | None:
    """Whose lines the member weighs: a producer their own, the team everyone's (None)."""
    return None if context.is_admin else context.member.producer_id


def _may_weigh(context: DesserteContext) -> bool:
    return context.is_admin or context.member.producer_id is not None


def line_title(line: WeighingLine) -> str:
    """ "Poulet fermier — Jeanne Martin, n° 42 (1 pièce)"."""
    return _("{product} — {name}, {number} ({quantity})").format(
        product=escape(line.product_name),
        name=escape(line.member_name),
        number=order_number(line.order_id),
        quantity=escape(_quantity(line)),
    )


def kilos(weight: Decimal) -> str:
    """ "1,82 kg"."""
    return f"{format_quantity(weight)}\u00a0kg"


def _quantity(line: WeighingLine) -> str:
    return amount_phrase(line.quantity, line.sale_unit)


def _prompt(line: WeighingLine, done: int, total: int) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n".join(
        [
            _("⚖️ <b>Pesées — {done} sur {total}</b>").format(done=done, total=total),
            line_title(line),
            _("Estimé : ≈ {weight}, ≈ {amount}").format(
                weight=kilos(line.estimated_kg), amount=format_price(line.total_cents)
            ),
            "",
            _("Tapez le poids réel en kilos, par exemple « 1,82 »."),
        ]
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("⏭ Passer"), callback_data=SkipLine(line.line_id).pack()),
                InlineKeyboardButton(_("✖ Terminer"), callback_data=StopWeighing().pack()),
            ]
        ]
    )
    return text, keyboard


def _all_done(lines: Sequence[WeighingLine]) -> str:
    """All is weighed, or how many lines the flow leaves (skipped) and how to come back."""
    left = sum(1 for w in lines if w.weight_kg is None)
    if not left:
        return _("✅ Tout est pesé : les consommateurs ont reçu leur montant définitif.")
    return ngettext(
        "Pesées interrompues : {count} ligne reste à peser. Tapez /pesees pour reprendre.",
        "Pesées interrompues : {count} lignes restent à peser. Tapez /pesees pour reprendre.",
        left,
    ).format(count=left)


async def _lines(context: DesserteContext, point_id: int | None) -> list[WeighingLine] | None:
    cycle = await weighing_cycle(context.session)
    if cycle is None:
        return None
    return await weighing_lines(
        context.session, cycle.id, producer_id=_scope(context), point_id=point_id
    )


async def _show_next(
    update: Update,
    context: DesserteContext,
    after_line_id: int | None,
    point_id: int | None,
    notice: str | None = None,
    *,
    again: bool = False,
) -> None:
    """Show the next line to weigh (``again``: ``after_line_id`` itself, if still to weigh)
    and await its weight, or say that all is weighed."""
    if not _may_weigh(context):
        await show(update, admin_refusal())
        return
    lines = await _lines(context, point_id) or []
    following = next(
        (w for w in lines if again and w.line_id == after_line_id and w.weight_kg is None),
        None,
    ) or next_to_weigh(lines, after_line_id)
    head = [notice, ""] if notice else []
    if following is None:
        await set_weighing(context.session, context.member, None)
        if not lines:
            text = _("Aucun produit vendu au poids dans les commandes de la semaine.")
        else:
            text = _all_done(lines)
        await show(update, "\n".join([*head, text]))
        return
    await set_weighing(context.session, context.member, following.line_id, point_id)
    done = sum(1 for w in lines if w.weight_kg is not None)
    text, keyboard = _prompt(following, done + 1, len(lines))
    await show(update, "\n".join([*head, text]), keyboard)


async def start_weighing(update: Update, context: DesserteContext) -> None:
    """/pesees: the first line still to weigh, and its prompt."""
    if not _may_weigh(context):
        await show(update, admin_refusal())
        return
    if await weighing_cycle(context.session) is None:
        await show(update, _("Aucun cycle clôturé : il n’y a rien à peser pour le moment."))
        return
    await _show_next(update, context, None, None)


async def start_point_weighing(
    update: Update, context: DesserteContext, data: StartWeighing
) -> None:
    """⚖ Peser (pickup-day screen): the guided weighing of that point's lines."""
    await _show_next(update, context, None, data.point_id or None)


async def skip_line(update: Update, context: DesserteContext, data: SkipLine) -> None:
    """⏭ Passer: the next line; this one stays to weigh."""
    flow = awaited_line(context.member)
    await _show_next(update, context, data.line_id, flow[1] if flow else None)


async def stop_weighing(update: Update, context: DesserteContext) -> None:
    """✖ Terminer: the flow ends, saying what is left."""
    if not _may_weigh(context):
        await show(update, admin_refusal())
        return
    flow = awaited_line(context.member)
    point_id = flow[1] if flow else None
    await set_weighing(context.session, context.member, None)
    lines = await _lines(context, point_id) or []
    await show(update, _all_done(lines))


# -- receipts ------------------------------------------------------------------------------------


def _receipt(services: Services, order: Order) -> list[Part]:
    """The consumer's final receipt, in their language: every line at its final amount, how it
    is paid, and in the online mode the invoice of what it owes."""
    member = order.member
    with use_locale(member.locale):
        text = "\n".join(
            [
                _("🧾 <b>Montant définitif de votre commande {number}</b>").format(
                    number=order_number(order.id)
                ),
                _("Vos produits vendus au poids ont été pesés :"),
                *order_lines(order),
                payment_line(services, order.total_cents, order.paid_cents, estimate=False),
            ]
        )
    drafts = parts(member.telegram_id, member.locale, text, member_id=member.id)
    if services.payments.mode == PaymentMode.ONLINE and order.to_pay_cents > 0:
        drafts.append(
            invoice_part(
                member.telegram_id,
                member.locale,
                member.id,
                order.id,
                order.to_pay_cents,
                services.payments,
                part=len(drafts),
            )
        )
    return drafts


def _refused(refused: WeightRefused) -> str:
    reason = refused.params.get("reason")
    if reason == "bounds":
        return _(
            "Ce poids n’est pas possible pour {name} : plus de 0 et au plus {maximum} kg."
        ).format(
            name=escape(str(refused.params.get("name", ""))),
            maximum=format_quantity(MAX_WEIGHT_KG),
        )
    if reason == "implausible":
        params = refused.params
        return _(
            "{name} : {weight} ne semble pas juste pour ≈ {estimate} estimés (entre {low} et "
            "{high}). Vérifiez le poids et tapez-le à nouveau."
        ).format(
            name=escape(str(params.get("name", ""))),
            weight=kilos(params["weight"]),
            estimate=kilos(params["estimate"]),
            low=format_quantity(params["low"]),
            high=kilos(params["high"]),
        )
    if reason == "unit":
        return _("{name} n’est pas vendu au poids : il n’y a rien à peser.").format(
            name=escape(str(refused.params.get("name", "")))
        )
    return _("Les pesées se font après la clôture de la semaine.")


async def _weigh(context: DesserteContext, line_id: int, weight: Decimal) -> tuple[str, str | None]:
    """Weigh one line; what to say, and the receipt's outbox topic when the order became final
    (a refused weight raises :class:`WeightRefused`, for the caller to say)."""
    done = await weigh(
        context.session,
        line_id,
        weight,
        context.services.now(),
        producer_id=_scope(context),
        receipt=lambda order: _receipt(context.services, order),
        overdraft_cents=context.services.payments.order_overdraft,
    )
    line = done.line
    said = _("✅ {title} : {weight} → {amount} (estimé {estimate})").format(
        title=line_title(line),
        weight=kilos(weight),
        amount=format_price(line.total_cents),
        estimate=format_price(weighed_cents(line.estimated_kg, line.price_per_kg_cents)),
    )
    if done.order_final:
        said += "\n" + _("🧾 Commande {number} complète : {total}, reçu envoyé.").format(
            number=order_number(done.order_id), total=format_price(done.order_total_cents)
        )
        return said, done.receipt_key
    return said, None


# -- text: the weight typed in the flow, or "poulet Jeanne 1,82" ---------------------------------


async def handle_weighing_text(update: Update, context: DesserteContext) -> bool:
    """A weight typed in the guided flow, or a message of weights from a producer or the team;
    True when it was taken (anything else is left to the stock messages and the search)."""
    message = update.effective_message
    if message is None or not message.text or not _may_weigh(context):
        return False
    text = message.text.strip()
    member = context.member
    flow = awaited_line(member)
    if flow is not None:
        weight = read_weight(text)
        if weight is not None:
            current, point_id = flow
            topic: str | None = None
            again = False
            try:
                said, topic = await _weigh(context, current, weight)
            except StaleAction:
                said = _("Cette ligne n’est plus à peser.")
            except WeightRefused as refused:
                said, again = _refused(refused), True
            await _show_next(update, context, current, point_id, said, again=again)
            if topic is not None:
                await deliver(context.application, topic)
            return True
    cycle = await weighing_cycle(context.session)
    if cycle is None:
        return False
    lines = await weighing_lines(context.session, cycle.id, producer_id=_scope(context))
    requests = read_weighing_message(text, lines) if lines else None
    if requests is None:
        if flow is not None and _NUMERIC.search(text) and len(text) <= 20:
            await show(
                update,
                _("Je ne lis pas ce poids. Tapez un nombre de kilos, par exemple « 1,82 »."),
            )
            return True
        return False
    answers: list[str] = []
    topics: list[str] = []
    for request in requests:
        answer, receipt_topic = await _answer_request(context, request)
        answers.append(answer)
        if receipt_topic is not None:
            topics.append(receipt_topic)
    await show(update, "\n".join(answers))
    for topic in topics:
        await deliver(context.application, topic)
    return True


async def _answer_request(
    context: DesserteContext, request: WeighingRequest
) -> tuple[str, str | None]:
    if len(request.candidates) == 1:
        try:
            return await _weigh(context, request.candidates[0].line_id, request.weight_kg)
        except WeightRefused as refused:
            return _refused(refused), None
        except StaleAction:
            return _("« {text} » : cette ligne n’est plus à peser.").format(
                text=escape(request.text)
            ), None
    if not request.candidates:
        return _(
            "« {text} » : je ne trouve pas cette commande parmi les produits à peser. "
            "Écrivez le produit, le nom du client (ou le numéro de commande) et le poids, "
            "par exemple « poulet Jeanne 1,82 »."
        ).format(text=escape(request.text)), None
    choices = ", ".join(
        _("{number} {name}").format(number=order_number(c.order_id), name=escape(c.member_name))
        for c in request.candidates
    )
    return _(
        "« {text} » : plusieurs commandes correspondent ({choices}). Précisez le numéro, "
        "par exemple « {example} »."
    ).format(
        text=escape(request.text),
        choices=choices,
        example=escape(
            f"{request.candidates[0].product_name.split()[0].lower()} "
            f"{request.candidates[0].order_id} {format_quantity(request.weight_kg)}"
        ),
    ), None


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/pesees and the flow's buttons (the typed weights come through the free text)."""
    return [
        CommandHandler(list(COMMAND.names), start_weighing),
        button(StartWeighing, start_point_weighing, admin=True),
        button(SkipLine, skip_line),
        button(StopWeighing, stop_weighing),
    ]
