"""The outbox: one ledger row for every message the product sends on its own.

Announcements, reminders, purchase orders and their CSV, the admins' close summary, shortage
notices, broadcasts, delivery reports: each is written here first, one row per recipient and
*part* (a text and its document are two parts; a long text split in three is three), under a
unique key ``(topic, kind, telegram_id, part)``, so writing the same message twice writes it
once. The sender (``handlers/delivery.py``) then moves each row through

    pending → sending → sent | blocked | failed | uncertain

claiming a row (a conditional update from ``pending``, committed) before it goes to Telegram and
settling it right after. Nothing stays ``sending``: a row claimed longer than :data:`LEASE` ago
was left by a process that died (or lost its answer) and is resolved by the policy of its kind
(:func:`after_interruption`): what must arrive (:data:`MUST_ARRIVE`) goes back to ``pending``
marked as a resend; what may be dropped becomes ``uncertain`` (it may have been received).

The rows carry what to send (the rendered HTML, the buttons as Bot API JSON, the document's bytes)
so a resend after a crash needs nothing but the ledger. This module never imports telegram.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.member import Member
from models.network import NetworkScoped, network_of
from models.unit_of_work import unit_of_work

LEASE = timedelta(seconds=90)
"""How long a claimed row may stay ``sending`` before it is taken as left by a dead process.
Every attempt refreshes the claim, so only a sender that stopped working lets it lapse."""


class OutboxState(enum.StrEnum):
    """What became of one outgoing message."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"  # the person blocked the bot (403): they are marked unreachable
    FAILED = "failed"  # Telegram refused it, or every retry failed: it did not arrive
    UNCERTAIN = "uncertain"  # interrupted in flight, may have arrived, not sent again


SETTLED = frozenset({OutboxState.SENT, OutboxState.BLOCKED, OutboxState.FAILED})


class Kind(enum.StrEnum):
    """The kinds of message the product sends on its own (a reminder's kind names its round,
    ``close_reminder:24h``: the part before ``:`` is the family the policy reads)."""

    CYCLE_OPEN = "cycle_open"
    STOCK_PROMPT = "stock_prompt"
    STOCK_NUDGE = "stock_nudge"
    CLOSE_REMINDER = "close_reminder"
    PICKUP_REMINDER = "pickup_reminder"
    PURCHASE_ORDER = "purchase_order"
    CLOSE_SUMMARY = "close_summary"
    FINAL_RECEIPT = "final_receipt"
    BASKET_RELEASED = "basket_released"
    SHORTAGE_NOTICE = "shortage_notice"
    BROADCAST = "broadcast"
    EVENT_INVITATION = "event_invitation"
    EVENT_REMINDER = "event_reminder"
    DELIVERY_REPORT = "delivery_report"
    FARM_LEFT_ALONE = "farm_left_alone"  # a farm has nobody linked to receive its orders
    MISSED_CYCLES = "missed_cycles"  # the bot was down: the cycles it skipped, a late close
    ERROR_REPORT = "error_report"  # an error the bot met, for the admins
    COLLECTION_ROUND = "collection_round"
    INVOICE = "invoice"  # a Telegram Payments invoice for an order (may be dropped: /payer)
    PRODUCER_STATEMENT = "producer_statement"  # a producer's account for a month, PDF and CSV
    PRODUCTION_SHEET = "production_sheet"  # the kitchen's: what to cook, from whose products


MUST_ARRIVE: frozenset[str] = frozenset(
    {
        Kind.PURCHASE_ORDER,
        Kind.CLOSE_SUMMARY,
        Kind.FINAL_RECEIPT,
        Kind.SHORTAGE_NOTICE,
        Kind.DELIVERY_REPORT,
        Kind.FARM_LEFT_ALONE,
        Kind.MISSED_CYCLES,
        Kind.COLLECTION_ROUND,
        Kind.PRODUCER_STATEMENT,
        Kind.PRODUCTION_SHEET,
    }
)
"""Kinds sent again (marked as a resend) when a crash leaves it unknown whether they arrived:
a producer without the purchase order brings nothing, a consumer without the final receipt does
not know where and when to collect, a driver without the round collects nothing, a kitchen without its production sheet cooks nothing, a consumer not told of a shortage comes for what is not
there, a farm nobody is linked to any more gets no purchase order, and cycles the bot skipped
while it was down leave consumers without a week; a producer's statement is what they are paid on. Every other kind (announcements, reminders whose moment passes,
stock prompts, broadcasts) may be dropped: it is marked ``uncertain`` rather than risk a
duplicate."""


