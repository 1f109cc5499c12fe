"""Paying: the member's balance (/solde), online payment (/payer, Telegram Payments), and the
admins' tools: crediting a balance (/crediter) and what is unpaid (/impayes).

/solde (/balance) shows the balance, what the open order holds of it and the latest movements.
/payer (/pay), in the online mode, sends an invoice for each order that still owes money; the
``pre_checkout_query`` is answered at once after checking the amount is still what the order
owes, and a ``successful_payment`` is recorded once per Telegram charge.
/crediter NAME AMOUNT MEANS [NOTE] records money received for a member's balance.
/impayes (/unpaid) lists what is unpaid, per cycle and per member.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from handlers.admin_only import admin_or_refuse
from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.i18n import _, format_date, format_price, lazy_gettext, ngettext
from handlers.menu import ADMIN, CONSUMER, Command
from handlers.money import MOVEMENT_NAMES, invoice_fields, method_name, send_invoice
from handlers.pages import show_texts, split_html
from handlers.week_texts import order_number
from models.errors import AmountChanged, InvalidAmount, NothingToPay, StaleAction
from models.payment import PaymentMethod, PaymentMode
from models.payments import (
    balance_of,
    check_checkout,
    credit_balance,
    find_members,
    orders_to_pay_online,
    record_online_payment,
    total_of,
    unpaid_orders,
)
from models.text import fold

log = logging.getLogger(__name__)

BALANCE_COMMAND = Command("solde", "balance", lazy_gettext("Votre porte-monnaie"), CONSUMER)
PAY_COMMAND = Command("payer", "pay", lazy_gettext("Payer une commande en ligne"), CONSUMER)
CREDIT_COMMAND = Command(
    "crediter", "credit", lazy_gettext("Créditer le porte-monnaie d’un membre"), ADMIN
)
UNPAID_COMMAND = Command("impayes", "unpaid", lazy_gettext("Ce qui reste à payer"), ADMIN)

METHOD_WORDS: dict[str, PaymentMethod] = {
    "virement": PaymentMethod.TRANSFER,
    "transfer": PaymentMethod.TRANSFER,
    "especes": PaymentMethod.CASH,
    "cash": PaymentMethod.CASH,
    "liquide": PaymentMethod.CASH,
    "cheque": PaymentMethod.CHEQUE,
}
_AMOUNT = re.compile(r"^\d{1,6}([.,]\d{1,2})?(€|eur)?$", re.IGNORECASE)


# -- /solde ---------------------------------------------------------------------------------


async def show_balance(update: Update, context: DesserteContext) -> None:
    """The member's balance, what the open order holds of it, and the latest movements."""
    view = await balance_of(context.session, context.member.id)
    tz = context.services.timezone
    lines = [_("👛 <b>Votre porte-monnaie : {amount}</b>").format(amount=format_price(view.cents))]
    if view.held_cents:
        lines.append(
            _("Dont {held} réservés pour votre commande en cours : {left} disponibles.").format(
                held=format_price(view.held_cents), left=format_price(view.available_cents)
            )
        )
    overdraft = context.services.payments.overdraft_cents
    if context.services.payments.mode == PaymentMode.BALANCE and overdraft:
        lines.append(_("Découvert autorisé : {amount}.").format(amount=format_price(overdraft)))
    if not view.movements:
        lines.append(_("Aucun mouvement pour le moment."))
    else:
        lines += ["", _("<b>Derniers mouvements</b>")]
        for movement in view.movements:
            what = str(MOVEMENT_NAMES[movement.kind])
            if movement.order_id is not None:
                what = f"{what} {order_number(movement.order_id)}"
            if movement.method is not None:
                what = f"{what} ({method_name(movement.method)})"
            if movement.note:
                what = f"{what} — {escape(movement.note)}"
            sign = "+" if movement.amount_cents > 0 else "−"
            lines.append(
                _("{day} · {what} : {amount}").format(
                    day=format_date(movement.created_at.astimezone(tz)),
                    what=what,
                    amount=f"{sign}{format_price(abs(movement.amount_cents))}",
                )
            )
    await show_texts(update, split_html(lines))


# -- /payer, pre-checkout, successful payment -----------------------------------------------


