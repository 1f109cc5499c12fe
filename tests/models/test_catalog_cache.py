"""The week's catalog held in memory (models.catalog_cache): every change to what it holds
draws a new version in the database, so a worker never shows what another changed since; the
stock being sold is never held, and never draws one.

"Another worker" is played by :func:`elsewhere`: what is written inside it leaves this
process's memory as it was, as a write by another process would; only the version in the
database can tell this process that its copy is old.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from models import Cycle, CycleState, Offer, Producer, Product, catalog_cache
from models.catalog import photo_unfetchable
from models.closing import close_cycle
from models.network import DEFAULT_NETWORK_ID, Network
from models.ordering import add_to_basket
from models.pickup_point import PickupPoint
from models.recipe import RecipeIngredient
from tests.factories import load_demo_network, make_member, open_cycle_with_stock


@contextlib.contextmanager
def elsewhere() -> Iterator[None]:
    """What is written inside happens as in another worker: this process keeps its copy."""
    held = dict(catalog_cache._weeks)
    try:
        yield
    finally:
        catalog_cache._weeks.clear()
        catalog_cache._weeks.update(held)


@pytest.fixture
async def shop(app, session, clock):
    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    point = await session.scalar(select(PickupPoint).where(PickupPoint.slug == "halle-centrale"))
    await session.commit()  # end the read: the test's writes must not start from an old one
    return {"cycle": cycle, "point": point}


async def version(session) -> int:
    value = await session.scalar(
        select(Network.catalog_version)
        .where(Network.id == DEFAULT_NETWORK_ID)
        .execution_options(populate_existing=True)
    )
    await session.commit()  # end the read: the next one sees what was written since
    assert value is not None
    return int(value)


async def product(session, sku: str) -> Product:
    await session.commit()  # a fresh read, from which the test may write
    found = await session.scalar(select(Product).where(Product.sku == sku))
    assert found is not None
    return found


def buttons(message) -> list[str]:
    return [text for row in message.buttons for text in row]


async def open_vegetables(person) -> str:
    await person.send("/catalogue")
    await person.press("Légumes")
    return person.last_message.text


# ------------------------------------------------------------- what a person sees


async def test_a_product_another_worker_renamed_and_repriced_shows_at_the_next_tap(
    sandbox, session, shop
):
    alice = sandbox.user("Alice", language="fr")
    assert "Carottes — 2,40\xa0€ le kg" in await open_vegetables(alice)
    with elsewhere():
        carrots = await product(session, "CAR-KG")
        carrots.name, carrots.price_cents = "Carottes nouvelles", 260
        await session.commit()
    await alice.press("⬅️ Rayons")
    await alice.press("Légumes")
    assert "Carottes nouvelles — 2,60\xa0€ le kg" in alice.last_message.text
    await alice.press("Carottes nouvelles")
    assert "2,60\xa0€ le kg" in alice.last_message.text


async def test_a_product_withdrawn_elsewhere_leaves_the_page_and_its_card(sandbox, session, shop):
    alice = sandbox.user("Alice", language="fr")
    await open_vegetables(alice)
    page = alice.last_message
    assert "Carottes" in buttons(page)
    with elsewhere():  # the producer wrote "plus de carottes" to another worker
        carrots = await product(session, "CAR-KG")
        await session.execute(
            update(Offer)
            .where(Offer.cycle_id == shop["cycle"].id, Offer.product_id == carrots.id)
            .values(offered=Decimal(0))
        )
        await session.commit()
    await alice.press("Carottes", message=page)  # the page she still has
    assert "Épuisé cette semaine" in alice.last_message.text
    assert "Ajouter" not in " ".join(buttons(alice.last_message))
    await alice.send("/catalogue")
    await alice.press("Légumes")
    assert "Carottes" not in buttons(alice.last_message)


async def test_a_cycle_closed_by_another_worker_closes_the_catalog(sandbox, session, shop, clock):
    alice = sandbox.user("Alice", language="fr")
    await open_vegetables(alice)
    with elsewhere():
        await close_cycle(session, shop["cycle"].id, clock())
        await session.commit()
    await alice.send("/catalogue")
    assert "Légumes" not in " ".join(buttons(alice.last_message))
    assert not any(b.startswith("Légumes (") for b in buttons(alice.last_message))


async def test_stock_sold_by_others_shows_at_once_and_keeps_the_version(sandbox, session, shop):
    alice = sandbox.user("Alice", language="fr")
    await open_vegetables(alice)
    before = await version(session)
    bob = await make_member(session, 900_001, pickup=shop["point"], name="Bob")
    carrots = await product(session, "CAR-KG")
    await add_to_basket(
        session, bob, shop["cycle"].id, carrots.id, Decimal(20), shop["cycle"].opens_at
    )
    await session.commit()
    assert await version(session) == before  # selling is not a change of the catalog
    await alice.press("⬅️ Rayons")
    await alice.press("Légumes")
    while "Carottes ✖️" not in buttons(alice.last_message):  # sold out: shown last
        await alice.press("▶️")
    carrots_line = next(x for x in alice.last_message.text.split("\n") if "Carottes —" in x)
    assert "épuisé" in carrots_line
    await alice.press("Carottes ✖️")
    assert "Épuisé cette semaine" in alice.last_message.text


# ------------------------------------------------------------- what draws a new version


async def test_every_kind_of_catalog_change_draws_a_new_version(session, shop, clock):
    cycle_id = shop["cycle"].id
    seen = {await version(session)}

    async def changed(what: str) -> None:
        now = await version(session)
        assert now not in seen, f"{what} left the catalog version as it was"
        seen.add(now)

    carrots = await product(session, "CAR-KG")
    carrots.description = "Des sables."
    await session.commit()
    await changed("a product changed through the ORM")

    await photo_unfetchable(session, carrots.id, "none", clock())  # a Core UPDATE, no row
    await changed("an UPDATE of products")

    farm = await session.scalar(select(Producer).where(Producer.id == carrots.producer_id))
    farm.town = "Lusignan (86600)"
    await session.commit()
    await changed("a producer changed")

    offer = await session.scalar(
        select(Offer).where(Offer.cycle_id == cycle_id, Offer.product_id == carrots.id)
    )
    offer.offered = Decimal(12)
    await session.commit()
    await changed("an offered quantity changed through the ORM")

    soup = await product(session, "OEU-6")
    session.add(RecipeIngredient(dish_id=soup.id, ingredient_id=carrots.id, quantity=Decimal(1)))
    await session.commit()
    await changed("a recipe added")

    cycle = await session.scalar(select(Cycle).where(Cycle.id == cycle_id))
    cycle.state = CycleState.CLOSED
    await session.commit()
    await changed("a cycle closed")


async def test_a_change_rolled_back_keeps_the_version_and_selling_never_draws_one(session, shop):
    cycle_id, opens_at = shop["cycle"].id, shop["cycle"].opens_at
    before = await version(session)
    carrots = await product(session, "CAR-KG")
    carrots_id = carrots.id
    carrots.name = "Panais"
    await session.flush()
    await session.rollback()
    assert await version(session) == before
    bob = await make_member(session, 900_002, name="Bob")
    await add_to_basket(session, bob, cycle_id, carrots_id, Decimal(1), opens_at)
    await session.commit()
    # The stock's own UPDATE … SET ordered = ordered + … is no change of the catalog.
    await session.execute(
        update(Offer).where(Offer.product_id == carrots_id).values(ordered=Offer.ordered + 1)
    )
    await session.commit()
    assert await version(session) == before


async def test_the_cached_cycle_after_a_rollback_is_read_again(session, sessions, shop):
    from models.cycles import open_cycle
    from models.members import get_or_register

    cycle_id = shop["cycle"].id
    await make_member(session, 900_003, name="Cléa")
    async with sessions() as update_session:
        await get_or_register(
            update_session,
            telegram_id=900_003,
            first_name="Cléa",
            last_name=None,
            username=None,
            locale="fr",
        )
        assert catalog_cache.known_version(update_session) is not None  # read with the member
        # The update's own read of the cycle (a lock, a join), then a rollback, which expires it.
        read = await update_session.scalar(select(Cycle).where(Cycle.id == cycle_id))
        await update_session.rollback()
        again = await open_cycle(update_session)  # from memory: the session's instance is stale
        assert again is not None
        assert again.id == cycle_id
        assert again.state == CycleState.OPEN
        assert read is not None  # (held until here: the session's identity map is weak)
