"""Helpers for the admin features' tests: members in bulk, orders over several cycles, an
application built with chosen options, and the pending English translations."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Cycle, CycleState, Member, Offer, PickupPoint, Product
from models.ordering import confirm_order, set_quantity


@contextlib.asynccontextmanager
async def running_app(
    settings: Any, engine: Any, sandbox: Any, clock: Any, *, rate_limiter: Any, **options: Any
) -> AsyncIterator[Any]:
    """The real application on ``sandbox``, started and attached; stopped on exit.
    ``options`` go to ``build_application`` (``network_id=`` for another network's bot)."""
    from bot.app import build_application, start_application, stop_application

    application = build_application(
        settings,
        request=sandbox.request(),
        get_updates_request=sandbox.request(),
        engine=engine,
        clock=clock,
        rate_limiter=rate_limiter,
        **options,
    )
    await start_application(application)
    sandbox.attach(application)
    try:
        yield application
    finally:
        await stop_application(application)


async def make_members(
    session: AsyncSession,
    sandbox: Any,
    count: int,
    *,
    pickup: PickupPoint | None = None,
    first_id: int = 700_000,
    locale: str = "fr",
) -> list[tuple[Any, Member]]:
    """``count`` consumers known to the bot, each with their sandbox user; committed."""
    pairs = []
    for n in range(count):
        user = sandbox.user(f"Membre{n:03d}", language=locale, user_id=first_id + n)
        member = Member(
            telegram_id=user.id,
            first_name=user.first_name,
            locale=locale,
            is_consumer=True,
            is_admin=False,
            reachable=True,
            notifications_off=[],
            pickup_point_id=pickup.id if pickup else None,
        )
        pairs.append((user, member))
    session.add_all([member for _user, member in pairs])
    await session.commit()
    return pairs


async def make_cycle(
    session: AsyncSession,
    opens_at: datetime,
    products: Iterable[Product],
    *,
    state: CycleState = CycleState.OPEN,
) -> Cycle:
    """A cycle opening at ``opens_at`` where every product is offered (100 each); committed."""
    cycle = Cycle(
        opens_at=opens_at,
        closes_at=opens_at + timedelta(days=4),
        pickup_starts_at=opens_at + timedelta(days=6),
        pickup_ends_at=opens_at + timedelta(days=6, hours=2),
        state=state,
    )
    session.add(cycle)
    session.add_all(
        Offer(cycle=cycle, product=p, offered=Decimal(100), ordered=Decimal(0)) for p in products
    )
    await session.commit()
    return cycle


async def order(
    session: AsyncSession,
    member: Member,
    cycle: Cycle,
    lines: dict[Product, Decimal | int],
    now: datetime,
) -> None:
    """``member`` orders ``lines`` in ``cycle`` (which must be open) and confirms."""
    for product, quantity in lines.items():
        await set_quantity(session, member, cycle.id, product.id, Decimal(quantity), now)
    await confirm_order(session, member, cycle.id, now)


async def close(session: AsyncSession, cycle: Cycle) -> None:
    """Mark ``cycle`` closed (the orders stay as they are)."""
    cycle.state = CycleState.CLOSED
    cycle.closed_at = cycle.closes_at
    await session.commit()