async def pay_online(update: Update, context: DesserteContext) -> None:
    """An invoice for each of the member's orders that still owes money (online mode)."""
    terms = context.services.payments
    chat = update.effective_chat
    if terms.mode != PaymentMode.ONLINE or chat is None:
        await show(
            update,
            _(
                "Le paiement en ligne n’est pas proposé : on paie au retrait ou avec le porte-monnaie (/solde)."
            ),
        )
        return
    orders = await orders_to_pay_online(context.session, context.member)
    if not orders:
        await show(update, _("Vous n’avez rien à payer pour le moment. Merci !"))
        return
    for order in orders:
        fields = invoice_fields(order.id, order.to_pay_cents, terms)
        try:
            await send_invoice(context.bot, chat.id, fields, terms)
        except BadRequest as error:
            log.warning("invoice for order %s refused by Telegram: %s", order.id, error.message)
            await show(
                update,
                _(
                    "La facture de la commande {number} n’a pas pu être créée : payez-la au retrait."
                ).format(number=order_number(order.id)),
            )


async def answer_checkout(update: Update, context: DesserteContext) -> None:
    """Telegram asks before taking the money: yes if the invoice still asks what the order
    owes, else a reason the person reads (answered at once: Telegram waits 10 seconds)."""
    query = update.pre_checkout_query
    if query is None:
        return
    terms = context.services.payments
    try:
        if query.currency != terms.currency:
            raise StaleAction(currency=query.currency)
        await check_checkout(
            context.session,
            query.from_user.id,
            query.invoice_payload,
            query.currency,
            query.total_amount,
        )
    except AmountChanged as error:
        await query.answer(
            ok=False,
            error_message=_(
                "Le montant de la commande {number} a changé : {amount} à payer. Tapez /payer "
                "pour une nouvelle facture."
            ).format(
                number=order_number(int(error.params["order_id"])),
                amount=format_price(int(error.params["to_pay"])),
            ),
        )
        return
    except NothingToPay:
        await query.answer(ok=False, error_message=_("Cette commande est déjà payée. Merci !"))
        return
    except StaleAction:
        await query.answer(
            ok=False, error_message=_("Cette facture n’est plus valable. Tapez /payer.")
        )
        return
    await query.answer(ok=True)


async def payment_received(update: Update, context: DesserteContext) -> None:
    """Telegram took the money: recorded once per charge, and the member thanked once."""
    message = update.effective_message
    payment = message.successful_payment if message is not None else None
    if message is None or payment is None:
        return
    try:
        result = await record_online_payment(
            context.session,
            payment.invoice_payload,
            payment.total_amount,
            payment.telegram_payment_charge_id,
            payment.provider_payment_charge_id,
            context.services.now(),
        )
    except StaleAction:
        log.error("a payment with an unknown payload: %s", payment.invoice_payload)
        await message.reply_text(
            _("Paiement reçu, mais je ne retrouve pas la commande : l’équipe va vérifier.")
        )
        return
    if result.recorded_cents == 0:
        log.info("payment %s already recorded", payment.telegram_payment_charge_id)
        return
    lines = [
        _("✅ Paiement reçu : {amount} pour la commande {number}. Merci !").format(
            amount=format_price(result.recorded_cents), number=order_number(result.order_id)
        )
    ]
    if result.refunded_cents:
        lines.append(
            _("{amount} de trop ont été mis sur votre porte-monnaie (/solde).").format(
                amount=format_price(result.refunded_cents)
            )
        )
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)


# -- /crediter ------------------------------------------------------------------------------


def _credit_usage() -> str:
    return "\n".join(
        [
            _("Pour créditer un porte-monnaie, tapez par exemple :"),
            "<code>/{command} {example}</code>".format(
                command=CREDIT_COMMAND.localized_name(),
                example=escape(_("Alice Martin 50 virement reçu le 3/12")),
            ),
            _("Le moyen : virement, espèces ou chèque. La note est facultative."),
        ]
    )


