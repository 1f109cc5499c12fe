"""Broadcasts to an audience, with one delivery row per recipient so a crash can resume."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, enum_values, utcnow


class BroadcastStatus(enum.StrEnum):
    """draft → sending → done."""

    DRAFT = "draft"
    SENDING = "sending"
    DONE = "done"


class DeliveryStatus(enum.StrEnum):
    """pending → sending → sent | blocked | failed.

    ``sending`` is committed just before the message goes to Telegram: a row still ``sending``
    after a crash may or may not have reached its recipient, so it is never sent again.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"


class Broadcast(Base):
    """A message from an admin to an audience (all consumers, producers, a pickup point…)."""

    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(32))
    audience_arg: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[BroadcastStatus] = mapped_column(
        Enum(BroadcastStatus, native_enum=False, length=16, values_callable=enum_values),
        default=BroadcastStatus.DRAFT,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    deliveries: Mapped[list[BroadcastDelivery]] = relationship(back_populates="broadcast")


class BroadcastDelivery(Base):
    """One recipient of a broadcast; ``sent`` rows are never sent again."""

    __tablename__ = "broadcast_delivery"
    __table_args__ = (UniqueConstraint("broadcast_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcast.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16, values_callable=enum_values),
        default=DeliveryStatus.PENDING,
        index=True,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    broadcast: Mapped[Broadcast] = relationship(back_populates="deliveries")
