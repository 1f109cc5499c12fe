"""Money in words and invoices, shared by the pickup day, the payments feature and the sender.

How a payment method reads (``"espèces"``), what an order's invoice says, and sending it
through Telegram Payments (``sendInvoice``: physical goods, the ``PAYMENT_PROVIDER_TOKEN``,
amounts in the currency's smallest units, a payload naming the order and the amount).
"""

from __future__ import annotations

from typing import Any

from babel.support import LazyProxy
from telegram import LabeledPrice, Message
from telegram.ext import ExtBot

from handlers.i18n import _, lazy_gettext, use_locale
from handlers.week_texts import order_number
from models.outbox import Part
from models.payment import MovementKind, PaymentMethod
from models.payments import PaymentTerms, invoice_payload

INVOICE_KEY = "invoice"
"""Where an outbox row keeps an invoice (in place of the buttons)."""
METHOD_NAMES: dict[PaymentMethod, LazyProxy] = {
    PaymentMethod.CASH: lazy_gettext("espèces"),
    PaymentMethod.CHEQUE: lazy_gettext("chèque"),
    PaymentMethod.CARD: lazy_gettext("carte"),
    PaymentMethod.TRANSFER: lazy_gettext("virement"),
    PaymentMethod.BALANCE: lazy_gettext("porte-monnaie"),
    PaymentMethod.ONLINE: lazy_gettext("paiement en ligne"),
    PaymentMethod.REFUND: lazy_gettext("remboursement"),
}
METHOD_ICONS: dict[PaymentMethod, str] = {
    PaymentMethod.CASH: "💶",
    PaymentMethod.CHEQUE: "🧾",
    PaymentMethod.CARD: "💳",
    PaymentMethod.TRANSFER: "🏦",
}
MOVEMENT_NAMES: dict[MovementKind, LazyProxy] = {
    MovementKind.CREDIT: lazy_gettext("Crédit"),
    MovementKind.DEBIT: lazy_gettext("Commande"),
    MovementKind.REFUND: lazy_gettext("Remboursement"),
}


def method_name(method: PaymentMethod) -> str:
    """The payment method in the current language ("espèces", "cash")."""
    return str(METHOD_NAMES[method])


def invoice_fields(order_id: int, amount_cents: int, terms: PaymentTerms) -> dict[str, Any]:
    """What the order's invoice says, in the current language, as the outbox keeps it (JSON)."""
    number = order_number(order_id)
    return {
        "title": _("Commande {number}").format(number=number)[:32],
        "description": _(
            "Vos produits de la semaine, à retirer au point de retrait : commande {number}."
        ).format(number=number)[:255],
        "payload": invoice_payload(order_id, amount_cents),
        "currency": terms.currency,
        "label": _("Commande {number}").format(number=number),
        "amount": amount_cents,
    }


def invoice_part(
    telegram_id: int,
    locale: str,
    member_id: int | None,
    order_id: int,
    amount_cents: int,
    terms: PaymentTerms,
    part: int = 0,
) -> Part:
    """The outbox part that sends the order's invoice, in the consumer's language."""
    with use_locale(locale):
        fields = invoice_fields(order_id, amount_cents, terms)
    return Part(
        telegram_id,
        locale,
        text=fields["description"],
        markup={INVOICE_KEY: fields},
        member_id=member_id,
        part=part,
    )


def invoice_of(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The invoice an outbox row carries (None: a plain message)."""
    if not markup or INVOICE_KEY not in markup:
        return None
    fields: dict[str, Any] = markup[INVOICE_KEY]
    return fields


async def send_invoice(
    bot: ExtBot[Any], chat_id: int, fields: dict[str, Any], terms: PaymentTerms
) -> Message:
    """Send an invoice made by :func:`invoice_fields` (Telegram Payments, physical goods)."""
    return await bot.send_invoice(
        chat_id,
        title=fields["title"],
        description=fields["description"],
        payload=fields["payload"],
        provider_token=terms.provider_token or "",
        currency=fields["currency"],
        prices=[LabeledPrice(fields["label"], int(fields["amount"]))],
    )
