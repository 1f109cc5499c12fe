"""Tapping the quantity on a card or a basket line asks "how many?", and the number typed next
sets the basket's quantity; a text that is not a number, more than is left and more than the
per-person maximum are refused politely."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import Offer, Product
from tests.factories import load_demo_network, open_cycle_with_stock


@pytest.fixture
async def shop(app, session, clock):
    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=40)
    await session.execute(
        update(Offer)
        .where(
            Offer.cycle_id == cycle.id,
            Offer.product_id
            == select(Product.id).where(Product.sku == "TOM-CER").scalar_subquery(),
        )
        .values(offered=6)
    )
    await session.commit()
    return cycle


async def _held(session, cycle_id: int, sku: str):
    ordered = await session.scalar(
        select(Offer.ordered)
        .join(Product, Product.id == Offer.product_id)
        .where(Offer.cycle_id == cycle_id, Product.sku == sku)
    )
    await session.commit()
    return ordered


async def test_the_quantity_label_asks_how_many_and_the_typed_number_sets_it(
    app, sandbox, session, shop
):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    await alice.press("La Desserte — halle centrale")
    await alice.send("potimarron")
    await alice.press("Potimarron")
    card = alice.last_message
    await alice.press("1\xa0pièce")  # the quantity between ➖ and ➕
    question = alice.last_message.text
    assert "Potimarron : combien de pièces ?" in question
    assert "Dans votre panier : 0\xa0pièce. Il en reste 40\xa0pièces." in question

    await alice.send("beaucoup")
    assert (
        "« beaucoup » n’est pas un nombre : tapez par exemple 2, ou touchez un bouton"
        in alice.last_message.text
    )
    assert await _held(session, shop.id, "COU-POT") == 0
    await alice.send("4")
    basket = alice.last_message.text
    assert "✅ Potimarron : 4\xa0pièces dans votre panier." in basket
    assert "• Potimarron — 4\xa0pièces × 2,80\xa0€ = 11,20\xa0€" in basket
    assert await _held(session, shop.id, "COU-POT") == 4
    # The question was answered: a number now is small talk or a search, not a quantity.
    await alice.send("7")
    assert await _held(session, shop.id, "COU-POT") == 4

    # From the basket line: more than is left gets what is left, and says so.
    await alice.send("tomates cerises")
    await alice.press("Tomates cerises")
    await alice.press("Ajouter")
    await alice.send("/panier")
    await alice.press("Tomates cerises · 1\xa0barquette")
    assert "Tomates cerises : combien de barquettes ?" in alice.last_message.text
    await alice.send("10")
    assert (
        "⚠️ Il n’en restait pas autant : votre panier en a maintenant 6\xa0barquettes, tout ce "
        "qui restait." in alice.last_message.text
    )
    assert await _held(session, shop.id, "TOM-CER") == 6

    # A per-person maximum; a command in between drops the question.
    await session.execute(update(Product).where(Product.sku == "COU-POT").values(max_per_person=5))
    await session.commit()
    await alice.press("Potimarron · 4\xa0pièces")
    assert "Au plus 5\xa0pièces par personne." in alice.last_message.text
    await alice.send("9")
    assert "C’est au plus 5\xa0pièces par personne" in alice.last_message.text
    assert await _held(session, shop.id, "COU-POT") == 5
    await alice.send("/panier")
    await alice.press("Potimarron · 5\xa0pièces")
    await alice.send("/aide")
    await alice.send("2")
    assert await _held(session, shop.id, "COU-POT") == 5
    await alice.send("/panier")
    await alice.press("Potimarron · 5\xa0pièces")
    await alice.send("0")
    assert "Potimarron retiré du panier." in alice.last_message.text
    assert await _held(session, shop.id, "COU-POT") == 0
    assert card.text  # the card itself stayed in the chat


async def test_in_english_the_question_and_refusals_read_english(app, sandbox, session, shop):
    bob = sandbox.user("Bob", language="en")
    await bob.send("/start")
    await bob.press("La Desserte — halle centrale")
    await bob.send("honey")
    await bob.press("Miel de châtaignier")
    await bob.press("1\xa0jar")
    assert "how many jars?" in bob.last_message.text
    await bob.send("lots")
    assert "“lots” is not a number" in bob.last_message.text
    await bob.send("2")
    assert "in your basket." in bob.last_message.text


async def test_the_typed_number_reaches_whichever_worker_gets_it(
    app, sandbox, session, shop, settings, engine, clock
):
    """Workers share nothing but the database: "how many?" asked on one worker, the number
    typed next served by another, still sets the quantity."""
    from tests.admin_support import running_app

    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    await alice.press("La Desserte — halle centrale")
    await alice.send("potimarron")
    await alice.press("Potimarron")
    await alice.press("1\xa0pièce")
    async with running_app(settings, engine, sandbox, clock, rate_limiter=False) as other:
        assert other is not app
        await alice.send("3")
        assert "✅ Potimarron : 3\xa0pièces dans votre panier." in alice.last_message.text
    sandbox.attach(app)
    assert await _held(session, shop.id, "COU-POT") == 3


async def test_a_typed_quantity_the_product_cannot_have_says_which_it_can(
    app, sandbox, session, shop
):
    """ "-1" is a number, only not a quantity; "2,5" pumpkins are not sold: each refusal says
    what to type, and the question still waits for the answer."""
    bob = sandbox.user("Bob", language="en")
    await bob.send("/start")
    await bob.press("La Desserte — halle centrale")
    await bob.send("potimarron")
    await bob.press("Potimarron")
    await bob.press("1\xa0piece")
    await bob.send("-1")
    said = bob.last_message.text
    assert "is not a number" not in said
    assert "Type a number from 0 to 999 (0 takes it out of the basket)." in said
    await bob.send("2,5")
    assert "Potimarron is sold by 1\xa0piece: type a whole number of them" in (
        bob.last_message.text
    )
    await bob.send("2")
    assert "Potimarron: 2\xa0pieces in your basket." in bob.last_message.text
    assert await _held(session, shop.id, "COU-POT") == 2
