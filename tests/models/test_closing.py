"""Closing a cycle: baskets abandoned with their stock back, idempotent, and race-proof."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import Cycle, CycleState, Offer, Order, OrderStatus
from models.closing import close_cycle, cycle_summary
from models.errors import CycleClosed, StaleAction
from models.ordering import add_to_basket, confirm_order, set_quantity
from tests.factories import make_member, make_network
from tests.invariants import check_invariants


@pytest.fixture
async def network(session, clock):
    return await make_network(session, clock())


async def _offer(session, network, sku) -> Offer:
    offer = await session.scalar(
        select(Offer)
        .where(Offer.id == network["offers"][sku].id)
        .execution_options(populate_existing=True)
    )
    await session.commit()
    return offer


async def _order(session, member) -> Order:
    order = await session.scalar(
        select(Order).where(Order.member_id == member.id).execution_options(populate_existing=True)
    )
    await session.commit()
    return order


async def test_close_abandons_baskets_and_returns_their_stock(session, network, clock):
    cycle = network["cycle"]
    products = network["products"]
    alice = await make_member(session, 1, pickup=network["central"], name="Alice")
    bob = await make_member(session, 2, pickup=network["company"], name="Bob")
    now = clock()
    await add_to_basket(session, alice, cycle.id, products["TOM-ANC"].id, Decimal(2), now)
    await add_to_basket(session, bob, cycle.id, products["OEU-6"].id, Decimal(1), now)
    await add_to_basket(session, bob, cycle.id, products["TOM-ANC"].id, Decimal("1.5"), now)
    await confirm_order(session, bob, cycle.id, now)
    assert (await _offer(session, network, "TOM-ANC")).ordered == Decimal("3.5")

    summary = await close_cycle(session, cycle.id, now)

    assert not summary.already_closed
    assert (await _order(session, alice)).status == OrderStatus.ABANDONED
    assert (await _order(session, bob)).status == OrderStatus.CONFIRMED
    assert (await _offer(session, network, "TOM-ANC")).ordered == Decimal("1.5")
    assert (await _offer(session, network, "OEU-6")).ordered == Decimal(1)
    assert (summary.orders, summary.lines, summary.abandoned) == (1, 2, 1)
    assert summary.revenue_cents == 290 + 720
    assert [(p.name, p.lines, p.revenue_cents) for p in summary.producers] == [
        ("Les Jardins de la Vonne", 2, 1010)
    ]
    assert [(p.name, p.orders, p.revenue_cents) for p in summary.pickup_points] == [
        ("Enedis", 1, 1010)
    ]
    closed = await session.get(Cycle, cycle.id, populate_existing=True)
    assert closed.state == CycleState.CLOSED
    assert closed.closed_at == now
    with pytest.raises(CycleClosed):
        await add_to_basket(session, bob, cycle.id, products["MIEL"].id, Decimal(1), now)
    await check_invariants(session)


async def test_closing_twice_closes_once(session, network, clock):
    cycle = network["cycle"]
    alice = await make_member(session, 1, pickup=network["central"])
    await add_to_basket(
        session, alice, cycle.id, network["products"]["MIEL"].id, Decimal(2), clock()
    )
    first = await close_cycle(session, cycle.id, clock())
    clock.advance(hours=1)
    second = await close_cycle(session, cycle.id, clock())
    assert not first.already_closed
    assert second.already_closed
    assert (second.orders, second.abandoned, second.revenue_cents) == (0, 1, 0)
    closed = await session.get(Cycle, cycle.id, populate_existing=True)
    assert closed.closed_at == clock() - timedelta(hours=1)
    assert (await _offer(session, network, "MIEL")).ordered == 0
    await check_invariants(session)


async def test_a_planned_cycle_cannot_be_closed(session, clock):
    network = await make_network(session, clock(), state=CycleState.PLANNED)
    with pytest.raises(StaleAction):
        await close_cycle(session, network["cycle"].id, clock())
    with pytest.raises(StaleAction):
        await close_cycle(session, 999, clock())


async def test_two_concurrent_closes_close_once(sessions, session, network, clock):
    cycle = network["cycle"]
    alice = await make_member(session, 1, pickup=network["central"])
    await add_to_basket(
        session, alice, cycle.id, network["products"]["TOM-CER"].id, Decimal(3), clock()
    )

    async def close():
        async with sessions() as own:
            return await close_cycle(own, cycle.id, clock())

    results = await asyncio.gather(*(close() for _ in range(4)))
    assert sorted(r.already_closed for r in results) == [False, True, True, True]
    assert all(r.abandoned == 1 for r in results)
    assert (await _offer(session, network, "TOM-CER")).ordered == 0
    await check_invariants(session)


async def test_basket_changes_racing_the_close_are_either_in_or_refused(sessions, session, clock):
    """Members with a confirmed order change it while the cycle closes; newcomers confirm."""
    network = await make_network(session, clock(), stock={"TOM-CER": 100})
    cycle = network["cycle"]
    tomatoes = network["products"]["TOM-CER"].id
    now = clock()
    editors, confirmers = [], []
    for i in range(8):
        member = await make_member(session, 100 + i, pickup=network["central"], name=f"E{i}")
        await add_to_basket(session, member, cycle.id, tomatoes, Decimal(1), now)
        await confirm_order(session, member, cycle.id, now)
        editors.append(member)
    for i in range(6):
        member = await make_member(session, 200 + i, pickup=network["central"], name=f"C{i}")
        await add_to_basket(session, member, cycle.id, tomatoes, Decimal(1), now)
        confirmers.append(member)

    async def edit(member):
        async with sessions() as own:
            await set_quantity(own, member, cycle.id, tomatoes, Decimal(2), now)

    async def confirm(member):
        async with sessions() as own:
            await confirm_order(own, member, cycle.id, now)

    async def close():
        async with sessions() as own:
            return await close_cycle(own, cycle.id, now)

    work = [edit(m) for m in editors[:4]] + [confirm(m) for m in confirmers[:3]]
    work += [close()]
    work += [edit(m) for m in editors[4:]] + [confirm(m) for m in confirmers[3:]]
    results = await asyncio.gather(*work, return_exceptions=True)
    summary = results[7]
    assert not isinstance(summary, BaseException), summary
    outcomes = results[:7] + results[8:]
    for outcome in outcomes:
        assert outcome is None or isinstance(outcome, CycleClosed), outcome

    edit_outcomes = outcomes[:4] + outcomes[7:11]
    confirm_outcomes = outcomes[4:7] + outcomes[11:]
    for member, outcome in zip(editors, edit_outcomes, strict=True):
        order = await _order(session, member)
        assert order.status == OrderStatus.CONFIRMED
        lines = (await session.execute(select(Order).where(Order.id == order.id))).scalar_one()
        assert lines.total_cents == (640 if outcome is None else 320), (member.first_name, outcome)
    for member, outcome in zip(confirmers, confirm_outcomes, strict=True):
        order = await _order(session, member)
        expected = OrderStatus.CONFIRMED if outcome is None else OrderStatus.ABANDONED
        assert order.status == expected, (member.first_name, outcome)
    # The summary counts exactly what landed before the close.
    edits_in = sum(1 for o in edit_outcomes if o is None)
    confirms_in = sum(1 for o in confirm_outcomes if o is None)
    assert summary.orders == 8 + confirms_in
    assert summary.revenue_cents == 8 * 320 + edits_in * 320 + confirms_in * 320
    assert summary.abandoned == 6 - confirms_in
    offer = await _offer(session, network, "TOM-CER")
    assert offer.ordered == 8 + edits_in + confirms_in
    after = await cycle_summary(session, cycle.id)
    assert (after.orders, after.revenue_cents) == (summary.orders, summary.revenue_cents)
    await check_invariants(session)


async def test_a_session_that_saw_the_cycle_open_is_refused_after_the_close(
    sessions, session, network, clock
):
    """A handler loads the open cycle, the cycle closes meanwhile, then the handler acts."""
    from models.cycles import open_cycle

    cycle = network["cycle"]
    alice = await make_member(session, 1, pickup=network["central"])
    async with sessions() as handler_session:
        seen = await open_cycle(handler_session)
        await handler_session.commit()
        assert seen.state == CycleState.OPEN
        async with sessions() as other:
            await close_cycle(other, cycle.id, clock())
        member = await handler_session.get(type(alice), alice.id)
        with pytest.raises(CycleClosed):
            await add_to_basket(
                handler_session,
                member,
                cycle.id,
                network["products"]["MIEL"].id,
                Decimal(1),
                clock(),
            )
    await check_invariants(session)
