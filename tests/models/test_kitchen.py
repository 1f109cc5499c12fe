"""The kitchen: a dish reserves its ingredients with its own sale, in one conditional update."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import Offer, Producer, Product, RecipeIngredient
from models.closing import close_cycle
from models.errors import SoldOut
from models.kitchen import draw, production_sheets
from models.ordering import add_to_basket, confirm_order, empty_basket, set_quantity
from models.purchase_orders import purchase_orders
from tests.factories import make_member, make_network
from tests.invariants import check_invariants


async def _with_soup(session, network, soup_stock: int = 40) -> Product:
    """A kitchen selling a tomato soup: 1 L takes 0,5 kg of the tomatoes and one box of eggs
    for four litres (0,25 box)."""
    kitchen = Producer(slug="cuisine", name="La Cuisine de la Desserte", town="Poitiers")
    soup = Product(
        producer=kitchen,
        sku="SOUPE",
        name="Soupe de tomates",
        category="Cuisine",
        sale_unit="litre",
        unit_amount=Decimal(1),
        unit_measure="l",
        price_cents=600,
        step=Decimal(1),
        labels=[],
        aliases=[],
    )
    session.add(soup)
    await session.flush()
    products = network["products"]
    session.add_all(
        [
            RecipeIngredient(
                dish_id=soup.id, ingredient_id=products["TOM-ANC"].id, quantity=Decimal("0.5")
            ),
            RecipeIngredient(
                dish_id=soup.id, ingredient_id=products["OEU-6"].id, quantity=Decimal("0.25")
            ),
            Offer(cycle_id=network["cycle"].id, product_id=soup.id, offered=Decimal(soup_stock)),
        ]
    )
    await session.commit()
    return soup


async def _left(session, cycle_id: int, product_id: int) -> tuple[Decimal, Decimal]:
    await session.commit()
    row = (
        await session.execute(
            select(Offer.offered, Offer.ordered)
            .where(Offer.cycle_id == cycle_id, Offer.product_id == product_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    await session.commit()
    return row[0], row[1]


async def test_twenty_consumers_racing_for_soup_and_tomatoes_never_oversell_them(
    sessions, session, clock
):
    """6 kg of tomatoes; ten consumers want 2 L of soup (1 kg of tomatoes each), ten want 1 kg
    of tomatoes, all at once, in random order: 20 kg wanted. The tomatoes sold, in the soup
    and on their own, never pass 6 kg, the eggs never pass theirs, and every refusal is
    SoldOut."""
    network = await make_network(session, clock(), stock={"TOM-ANC": 6, "OEU-6": 20})
    cycle_id = network["cycle"].id
    soup = await _with_soup(session, network)
    tomatoes = network["products"]["TOM-ANC"].id
    members = [
        await make_member(session, 20_000 + i, pickup=network["central"], name=f"m{i}")
        for i in range(20)
    ]
    wants = [(soup.id, Decimal(2))] * 10 + [(tomatoes, Decimal(1))] * 10
    pairs = list(zip(members, wants, strict=True))
    random.Random(17).shuffle(pairs)
    now = clock()

    async def tap(member, product_id, quantity) -> Decimal:
        async with sessions() as own:
            try:
                reservation = await add_to_basket(own, member, cycle_id, product_id, quantity, now)
            except SoldOut:
                return Decimal(0)
            await confirm_order(own, member, cycle_id, now)
            return reservation.granted

    granted = await asyncio.gather(*(tap(m, p, q) for m, (p, q) in pairs))
    soup_sold = sum(g for (_m, (p, _q)), g in zip(pairs, granted, strict=True) if p == soup.id)
    tomatoes_sold = sum(g for (_m, (p, _q)), g in zip(pairs, granted, strict=True) if p != soup.id)
    offered, ordered = await _left(session, cycle_id, tomatoes)
    assert ordered <= offered == 6
    assert ordered == tomatoes_sold + draw(Decimal(1), Decimal("0.5")) * soup_sold
    assert ordered == 6  # demand was far above the stock: everything was sold, nothing more
    _eggs_offered, eggs_ordered = await _left(session, cycle_id, network["products"]["OEU-6"].id)
    assert eggs_ordered == Decimal("0.25") * soup_sold
    await check_invariants(session)


async def test_a_soup_gives_back_its_ingredients_when_it_leaves_the_basket(session, clock):
    """Fewer litres, an emptied basket and an abandoned basket at the close all give the
    tomatoes back; the soup's availability follows what is left of them."""
    network = await make_network(session, clock(), stock={"TOM-ANC": 3, "OEU-6": 20})
    cycle_id = network["cycle"].id
    soup = await _with_soup(session, network)
    tomatoes = network["products"]["TOM-ANC"].id
    alice = await make_member(session, 30_001, pickup=network["central"])
    bob = await make_member(session, 30_002, pickup=network["central"], name="Bob")
    now = clock()
    first = await set_quantity(session, alice, cycle_id, soup.id, Decimal(10), now)
    assert first.granted == 6
    assert first.short
    assert first.remaining == 0
    assert (await _left(session, cycle_id, tomatoes))[1] == 3
    await set_quantity(session, alice, cycle_id, soup.id, Decimal(2), now)
    assert (await _left(session, cycle_id, tomatoes))[1] == 1
    assert (await add_to_basket(session, bob, cycle_id, tomatoes, Decimal(1), now)).granted == 1
    await check_invariants(session)
    await empty_basket(session, alice, cycle_id, now)
    assert (await _left(session, cycle_id, tomatoes))[1] == 1
    await add_to_basket(session, alice, cycle_id, soup.id, Decimal(3), now)
    await confirm_order(session, bob, cycle_id, now)
    await check_invariants(session)
    await close_cycle(session, cycle_id, now)  # Alice never confirmed: her soup is released
    assert (await _left(session, cycle_id, tomatoes))[1] == 1
    await check_invariants(session)


