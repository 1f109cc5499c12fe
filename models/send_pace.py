"""One sending budget per bot, shared by every worker process through PostgreSQL.

Telegram lets a bot send about 30 messages a second, whichever process sends them. Each worker
reserves its slot in the bot's :class:`SendPace` row before each message: a GCRA (generic cell
rate algorithm) in one statement, the row's ``next_at`` being the first free instant on the
database's clock. ``UPDATE … SET next_at = GREATEST(next_at, clock_timestamp()) + interval``
holds the row's lock for the statement only, so the workers queue in PostgreSQL, one slot each,
evenly spaced whatever their number. A worker that dies after reserving wastes one slot.

The row is keyed by the bot's id (the number before the colon of its token): two networks on
one bot would share it, two bots never do. One process on SQLite paces in memory instead
(``handlers.delivery.Pacer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class SendPace(Base):
    """The next free sending instant of one bot, across every worker."""

    __tablename__ = "send_pace"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime())


_RESERVE = text(
    """
    INSERT INTO send_pace (bot_id, next_at)
    VALUES (:bot_id, clock_timestamp() + make_interval(secs => :interval))
    ON CONFLICT (bot_id) DO UPDATE
    SET next_at = GREATEST(send_pace.next_at, clock_timestamp())
        + make_interval(secs => :interval)
    RETURNING send_pace.next_at - make_interval(secs => :interval),
        EXTRACT(EPOCH FROM (send_pace.next_at - clock_timestamp())) - :interval
    """
)


@dataclass(frozen=True, slots=True)
class Slot:
    """A reserved sending slot: when, on the database's clock, and how many seconds from now."""

    at: datetime
    wait: float


async def reserve(session: AsyncSession, bot_id: int, interval: float) -> Slot:
    """Reserve the bot's next sending slot, ``interval`` seconds after the one before.
    PostgreSQL only; commits."""
    at, wait = (await session.execute(_RESERVE, {"bot_id": bot_id, "interval": interval})).one()
    await session.commit()
    return Slot(at=at, wait=max(0.0, float(wait or 0.0)))


async def reserve_slot(session: AsyncSession, bot_id: int, interval: float) -> float:
    """Reserve the bot's next sending slot (:func:`reserve`); returns how many seconds to wait
    before sending (0 when the slot is now). PostgreSQL only; commits."""
    return (await reserve(session, bot_id, interval)).wait