def family(kind: str) -> str:
    """The kind's family: ``close_reminder:24h`` → ``close_reminder``."""
    return kind.split(":", 1)[0]


def must_arrive(kind: str) -> bool:
    """Whether a message of ``kind`` is sent again after an interruption (see the module)."""
    return family(kind) in MUST_ARRIVE


def after_interruption(kind: str) -> OutboxState:
    """The written policy: what a row of ``kind`` left in flight becomes."""
    return OutboxState.PENDING if must_arrive(kind) else OutboxState.UNCERTAIN


class OutboxMessage(NetworkScoped, Base):
    """One part of one message to one person; its key is written and delivered once."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("network_id", "topic", "kind", "telegram_id", "part"),
        Index("ix_outbox_message_state_topic", "state", "topic"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))  # what it is about: "cycle:5", "broadcast:3"
    kind: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"), index=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    locale: Mapped[str] = mapped_column(String(8))
    part: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str | None] = mapped_column(Text)  # HTML; a document's caption
    markup: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # Bot API reply_markup
    document: Mapped[bytes | None] = mapped_column(LargeBinary)
    filename: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[OutboxState] = mapped_column(
        Enum(OutboxState, native_enum=False, length=16, values_callable=enum_values),
        default=OutboxState.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    resend: Mapped[bool] = mapped_column(Boolean, default=False)
    reported: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Part:
    """One part to write for one person: a text (with its buttons), or a document (with its
    caption in ``text``)."""

    telegram_id: int
    locale: str
    text: str | None = None
    markup: dict[str, Any] | None = None
    document: bytes | None = None
    filename: str | None = None
    member_id: int | None = None
    part: int = 0


@dataclass(frozen=True)
class Outgoing:
    """A claimed row, as the sender needs it."""

    id: int
    topic: str
    kind: str
    telegram_id: int
    member_id: int | None
    locale: str
    part: int
    text: str | None
    markup: dict[str, Any] | None
    document: bytes | None
    filename: str | None
    resend: bool


@dataclass(frozen=True)
class Undelivered:
    """A message that did not arrive, for the admins' delivery report."""

    id: int
    topic: str
    kind: str
    telegram_id: int
    name: str
    state: OutboxState
    error: str | None


@dataclass(frozen=True)
class TopicProgress:
    """Counts per state of one topic's rows (``sending`` counts as pending)."""

    total: int
    sent: int
    blocked: int
    failed: int
    uncertain: int
    pending: int

    @property
    def done(self) -> int:
        """Rows settled one way or another."""
        return self.sent + self.blocked + self.failed + self.uncertain


def parts(
    telegram_id: int,
    locale: str,
    texts: str | Sequence[str],
    *,
    markup: dict[str, Any] | None = None,
    document: bytes | None = None,
    filename: str | None = None,
    caption: str | None = None,
    member_id: int | None = None,
) -> list[Part]:
    """One message's parts for one person: each text in order (the buttons under the last),
    then the document if any. (A single text is one part, never a sequence of characters.)"""
    if isinstance(texts, str):
        texts = [texts]
    out = [
        Part(
            telegram_id,
            locale,
            text=text,
            markup=markup if index == len(texts) - 1 else None,
            member_id=member_id,
            part=index,
        )
        for index, text in enumerate(texts)
    ]
    if document is not None:
        out.append(
            Part(
                telegram_id,
                locale,
                text=caption,
                document=document,
                filename=filename,
                member_id=member_id,
                part=len(texts),
            )
        )
    return out


def _topic_is(topic: str | None) -> Any:
    """Rows of ``topic``; of every topic but the broadcasts' when None."""
    if topic is None:
        return OutboxMessage.topic.not_like("broadcast:%")
    return OutboxMessage.topic == topic


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(OutboxMessage)


async def add_messages(
    session: AsyncSession,
    topic: str,
    kind: str,
    items: Iterable[Part],
    *,
    cycle_id: int | None = None,
) -> int:
    """Write ``items`` into the ledger as pending, in the caller's transaction (nothing is
    committed); a part already written under the same key is left as it is. Returns how many
    rows were new."""
    network = network_of(session)  # a Core INSERT is not stamped by the session: say it here
    rows = [
        {
            "network_id": network,
            "topic": topic,
            "kind": kind,
            "cycle_id": cycle_id,
            "telegram_id": item.telegram_id,
            "member_id": item.member_id,
            "locale": item.locale,
            "part": item.part,
            "text": item.text,
            "markup": item.markup,
            "document": item.document,
            "filename": item.filename,
            "state": OutboxState.PENDING.value,
            "attempts": 0,
            "resend": False,
            "reported": False,
            "created_at": utcnow(),
        }
        for item in items
    ]
    if not rows:
        return 0
    statement = (
        _insert(session)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=["network_id", "topic", "kind", "telegram_id", "part"]
        )
    )
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def enqueue(
    session: AsyncSession,
    topic: str,
    kind: str,
    items: Iterable[Part],
    *,
    cycle_id: int | None = None,
) -> int:
    """:func:`add_messages` as a unit of work of its own (committed); how many were new."""
    async with unit_of_work(session):
        return await add_messages(session, topic, kind, items, cycle_id=cycle_id)


