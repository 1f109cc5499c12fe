"""What the scheduler already did for a cycle, so that nothing is done twice.

``CycleEvent`` records a cycle-wide step once (the opening announced, a reminder round, the
close dispatched…) under a unique key: a second run, or two runs at once, cannot claim the same
step. The messages a step sends are recorded, one per person, in the outbox
(:mod:`models.outbox`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.network import NetworkScoped


class CycleEvent(NetworkScoped, Base):
    """A cycle-wide step of the weekly run, done once (``kind`` e.g. ``close_dispatched``)."""

    __tablename__ = "cycle_event"
    __table_args__ = (UniqueConstraint("cycle_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
