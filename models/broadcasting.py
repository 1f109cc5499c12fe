"""Broadcasts: audiences, the draft, one delivery row per recipient, and their outcomes.

A broadcast goes draft → sending → done. Starting it writes one :class:`BroadcastDelivery` per
recipient in the same unit of work, so the list of who must get it is fixed before the first
message leaves. The sender then walks the pending rows one at a time:

1. :func:`claim_delivery` marks the row ``sending`` and commits, *before* the message is sent;
2. the message is sent;
3. :func:`record_outcome` marks it ``sent`` (or ``blocked``/``failed``) and commits.

A crash between 1 and 3 leaves the row ``sending``: the message may or may not have reached the
person, and Telegram offers no way to ask. :func:`recover_interrupted` turns such rows into
``failed`` rather than ``pending``, so a resumed broadcast never sends anyone the same message
twice; the price is that at most one person per sending worker may miss it after a crash.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from models.broadcast import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryStatus
from models.cycle import Cycle, CycleState
from models.errors import DomainError, NoOpenCycle, StaleAction
from models.member import Member
from models.order import Order, OrderStatus
from models.pickup_point import PickupPoint
from models.unit_of_work import unit_of_work

MAX_TEXT_LENGTH = 3500
"""Room left under Telegram's 4,096 characters for the header the sender adds."""

ORDERED_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.COLLECTED, OrderStatus.NO_SHOW)


class Audience(enum.StrEnum):
    """Who a broadcast goes to (``audience_arg`` holds the pickup point's id when needed)."""

    CONSUMERS = "consumers"
    PRODUCERS = "producers"
    PICKUP_POINT = "pickup_point"
    NOT_ORDERED = "not_ordered"


class TextTooLong(DomainError):
    """The message is longer than a broadcast may be (``length``, ``maximum``)."""

    code = "text_too_long"


@dataclass(frozen=True)
class DeliveryTarget:
    """One pending delivery: the row and the chat it goes to."""

    delivery_id: int
    member_id: int
    telegram_id: int
    locale: str


@dataclass(frozen=True)
class BroadcastProgress:
    """How far a broadcast went: counts per delivery status."""

    total: int
    sent: int
    blocked: int
    failed: int
    pending: int

    @property
    def done(self) -> int:
        """Deliveries settled one way or another."""
        return self.sent + self.blocked + self.failed


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
    body = text.strip()
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
    broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if (
        broadcast is None
        or broadcast.author_id != author.id
        or broadcast.status != BroadcastStatus.DRAFT
    ):
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