async def pending_recipients(
    session: AsyncSession, topic: str | None = None, limit: int = 10_000
) -> list[tuple[str, str, int]]:
    """The (topic, kind, telegram_id) groups with a pending part, oldest first; every topic
    but the broadcasts' (their own task delivers them) when ``topic`` is None."""
    query = (
        select(OutboxMessage.topic, OutboxMessage.kind, OutboxMessage.telegram_id)
        .where(OutboxMessage.state == OutboxState.PENDING)
        .group_by(OutboxMessage.topic, OutboxMessage.kind, OutboxMessage.telegram_id)
        .order_by(func.min(OutboxMessage.id))
        .limit(limit)
    )
    query = query.where(_topic_is(topic))
    rows = (await session.execute(query)).all()
    await session.commit()
    return [(t, k, int(i)) for t, k, i in rows]


async def group_parts(session: AsyncSession, topic: str, kind: str, telegram_id: int) -> list[int]:
    """The ids of one recipient's parts of a message still pending, in order."""
    ids = await session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.topic == topic,
            OutboxMessage.kind == kind,
            OutboxMessage.telegram_id == telegram_id,
            OutboxMessage.state == OutboxState.PENDING,
        )
        .order_by(OutboxMessage.part)
    )
    result = list(ids)
    await session.commit()
    return result


async def claim(session: AsyncSession, message_id: int, now: datetime) -> Outgoing | None:
    """Take the pending row for sending (committed before it goes out); None when it is no
    longer pending (another sender took it). A row whose member became unreachable is settled
    ``blocked`` instead, and None is returned: it must not be sent."""
    async with unit_of_work(session):
        claimed = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == OutboxState.PENDING)
            .values(
                state=OutboxState.SENDING,
                claimed_at=now,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = (
            await session.execute(
                select(OutboxMessage, Member.reachable)
                .outerjoin(Member, Member.id == OutboxMessage.member_id)
                .where(OutboxMessage.id == message_id)
            )
        ).one()
        message, reachable = row
        if reachable is False:
            message.state = OutboxState.BLOCKED
            message.settled_at = now
            return None
        return Outgoing(
            id=message.id,
            topic=message.topic,
            kind=message.kind,
            telegram_id=int(message.telegram_id),
            member_id=message.member_id,
            locale=message.locale,
            part=message.part,
            text=message.text,
            markup=message.markup,
            document=message.document,
            filename=message.filename,
            resend=message.resend,
        )


async def still_mine(session: AsyncSession, message_id: int, now: datetime) -> None:
    """Refresh a claim before another attempt, so the lease does not lapse while retrying."""
    async with unit_of_work(session):
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == OutboxState.SENDING)
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )


async def settle(
    session: AsyncSession,
    message: Outgoing,
    state: OutboxState,
    now: datetime,
    error: str | None = None,
) -> None:
    """Record what became of a claimed row, and commit. ``blocked`` marks the person
    unreachable and settles the rest of their parts of this message the same way; ``pending``
    (sent again, as a resend, when a must-arrive part may not have arrived) puts it back."""
    if state is OutboxState.SENDING:
        raise ValueError("a claimed message cannot be settled as sending")
    async with unit_of_work(session):
        values: dict[str, Any] = {"state": state, "error": (error or None) and error[:200]}
        if state is OutboxState.PENDING:
            values["resend"] = True
        else:
            values["settled_at"] = now
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.state == OutboxState.SENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if state is OutboxState.BLOCKED:
            await session.execute(
                update(Member)
                .where(Member.telegram_id == message.telegram_id)
                .values(reachable=False)
                .execution_options(synchronize_session=False)
            )
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.topic == message.topic,
                    OutboxMessage.kind == message.kind,
                    OutboxMessage.telegram_id == message.telegram_id,
                    OutboxMessage.state == OutboxState.PENDING,
                )
                .values(state=OutboxState.BLOCKED, settled_at=now)
                .execution_options(synchronize_session=False)
            )


