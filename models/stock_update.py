"""Stock updates: one producer message, what was parsed and what was applied (audit and undo)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.network import NetworkScoped


class StockUpdateStatus(enum.StrEnum):
    """pending (preview shown) → applied → undone, or cancelled."""

    PENDING = "pending"
    APPLIED = "applied"
    CANCELLED = "cancelled"
    UNDONE = "undone"


class StockUpdate(NetworkScoped, Base):
    """A producer's stock message with its parsed lines and the changes it made."""

    __tablename__ = "stock_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"))
    text: Mapped[str] = mapped_column(Text)
    parsed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    applied: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[StockUpdateStatus] = mapped_column(
        Enum(StockUpdateStatus, native_enum=False, length=16, values_callable=enum_values),
        default=StockUpdateStatus.PENDING,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
