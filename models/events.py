"""Events: an admin plans one, members take a seat with one tap, the capacity is never exceeded.

A seat is taken in one unit of work: a conditional ``UPDATE event SET taken = taken + 1 WHERE
taken + 1 <= capacity`` (the same guard that keeps stock from being oversold), then the seat row,
unique per member; a second tap of the same person is told they are already coming, a tap past
the capacity that the event is full. Leaving gives the place back the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.audiences import Recipient
from models.errors import DomainError, StaleAction
from models.event import Event, EventSeat
from models.member import Member
from models.text import storable
from models.unit_of_work import unit_of_work

MAX_CAPACITY = 10_000
REMINDER_BEFORE = timedelta(hours=24)


class EventFull(DomainError):
    """Every place of the event is taken (``capacity``)."""

    code = "event_full"


class EventPast(DomainError):
    """The event has begun or is over: seats no longer change."""

    code = "event_past"


class InvalidEvent(DomainError):
    """An event that cannot be planned (``reason``: ``title``, ``place``, ``date``, ``capacity``)."""

    code = "invalid_event"


class Seat(enum.StrEnum):
    """What a tap on "I'm coming" / "I'm not coming any more" did."""

    TAKEN = "taken"
    ALREADY = "already"
    LEFT = "left"
    NOT_COMING = "not_coming"


@dataclass(frozen=True)
class EventView:
    """An event as people read it: how many places are taken, and whether ``member`` comes."""

    id: int
    title: str
    place: str
    description: str | None
    starts_at: datetime
    capacity: int
    taken: int
    coming: bool

    @property
    def full(self) -> bool:
        """Whether every place is taken."""
        return self.taken >= self.capacity


async def plan_event(
    session: AsyncSession,
    author: Member,
    *,
    title: str,
    place: str,
    starts_at: datetime,
    capacity: int,
    now: datetime,
    description: str | None = None,
) -> Event:
    """A new event (committed); :class:`InvalidEvent` names what is wrong."""
    title, place = storable(title).strip(), storable(place).strip()
    if not title or len(title) > 120:
        raise InvalidEvent(reason="title")
    if not place or len(place) > 200:
        raise InvalidEvent(reason="place")
    if starts_at <= now:
        raise InvalidEvent(reason="date")
    if not 0 < capacity <= MAX_CAPACITY:
        raise InvalidEvent(reason="capacity", maximum=MAX_CAPACITY)
    async with unit_of_work(session):
        event = Event(
            title=title,
            place=place,
            description=description,
            starts_at=starts_at,
            capacity=capacity,
            taken=0,
            author_id=author.id,
        )
        session.add(event)
        await session.flush()
    return event


async def event_view(session: AsyncSession, event_id: int, member: Member | None) -> EventView:
    """The event with its seats now (:class:`StaleAction` when it does not exist). Ends its
    read."""
    event = await session.get(Event, event_id, populate_existing=True)
    if event is None:
        await session.commit()
        raise StaleAction(event_id=event_id)
    coming = False
    if member is not None:
        coming = (
            await session.scalar(
                select(EventSeat.id).where(
                    EventSeat.event_id == event_id, EventSeat.member_id == member.id
                )
            )
            is not None
        )
    view = EventView(
        event.id,
        event.title,
        event.place,
        event.description,
        event.starts_at,
        event.capacity,
        event.taken,
        coming,
    )
    await session.commit()
    return view


async def take_seat(session: AsyncSession, member: Member, event_id: int, now: datetime) -> Seat:
    """Seat ``member`` at the event: :attr:`Seat.TAKEN`, or :attr:`Seat.ALREADY` when they
    were coming; :class:`EventFull` when no place is left, :class:`EventPast` once it began.
    Commits."""
    async with unit_of_work(session):
        event = await session.get(Event, event_id)
        if event is None:
            raise StaleAction(event_id=event_id)
        if event.starts_at <= now:
            raise EventPast(event_id=event_id)
        seated = await session.scalar(
            select(EventSeat.id).where(
                EventSeat.event_id == event_id, EventSeat.member_id == member.id
            )
        )
        if seated is not None:
            return Seat.ALREADY
        held = await session.execute(
            update(Event)
            .where(Event.id == event_id, Event.taken + 1 <= Event.capacity)
            .values(taken=Event.taken + 1)
            .execution_options(synchronize_session=False)
        )
        if held.rowcount != 1:  # type: ignore[attr-defined]
            raise EventFull(capacity=event.capacity)
        try:
            async with session.begin_nested():
                session.add(EventSeat(event_id=event_id, member_id=member.id))
        except IntegrityError:  # the same person's other tap won: give the place back
            await session.execute(
                update(Event)
                .where(Event.id == event_id)
                .values(taken=Event.taken - 1)
                .execution_options(synchronize_session=False)
            )
            return Seat.ALREADY
    return Seat.TAKEN


async def leave_seat(session: AsyncSession, member: Member, event_id: int, now: datetime) -> Seat:
    """Give ``member``'s place back: :attr:`Seat.LEFT`, or :attr:`Seat.NOT_COMING` when they
    held none; :class:`EventPast` once it began. Commits."""
    async with unit_of_work(session):
        event = await session.get(Event, event_id)
        if event is None:
            raise StaleAction(event_id=event_id)
        if event.starts_at <= now:
            raise EventPast(event_id=event_id)
        seat = await session.scalar(
            select(EventSeat).where(
                EventSeat.event_id == event_id, EventSeat.member_id == member.id
            )
        )
        if seat is None:
            return Seat.NOT_COMING
        await session.delete(seat)
        await session.execute(
            update(Event)
            .where(Event.id == event_id, Event.taken > 0)
            .values(taken=Event.taken - 1)
            .execution_options(synchronize_session=False)
        )
    return Seat.LEFT


async def mark_announced(session: AsyncSession, event_id: int, now: datetime) -> bool:
    """Record that the event was announced; False when it already was. Commits."""
    async with unit_of_work(session):
        done = await session.execute(
            update(Event)
            .where(Event.id == event_id, Event.announced_at.is_(None))
            .values(announced_at=now)
            .execution_options(synchronize_session=False)
        )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


async def events_to_remind(
    session: AsyncSession, now: datetime, within: timedelta = REMINDER_BEFORE
) -> list[Event]:
    """The announced events starting after ``now`` and within ``within``. Ends its read."""
    rows = list(
        await session.scalars(
            select(Event)
            .where(
                Event.announced_at.is_not(None),
                Event.starts_at > now,
                Event.starts_at <= now + within,
            )
            .order_by(Event.starts_at)
        )
    )
    await session.commit()
    return rows


async def attendees(session: AsyncSession, event_id: int) -> list[Recipient]:
    """The members coming to the event who can be reached, in their language. Ends its read."""
    members = await session.scalars(
        select(Member)
        .join(EventSeat, EventSeat.member_id == Member.id)
        .where(EventSeat.event_id == event_id, Member.reachable.is_(True))
        .order_by(EventSeat.id)
    )
    recipients = [Recipient(m.telegram_id, m.locale, m.id, m.first_name) for m in members]
    await session.commit()
    return recipients


async def seats_taken(session: AsyncSession, event_id: int) -> int:
    """How many seat rows the event has (equals ``Event.taken``: an invariant)."""
    count = await session.scalar(
        select(func.count(EventSeat.id)).where(EventSeat.event_id == event_id)
    )
    await session.commit()
    return int(count or 0)