async def test_the_production_sheet_and_purchase_orders_count_what_the_kitchen_takes(
    session, clock
):
    """At the close: the kitchen's sheet says 5 L of soup, 2,5 kg of tomatoes and 1,25 boxes
    of eggs from the farm; the farm's purchase order adds those to the consumers' own."""
    network = await make_network(session, clock(), stock={"TOM-ANC": 10, "OEU-6": 20})
    cycle_id = network["cycle"].id
    soup = await _with_soup(session, network)
    tomatoes = network["products"]["TOM-ANC"].id
    now = clock()
    for index, (product_id, quantity) in enumerate(
        [(soup.id, Decimal(2)), (soup.id, Decimal(3)), (tomatoes, Decimal("1.5"))]
    ):
        member = await make_member(session, 40_000 + index, pickup=network["central"])
        await add_to_basket(session, member, cycle_id, product_id, quantity, now)
        await confirm_order(session, member, cycle_id, now)
    await close_cycle(session, cycle_id, now)
    (sheet,) = await production_sheets(session, cycle_id)
    assert sheet.producer_name == "La Cuisine de la Desserte"
    (dish,) = sheet.dishes
    assert (dish.name, dish.quantity) == ("Soupe de tomates", 5)
    assert {(n.name, n.quantity, n.producer) for n in dish.ingredients} == {
        ("Tomates anciennes", Decimal("2.5"), "Les Jardins de la Vonne"),
        ("Œufs plein air", Decimal("1.25"), "Les Jardins de la Vonne"),
    }
    orders = {po.producer_name: po for po in await purchase_orders(session, cycle_id)}
    farm = {t.name: t.quantity for t in orders["Les Jardins de la Vonne"].totals}
    assert farm == {"Tomates anciennes": Decimal(4), "Œufs plein air": Decimal("1.25")}
    kitchen_lines = [line for line in orders["Les Jardins de la Vonne"].lines if line.kitchen]
    assert {line.name for line in kitchen_lines} == {"Tomates anciennes", "Œufs plein air"}
    assert {t.name: t.quantity for t in orders["La Cuisine de la Desserte"].totals} == {
        "Soupe de tomates": 5
    }
    await check_invariants(session)


async def test_a_dish_without_ingredients_left_is_not_counted_available(session, clock):
    """The category's count and the card agree: no tomatoes left, no soup to sell."""
    from models.catalog import categories, offer_view

    network = await make_network(session, clock(), stock={"TOM-ANC": 1, "OEU-6": 20})
    cycle_id = network["cycle"].id
    soup = await _with_soup(session, network)
    counts = {c.name: c.available for c in await categories(session, cycle_id)}
    assert counts["Cuisine"] == 1
    assert (await offer_view(session, cycle_id, soup.id)).remaining == 2
    bob = await make_member(session, 50_001, pickup=network["central"], name="Bob")
    await add_to_basket(
        session, bob, cycle_id, network["products"]["TOM-ANC"].id, Decimal(1), clock()
    )
    counts = {c.name: c.available for c in await categories(session, cycle_id)}
    assert counts["Cuisine"] == 0
    view = await offer_view(session, cycle_id, soup.id)
    assert view.sold_out
    with pytest.raises(SoldOut):
        await add_to_basket(session, bob, cycle_id, soup.id, Decimal(1), clock())
    await check_invariants(session)


async def test_shortages_keep_the_kitchens_draw_and_a_smaller_dish_gives_back(session, clock):
    """After the close: the farm has only 4 kg of tomatoes where 6,5 were sold (2 of them in
    the soup): the soup keeps its 2 kg, the consumers share the other 2 first-confirmed
    first-served. Then the kitchen can cook only 2 L of its 4: the soup gives 1 kg back."""
    from models import Member
    from models.shortage import apply_shortage, read_shortage_message

    network = await make_network(session, clock(), stock={"TOM-ANC": 10, "OEU-6": 20})
    cycle_id = network["cycle"].id
    soup = await _with_soup(session, network)
    tomatoes = network["products"]["TOM-ANC"].id
    now = clock()
    for index, (product_id, quantity) in enumerate(
        [(tomatoes, Decimal("1.5")), (soup.id, Decimal(4)), (tomatoes, Decimal(3))]
    ):
        member = await make_member(session, 60_000 + index, pickup=network["central"])
        await add_to_basket(session, member, cycle_id, product_id, quantity, now)
        await confirm_order(session, member, cycle_id, now + timedelta(minutes=index))
    await close_cycle(session, cycle_id, now)
    farm = Member(telegram_id=60_100, first_name="Marie", locale="fr")
    farm.producer_id = network["products"]["TOM-ANC"].producer_id
    kitchen_cook = Member(telegram_id=60_101, first_name="Inès", locale="fr")
    kitchen_cook.producer_id = soup.producer_id
    session.add_all([farm, kitchen_cook])
    await session.commit()
    preview = await read_shortage_message(session, farm, "seulement 4 kg de tomates anciennes", now)
    assert preview is not None
    await apply_shortage(session, farm, preview.update_id, now)
    assert await _left(session, cycle_id, tomatoes) == (4, 4)
    await check_invariants(session)
    preview = await read_shortage_message(session, kitchen_cook, "seulement 2 litres de soupe", now)
    assert preview is not None
    await apply_shortage(session, kitchen_cook, preview.update_id, now)
    assert await _left(session, cycle_id, soup.id) == (2, 2)
    assert (await _left(session, cycle_id, tomatoes))[1] == 3
    await check_invariants(session)
