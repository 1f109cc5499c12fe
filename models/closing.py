"""Closing a cycle: the week's orders are frozen and counted.

Closing takes the cycle row exclusively (``FOR UPDATE``) while every ordering operation takes it
shared (``FOR SHARE``; SQLite serialises writers with ``BEGIN IMMEDIATE``): a basket change lands
entirely before the close, and is then counted, or after it, and is then refused
(:class:`~models.errors.CycleClosed`). Unconfirmed baskets are abandoned and their stock returns
to the offers; confirmed orders stay. The totals are SQL aggregations, never Python loops over
the lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.cycle import CycleState, Offer
from models.cycles import lock_cycle
from models.errors import StaleAction
from models.order import Order, OrderLine, OrderStatus
from models.pickup_point import PickupPoint
from models.producer import Producer, Product
from models.unit_of_work import unit_of_work

# Orders that count in a closed cycle (collected and no-show ones were confirmed too).
COUNTED_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.COLLECTED, OrderStatus.NO_SHOW)


@dataclass(frozen=True)
class ProducerTotal:
    """One producer's share of a cycle: order lines and revenue."""

    producer_id: int
    name: str
    lines: int
    revenue_cents: int


@dataclass(frozen=True)
class PickupPointTotal:
    """One pickup point's share of a cycle: orders and revenue."""

    pickup_point_id: int | None
    name: str | None
    orders: int
    revenue_cents: int


@dataclass(frozen=True)
class CloseSummary:
    """A closed cycle in figures; ``already_closed`` when this call found it closed."""

    cycle_id: int
    orders: int
    revenue_cents: int
    lines: int
    abandoned: int
    producers: tuple[ProducerTotal, ...]
    pickup_points: tuple[PickupPointTotal, ...]
    already_closed: bool = False


async def close_cycle(session: AsyncSession, cycle_id: int, now: datetime) -> CloseSummary:
    """Close the cycle (once) and return its summary; commits.

    Closing a cycle already closed (or delivered) changes nothing and returns its summary with
    ``already_closed=True``; a cycle that never opened answers :class:`StaleAction`.
    """
    async with unit_of_work(session):
        cycle = await lock_cycle(session, cycle_id)
        if cycle.state == CycleState.PLANNED:
            raise StaleAction(cycle_id=cycle_id, state=cycle.state.value)
        already_closed = cycle.state != CycleState.OPEN
        if not already_closed:
            await _abandon_baskets(session, cycle_id)
            cycle.state = CycleState.CLOSED
            cycle.closed_at = now
    return await cycle_summary(session, cycle_id, already_closed=already_closed)


async def _abandon_baskets(session: AsyncSession, cycle_id: int) -> None:
    """Unconfirmed baskets become abandoned; what they held goes back to the offers."""
    held = (
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, OrderLine.order_id == Order.id)
        .where(
            Order.cycle_id == cycle_id,
            Order.status == OrderStatus.BASKET,
            OrderLine.product_id == Offer.product_id,
        )
        .scalar_subquery()
    )
    in_baskets = (
        select(OrderLine.id)
        .join(Order, OrderLine.order_id == Order.id)
        .where(
            Order.cycle_id == cycle_id,
            Order.status == OrderStatus.BASKET,
            OrderLine.product_id == Offer.product_id,
        )
        .exists()
    )
    await session.execute(
        update(Offer)
        .where(Offer.cycle_id == cycle_id, in_baskets)
        .values(ordered=Offer.ordered - held)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Order)
        .where(Order.cycle_id == cycle_id, Order.status == OrderStatus.BASKET)
        .values(status=OrderStatus.ABANDONED)
        .execution_options(synchronize_session=False)
    )


async def cycle_summary(
    session: AsyncSession, cycle_id: int, *, already_closed: bool = False
) -> CloseSummary:
    """The cycle's confirmed orders in figures (so far, when it is still open)."""
    counted = and_(Order.cycle_id == cycle_id, Order.status.in_(COUNTED_STATUSES))
    orders, revenue = (
        await session.execute(
            select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0)).where(
                counted
            )
        )
    ).one()
    lines = await session.scalar(
        select(func.count(OrderLine.id)).join(Order, OrderLine.order_id == Order.id).where(counted)
    )
    abandoned = await session.scalar(
        select(func.count(Order.id)).where(
            Order.cycle_id == cycle_id, Order.status == OrderStatus.ABANDONED
        )
    )
    producer_rows = await session.execute(
        select(
            Producer.id,
            Producer.name,
            func.count(OrderLine.id),
            func.coalesce(func.sum(OrderLine.total_cents), 0),
        )
        .select_from(OrderLine)
        .join(Order, OrderLine.order_id == Order.id)
        .join(Product, OrderLine.product_id == Product.id)
        .join(Producer, Product.producer_id == Producer.id)
        .where(counted)
        .group_by(Producer.id, Producer.name)
        .order_by(Producer.name)
    )
    point_rows = await session.execute(
        select(
            Order.pickup_point_id,
            PickupPoint.name,
            func.count(Order.id),
            func.coalesce(func.sum(Order.total_cents), 0),
        )
        .select_from(Order)
        .outerjoin(PickupPoint, Order.pickup_point_id == PickupPoint.id)
        .where(counted)
        .group_by(Order.pickup_point_id, PickupPoint.name)
        .order_by(PickupPoint.name)
    )
    await session.commit()  # reads only: end the transaction, release SQLite's write lock
    return CloseSummary(
        cycle_id=cycle_id,
        orders=int(orders),
        revenue_cents=int(revenue),
        lines=int(lines or 0),
        abandoned=int(abandoned or 0),
        producers=tuple(
            ProducerTotal(int(pid), str(name), int(count), int(total))
            for pid, name, count, total in producer_rows
        ),
        pickup_points=tuple(
            PickupPointTotal(
                None if pid is None else int(pid),
                None if name is None else str(name),
                int(count),
                int(total),
            )
            for pid, name, count, total in point_rows
        ),
        already_closed=already_closed,
    )
