"""The invariants every test that changes orders or stock checks at its end."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Offer, Order, OrderLine, OrderStatus
from models.kitchen import draw, recipes
from models.ordering import line_total

RESERVING = (OrderStatus.BASKET, OrderStatus.CONFIRMED, OrderStatus.COLLECTED, OrderStatus.NO_SHOW)


async def check_invariants(session: AsyncSession) -> None:
    """Assert: 0 ≤ ordered ≤ offered; ordered = what live orders hold, plus what their dishes
    take of it (the kitchen's recipes); totals = sum of lines."""
    offers = (await session.scalars(select(Offer).execution_options(populate_existing=True))).all()
    held: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    rows = await session.execute(
        select(Order.cycle_id, OrderLine.product_id, OrderLine.quantity)
        .join(Order, OrderLine.order_id == Order.id)
        .where(Order.status.in_(RESERVING))
    )
    dishes = await recipes(session)
    for cycle_id, product_id, quantity in rows:
        held[(cycle_id, product_id)] += quantity
        for ingredient_id, per_unit in dishes.get(product_id, ()):
            held[(cycle_id, ingredient_id)] += draw(quantity, per_unit)
    for offer in offers:
        assert Decimal(0) <= offer.ordered <= offer.offered, (
            offer.id,
            offer.ordered,
            offer.offered,
        )
        assert offer.ordered == held.get((offer.cycle_id, offer.product_id), Decimal(0)), (
            f"offer {offer.id}: ordered {offer.ordered} but orders hold "
            f"{held.get((offer.cycle_id, offer.product_id))}"
        )
    orders = (await session.scalars(select(Order).execution_options(populate_existing=True))).all()
    for order in orders:
        lines = (
            await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
        ).all()
        assert order.total_cents == sum(line.total_cents for line in lines), order.id
        for line in lines:
            assert line.total_cents == line_total(line.quantity, line.unit_price_cents)
            assert line.quantity > 0
    await session.commit()  # end the read transaction (it wrote nothing): the app goes on writing
