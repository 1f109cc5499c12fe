"""Producers (farms, craftsmen) and the products they sell."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Quantity, UTCDateTime
from models.network import NetworkScoped

if TYPE_CHECKING:
    from models.member import Member

UNIT_MEASURES: tuple[str, ...] = ("g", "kg", "ml", "cl", "l", "pièce", "botte")
"""What a sale unit is measured in: the one list (the schema, the catalog CSV, the texts)."""
COUNTED_MEASURES = frozenset({"pièce", "botte"})
"""The measures counted in whole numbers."""


class Producer(NetworkScoped, Base):
    """A farm or craftsman of the network; linked to one or more members."""

    __tablename__ = "producer"
    __table_args__ = (UniqueConstraint("network_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    distance_km: Mapped[int | None] = mapped_column(Integer)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    collected: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """True: the network's round collects at the farm; False: the farm delivers to the depot."""
    ready_from: Mapped[time | None] = mapped_column(Time)
    ready_until: Mapped[time | None] = mapped_column(Time)
    """When the round may collect on pickup day (local times; None: any time)."""
    invite_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The cycle whose weekly "what can you offer?" prompt awaits an answer (None: none pending).
    stock_prompt_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"))

    products: Mapped[list[Product]] = relationship(
        back_populates="producer", order_by="Product.name"
    )
    members: Mapped[list[Member]] = relationship(back_populates="producer")


class Product(NetworkScoped, Base):
    """Something sold: a sale unit, a price per sale unit in cents, and its traceability."""

    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("network_id", "sku"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("unit_amount > 0", name="unit_amount_positive"),
        CheckConstraint("step > 0", name="step_positive"),
        CheckConstraint(
            "unit_measure IN ({})".format(", ".join(f"'{m}'" for m in UNIT_MEASURES)),
            name="unit_measure",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    """The name shown to English-speaking members, when the catalog gives one."""
    category: Mapped[str] = mapped_column(String(80), index=True)
    sale_unit: Mapped[str] = mapped_column(String(40))
    unit_amount: Mapped[Decimal] = mapped_column(Quantity())
    unit_measure: Mapped[str] = mapped_column(String(16))
    price_cents: Mapped[int] = mapped_column(Integer)
    step: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(1))
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(200))
    farming: Mapped[str | None] = mapped_column(String(200))
    photo: Mapped[str | None] = mapped_column(String(500))
    photo_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When Telegram could not fetch ``photo`` (None: it could, or it was not tried yet); the
    card is then shown as text without trying again, until an import gives another photo."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    producer: Mapped[Producer] = relationship(back_populates="products")
