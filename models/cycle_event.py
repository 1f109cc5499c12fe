"""What the scheduler already did for a cycle, so that nothing is done twice.

``CycleEvent`` records a cycle-wide step once (the opening announced, a reminder round, the
close dispatched…); ``CycleNotification`` records each message to one person (by Telegram id, so
that admins known only from ``ADMIN_IDS`` count too). Both have a unique key: a second run, or
two runs at once, cannot claim the same step or the same message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class CycleEvent(Base):
    """A cycle-wide step of the weekly run, done once (``kind`` e.g. ``close_dispatched``)."""

    __tablename__ = "cycle_event"
    __table_args__ = (UniqueConstraint("cycle_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NotificationStatus:
    """What became of one message: claimed (being sent), sent, blocked (403), failed."""

    CLAIMED = "claimed"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"


class CycleNotification(Base):
    """One message about a cycle to one person; its key is never sent twice."""

    __tablename__ = "cycle_notification"
    __table_args__ = (UniqueConstraint("cycle_id", "kind", "telegram_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.CLAIMED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
