""" "Même panier" through the sandbox: one unit of work, one answer per press."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update

from models import Cycle, CycleState, Member, Order, OrderLine, Product
from models.ordering import add_to_basket, confirm_order
from tests.factories import load_demo_network, open_cycle_with_stock
from tests.invariants import check_invariants


async def test_same_basket_adds_every_line_once_rounding_to_this_weeks_step(
    app, sandbox, session, clock
):
    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    await alice.press("La Desserte — halle centrale")
    member = await session.scalar(select(Member).where(Member.telegram_id == alice.id))
    skus = {p.sku: p for p in await session.scalars(select(Product))}
    await add_to_basket(session, member, cycle.id, skus["TOM-ANC"].id, Decimal(2), clock())
    await add_to_basket(session, member, cycle.id, skus["CAR-KG"].id, Decimal("1.5"), clock())
    await confirm_order(session, member, cycle.id, clock())  # last week: 2 kg and 1,5 kg
    await session.execute(update(Cycle).values(state=CycleState.CLOSED))
    await session.commit()

    # This week carrots are sold by the kilo: 1,5 kg no longer fits the step.
    clock.advance(days=7)
    following = await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    following_id = following.id
    await session.execute(update(Product).where(Product.sku == "CAR-KG").values(step=Decimal(1)))
    await session.commit()

    await alice.send("/start")
    alice.answers.clear()
    await alice.press("Même panier")
    assert len(alice.answers) == 1  # one answer per press
    text = alice.last_message.text
    assert "J’ai repris votre dernière commande" in text
    assert "Tomates anciennes — 2\xa0kg" in text
    assert "Carottes — 1\xa0kg" in text
    assert "Carottes : 1\xa0kg au lieu de 1,5\xa0kg (vendu par 1\xa0kg cette semaine)" in text
    lines = (
        await session.execute(
            select(Product.sku, OrderLine.quantity)
            .join(OrderLine.product)
            .join(Order)
            .where(Order.cycle_id == following_id)
            .order_by(Product.sku)
        )
    ).all()
    assert lines == [("CAR-KG", Decimal(1)), ("TOM-ANC", Decimal(2))]
    await check_invariants(session)
