"""Broadcasts: audiences, the draft, and the start that writes one outbox row per recipient.

A broadcast goes draft → sending → done. Starting it writes one outbox row
(:mod:`models.outbox`, topic ``broadcast:N``) per recipient in the same unit of work, so the
list of who must get it is fixed before the first message leaves. The outbox's sender then
claims, sends and settles each row; a row left in flight by a crash becomes ``uncertain`` (a
broadcast may be dropped rather than sent twice: see :data:`models.outbox.MUST_ARRIVE`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import exists, false, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from models.base import utcnow
from models.broadcast import Broadcast, BroadcastStatus
from models.cycle import Cycle, CycleState
from models.errors import DomainError, NoOpenCycle, StaleAction
from models.member import Member
from models.network import network_of
from models.order import CONFIRMED_STATUSES, Order, OrderStatus
from models.outbox import (
    Kind,
    OutboxMessage,
    OutboxState,
    TopicProgress,
    broadcast_topic,
    unfinished,
)
from models.outbox import progress as topic_progress
from models.pickup_point import PickupPoint
from models.text import storable
from models.unit_of_work import unit_of_work

MAX_TEXT_LENGTH = 3500
"""Room left under Telegram's 4,096 characters for the header the sender adds."""

ORDERED_STATUSES = CONFIRMED_STATUSES


class Audience(enum.StrEnum):
    """Who a broadcast goes to (``audience_arg`` holds the pickup point's id when needed)."""

    CONSUMERS = "consumers"
    PRODUCERS = "producers"
    PICKUP_POINT = "pickup_point"
    NOT_ORDERED = "not_ordered"


class TextTooLong(DomainError):
    """The message is longer than a broadcast may be (``length``, ``maximum``)."""

    code = "text_too_long"


BroadcastProgress = TopicProgress
"""How far a broadcast went: its outbox rows' counts per state."""


def _audience_query(audience: Audience, point_id: int | None, cycle_id: int | None) -> Select[int]:
    """The ids of the reachable members in ``audience``."""
    query = select(Member.id).where(Member.reachable.is_(True))
    if audience is Audience.CONSUMERS:
        return query.where(Member.is_consumer.is_(True))
    if audience is Audience.PRODUCERS:
        return query.where(Member.producer_id.is_not(None))
    if audience is Audience.PICKUP_POINT:
        # Members who chose the point, and those whose order this cycle is collected there.
        at_point = Member.pickup_point_id == point_id
        if cycle_id is None:
            return query.where(at_point)
        ordered_there = exists().where(
            Order.member_id == Member.id,
            Order.cycle_id == cycle_id,
            Order.pickup_point_id == point_id,
            Order.status.in_((OrderStatus.BASKET, *ORDERED_STATUSES)),
        )
        return query.where(or_(at_point, ordered_there))
    # NOT_ORDERED: consumers without a confirmed order in the open cycle (a basket is not one).
    ordered = exists().where(
        Order.member_id == Member.id,
        Order.cycle_id == cycle_id,
        Order.status.in_(ORDERED_STATUSES),
    )
    return query.where(Member.is_consumer.is_(True), ~ordered)


async def _current_cycle_id(session: AsyncSession) -> int | None:
    cycle_id: int | None = await session.scalar(
        select(Cycle.id)
        .where(Cycle.state == CycleState.OPEN)
        .order_by(Cycle.opens_at.desc())
        .limit(1)
    )
    return cycle_id


async def _resolve(
    session: AsyncSession, audience: Audience, audience_arg: str | None
) -> tuple[int | None, int | None]:
    """(pickup point id, open cycle id) for ``audience``; refuses what cannot be resolved."""
    point_id: int | None = None
    if audience is Audience.PICKUP_POINT:
        if audience_arg is None or not audience_arg.isdigit():
            raise StaleAction(audience=audience.value)
        point = await session.get(PickupPoint, int(audience_arg))
        if point is None:
            raise StaleAction(point_id=audience_arg)
        point_id = point.id
    cycle_id = await _current_cycle_id(session)
    if audience is Audience.NOT_ORDERED and cycle_id is None:
        raise NoOpenCycle()
    return point_id, cycle_id


