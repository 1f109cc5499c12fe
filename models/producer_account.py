"""What the network owes its producers: refunds taken off their sales, payouts made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.network import NetworkScoped


class Refund(NetworkScoped, Base):
    """An amount taken off a consumer's order because the producer could not bring it all (a
    shortage): the consumer does not pay it, and the producer is not paid for it."""

    __tablename__ = "refund"
    __table_args__ = (CheckConstraint("cents > 0", name="cents_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Payout(NetworkScoped, Base):
    """The network paid a producer what it owed for one month (``month``: ``YYYY-MM``)."""

    __tablename__ = "payout"
    __table_args__ = (
        UniqueConstraint("producer_id", "month"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    amount_cents: Mapped[int] = mapped_column(Integer)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
