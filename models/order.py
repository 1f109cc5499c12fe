"""Orders (a consumer's basket, then order, in one cycle) and their lines."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Quantity, UTCDateTime, enum_values, utcnow
from models.network import NetworkScoped

if TYPE_CHECKING:
    from models.cycle import Cycle
    from models.member import Member
    from models.pickup_point import PickupPoint
    from models.producer import Product


class OrderStatus(enum.StrEnum):
    """basket → confirmed → collected | no_show; an unconfirmed basket at close is abandoned."""

    BASKET = "basket"
    CONFIRMED = "confirmed"
    ABANDONED = "abandoned"
    COLLECTED = "collected"
    NO_SHOW = "no_show"


CONFIRMED_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.COLLECTED, OrderStatus.NO_SHOW)
"""An order that was confirmed, whatever became of it at pickup: it is sold, counted by the
close and the reports, on the pickup list, and owes its amount."""


def owed_cents(total_cents: int, paid_cents: int) -> int:
    """What is still owed on an order of ``total_cents`` that received ``paid_cents`` (never
    below 0): :attr:`Order.to_pay_cents` for rows read without the object."""
    return max(total_cents - paid_cents, 0)


class Order(NetworkScoped, Base):
    """One consumer's order in one cycle; ``total_cents`` is the sum of its lines."""

    @property
    def to_pay_cents(self) -> int:
        """What the consumer still owes for the order (never below 0)."""
        return owed_cents(self.total_cents, self.paid_cents)

    __tablename__ = "order"
    __table_args__ = (
        UniqueConstraint("member_id", "cycle_id"),
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        CheckConstraint("held_cents >= 0", name="held_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    pickup_point_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_point.id"))
    status: Mapped[OrderStatus] = mapped_column(
        Enum(OrderStatus, native_enum=False, length=16, values_callable=enum_values),
        default=OrderStatus.BASKET,
        index=True,
    )
    total_cents: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    changed_since_confirmed: Mapped[bool] = mapped_column(default=False)
    receipt_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the receipt of the order's latest confirmation was claimed for sending; None: not
    yet (each confirmation clears it; :func:`models.ordering.claim_receipt`)."""
    held_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """What the order holds on the member's balance until the close debits it."""
    paid_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """What the order received, net of refunds: the sum of its payments."""

    member: Mapped[Member] = relationship()
    cycle: Mapped[Cycle] = relationship()
    pickup_point: Mapped[PickupPoint | None] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )


class OrderLine(NetworkScoped, Base):
    """A product in an order, with the unit price as it was when it was added.

    A weighed product's line also snapshots its price per kilo and estimated weight per unit;
    ``total_cents`` is the estimate until the line is weighed (``weight_kg`` set), then the final
    amount (``models.amounts.weighed_cents``).
    """

    __tablename__ = "order_line"
    __table_args__ = (
        UniqueConstraint("order_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_cents >= 0", name="unit_price_not_negative"),
        CheckConstraint("weight_kg IS NULL OR weight_kg > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(Integer)
    price_per_kg_cents: Mapped[int | None] = mapped_column(Integer)
    estimated_kg: Mapped[Decimal | None] = mapped_column(Quantity())
    """Estimated weight of one unit (a weighed product only)."""
    weight_kg: Mapped[Decimal | None] = mapped_column(Quantity())
    """The real weight of the whole line, once weighed after the close."""
    weighed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
