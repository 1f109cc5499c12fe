"""Order cycles (one week's ordering window) and the offers they carry."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Quantity, UTCDateTime, enum_values
from models.network import NetworkScoped

if TYPE_CHECKING:
    from models.producer import Product


class CycleState(enum.StrEnum):
    """planned → open → closed → delivered; planned → skipped when the bot was down through
    the whole ordering window (it never opened)."""

    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"
    DELIVERED = "delivered"
    SKIPPED = "skipped"


class Cycle(NetworkScoped, Base):
    """One week's ordering window, with its pickup day."""

    __tablename__ = "cycle"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("pickup_starts_at >= closes_at", name="pickup_after_close"),
        CheckConstraint("pickup_ends_at > pickup_starts_at", name="pickup_window"),
        # Two scheduler processes planning at once cannot create the same week twice.
        UniqueConstraint("network_id", "opens_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pickup_starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pickup_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[CycleState] = mapped_column(
        Enum(CycleState, native_enum=False, length=16, values_callable=enum_values),
        default=CycleState.PLANNED,
        index=True,
    )
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    offers: Mapped[list[Offer]] = relationship(back_populates="cycle")


class Offer(NetworkScoped, Base):
    """A product's availability in one cycle; ``ordered`` never exceeds ``offered``."""

    __tablename__ = "offer"
    __table_args__ = (
        UniqueConstraint("cycle_id", "product_id"),
        CheckConstraint("offered >= 0", name="offered_not_negative"),
        CheckConstraint("ordered >= 0", name="ordered_not_negative"),
        CheckConstraint("ordered <= offered", name="not_oversold"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    offered: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    ordered: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))

    cycle: Mapped[Cycle] = relationship(back_populates="offers")
    product: Mapped[Product] = relationship()

    @property
    def remaining(self) -> Decimal:
        """What is left to sell."""
        return self.offered - self.ordered
