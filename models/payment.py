"""Money received and held: payments of orders, members' prepaid balances and their movements.

Every amount is in integer cents. ``Payment`` rows are what an order received (positive) or gave
back to the member's balance (negative, a refund); ``Order.paid_cents`` is their sum.
``BalanceMovement`` rows are what a member's balance received (a credit, a refund) or paid (a
debit); ``Balance.cents`` is their sum, and ``Balance.held_cents`` the sum of ``Order.held_cents``
(what confirmed orders of an open cycle hold before the close debits them).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.network import NetworkScoped


class PaymentMode(enum.StrEnum):
    """How a network's members pay (the ``PAYMENT_MODE`` setting)."""

    AT_PICKUP = "pickup"
    BALANCE = "balance"
    ONLINE = "online"


class PaymentMethod(enum.StrEnum):
    """How an order's money came: at the counter, from the balance, through Telegram."""

    CASH = "cash"
    CHEQUE = "cheque"
    CARD = "card"
    TRANSFER = "transfer"
    BALANCE = "balance"
    ONLINE = "online"
    REFUND = "refund"  # given back to the member's balance (a negative payment)


COUNTER_METHODS = (PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.CARD)
"""What the check-in on pickup day records."""
CREDIT_METHODS = (PaymentMethod.TRANSFER, PaymentMethod.CASH, PaymentMethod.CHEQUE)
"""How money for a balance arrives."""


class MovementKind(enum.StrEnum):
    """What moved a balance."""

    CREDIT = "credit"  # the admin recorded money received
    DEBIT = "debit"  # an order's final amount, at the close
    REFUND = "refund"  # a shortage (or an overpayment) given back


_method = Enum(PaymentMethod, native_enum=False, length=16, values_callable=enum_values)


class Payment(NetworkScoped, Base):
    """Money an order received (or, negative, gave back to the balance)."""

    __tablename__ = "payment"
    __table_args__ = (CheckConstraint("amount_cents <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    method: Mapped[PaymentMethod] = mapped_column(_method)
    telegram_charge_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    """Telegram's ``telegram_payment_charge_id``: one payment per charge, whatever the retries."""
    provider_charge_id: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Balance(NetworkScoped, Base):
    """A member's prepaid balance (porte-monnaie)."""

    __tablename__ = "balance"
    __table_args__ = (CheckConstraint("held_cents >= 0", name="held_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), unique=True)
    cents: Mapped[int] = mapped_column(Integer, default=0)
    held_cents: Mapped[int] = mapped_column(Integer, default=0)


class BalanceMovement(NetworkScoped, Base):
    """One credit, debit or refund of a member's balance, with its note."""

    __tablename__ = "balance_movement"
    __table_args__ = (CheckConstraint("amount_cents <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    kind: Mapped[MovementKind] = mapped_column(
        Enum(MovementKind, native_enum=False, length=16, values_callable=enum_values)
    )
    method: Mapped[PaymentMethod | None] = mapped_column(_method)
    note: Mapped[str | None] = mapped_column(String(200))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
