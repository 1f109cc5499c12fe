"""Pickup day: each point's list of orders, marking them collected, and ending the pickup.

Ending a point's pickup records its orders nobody collected as no-shows; once no confirmed order
is left in the cycle, the cycle is delivered. The scheduler ends every point at the end of the
pickup window. Also the invitation codes of company pickup points.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.catalog import search_form
from models.cycle import Cycle, CycleState
from models.cycles import lock_cycle
from models.errors import StaleAction
from models.order import CONFIRMED_STATUSES, Order, OrderLine, OrderStatus
from models.payments import cancel_counter_payments, lock_pickup_order
from models.pickup_point import PickupPoint
from models.unit_of_work import unit_of_work

ON_THE_LIST = CONFIRMED_STATUSES

if TYPE_CHECKING:
    from models.exports import ExportLine


@dataclass(frozen=True)
class PickupEntry:
    """One order on a point's pickup list."""

    order_id: int
    member_name: str
    total_cents: int
    lines: int
    status: OrderStatus
    phone: str | None = None
    items: tuple[ExportLine, ...] = ()
    """The order's lines, when the list is for print (:func:`models.exports.pickup_lists`);
    empty on the pickup-day screen, which shows only their count (``lines``)."""
    to_pay_cents: int = 0
    """What the consumer still owes (0: paid, from the balance, online or at the counter)."""
    to_weigh: int = 0
    """How many of its lines are weighed products not weighed yet (``total_cents`` is then an
    estimate)."""

    @property
    def collected(self) -> bool:
        """Whether the consumer took the order."""
        return self.status == OrderStatus.COLLECTED


@dataclass(frozen=True)
class PickupList:
    """A point's orders in a cycle, by consumer surname (else first name), then order."""

    cycle: Cycle
    point: PickupPoint
    entries: tuple[PickupEntry, ...]

    @property
    def total_cents(self) -> int:
        """What the point's consumers pay, all together."""
        return sum(entry.total_cents for entry in self.entries)

    @property
    def to_pay_cents(self) -> int:
        """What the point's consumers still owe, all together."""
        return sum(entry.to_pay_cents for entry in self.entries)

    def matching(self, query: str) -> tuple[PickupEntry, ...]:
        """The entries ``query`` finds: an order number ("42", "n° 42", "#42") finds that order;
        words find the names holding every one of them (accents and case aside)."""
        digits = query.strip().lstrip("nN°o.#º ").strip()
        if digits.isdigit():
            return tuple(e for e in self.entries if e.order_id == int(digits))
        words = search_form(query).split()
        return tuple(
            e for e in self.entries if all(word in search_form(e.member_name) for word in words)
        )

    @property
    def to_weigh(self) -> int:
        """How many lines of the point's orders are still to weigh."""
        return sum(entry.to_weigh for entry in self.entries)

    @property
    def collected(self) -> int:
        """How many orders were collected."""
        return sum(1 for entry in self.entries if entry.collected)


async def pickup_cycle(session: AsyncSession) -> Cycle | None:
    """The cycle being picked up: the latest closed one, else the latest delivered one."""
    for state in (CycleState.CLOSED, CycleState.DELIVERED):
        cycle = await session.scalar(
            select(Cycle).where(Cycle.state == state).order_by(Cycle.opens_at.desc()).limit(1)
        )
        if cycle is not None:
            return cycle
    return None


async def point_by_slug(session: AsyncSession, slug: str) -> PickupPoint | None:
    """The pickup point called ``slug`` (case-insensitive), if any."""
    result: PickupPoint | None = await session.scalar(
        select(PickupPoint).where(func.lower(PickupPoint.slug) == slug.strip().lower())
    )
    return result


def list_order(
    sort_name: str, display_name: str, order_id: int, fold: Callable[[str], str] = search_form
) -> tuple[str, str, int]:
    """Where an order stands on a pickup list: by surname, then whole name, then order number,
    compared folded (``fold``: :func:`models.catalog.search_form`, or a memo of it)."""
    return (fold(sort_name), fold(display_name), order_id)


