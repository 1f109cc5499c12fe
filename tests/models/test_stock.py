"""Stock updates, purchase orders and shortages in the domain, without Telegram."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import CycleState, Member, Offer, StockUpdate, StockUpdateStatus
from models.errors import NotAllowed, SoldOut, StaleAction
from models.ordering import add_to_basket, confirm_order
from models.purchase_orders import purchase_orders
from models.shortage import apply_shortage, read_shortage_message
from models.stock import apply_update, read_stock_message, same_as_last_week, undo_last_update
from tests.factories import make_member, make_network
from tests.invariants import check_invariants


async def _producer_member(session, network, telegram_id=600_001) -> Member:
    member = await make_member(session, telegram_id, name="Marie")
    member.producer_id = network["producer"].id
    await session.commit()
    return member


async def _offer(session, network, sku):
    return await session.scalar(
        select(Offer)
        .where(
            Offer.cycle_id == network["cycle"].id, Offer.product_id == network["products"][sku].id
        )
        .execution_options(populate_existing=True)
    )


async def test_a_consumer_message_is_never_a_stock_update(session, clock):
    await make_network(session, clock())
    alice = await make_member(session, 600_002)
    assert await read_stock_message(session, alice, "tomates anciennes 12 kg", clock()) is None
    with pytest.raises(NotAllowed):
        await same_as_last_week(session, alice, clock())


async def test_apply_and_undo(session, clock):
    network = await make_network(session, clock())
    marie = await _producer_member(session, network)
    pending = await read_stock_message(session, marie, "tomates anciennes 7,5 kg, +3 miel", clock())
    assert pending.status == StockUpdateStatus.PENDING
    applied = await apply_update(session, marie, pending.id, clock())
    assert {(line.sku, line.before, line.after) for line in applied.lines} == {
        ("TOM-ANC", 20, Decimal("7.5")),
        ("MIEL", 20, 23),
    }
    with pytest.raises(StaleAction):  # applied once only
        await apply_update(session, marie, pending.id, clock())
    await undo_last_update(session, marie, clock())
    assert (await _offer(session, network, "TOM-ANC")).offered == 20
    assert (await _offer(session, network, "MIEL")).offered == 20
    with pytest.raises(StaleAction):
        await undo_last_update(session, marie, clock())


async def test_cutting_stock_while_a_consumer_orders_never_oversells(sessions, session, clock):
    network = await make_network(session, clock(), stock={"TOM-ANC": 10})
    marie = await _producer_member(session, network)
    alice = await make_member(session, 600_002, pickup=network["central"])
    pending = await read_stock_message(session, marie, "plus de tomates anciennes", clock())
    product_id = network["products"]["TOM-ANC"].id
    cycle_id = network["cycle"].id

    async def cut():
        async with sessions() as own:
            member = await own.get(Member, marie.id)
            return await apply_update(own, member, pending.id, clock())

    async def buy():
        async with sessions() as own:
            member = await own.get(Member, alice.id)
            try:
                return await add_to_basket(own, member, cycle_id, product_id, Decimal(4), clock())
            except SoldOut:
                return None

    applied, reservation = await asyncio.gather(cut(), buy())
    offer = await _offer(session, network, "TOM-ANC")
    if reservation is None:  # the cut came first
        assert (offer.offered, offer.ordered) == (0, 0)
    else:  # the order came first: stock clamped to it
        assert (offer.offered, offer.ordered) == (4, 4)
        assert applied.lines[0].clamped
    await check_invariants(session)


async def test_purchase_orders_aggregate_confirmed_orders(session, clock):
    network = await make_network(session, clock())
    cycle_id = network["cycle"].id
    products = network["products"]
    people = [
        await make_member(session, 600_010 + i, pickup=network[point])
        for i, point in enumerate(("central", "central", "company"))
    ]
    for member in people:
        await add_to_basket(
            session, member, cycle_id, products["TOM-ANC"].id, Decimal("1.5"), clock()
        )
        await confirm_order(session, member, cycle_id, clock())
    basket_only = await make_member(session, 600_020, pickup=network["central"])
    await add_to_basket(session, basket_only, cycle_id, products["MIEL"].id, Decimal(2), clock())
    (purchase,) = await purchase_orders(session, cycle_id)
    assert purchase.producer_name == "Les Jardins de la Vonne"
    assert {
        (line.pickup_point, line.sku): (line.quantity, line.orders) for line in purchase.lines
    } == {("Halle centrale", "TOM-ANC"): (3, 2), ("Enedis", "TOM-ANC"): (Decimal("1.5"), 1)}
    assert purchase.total_cents == 3 * 720
    assert [(t.sku, t.quantity) for t in purchase.totals] == [("TOM-ANC", Decimal("4.5"))]


async def test_shortage_shares_out_first_confirmed_first_served(session, clock):
    network = await make_network(session, clock())
    marie = await _producer_member(session, network)
    cycle = network["cycle"]
    tomatoes = network["products"]["TOM-ANC"].id
    orders = {}
    for i, quantity in enumerate((Decimal(3), Decimal("2.5"), Decimal(4))):
        member = await make_member(session, 600_030 + i, pickup=network["central"])
        await add_to_basket(session, member, cycle.id, tomatoes, quantity, clock())
        orders[i] = await confirm_order(session, member, cycle.id, clock() + timedelta(minutes=i))
    cycle.state = CycleState.CLOSED
    await session.commit()
    preview = await read_shortage_message(
        session, marie, "seulement 4,5 kg de tomates anciennes", clock()
    )
    assert [(line.ordered, line.available) for line in preview.lines] == [
        (Decimal("9.5"), Decimal("4.5"))
    ]
    report = await apply_shortage(session, marie, preview.update_id, clock())
    changed = {o.order_id: [(c.before, c.after) for c in o.changes] for o in report.orders}
    assert changed == {
        orders[1].id: [(Decimal("2.5"), Decimal("1.5"))],
        orders[2].id: [(Decimal(4), Decimal(0))],
    }
    assert next(o for o in report.orders if o.order_id == orders[1].id).total_after == 720
    offer = await _offer(session, network, "TOM-ANC")
    assert (offer.offered, offer.ordered) == (Decimal("4.5"), Decimal("4.5"))
    assert (await session.get(StockUpdate, preview.update_id)).status == StockUpdateStatus.APPLIED
    await check_invariants(session)