async def count_recipients(
    session: AsyncSession, audience: Audience, audience_arg: str | None = None
) -> int:
    """How many reachable members ``audience`` names right now."""
    point_id, cycle_id = await _resolve(session, audience, audience_arg)
    ids = _audience_query(audience, point_id, cycle_id).subquery()
    return int(await session.scalar(select(func.count()).select_from(ids)) or 0)


async def create_draft(session: AsyncSession, author: Member, text: str) -> Broadcast:
    """A draft broadcast holding ``text`` (no audience yet); commits.

    Refuses an empty text or one longer than :data:`MAX_TEXT_LENGTH` (:class:`TextTooLong`).
    """
    body = storable(text).strip()
    if not body or len(body) > MAX_TEXT_LENGTH:
        raise TextTooLong(length=len(body), maximum=MAX_TEXT_LENGTH)
    async with unit_of_work(session):
        broadcast = Broadcast(
            author_id=author.id,
            text=body,
            audience="",
            audience_arg=None,
            status=BroadcastStatus.DRAFT,
        )
        session.add(broadcast)
    return broadcast


async def _draft(session: AsyncSession, broadcast_id: int, author: Member) -> Broadcast:
    broadcast = await _authors(session, broadcast_id, author)
    if broadcast.status != BroadcastStatus.DRAFT:
        raise StaleAction(broadcast_id=broadcast_id)
    return broadcast


async def _authors(session: AsyncSession, broadcast_id: int, author: Member) -> Broadcast:
    """The ``author``'s broadcast ``broadcast_id``, read afresh; :class:`StaleAction` for
    another's or a forged id."""
    broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if broadcast is None or broadcast.author_id != author.id:
        raise StaleAction(broadcast_id=broadcast_id)
    return broadcast


async def choose_audience(
    session: AsyncSession,
    broadcast_id: int,
    author: Member,
    audience: Audience,
    audience_arg: str | None = None,
) -> tuple[Broadcast, int]:
    """Set the draft's audience; returns it with the number of recipients. Commits.

    Someone else's draft, or one already sent, answers :class:`StaleAction`.
    """
    async with unit_of_work(session):
        broadcast = await _draft(session, broadcast_id, author)
        count = await count_recipients(session, audience, audience_arg)
        broadcast.audience = audience.value
        broadcast.audience_arg = audience_arg
    return broadcast, count


async def cancel_drafts(session: AsyncSession, author: Member) -> int:
    """Forget the author's unsent drafts (sent broadcasts are kept); returns how many. Commits."""
    async with unit_of_work(session):
        drafts = list(
            await session.scalars(
                select(Broadcast).where(
                    Broadcast.author_id == author.id, Broadcast.status == BroadcastStatus.DRAFT
                )
            )
        )
        for draft in drafts:
            await session.delete(draft)
    return len(drafts)


async def drop_draft(session: AsyncSession, broadcast_id: int, author: Member) -> None:
    """Forget this draft of the author's; :class:`StaleAction` when it is not one (sent,
    dropped, someone else's). Commits."""
    async with unit_of_work(session):
        await session.delete(await _draft(session, broadcast_id, author))


