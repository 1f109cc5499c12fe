"""One truth about an order, read as a person reads it: once confirmed, an order stays confirmed
and every change counts at once, in the basket, in /commandes and at the close."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from handlers import cycle_run
from handlers.context import services_of
from models import Cycle, CycleState
from tests.factories import load_demo_network, open_cycle_with_stock
from tests.invariants import check_invariants


@pytest.fixture
async def shop(app, session, clock):
    await load_demo_network(session)
    return await open_cycle_with_stock(session, clock() - timedelta(hours=1), only={"OEU-6": 3})


def buttons(message) -> list[str]:
    return [text for row in message.buttons for text in row]


async def _confirmed(person, query: str, product: str) -> str:
    """``person`` collects at the central hall, adds one ``product`` and confirms; the order's
    number as the receipt names it."""
    await person.send("/start")
    await person.press("La Desserte — halle centrale")
    await person.send(query)
    await person.press(product)
    await person.press("Ajouter" if person.language_code == "fr" else "Add")
    await person.send("/panier")
    await person.press("Confirmer la commande" if person.language_code == "fr" else "Confirm")
    found = re.search(r"(n° \d+|no\. \d+) confirm", person.last_message.text)
    assert found, person.last_message.text
    return found.group(1)


async def test_a_change_after_confirming_counts_in_orders_and_at_the_close(
    app, sandbox, session, shop
):
    alice = sandbox.user("Alice", language="fr")
    number = await _confirmed(alice, "oeufs", "Œufs plein air")
    await alice.send("/panier")
    await alice.press("➕")  # a second box of eggs: 5,80 €
    assert f"Commande {number} mise à jour — nouveau total : 5,80\xa0€" in alice.last_message.text
    assert "Panier pas encore confirmé" not in alice.last_message.text
    await alice.send("/commandes")
    assert f"• {number} — " in alice.last_message.text
    assert "5,80\xa0€ — confirmée" in alice.last_message.text

    await cycle_run.close_and_dispatch(app, shop.id)
    assert f"Votre commande {number} est définitive : 5,80\xa0€." in alice.last_message.text
    await check_invariants(session)


async def test_a_confirmed_order_does_not_go_below_the_minimum(app, sandbox, session, shop):
    services_of(app).minimum_order_cents = 500
    bob = sandbox.user("Bob", language="en")
    await bob.send("/start")
    await bob.press("La Desserte — halle centrale")
    await bob.send("oeufs")
    await bob.press("Œufs plein air")
    await bob.press("Add")
    await bob.send("/basket")
    assert "€2.10 more to reach the minimum order of €5.00." in bob.last_message.text
    assert not any("Confirm" in b for b in buttons(bob.last_message))
    await bob.press("➕")  # 5,80 €: now it can be confirmed
    await bob.press("Confirm the order (€5.80)")
    await bob.send("/basket")
    await bob.press("➖")
    text = bob.last_message.text
    assert "Your confirmed order must stay at €5.00 or more (it would be €2.90)" in text
    assert "Total: €5.80" in text  # nothing changed
    await bob.press("🗑")  # emptying it is the way to cancel
    assert "Œufs plein air removed from the basket." in bob.last_message.text
    await check_invariants(session)


async def test_order_again_from_an_order_in_orders(app, sandbox, session, shop, clock):
    carol = sandbox.user("Carol", language="fr")
    number = await _confirmed(carol, "miel", "Miel de châtaignier")
    await carol.send("/commandes")
    await carol.press("9,00")
    assert "Commander à nouveau" not in buttons(carol.last_message)  # this week's own order

    await session.execute(update(Cycle).values(state=CycleState.CLOSED))
    await session.commit()
    clock.advance(days=7)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    await carol.send("/commandes")
    await carol.press("9,00")
    assert f"Commande {number} du" in carol.last_message.text
    await carol.press("🔁 Commander à nouveau")
    text = carol.last_message.text
    assert f"J’ai repris votre commande {number}." in text
    assert "Miel de châtaignier — 1\xa0pot" in text
    assert "Panier pas encore confirmé" in text
    await check_invariants(session)


async def test_the_last_ones_and_one_unit_less(app, sandbox, session, shop):
    dave = sandbox.user("Dave", language="fr")
    erin = sandbox.user("Erin", language="fr")
    for person in (dave, erin):
        await person.send("/start")
        await person.press("La Desserte — halle centrale")
    await dave.send("oeufs")
    await dave.press("Œufs plein air")
    await dave.press("➕")
    await dave.press("➕")
    await dave.press("Ajouter")  # the 3 boxes left
    assert "Vous avez pris les derniers" in dave.last_message.text
    await erin.send("oeufs")
    await erin.press("Œufs plein air")
    assert "Épuisé cette semaine" in erin.last_message.text
    assert "Vous avez pris les derniers" not in erin.last_message.text

    await dave.send("/panier")
    for _ in range(3):
        await dave.press("➖")
    assert dave.last_message.text.startswith("Œufs plein air retiré du panier.")
    assert "Votre panier est vide" in dave.last_message.text
    await check_invariants(session)
