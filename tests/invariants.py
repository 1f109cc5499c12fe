"""The invariants every test that changes orders or stock checks at its end."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Balance,
    BalanceMovement,
    Cycle,
    CycleState,
    Offer,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Payout,
    Product,
    Refund,
)
from models.amounts import line_cents
from models.kitchen import draw, recipes
from models.ordering import line_total
from models.statements import COUNTED, SETTLED_CYCLES, month_of, statements

RESERVING = (OrderStatus.BASKET, OrderStatus.CONFIRMED, OrderStatus.COLLECTED, OrderStatus.NO_SHOW)


async def check_invariants(session: AsyncSession, *, overdraft_cents: int = 0) -> None:
    """Assert: 0 ≤ ordered ≤ offered; ordered = what live orders hold, plus what their dishes
    take of it (the kitchen's recipes); totals = sum of lines (a weighed line's at its weight);
    the producers' statements add up (:func:`check_money`); the payments and balances add up
    (:func:`check_payments`)."""
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
            # A plain line: quantity × unit price; a weighed one: its weight (real, else
            # estimated) × price per kilo, half a cent up (models.amounts).
            assert line.total_cents == line_cents(line), (line.id, line.total_cents)
            if line.price_per_kg_cents is None:
                assert line.total_cents == line_total(line.quantity, line.unit_price_cents)
                assert line.weight_kg is None
            assert line.quantity > 0
            assert (line.weight_kg is None) == (line.weighed_at is None), line.id
    await check_money(session)
    await check_payments(session, overdraft_cents=overdraft_cents)
    await session.commit()  # end the read transaction (it wrote nothing): the app goes on writing


async def check_money(session: AsyncSession) -> None:
    """Assert, for every settled cycle and every month: each producer's statement adds up —
    gross − refunds = sales = the sum of their counted lines (after weighing and shortages),
    commission = sales × percent, half a cent up, net = sales − commission — and the
    statements together hold every counted order's total; refunds belong to their producer's
    products; a payout is for a month with a statement."""
    timezone = ZoneInfo("Europe/Paris")
    cycles = (
        await session.execute(
            select(Cycle.id, Cycle.pickup_starts_at).where(Cycle.state.in_(SETTLED_CYCLES))
        )
    ).all()
    refunds = (await session.execute(select(Refund, Product.producer_id).join(Product))).all()
    for refund, owner in refunds:
        assert refund.producer_id == owner, refund.id
    periods: list[dict[str, object]] = [{"cycle_id": cid} for cid, _day in cycles]
    periods += [{"month": m} for m in sorted({month_of(day, timezone) for _cid, day in cycles})]
    for period in periods:
        if "cycle_id" in period:
            in_period = [period["cycle_id"]]
        else:
            in_period = [cid for cid, day in cycles if month_of(day, timezone) == period["month"]]
        expected: dict[int, int] = defaultdict(int)
        rows = await session.execute(
            select(Product.producer_id, OrderLine.total_cents)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.cycle_id.in_(in_period), Order.status.in_(COUNTED))
        )
        for producer_id, cents in rows:
            expected[producer_id] += cents
        orders_total = await session.scalar(
            select(func.coalesce(func.sum(Order.total_cents), 0)).where(
                Order.cycle_id.in_(in_period), Order.status.in_(COUNTED)
            )
        )
        for percent in (Decimal(0), Decimal("7.5")):
            found = await statements(
                session,
                timezone=timezone,
                commission_percent=percent,
                **period,  # type: ignore[arg-type]
            )
            for st in found:
                assert st.sales_cents == sum(line.amount_cents for line in st.lines)
                assert st.gross_cents - st.refunds_cents == st.sales_cents
                assert st.sales_cents == expected.get(st.producer_id, 0), (period, st.producer_id)
                assert st.commission_cents == int(
                    (Decimal(st.sales_cents) * percent / 100).quantize(
                        Decimal(1), rounding=ROUND_HALF_UP
                    )
                )
                assert st.net_cents == st.sales_cents - st.commission_cents
            assert sum(st.sales_cents for st in found) == orders_total, period
    for payout in await session.scalars(select(Payout)):
        assert payout.amount_cents >= 0


async def check_payments(session: AsyncSession, *, overdraft_cents: int = 0) -> None:
    """Assert, in integer cents: a balance is the sum of its movements and what it holds the sum
    of what its member's orders hold, never past the overdraft; an order's ``paid_cents`` is the
    sum of its payments; an order holds nothing once its cycle closed; each Telegram charge is
    recorded once."""
    balances = (
        await session.scalars(select(Balance).execution_options(populate_existing=True))
    ).all()
    movements: dict[int, int] = defaultdict(int)
    for member_id, amount in await session.execute(
        select(BalanceMovement.member_id, BalanceMovement.amount_cents)
    ):
        assert isinstance(amount, int)
        movements[member_id] += amount
    holds: dict[int, int] = defaultdict(int)
    for member_id, held in await session.execute(select(Order.member_id, Order.held_cents)):
        holds[member_id] += held
    seen = set()
    for balance in balances:
        seen.add(balance.member_id)
        assert balance.cents == movements.get(balance.member_id, 0), (
            f"balance of member {balance.member_id}: {balance.cents} but its movements sum to "
            f"{movements.get(balance.member_id, 0)}"
        )
        assert balance.held_cents == holds.get(balance.member_id, 0), balance.member_id
        assert balance.cents - balance.held_cents >= -overdraft_cents, (
            f"balance of member {balance.member_id} past its overdraft: {balance.cents} held "
            f"{balance.held_cents}"
        )
    assert set(movements) <= seen
    assert {m for m, h in holds.items() if h} <= seen
    paid: dict[int, int] = defaultdict(int)
    for order_id, amount in await session.execute(select(Payment.order_id, Payment.amount_cents)):
        paid[order_id] += amount
    orders = (await session.scalars(select(Order).execution_options(populate_existing=True))).all()
    for order in orders:
        assert order.paid_cents == paid.get(order.id, 0), (
            f"order {order.id}: paid {order.paid_cents} but its payments sum to "
            f"{paid.get(order.id, 0)}"
        )
        assert 0 <= order.held_cents <= order.total_cents, order.id
    held_after_close = await session.scalar(
        select(func.count(Order.id))
        .join(Cycle, Order.cycle_id == Cycle.id)
        .where(Cycle.state != CycleState.OPEN, Order.held_cents != 0)
    )
    assert not held_after_close, "an order of a closed cycle still holds money on a balance"
    charges = [
        c for c in await session.scalars(select(Payment.telegram_charge_id)) if c is not None
    ]
    assert len(charges) == len(set(charges))
