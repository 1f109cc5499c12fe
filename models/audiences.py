"""Who hears about the cycle (the audiences), and the record that makes each step of the week
happen once.

A step claims its key before acting (:func:`claim_step`, or :func:`add_step` inside the unit of
work that writes the step's messages into the outbox): the unique constraint of
:class:`~models.cycle_event.CycleEvent` lets only one run win, whatever the race. Each message
is then delivered once by the outbox (:mod:`models.outbox`).
Preferences: a member opts out of a kind of notification (``Member.notifications_off``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.cycle_event import CycleEvent
from models.errors import StaleAction
from models.member import NOTIFICATION_KINDS, Member
from models.members import admin_condition
from models.order import Order, OrderLine, OrderStatus
from models.pickup_point import PickupPoint
from models.unit_of_work import unit_of_work, writing


@dataclass(frozen=True)
class Recipient:
    """Someone to write to, in their language."""

    telegram_id: int
    locale: str
    member_id: int | None = None
    first_name: str = ""


@dataclass(frozen=True)
class BasketItem:
    """One line of a basket, as a reminder names it."""

    name: str
    quantity: Decimal
    sale_unit: str
    name_en: str | None = None
    """The product's English name, when the catalog gives one."""


@dataclass(frozen=True)
class CloseReminder:
    """A consumer to remind before close: ``items`` is empty when they have no order yet."""

    recipient: Recipient
    items: tuple[BasketItem, ...]
    total_cents: int


@dataclass(frozen=True)
class PickupReminder:
    """A consumer with a confirmed order to collect: where, when, how much."""

    recipient: Recipient
    order_id: int
    total_cents: int
    point: PickupPoint | None


@dataclass(frozen=True)
class CloseNotice:
    """A consumer whose order the close settled: ``final`` (confirmed, with its number) or a
    basket that was never confirmed and has been released (``lines`` it held)."""

    recipient: Recipient
    order_id: int
    final: bool
    total_cents: int
    lines: int
    point: PickupPoint | None
    paid_cents: int = 0
    """What the order was already paid (from the balance at the close, for instance)."""
    to_weigh: int = 0
    """Lines of weighed products (weighed after the close): ``total_cents`` is an estimate."""


def _recipient(member: Member) -> Recipient:
    return Recipient(member.telegram_id, member.locale, member.id, member.first_name)


def wants(member: Member, kind: str) -> bool:
    """Whether the member wants notifications of ``kind`` (and can receive them)."""
    return member.reachable and kind not in (member.notifications_off or [])


# -- the record -----------------------------------------------------------------------------


async def step_done(session: AsyncSession, cycle_id: int, kind: str) -> bool:
    """Whether the cycle-wide step ``kind`` was already done."""
    found = await session.scalar(
        select(CycleEvent.id).where(CycleEvent.cycle_id == cycle_id, CycleEvent.kind == kind)
    )
    await session.commit()
    return found is not None


async def claim_step(session: AsyncSession, cycle_id: int, kind: str) -> bool:
    """Record the cycle-wide step ``kind`` as done; False when it already was. Commits."""
    async with writing(session):
        try:
            async with session.begin_nested():
                session.add(CycleEvent(cycle_id=cycle_id, kind=kind))
        except IntegrityError:
            await session.rollback()
            return False
        await session.commit()
    return True


async def add_step(session: AsyncSession, cycle_id: int, kind: str) -> bool:
    """Record the cycle-wide step ``kind`` as done in the caller's transaction (nothing is
    committed); False when it already was (the caller must then not do it)."""
    try:
        async with session.begin_nested():
            session.add(CycleEvent(cycle_id=cycle_id, kind=kind))
    except IntegrityError:
        return False
    return True


# -- audiences ------------------------------------------------------------------------------


ORDERING_KINDS = ("cycle_open", "close_reminder")
"""What invites a consumer to order: a member an admin blocked from ordering does not get it."""


async def _consumers(session: AsyncSession, kind: str) -> list[Member]:
    query = select(Member).where(Member.is_consumer.is_(True), Member.reachable.is_(True))
    if kind in ORDERING_KINDS:
        query = query.where(Member.blocked_at.is_(None))
    members = await session.scalars(query)
    return [member for member in members if wants(member, kind)]


async def cycle_open_audience(session: AsyncSession) -> list[Recipient]:
    """The consumers who want to know that ordering is open."""
    recipients = [_recipient(m) for m in await _consumers(session, "cycle_open")]
    await session.commit()
    return recipients


async def event_audience(session: AsyncSession) -> list[Recipient]:
    """The consumers who want the network's invitations (tastings, farm visits)."""
    recipients = [_recipient(m) for m in await _consumers(session, "events")]
    await session.commit()
    return recipients


