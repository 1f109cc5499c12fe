"""Broadcasts to an audience; their deliveries are outbox rows (topic ``broadcast:N``)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.network import NetworkScoped


class BroadcastStatus(enum.StrEnum):
    """draft → sending → done."""

    DRAFT = "draft"
    SENDING = "sending"
    DONE = "done"


class Broadcast(NetworkScoped, Base):
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
