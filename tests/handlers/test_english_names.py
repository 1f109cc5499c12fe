"""English names everywhere a consumer reads the catalog: an English-speaking member reads the
categories, labels and the catalog's ``name_en``/``description_en`` on the category pages, the
card, the basket, the receipt, the reminder and /orders; a French-speaking member the French."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from handlers import cycle_run
from models import Product
from tests.factories import load_demo_network, open_cycle_with_stock


@pytest.fixture
async def shop(app, session, clock):
    await load_demo_network(session)
    await session.execute(
        update(Product)
        .where(Product.sku == "COU-POT")
        .values(name_en="Red kuri squash", description_en="About 1 kg, tastes of chestnut.")
    )
    await session.commit()
    return await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=40)


def _texts(person) -> str:
    return "\n".join(message.text or "" for message in person.messages)


async def test_an_english_speaking_member_reads_english_names_everywhere(
    app, sandbox, session, shop, clock
):
    bob = sandbox.user("Bob", language="en")
    await bob.send("/start")
    await bob.press("La Desserte — halle centrale")
    await bob.send("/catalog")
    categories = [label for row in bob.last_message.buttons for label in row]
    assert any(label.startswith("Vegetables (") for label in categories), categories
    assert any(label.startswith("Dairy (") for label in categories), categories
    assert not any(label.startswith("Légumes") for label in categories), categories
    await bob.press("Vegetables")
    assert bob.last_message.text.startswith("Vegetables — page 1/")
    while "• Red kuri squash — " not in bob.last_message.text:
        await bob.press("▶️")
    assert "Potimarron" not in bob.last_message.text
    await bob.press("Red kuri squash")
    card = bob.last_message.text
    assert card.startswith("Red kuri squash")
    assert "🏷 Organic" in card
    assert "About 1 kg, tastes of chestnut." in card
    assert "goût de châtaigne" not in card
    await bob.press("Add")
    assert "Added to the basket: Red kuri squash, 1\xa0piece." in bob.last_message.text

    await bob.send("/basket")
    basket = bob.last_message
    assert "• Red kuri squash — 1\xa0piece × " in basket.text
    assert any("Red kuri squash" in label for row in basket.buttons for label in row)
    assert "Potimarron" not in basket.text

    # The reminder before the close names it in English too.
    clock.set(shop.closes_at - timedelta(hours=2))
    await cycle_run.run_due_work(app)
    reminder = next(
        m.text for m in bob.messages if "Your basket is not confirmed yet" in (m.text or "")
    )
    assert "• Red kuri squash × 1\xa0piece" in reminder

    await bob.send("/basket")
    await bob.press("Confirm the order")
    receipt = next(m.text for m in reversed(bob.messages) if "confirmed" in (m.text or ""))
    assert "• Red kuri squash — 1\xa0piece: " in receipt
    await bob.send("/orders")
    await bob.press("2.80")
    assert "Red kuri squash" in bob.last_message.text
    assert "Potimarron" not in _texts(bob)

    alice = sandbox.user("Alice", language="fr")
    await alice.send("/catalogue")
    await alice.press("Légumes")
    while "• Potimarron — " not in alice.last_message.text:
        await alice.press("▶️")
    assert "Red kuri" not in alice.last_message.text