async def close_reminder_audience(session: AsyncSession, cycle_id: int) -> list[CloseReminder]:
    """Consumers to remind before close: those with an unconfirmed basket (with its lines) and
    those with no order yet; not those whose order is confirmed, nor those who opted out."""
    consumers = await _consumers(session, "close_reminder")
    orders = await session.scalars(
        select(Order)
        .where(Order.cycle_id == cycle_id)
        .options(selectinload(Order.lines).selectinload(OrderLine.product))
    )
    by_member = {order.member_id: order for order in orders}
    reminders: list[CloseReminder] = []
    for member in consumers:
        order = by_member.get(member.id)
        if order is None or (order.status == OrderStatus.BASKET and not order.lines):
            reminders.append(CloseReminder(_recipient(member), (), 0))
        elif order.status == OrderStatus.BASKET:
            items = tuple(
                BasketItem(
                    line.product.name, line.quantity, line.product.sale_unit, line.product.name_en
                )
                for line in order.lines
            )
            reminders.append(CloseReminder(_recipient(member), items, order.total_cents))
    await session.commit()
    return reminders


async def pickup_reminder_audience(session: AsyncSession, cycle_id: int) -> list[PickupReminder]:
    """Consumers with a confirmed order in the cycle who want the pickup-day reminder."""
    orders = await session.scalars(
        select(Order)
        .where(Order.cycle_id == cycle_id, Order.status == OrderStatus.CONFIRMED)
        .options(selectinload(Order.member), selectinload(Order.pickup_point))
        .order_by(Order.id)
    )
    reminders = [
        PickupReminder(_recipient(order.member), order.id, order.total_cents, order.pickup_point)
        for order in orders
        if wants(order.member, "pickup_reminder")
    ]
    await session.commit()
    return reminders


async def close_notice_audience(session: AsyncSession, cycle_id: int) -> list[CloseNotice]:
    """Every consumer the close concerns: each confirmed order (final now) and each basket with
    lines that was abandoned; transactional, so opt-outs do not apply. Ends its read."""
    line_count = (
        select(OrderLine.order_id, func.count(OrderLine.id).label("lines"))
        .group_by(OrderLine.order_id)
        .subquery()
    )
    unweighed = (
        select(OrderLine.order_id, func.count(OrderLine.id).label("lines"))
        .where(OrderLine.price_per_kg_cents.is_not(None), OrderLine.weight_kg.is_(None))
        .group_by(OrderLine.order_id)
        .subquery()
    )
    rows = await session.execute(
        select(Order, line_count.c.lines, func.coalesce(unweighed.c.lines, 0))
        .join(line_count, line_count.c.order_id == Order.id)
        .outerjoin(unweighed, unweighed.c.order_id == Order.id)
        .where(
            Order.cycle_id == cycle_id,
            Order.status.in_((OrderStatus.CONFIRMED, OrderStatus.ABANDONED)),
        )
        .options(selectinload(Order.member), selectinload(Order.pickup_point))
        .order_by(Order.id)
    )
    notices = [
        CloseNotice(
            _recipient(order.member),
            order.id,
            order.status == OrderStatus.CONFIRMED,
            order.total_cents,
            int(lines),
            order.pickup_point,
            order.paid_cents,
            int(to_weigh),
        )
        for order, lines, to_weigh in rows.all()
        if order.member.reachable
    ]
    await session.commit()
    return notices


async def admin_audience(
    session: AsyncSession, admin_ids: frozenset[int], default_locale: str
) -> list[Recipient]:
    """The admins: members with the admin role and the ``ADMIN_IDS``, each once."""
    members = await session.scalars(select(Member).where(admin_condition(admin_ids)))
    recipients = {m.telegram_id: _recipient(m) for m in members if m.reachable}
    for telegram_id in admin_ids:
        recipients.setdefault(telegram_id, Recipient(telegram_id, default_locale))
    await session.commit()
    return sorted(recipients.values(), key=lambda r: r.telegram_id)


# -- preferences ----------------------------------------------------------------------------


async def set_notification(session: AsyncSession, member: Member, kind: str, on: bool) -> bool:
    """Turn the member's notifications of ``kind`` on (``on``) or off, whatever they were (a
    double tap does what one tap does); returns whether they are now on. Commits; an unknown
    kind answers :class:`StaleAction`."""
    if kind not in NOTIFICATION_KINDS:
        raise StaleAction(kind=kind)
    async with unit_of_work(session):
        off = [k for k in member.notifications_off or [] if k != kind]
        if not on:
            off.append(kind)
        member.notifications_off = off  # a new list, so the JSON column is seen as changed
    return on