async def pickup_list(session: AsyncSession, cycle_id: int, point_id: int) -> PickupList:
    """The point's confirmed (and collected, no-show) orders in the cycle, by consumer surname
    (the first name when Telegram gave no last name), then order number."""
    cycle = await session.get(Cycle, cycle_id, populate_existing=True)
    point = await session.get(PickupPoint, point_id)
    if cycle is None or point is None:
        raise StaleAction(cycle_id=cycle_id, point_id=point_id)
    line_counts = (
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
        select(Order, func.coalesce(line_counts.c.lines, 0), func.coalesce(unweighed.c.lines, 0))
        .outerjoin(line_counts, line_counts.c.order_id == Order.id)
        .outerjoin(unweighed, unweighed.c.order_id == Order.id)
        .where(
            Order.cycle_id == cycle_id,
            Order.pickup_point_id == point_id,
            Order.status.in_(ON_THE_LIST),
        )
        .options(selectinload(Order.member))
        .execution_options(populate_existing=True)
    )
    ordered = sorted(
        rows,
        key=lambda row: list_order(row[0].member.sort_name, row[0].member.display_name, row[0].id),
    )
    entries = [
        PickupEntry(
            order.id,
            order.member.display_name,
            order.total_cents,
            int(lines),
            order.status,
            order.member.phone,
            to_pay_cents=order.to_pay_cents,
            to_weigh=int(to_weigh),
        )
        for order, lines, to_weigh in ordered
    ]
    await session.commit()
    return PickupList(cycle, point, tuple(entries))


async def set_collected(
    session: AsyncSession, order_id: int, collected: bool, now: datetime | None = None
) -> Order:
    """Mark the order collected (``collected``), or back to not collected (what the check-in
    recorded as paid at the counter is then taken back); an order already so is left as it is,
    so a double tap does not undo the first. Commits.

    Only while its cycle is being picked up (closed); otherwise :class:`StaleAction`.
    """
    async with unit_of_work(session):
        order = await lock_pickup_order(session, order_id)
        if collected:
            order.status = OrderStatus.COLLECTED
        elif order.status == OrderStatus.COLLECTED:
            order.status = OrderStatus.CONFIRMED
            await cancel_counter_payments(session, order, None, now or order.updated_at)
    return order


async def pickup_entry(session: AsyncSession, order_id: int) -> tuple[PickupEntry, Order]:
    """One order of the pickup day's lists (its entry, and the order for its cycle and point);
    :class:`StaleAction` when it is not on a list being picked up. Reads only."""
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id, Order.status.in_(ON_THE_LIST))
        .options(selectinload(Order.member), selectinload(Order.lines))
        .execution_options(populate_existing=True)
    )
    await session.commit()
    if order is None or order.pickup_point_id is None:
        raise StaleAction(order_id=order_id)
    entry = PickupEntry(
        order.id,
        order.member.display_name,
        order.total_cents,
        len(order.lines),
        order.status,
        order.member.phone,
        to_pay_cents=order.to_pay_cents,
    )
    return entry, order


def pickup_missed(cycle: Cycle) -> bool:
    """Whether the cycle closed only after its pickup window had ended (the bot was down): no
    pickup day took place as planned, so nobody is a no-show by the clock."""
    return cycle.closed_at is not None and cycle.closed_at >= cycle.pickup_ends_at


async def finish_pickup(
    session: AsyncSession, cycle_id: int, now: datetime, point_id: int | None = None
) -> int:
    """End the pickup at one point (or every point): what was not collected becomes a no-show.

    When no confirmed order is left, the cycle is delivered. Returns the number of no-shows
    recorded; a cycle that is not closed answers :class:`StaleAction` (finishing twice records
    nothing more). Ending every point of a cycle whose pickup was missed (:func:`pickup_missed`)
    records nothing: only a point's pickup ended by hand, one that took place, makes no-shows.
    Commits.
    """
    async with unit_of_work(session):
        cycle = await lock_cycle(session, cycle_id)
        if cycle.state not in (CycleState.CLOSED, CycleState.DELIVERED):
            raise StaleAction(cycle_id=cycle_id)
        if cycle.state == CycleState.DELIVERED:
            return 0
        if point_id is None and pickup_missed(cycle):
            return 0
        query = update(Order).where(
            Order.cycle_id == cycle_id, Order.status == OrderStatus.CONFIRMED
        )
        if point_id is not None:
            query = query.where(Order.pickup_point_id == point_id)
        result = await session.execute(
            query.values(status=OrderStatus.NO_SHOW, updated_at=now).execution_options(
                synchronize_session=False
            )
        )
        no_shows = int(getattr(result, "rowcount", 0) or 0)
        left = await session.scalar(
            select(func.count(Order.id)).where(
                Order.cycle_id == cycle_id, Order.status == OrderStatus.CONFIRMED
            )
        )
        if not left:
            cycle.state = CycleState.DELIVERED
    return no_shows


async def invitation_code(session: AsyncSession, point: PickupPoint) -> str:
    """The point's invitation code, created on first use (letters, digits, ``-``, ``_``, as
    Telegram's ``/start`` payload allows). Commits."""
    async with unit_of_work(session):
        if not point.invite_code:
            point.invite_code = secrets.token_urlsafe(9)
    assert point.invite_code is not None
    return point.invite_code