def read_credit(words: list[str]) -> tuple[str, int, PaymentMethod, str] | None:
    """(who, cents, means, note) from ``/crediter`` words: the name runs up to the amount,
    which the means follows; None when the words are not like that."""
    for index, word in enumerate(words):
        if index == 0 or not _AMOUNT.match(word) or index + 1 >= len(words):
            continue
        method = METHOD_WORDS.get(fold(words[index + 1]))
        if method is None:
            continue
        try:
            euros = Decimal(re.sub(r"(€|eur)$", "", word, flags=re.IGNORECASE).replace(",", "."))
        except InvalidOperation:
            return None
        return " ".join(words[:index]), int(euros * 100), method, " ".join(words[index + 2 :])
    return None


async def credit(update: Update, context: DesserteContext) -> None:
    """Records money received for a member's balance: /crediter NAME AMOUNT MEANS [NOTE]."""
    if not await admin_or_refuse(update, context):
        return
    read = read_credit(list(context.args or []))
    if read is None:
        await show(update, _credit_usage())
        return
    who, cents, method, note = read
    members = await find_members(context.session, who)
    if len(members) != 1:
        if not members:
            text = _("Je ne trouve aucun membre « {who} ».").format(who=escape(who))
        else:
            text = "\n".join(
                [
                    _(
                        "Plusieurs membres s’appellent « {who} » : précisez, ou donnez son identifiant."
                    ).format(who=escape(who))
                ]
                + [f"• {escape(m.display_name)} — <code>{m.telegram_id}</code>" for m in members]
            )
        await show(update, text)
        return
    member = members[0]
    try:
        balance = await credit_balance(
            context.session, member.id, cents, method, note, context.member, context.services.now()
        )
    except InvalidAmount as error:
        await show(
            update,
            _("Le montant doit être entre 0,01 € et {maximum}.").format(
                maximum=format_price(int(error.params["maximum"]))
            ),
        )
        return
    await show(
        update,
        _("👛 {amount} crédités à {name} ({method}). Nouveau solde : {balance}.").format(
            amount=format_price(cents),
            name=escape(member.display_name),
            method=method_name(method),
            balance=format_price(balance),
        ),
    )


# -- /impayes -------------------------------------------------------------------------------


async def show_unpaid(update: Update, context: DesserteContext) -> None:
    """What is unpaid: per cycle (pickup day), then per member, with each order."""
    if not await admin_or_refuse(update, context):
        return
    found = await unpaid_orders(context.session)
    if not found:
        await show(update, _("✅ Tout est payé."))
        return
    tz = context.services.timezone
    lines = [
        _("<b>Reste à payer : {amount}</b>").format(amount=format_price(total_of(found))),
        "",
        _("<b>Par cycle</b>"),
    ]
    by_cycle: dict[int, list[Any]] = {}
    for item in found:
        by_cycle.setdefault(item.cycle_id, []).append(item)
    for items in by_cycle.values():
        lines.append(
            _("Retrait du {day} : {amount}, {orders}").format(
                day=format_date(items[0].pickup_starts_at.astimezone(tz)),
                amount=format_price(total_of(items)),
                orders=ngettext("{count} commande", "{count} commandes", len(items)).format(
                    count=len(items)
                ),
            )
        )
        lines += [
            _("  • {name} · {number} — {amount}").format(
                name=escape(item.member_name),
                number=order_number(item.order_id),
                amount=format_price(item.to_pay_cents),
            )
            for item in items
        ]
    lines += ["", _("<b>Par membre</b>")]
    by_member: dict[int, list[Any]] = {}
    for item in found:
        by_member.setdefault(item.member_id, []).append(item)
    for items in sorted(by_member.values(), key=lambda i: fold(i[0].member_name)):
        lines.append(
            _("{name} : {amount} ({numbers})").format(
                name=escape(items[0].member_name),
                amount=format_price(total_of(items)),
                numbers=", ".join(order_number(i.order_id) for i in items),
            )
        )
    await show_texts(update, split_html(lines))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The balance, online payment, crediting and the unpaid list."""
    return [
        CommandHandler(list(BALANCE_COMMAND.names), show_balance),
        CommandHandler(list(PAY_COMMAND.names), pay_online),
        CommandHandler(list(CREDIT_COMMAND.names), credit),
        CommandHandler(list(UNPAID_COMMAND.names), show_unpaid),
        PreCheckoutQueryHandler(answer_checkout),
        MessageHandler(filters.SUCCESSFUL_PAYMENT, payment_received),
    ]