async def recover_interrupted(
    session: AsyncSession, now: datetime, topic: str | None = None, lease: timedelta = LEASE
) -> dict[OutboxState, int]:
    """Resolve the rows claimed longer than ``lease`` ago (their sender died) by the policy
    of their kind: must-arrive rows back to pending, marked as a resend; the others
    ``uncertain``. Returns how many went each way. Commits."""
    stale = and_(
        OutboxMessage.state == OutboxState.SENDING,
        OutboxMessage.claimed_at <= now - lease,
    )
    stale = and_(stale, _topic_is(topic))
    counts = {OutboxState.PENDING: 0, OutboxState.UNCERTAIN: 0}
    async with unit_of_work(session):
        rows = (
            await session.execute(select(OutboxMessage.id, OutboxMessage.kind).where(stale))
        ).all()
        resend = [row_id for row_id, kind in rows if must_arrive(kind)]
        drop = [row_id for row_id, kind in rows if not must_arrive(kind)]
        if resend:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(resend), stale)
                .values(state=OutboxState.PENDING, resend=True)
                .execution_options(synchronize_session=False)
            )
        if drop:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(drop), stale)
                .values(state=OutboxState.UNCERTAIN, settled_at=now)
                .execution_options(synchronize_session=False)
            )
        counts[OutboxState.PENDING] = len(resend)
        counts[OutboxState.UNCERTAIN] = len(drop)
    return counts


async def progress(session: AsyncSession, topic: str) -> TopicProgress:
    """Counts per state of the topic's rows (each part counts)."""
    rows = await session.execute(
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.topic == topic)
        .group_by(OutboxMessage.state)
    )
    counts = {OutboxState(state): int(n) for state, n in rows.all()}
    await session.commit()
    return TopicProgress(
        total=sum(counts.values()),
        sent=counts.get(OutboxState.SENT, 0),
        blocked=counts.get(OutboxState.BLOCKED, 0),
        failed=counts.get(OutboxState.FAILED, 0),
        uncertain=counts.get(OutboxState.UNCERTAIN, 0),
        pending=counts.get(OutboxState.PENDING, 0) + counts.get(OutboxState.SENDING, 0),
    )


async def unfinished(session: AsyncSession, topic: str) -> int:
    """How many of the topic's rows are pending or being sent."""
    count = await session.scalar(
        select(func.count()).where(
            OutboxMessage.topic == topic,
            OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
        )
    )
    await session.commit()
    return int(count or 0)


def _unreported() -> Any:
    """What the admins have not yet been told did not arrive: failures of any kind, and
    must-arrive messages to someone who blocked the bot; never a delivery report itself."""
    return and_(
        OutboxMessage.reported.is_(False),
        OutboxMessage.kind != Kind.DELIVERY_REPORT,
        (OutboxMessage.state == OutboxState.FAILED)
        | (
            (OutboxMessage.state == OutboxState.BLOCKED)
            & OutboxMessage.kind.in_(sorted(MUST_ARRIVE))
        ),
    )


async def take_undelivered(session: AsyncSession) -> list[Undelivered]:
    """The messages that did not arrive and that the admins have not heard of, marked as
    reported in the same unit of work (so two senders never report one twice). Commits."""
    async with unit_of_work(session):
        rows = (
            await session.execute(
                select(OutboxMessage, Member.first_name)
                .outerjoin(Member, Member.telegram_id == OutboxMessage.telegram_id)
                .where(_unreported())
                .order_by(OutboxMessage.id)
                .with_for_update(of=OutboxMessage, skip_locked=True)
            )
        ).all()
        found = [
            Undelivered(m.id, m.topic, m.kind, int(m.telegram_id), name or "", m.state, m.error)
            for m, name in rows
        ]
        if found:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([u.id for u in found]))
                .values(reported=True)
                .execution_options(synchronize_session=False)
            )
    return found


async def sent_count(session: AsyncSession, topic: str, kind: str) -> int:
    """How many people received the first part of ``kind`` for ``topic``."""
    count = await session.scalar(
        select(func.count()).where(
            OutboxMessage.topic == topic,
            OutboxMessage.kind == kind,
            OutboxMessage.part == 0,
            OutboxMessage.state == OutboxState.SENT,
        )
    )
    await session.commit()
    return int(count or 0)


def cycle_topic(cycle_id: int) -> str:
    """The topic of the messages about one cycle."""
    return f"cycle:{cycle_id}"


def broadcast_topic(broadcast_id: int) -> str:
    """The topic of one broadcast's deliveries."""
    return f"broadcast:{broadcast_id}"
