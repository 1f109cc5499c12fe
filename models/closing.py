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

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import kitchen
from models.cycle import CycleState, Offer
from models.cycles import lock_cycle
from models.errors import StaleAction
from models.network import own_rows
from models.order import CONFIRMED_STATUSES, Order, OrderLine, OrderStatus
from models.payments import debit_held_orders
from models.pickup_point import PickupPoint
from models.producer import Producer, Product
from models.unit_of_work import unit_of_work

# Orders that count in a closed cycle (collected and no-show ones were confirmed too).
COUNTED_STATUSES = CONFIRMED_STATUSES


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
    ``already_closed=True``; a cycle that never opened answers :class:`StaleAction`. The orders
    that hold money on a prepaid balance are debited their final amount, in the same unit.
    """
    async with unit_of_work(session):
        cycle = await lock_cycle(session, cycle_id)
        if cycle.state == CycleState.PLANNED:
            raise StaleAction(cycle_id=cycle_id, state=cycle.state.value)
        already_closed = cycle.state != CycleState.OPEN
        if not already_closed:
            await _abandon_baskets(session, cycle_id)
            await debit_held_orders(session, cycle_id, now)
            cycle.state = CycleState.CLOSED
            cycle.closed_at = now
    return await cycle_summary(session, cycle_id, already_closed=already_closed)


async def _abandon_baskets(session: AsyncSession, cycle_id: int) -> None:
    """Unconfirmed baskets become abandoned; what they held goes back to the offers.

    A dish's ingredients are given back first (``kitchen.release_baskets``: one statement per
    ingredient). Then two statements whatever the number of baskets: one ``UPDATE offer … FROM`` the baskets'
    quantities summed per product (PostgreSQL, and SQLite since 3.33), then one ``UPDATE`` of
    the orders. The first is a Core statement on the session's connection, scoped to the
    session's network on the orders alone (the cycle, locked above, is the network's): the
    ORM's criterion on ``order_line.network_id`` made SQLite walk every line of the network
    through that index, 21,600 of them to find no basket, where the orders' ``cycle_id``
    leads to the cycle's lines. Only ``ordered`` changes: the catalog's version is not
    concerned (:mod:`models.catalog_cache`).
    """
    await kitchen.release_baskets(session, cycle_id)
    held = (
        select(OrderLine.product_id, func.sum(OrderLine.quantity).label("quantity"))
        .join(Order, OrderLine.order_id == Order.id)
        .where(
            Order.cycle_id == cycle_id,
            Order.status == OrderStatus.BASKET,
            own_rows(session, Order.network_id),
        )
        .group_by(OrderLine.product_id)
        .subquery()
    )
    connection = await session.connection()
    await connection.execute(
        update(Offer)
        .where(Offer.cycle_id == cycle_id, Offer.product_id == held.c.product_id)
        .values(ordered=Offer.ordered - held.c.quantity)
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
    """The cycle's confirmed orders in figures (so far, when it is still open).

    Two aggregations: the lines per producer, and the orders per pickup point (abandoned
    baskets counted alongside); the cycle's totals are their sums. They run as Core statements
    on the session's connection, scoped to the session's network on the orders alone: the ORM's
    criteria on every joined table (``order_line.network_id`` among them) made PostgreSQL,
    before its statistics caught up with a week's orders, join each order to every line of the
    network.
    """
    counted = Order.status.in_(COUNTED_STATUSES)
    scoped = and_(Order.cycle_id == cycle_id, own_rows(session, Order.network_id))
    connection = await session.connection()
    # Summed per producer id, then named: a name is joined to its producer's row, not to each line.
    per_producer = (
        select(
            Product.producer_id.label("producer_id"),
            func.count().label("lines"),
            func.sum(OrderLine.total_cents).label("cents"),
        )
        .select_from(OrderLine)
        .join(Order, OrderLine.order_id == Order.id)
        .join(Product, OrderLine.product_id == Product.id)
        .where(scoped, counted)
        .group_by(Product.producer_id)
        .subquery()
    )
    producer_rows = (
        await connection.execute(
            select(
                Producer.id,
                Producer.name,
                per_producer.c.lines,
                func.coalesce(per_producer.c.cents, 0),
            )
            .join(per_producer, per_producer.c.producer_id == Producer.id)
            .order_by(Producer.name)
        )
    ).all()
    point_rows = (
        await connection.execute(
            select(
                Order.pickup_point_id,
                PickupPoint.name,
                func.count(case((counted, Order.id))),
                func.coalesce(func.sum(case((counted, Order.total_cents), else_=0)), 0),
                func.count(case((Order.status == OrderStatus.ABANDONED, Order.id))),
            )
            .select_from(Order)
            .outerjoin(PickupPoint, Order.pickup_point_id == PickupPoint.id)
            .where(scoped, Order.status.in_((*COUNTED_STATUSES, OrderStatus.ABANDONED)))
            .group_by(Order.pickup_point_id, PickupPoint.name)
            .order_by(PickupPoint.name)
        )
    ).all()
    await session.commit()  # reads only: end the transaction, release SQLite's write lock
    producers = tuple(
        ProducerTotal(int(pid), str(name), int(count), int(total))
        for pid, name, count, total in producer_rows
    )
    pickup_points = tuple(
        PickupPointTotal(
            None if pid is None else int(pid),
            None if name is None else str(name),
            int(count),
            int(total),
        )
        for pid, name, count, total, _abandoned in point_rows
        if count
    )
    return CloseSummary(
        cycle_id=cycle_id,
        orders=sum(point.orders for point in pickup_points),
        revenue_cents=sum(point.revenue_cents for point in pickup_points),
        lines=sum(producer.lines for producer in producers),
        abandoned=sum(int(row[4]) for row in point_rows),
        producers=producers,
        pickup_points=pickup_points,
        already_closed=already_closed,
    )
