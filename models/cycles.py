"""Cycle operations: which cycle is open, which comes next, creating and opening cycles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import catalog_cache
from models.cycle import Cycle, CycleState, Offer
from models.errors import StaleAction
from models.producer import Product
from models.unit_of_work import unit_of_work


async def lock_cycle(session: AsyncSession, cycle_id: int, *, shared: bool = False) -> Cycle:
    """The cycle, read afresh and locked for this transaction; :class:`StaleAction` if unknown.

    ``shared`` takes a shared lock (``FOR SHARE``: basket changes, which may run side by side);
    otherwise the lock is exclusive (``FOR UPDATE``: opening, closing, moving the cycle), so a
    close waits for the basket changes in flight and the ones after it see the cycle closed.
    The session may hold the cycle as it was earlier: ``populate_existing`` reloads it.
    """
    cycle = await session.scalar(_lock_query(shared), {"cycle_id": cycle_id})
    if cycle is None:
        raise StaleAction(cycle_id=cycle_id)
    return cycle


@cache
def _lock_query(shared: bool) -> Select[Cycle]:
    """:func:`lock_cycle`'s statement, built once per kind of lock (``:cycle_id`` bound)."""
    return (
        select(Cycle)
        .where(Cycle.id == bindparam("cycle_id"))
        .with_for_update(read=shared)
        .execution_options(populate_existing=True)
    )


async def open_cycle(session: AsyncSession) -> Cycle | None:
    """The cycle currently open for orders, if any (from :mod:`models.catalog_cache` when the
    session read the network's catalog version: no statement)."""
    known, cached = await catalog_cache.open_cycle(session)
    if known:
        return cached
    result: Cycle | None = await session.scalar(
        select(Cycle).where(Cycle.state == CycleState.OPEN).order_by(Cycle.opens_at.desc()).limit(1)
    )
    return result


async def next_cycle(session: AsyncSession, now: datetime) -> Cycle | None:
    """The next planned cycle (the soonest to open after ``now``), if one is planned."""
    result: Cycle | None = await session.scalar(
        select(Cycle)
        .where(Cycle.state == CycleState.PLANNED, Cycle.opens_at >= now)
        .order_by(Cycle.opens_at)
        .limit(1)
    )
    return result


async def stock_cycle(session: AsyncSession, now: datetime) -> Cycle | None:
    """The cycle a producer's stock applies to: the open one, else the next planned one."""
    return await open_cycle(session) or await next_cycle(session, now)


async def create_cycle(
    session: AsyncSession,
    *,
    opens_at: datetime,
    closes_at: datetime,
    pickup_starts_at: datetime,
    pickup_ends_at: datetime,
) -> Cycle:
    """A new planned cycle with these times (flushed; the caller commits)."""
    cycle = Cycle(
        opens_at=opens_at,
        closes_at=closes_at,
        pickup_starts_at=pickup_starts_at,
        pickup_ends_at=pickup_ends_at,
        state=CycleState.PLANNED,
    )
    session.add(cycle)
    await session.flush()
    return cycle


async def ensure_offers(session: AsyncSession, cycle: Cycle) -> int:
    """Give every active product an offer in ``cycle`` (zero when nobody stocked it yet).

    Returns how many offers were created; flushes, the caller commits.
    """
    existing = set(
        await session.scalars(select(Offer.product_id).where(Offer.cycle_id == cycle.id))
    )
    products = await session.scalars(select(Product.id).where(Product.active.is_(True)))
    created = 0
    for product_id in products:
        if product_id not in existing:
            session.add(
                Offer(
                    cycle_id=cycle.id, product_id=product_id, offered=Decimal(0), ordered=Decimal(0)
                )
            )
            created += 1
    await session.flush()
    return created


async def start_cycle(session: AsyncSession, cycle: Cycle, now: datetime) -> bool:
    """Open ``cycle`` for orders (offers ready for every product) and commit.

    Returns False when it was already open or past (opening is idempotent).
    """
    async with unit_of_work(session):
        locked = await lock_cycle(session, cycle.id)
        if locked.state != CycleState.PLANNED:
            return False
        await ensure_offers(session, locked)
        locked.state = CycleState.OPEN
        locked.opened_at = now
    return True
