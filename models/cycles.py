"""Cycle operations: which cycle is open, which comes next, creating and opening cycles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.cycle import Cycle, CycleState, Offer
from models.producer import Product


async def open_cycle(session: AsyncSession) -> Cycle | None:
    """The cycle currently open for orders, if any."""
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
    locked = await session.scalar(select(Cycle).where(Cycle.id == cycle.id).with_for_update())
    if locked is None or locked.state != CycleState.PLANNED:
        await session.rollback()
        return False
    await ensure_offers(session, locked)
    locked.state = CycleState.OPEN
    locked.opened_at = now
    await session.commit()
    return True
