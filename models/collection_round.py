"""Collection rounds: the network's vehicle leaving the depot to collect at the farms.

A cycle's close plans its rounds once (:mod:`models.rounds`): one ``CollectionRound`` per
vehicle used, its stops in driving order (``RoundStop``), each ticked by the driver on pickup
day (collected, or short of something). Drivers join with a single-use ``DriverInvitation``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Quantity, UTCDateTime, enum_values, utcnow
from models.network import NetworkScoped

if TYPE_CHECKING:
    from models.producer import Producer


class StopStatus(enum.StrEnum):
    """pending → collected, or short (the driver reported a difference)."""

    PENDING = "pending"
    COLLECTED = "collected"
    SHORT = "short"


class CollectionRound(NetworkScoped, Base):
    """One vehicle's round for a cycle: metres driven, and what each farm driving to the depot
    and back would have driven (``direct_m``), for the admins' comparison."""

    __tablename__ = "collection_round"
    __table_args__ = (UniqueConstraint("cycle_id", "vehicle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    vehicle: Mapped[int] = mapped_column(Integer)
    """1-based, in the order the rounds are shown."""
    distance_m: Mapped[int] = mapped_column(Integer)
    direct_m: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int | None] = mapped_column(Integer)
    """When the vehicle leaves the depot, in minutes after local midnight of pickup day."""
    feasible: Mapped[bool] = mapped_column(Boolean, default=True)
    """False when the loads or the farms' hours could not all be kept (shown to people)."""
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    stops: Mapped[list[RoundStop]] = relationship(
        back_populates="round", order_by="RoundStop.position"
    )


class RoundStop(NetworkScoped, Base):
    """A farm on a round, at ``position`` (1-based), with the kilos to load."""

    __tablename__ = "round_stop"
    __table_args__ = (UniqueConstraint("round_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("collection_round.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"))
    load_kg: Mapped[Decimal] = mapped_column(Quantity())
    arrival_minute: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[StopStatus] = mapped_column(
        Enum(StopStatus, native_enum=False, length=16, values_callable=enum_values),
        default=StopStatus.PENDING,
    )
    missing: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    """The difference being reported: product id (as text) → sale units missing."""

    round: Mapped[CollectionRound] = relationship(back_populates="stops")
    producer: Mapped[Producer] = relationship()


class DriverInvitation(NetworkScoped, Base):
    """A single-use link that makes its first user a driver."""

    __tablename__ = "driver_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