async def start_broadcast(session: AsyncSession, broadcast_id: int, author: Member) -> int:
    """Turn the draft into a broadcast being sent, with one pending delivery per recipient.

    Returns the number of recipients. The draft → sending transition is a conditional update,
    so a double tap on "send" starts it once; the second answers :class:`StaleAction`. Commits.
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
        recipients = _audience_query(audience, point_id, cycle_id).subquery()
        # One INSERT … SELECT: 1,800 rows in one statement, not 1,800 round trips.
        await session.execute(
            insert(BroadcastDelivery).from_select(
                ["broadcast_id", "member_id", "status", "attempts"],
                select(
                    literal(broadcast_id),
                    recipients.c.id,
                    literal(DeliveryStatus.PENDING.value),
                    literal(0),
                ),
            )
        )
        count = int(
            await session.scalar(
                select(func.count()).where(BroadcastDelivery.broadcast_id == broadcast_id)
            )
            or 0
        )
    await session.refresh(broadcast)
    return count


async def pending_deliveries(
    session: AsyncSession, broadcast_id: int, limit: int = 200
) -> list[DeliveryTarget]:
    """The next pending deliveries of the broadcast, in a stable order."""
    rows = await session.execute(
        select(BroadcastDelivery.id, Member.id, Member.telegram_id, Member.locale)
        .join(Member, BroadcastDelivery.member_id == Member.id)
        .where(
            BroadcastDelivery.broadcast_id == broadcast_id,
            BroadcastDelivery.status == DeliveryStatus.PENDING,
        )
        .order_by(BroadcastDelivery.id)
        .limit(limit)
    )
    await session.commit()
    return [DeliveryTarget(d, m, int(t), locale) for d, m, t, locale in rows.all()]


async def claim_delivery(session: AsyncSession, delivery_id: int) -> bool:
    """Mark the delivery ``sending`` just before it is sent, and commit.

    Returns False when it is no longer pending (another sender took it) or its member became
    unreachable since (then it is marked ``blocked`` and must not be sent).
    """
    async with unit_of_work(session):
        unreachable = await session.scalar(
            select(Member.reachable.is_(False))
            .join(BroadcastDelivery, BroadcastDelivery.member_id == Member.id)
            .where(BroadcastDelivery.id == delivery_id)
        )
        target = DeliveryStatus.BLOCKED if unreachable else DeliveryStatus.SENDING
        claimed = await session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.id == delivery_id,
                BroadcastDelivery.status == DeliveryStatus.PENDING,
            )
            .values(status=target, attempts=BroadcastDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    return claimed.rowcount == 1 and target is DeliveryStatus.SENDING  # type: ignore[attr-defined]


async def record_outcome(
    session: AsyncSession, target: DeliveryTarget, status: DeliveryStatus, now: datetime
) -> None:
    """Settle a claimed delivery as ``sent``, ``blocked`` or ``failed``, and commit.

    ``blocked`` also marks the member unreachable, so later broadcasts skip them until they
    write to the bot again.
    """
    if status not in (DeliveryStatus.SENT, DeliveryStatus.BLOCKED, DeliveryStatus.FAILED):
        raise ValueError(f"a delivery cannot end as {status}")
    async with unit_of_work(session):
        await session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.id == target.delivery_id,
                BroadcastDelivery.status == DeliveryStatus.SENDING,
            )
            .values(status=status, sent_at=now if status is DeliveryStatus.SENT else None)
            .execution_options(synchronize_session=False)
        )
        if status is DeliveryStatus.BLOCKED:
            await session.execute(
                update(Member)
                .where(Member.id == target.member_id)
                .values(reachable=False)
                .execution_options(synchronize_session=False)
            )


async def progress(session: AsyncSession, broadcast_id: int) -> BroadcastProgress:
    """Counts per delivery status (``sending`` counts as pending)."""
    rows = await session.execute(
        select(BroadcastDelivery.status, func.count())
        .where(BroadcastDelivery.broadcast_id == broadcast_id)
        .group_by(BroadcastDelivery.status)
    )
    counts = {DeliveryStatus(status): int(n) for status, n in rows.all()}
    await session.commit()
    return BroadcastProgress(
        total=sum(counts.values()),
        sent=counts.get(DeliveryStatus.SENT, 0),
        blocked=counts.get(DeliveryStatus.BLOCKED, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0),
        pending=counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.SENDING, 0),
    )


async def finish_broadcast(session: AsyncSession, broadcast_id: int, now: datetime) -> bool:
    """Mark the broadcast done once no delivery is pending; returns whether it is done."""
    async with unit_of_work(session):
        left = await session.scalar(
            select(func.count()).where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
            )
        )
        if left:
            return False
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


async def recover_interrupted(session: AsyncSession, broadcast_id: int) -> int:
    """After a crash: deliveries left ``sending`` become ``failed`` (never re-sent, see the
    module docstring). Returns how many. Call it only when no sender of this process is working
    on the broadcast. Commits."""
    async with unit_of_work(session):
        result = await session.execute(
            update(BroadcastDelivery)
            .where(
                and_(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.status == DeliveryStatus.SENDING,
                )
            )
            .values(status=DeliveryStatus.FAILED)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def author_of(session: AsyncSession, broadcast: Broadcast) -> Member | None:
    """The member who wrote the broadcast."""
    return await session.get(Member, broadcast.author_id)


__all__ = [
    "MAX_TEXT_LENGTH",
    "Audience",
    "BroadcastProgress",
    "DeliveryTarget",
    "TextTooLong",
    "author_of",
    "cancel_drafts",
    "choose_audience",
    "claim_delivery",
    "count_recipients",
    "create_draft",
    "finish_broadcast",
    "interrupted_broadcasts",
    "pending_deliveries",
    "progress",
    "record_outcome",
    "recover_interrupted",
    "start_broadcast",
]
