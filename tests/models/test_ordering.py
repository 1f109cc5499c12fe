"""Ordering rules: reservation, short answers, confirmation, reorder, and the race for stock."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Cycle, CycleState, Offer, OrderStatus, ordering
from models.errors import (
    BelowMinimum,
    CycleClosed,
    EmptyBasket,
    InvalidQuantity,
    NoPickupPoint,
    SoldOut,
)
from tests.factories import make_member, make_network
from tests.invariants import check_invariants


@pytest.fixture
async def network(session: AsyncSession, clock) -> dict:
    return await make_network(session, clock(), stock={"TOM-ANC": 5, "OEU-6": 3, "MIEL": 0})


async def test_add_reserves_stock_and_totals(session, network, clock):
    alice = await make_member(session, 1, pickup=network["central"])
    cycle, tom = network["cycle"], network["products"]["TOM-ANC"]
    result = await ordering.add_to_basket(session, alice, cycle.id, tom.id, Decimal("1.5"), clock())
    assert (result.granted, result.line_quantity, result.remaining) == (
        Decimal("1.5"),
        Decimal("1.5"),
        Decimal("3.5"),
    )
    basket = await ordering.current_basket(session, alice, cycle.id)
    assert basket is not None
    assert basket.total_cents == 720
    await check_invariants(session)


async def test_more_than_left_gives_what_is_left(session, network, clock):
    alice = await make_member(session, 1)
    cycle, eggs = network["cycle"], network["products"]["OEU-6"]
    result = await ordering.add_to_basket(session, alice, cycle.id, eggs.id, Decimal(5), clock())
    assert result.short
    assert (result.granted, result.remaining) == (Decimal(3), Decimal(0))
    with pytest.raises(SoldOut):
        await ordering.add_to_basket(session, alice, cycle.id, eggs.id, Decimal(1), clock())
    await check_invariants(session)


async def test_step_and_absurd_quantities_are_refused(session, network, clock):
    alice = await make_member(session, 1)
    cycle, tom = network["cycle"], network["products"]["TOM-ANC"]
    for bad in (Decimal("0.3"), Decimal(-1), Decimal(0), Decimal(10_000), Decimal("NaN")):
        with pytest.raises(InvalidQuantity):
            await ordering.add_to_basket(session, alice, cycle.id, tom.id, bad, clock())
    await check_invariants(session)


async def test_set_quantity_releases_and_empty_returns_everything(session, network, clock):
    alice = await make_member(session, 1)
    cycle, products = network["cycle"], network["products"]
    await ordering.add_to_basket(
        session, alice, cycle.id, products["TOM-ANC"].id, Decimal(4), clock()
    )
    await ordering.add_to_basket(
        session, alice, cycle.id, products["OEU-6"].id, Decimal(2), clock()
    )
    result = await ordering.set_quantity(
        session, alice, cycle.id, products["TOM-ANC"].id, Decimal(1), clock()
    )
    assert (result.line_quantity, result.remaining) == (Decimal(1), Decimal(4))
    await check_invariants(session)
    assert await ordering.empty_basket(session, alice, cycle.id, clock()) == 2
    offers = (await session.scalars(select(Offer).execution_options(populate_existing=True))).all()
    assert all(offer.ordered == 0 for offer in offers)
    await check_invariants(session)


async def test_confirm_rules_and_change_after_confirmation(session, network, clock):
    alice = await make_member(session, 1)
    cycle, products = network["cycle"], network["products"]
    with pytest.raises(EmptyBasket):
        await ordering.confirm_order(session, alice, cycle.id, clock())
    await ordering.add_to_basket(
        session, alice, cycle.id, products["OEU-6"].id, Decimal(1), clock()
    )
    with pytest.raises(NoPickupPoint):
        await ordering.confirm_order(session, alice, cycle.id, clock())
    alice.pickup_point_id = network["central"].id
    await session.commit()
    with pytest.raises(BelowMinimum):
        await ordering.confirm_order(session, alice, cycle.id, clock(), minimum_cents=1000)
    order = await ordering.confirm_order(session, alice, cycle.id, clock())
    assert order.status == OrderStatus.CONFIRMED
    assert order.pickup_point.slug == "halle"
    await ordering.add_to_basket(
        session, alice, cycle.id, products["TOM-ANC"].id, Decimal(1), clock()
    )
    basket = await ordering.current_basket(session, alice, cycle.id)
    assert basket.status == OrderStatus.CONFIRMED
    assert basket.changed_since_confirmed
    again = await ordering.confirm_order(session, alice, cycle.id, clock())
    assert not again.changed_since_confirmed
    assert again.total_cents == 290 + 480
    await check_invariants(session)


async def test_closed_cycle_refuses_every_change(session, network, clock):
    alice = await make_member(session, 1, pickup=network["central"])
    cycle, eggs = network["cycle"], network["products"]["OEU-6"]
    await ordering.add_to_basket(session, alice, cycle.id, eggs.id, Decimal(1), clock())
    await session.execute(update(Cycle).values(state=CycleState.CLOSED))
    await session.commit()
    with pytest.raises(CycleClosed):
        await ordering.add_to_basket(session, alice, cycle.id, eggs.id, Decimal(1), clock())
    with pytest.raises(CycleClosed):
        await ordering.confirm_order(session, alice, cycle.id, clock())
    with pytest.raises(CycleClosed):
        await ordering.empty_basket(session, alice, cycle.id, clock())
    await check_invariants(session)


async def test_reorder_copies_last_week_as_far_as_stock_allows(session, network, clock):
    from datetime import timedelta

    alice = await make_member(session, 1, pickup=network["central"])
    cycle, products = network["cycle"], network["products"]
    await ordering.add_to_basket(
        session, alice, cycle.id, products["TOM-ANC"].id, Decimal(2), clock()
    )
    await ordering.add_to_basket(
        session, alice, cycle.id, products["OEU-6"].id, Decimal(3), clock()
    )
    await ordering.add_to_basket(
        session, alice, cycle.id, products["TOM-CER"].id, Decimal(1), clock()
    )
    assert await ordering.count_past_orders(session, alice, 2) == 0  # a basket is no order
    await ordering.confirm_order(session, alice, cycle.id, clock())
    cycle.state = CycleState.CLOSED
    week = timedelta(days=7)
    following = Cycle(
        opens_at=cycle.opens_at + week,
        closes_at=cycle.closes_at + week,
        pickup_starts_at=cycle.pickup_starts_at + week,
        pickup_ends_at=cycle.pickup_ends_at + week,
        state=CycleState.OPEN,
    )
    session.add(following)
    await session.flush()
    session.add_all(
        [
            Offer(cycle=following, product=products["TOM-ANC"], offered=Decimal(10), ordered=0),
            Offer(cycle=following, product=products["OEU-6"], offered=Decimal(1), ordered=0),
        ]
    )
    await session.commit()
    report = await ordering.reorder_last(session, alice, following.id, clock() + week)
    assert [r.product_id for r in report.copied] == [products["TOM-ANC"].id]
    assert [(r.product_id, r.granted) for r in report.short] == [(products["OEU-6"].id, Decimal(1))]
    assert report.missing == [products["TOM-CER"].id]
    history = await ordering.order_history(session, alice)
    assert [order.cycle_id for order in history] == [cycle.id]
    assert await ordering.count_past_orders(session, alice, 2) == 1
    await ordering.confirm_order(session, alice, following.id, clock() + week)
    assert len(await ordering.order_history(session, alice)) == 2
    assert await ordering.count_past_orders(session, alice, 2) == 2
    assert await ordering.count_past_orders(session, alice, 1) == 1
    await check_invariants(session)


async def test_hundred_consumers_race_for_the_last_ten_units(sessions: async_sessionmaker, clock):
    async with sessions() as setup:
        network = await make_network(setup, clock(), stock={"OEU-6": 10})
        members = [await make_member(setup, 1000 + i, name=f"C{i}") for i in range(100)]
    cycle_id, eggs_id = network["cycle"].id, network["products"]["OEU-6"].id

    async def buy(member) -> Decimal:
        async with sessions() as own:
            try:
                result = await ordering.add_to_basket(
                    own, member, cycle_id, eggs_id, Decimal(1), clock()
                )
            except SoldOut:
                return Decimal(0)
            return result.granted

    granted = await asyncio.gather(*(buy(member) for member in members))
    assert sum(granted) == 10
    async with sessions() as check:
        offer = await check.scalar(select(Offer).where(Offer.product_id == eggs_id))
        assert offer.ordered == offer.offered == 10
        await check_invariants(check)


async def test_reorder_is_one_unit_of_work(session, network, clock, monkeypatch):
    """A failure on the second line leaves the basket as it was: nothing half-copied that a
    retry would double."""
    from datetime import timedelta

    alice = await make_member(session, 1, pickup=network["central"])
    cycle, products = network["cycle"], network["products"]
    for sku, quantity in (("TOM-ANC", 2), ("OEU-6", 1)):
        await ordering.add_to_basket(
            session, alice, cycle.id, products[sku].id, Decimal(quantity), clock()
        )
    assert await ordering.count_past_orders(session, alice, 2) == 0  # a basket is no order
    await ordering.confirm_order(session, alice, cycle.id, clock())
    cycle.state = CycleState.CLOSED
    week = timedelta(days=7)
    following = Cycle(
        opens_at=cycle.opens_at + week,
        closes_at=cycle.closes_at + week,
        pickup_starts_at=cycle.pickup_starts_at + week,
        pickup_ends_at=cycle.pickup_ends_at + week,
        state=CycleState.OPEN,
    )
    session.add(following)
    await session.flush()
    session.add_all(
        Offer(cycle=following, product=products[sku], offered=Decimal(10), ordered=0)
        for sku in ("TOM-ANC", "OEU-6")
    )
    await session.commit()
    following_id = following.id
    real_reserve = ordering._reserve
    calls = []

    async def reserve_then_fail(session, offer, wanted, held, *recipe):
        calls.append(offer.id)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return await real_reserve(session, offer, wanted, held, *recipe)

    monkeypatch.setattr(ordering, "_reserve", reserve_then_fail)
    with pytest.raises(RuntimeError):
        await ordering.reorder_last(session, alice, following_id, clock() + week)
    assert len(calls) == 2
    monkeypatch.setattr(ordering, "_reserve", real_reserve)
    await session.refresh(alice)
    assert await ordering.current_basket(session, alice, following_id) is None
    assert (
        await session.scalar(select(func.sum(Offer.ordered)).where(Offer.cycle_id == following_id))
    ) == 0
    report = await ordering.reorder_last(session, alice, following_id, clock() + week)
    assert len(report.copied) == 2
    basket = await ordering.current_basket(session, alice, following_id)
    assert sorted(line.quantity for line in basket.lines) == [Decimal(1), Decimal(2)]
    await check_invariants(session)