async def start_broadcast(
    session: AsyncSession, broadcast_id: int, author: Member, render: Callable[[str], str]
) -> int:
    """Turn the draft into a broadcast being sent, with one pending outbox row per recipient
    carrying ``render(draft text)`` (the message as sent). Returns the number of recipients.

    The draft → sending transition is a conditional update, so a double tap on "send" starts
    it once; the second answers :class:`StaleAction`. Commits.
    """
    async with unit_of_work(session):
        broadcast = await _draft(session, broadcast_id, author)
        if not broadcast.audience:
            raise StaleAction(broadcast_id=broadcast_id)
        audience = Audience(broadcast.audience)
        point_id, cycle_id = await _resolve(session, audience, broadcast.audience_arg)
        started = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.DRAFT)
            .values(status=BroadcastStatus.SENDING)
            .execution_options(synchronize_session=False)
        )
        if started.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleAction(broadcast_id=broadcast_id)
        # An INSERT … SELECT is not filtered by the session's network: say it here.
        network = network_of(session)
        audience_ids = _audience_query(audience, point_id, cycle_id)
        ids = audience_ids.where(Member.network_id == network).subquery()
        topic = broadcast_topic(broadcast_id)
        # One INSERT … SELECT: 1,800 rows in one statement, not 1,800 round trips.
        await session.execute(
            insert(OutboxMessage).from_select(
                [
                    "network_id",
                    "topic",
                    "kind",
                    "telegram_id",
                    "member_id",
                    "locale",
                    "part",
                    "text",
                    "state",
                    "attempts",
                    "resend",
                    "reported",
                    "created_at",
                ],
                select(
                    literal(network),
                    literal(topic),
                    literal(Kind.BROADCAST.value),
                    Member.telegram_id,
                    Member.id,
                    Member.locale,
                    literal(0),
                    literal(render(broadcast.text)),
                    literal(OutboxState.PENDING.value),
                    literal(0),
                    false(),
                    false(),
                    literal(utcnow()),
                ).where(Member.network_id == network, Member.id.in_(select(ids.c.id))),
            )
        )
        count = int(
            await session.scalar(select(func.count()).where(OutboxMessage.topic == topic)) or 0
        )
    await session.refresh(broadcast)
    return count


async def started_broadcast(
    session: AsyncSession, broadcast_id: int, author: Member
) -> tuple[bool, BroadcastProgress]:
    """The author's broadcast ``broadcast_id`` once sent off (a second press on its "send": a
    double tap, or the next press after the process died once it started): whether it is done,
    and its counts. Raises :class:`StaleAction` unless it is the author's and no longer a
    draft."""
    broadcast = await _authors(session, broadcast_id, author)
    if broadcast.status == BroadcastStatus.DRAFT:
        raise StaleAction(broadcast_id=broadcast_id)
    done = broadcast.status == BroadcastStatus.DONE
    return done, await progress(session, broadcast_id)


async def progress(session: AsyncSession, broadcast_id: int) -> BroadcastProgress:
    """Counts of the broadcast's deliveries per state (``sending`` counts as pending)."""
    return await topic_progress(session, broadcast_topic(broadcast_id))


async def finish_broadcast(session: AsyncSession, broadcast_id: int, now: datetime) -> bool:
    """Mark the broadcast done once no delivery is pending or in flight; whether it is done."""
    if await unfinished(session, broadcast_topic(broadcast_id)):
        return False
    async with unit_of_work(session):
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING)
            .values(status=BroadcastStatus.DONE, finished_at=now)
            .execution_options(synchronize_session=False)
        )
    return True


async def interrupted_broadcasts(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts left ``sending`` (the process stopped before they finished), oldest first."""
    rows = await session.scalars(
        select(Broadcast).where(Broadcast.status == BroadcastStatus.SENDING).order_by(Broadcast.id)
    )
    result = list(rows)
    await session.commit()
    return result


async def author_of(session: AsyncSession, broadcast: Broadcast) -> Member | None:
    """The member who wrote the broadcast."""
    return await session.get(Member, broadcast.author_id)


__all__ = [
    "MAX_TEXT_LENGTH",
    "Audience",
    "BroadcastProgress",
    "TextTooLong",
    "author_of",
    "cancel_drafts",
    "choose_audience",
    "count_recipients",
    "create_draft",
    "drop_draft",
    "finish_broadcast",
    "interrupted_broadcasts",
    "progress",
    "start_broadcast",
]
