"""The kitchen through the sandbox: the cook gives the soup's stock, the soup's card follows the
carrots left, twenty consumers racing for soup and carrots never oversell the carrots, and the
close gives the kitchen its production sheet and the farm a purchase order with the kitchen's
share."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.demo_network import DECEMBER_CATALOG_CSV, PICKUP_POINTS_CSV, PRODUCERS_CSV
from handlers import cycle_run
from models.catalog_import import import_catalog, import_pickup_points, import_producers
from tests.factories import open_cycle_with_stock
from tests.handlers.test_producer_stock import consumer, english, link, offered
from tests.invariants import check_invariants

pytestmark = pytest.mark.database

MARIE, INES = 610_001, 610_002


async def december(session) -> None:
    """The demo network with its December catalog: the kitchen's winter soup (1 L: 0,4 kg of
    carrots, a quarter bunch of leeks, a quarter of a red kuri squash)."""
    await import_producers(session, PRODUCERS_CSV)
    await import_pickup_points(session, PICKUP_POINTS_CSV)
    await import_catalog(session, DECEMBER_CATALOG_CSV)


def _basket(text: str) -> Decimal:
    """What "🧺 Dans votre panier : 2 litres" (or "In your basket") says, 0 when absent."""
    found = re.search(r"(?:Dans votre panier|In your basket) ?: ([0-9]+(?:[,.][0-9]+)?)", text)
    return Decimal(found.group(1).replace(",", ".")) if found else Decimal(0)


def _buttons(person) -> list[str]:
    return [b for row in person.last_message.buttons for b in row]


async def _open_card(person, query: str, name: str, more: int = 0) -> None:
    await person.send(query)
    await person.press(name)
    for _step in range(more):
        await person.press("➕")


async def test_twenty_consumers_racing_for_soup_and_carrots_never_oversell_the_carrots(
    app, sandbox, session, clock
):
    await december(session)
    cycle = await open_cycle_with_stock(
        session,
        clock() - timedelta(hours=1),
        stock=0,
        only={"CAR-KG": 6, "POI-BOT": 20, "COU-POT": 20},
    )
    await link(session, INES, "cuisine-desserte", name="Inès")
    ines = sandbox.user("Inès", language="fr", user_id=INES)
    # The cook says how much soup the kitchen can make this week, as any producer does.
    await ines.send("soupe 40 litres")
    assert "Soupe d’hiver" in ines.last_message.text
    await ines.press("✅ Valider")
    assert "Stock enregistré" in ines.last_message.text
    # 40 litres offered, but 6 kg of carrots make 15: the card says 15.
    _first, first_chat = await consumer(session, sandbox, 620_000, "Zoé", "halle-centrale")
    await _open_card(first_chat, "soupe", "Soupe d’hiver")
    card = first_chat.last_message.text.replace("\xa0", " ")
    assert "Disponible : 15 litres" in card
    # The card says what the soup is made of, and from whom.
    assert (
        "🥕 Avec : Carottes (Les Jardins de la Vonne), Poireaux (Les Jardins de la Vonne), "
        "Potimarron (Les Jardins de la Vonne)"
    ) in card
    assert "Astuce : Servie bien chaude" in card
    assert "📖 Notre légumerie" in card
    # Zoé takes 2 L (0,8 kg of carrots) and confirms: 5,2 kg are left, and the card says 13 L.
    await first_chat.press("➕")
    await first_chat.press("Ajouter")
    assert "Dans votre panier : 2 litres" in first_chat.last_message.text.replace("\xa0", " ")
    assert "Disponible : 13 litres" in first_chat.last_message.text.replace("\xa0", " ")
    await first_chat.send("/panier")
    await first_chat.press("Confirmer la commande")

    # Ten want 2 L of soup (0,8 kg of carrots each), ten 1 kg of carrots: 18 kg for 5,2.
    people = []
    for index in range(20):
        locale = "en" if index % 4 == 0 else "fr"
        _member, person = await consumer(
            session, sandbox, 620_001 + index, f"C{index}", "halle-centrale", locale=locale
        )
        soup = index % 2 == 0
        if soup:
            name = "Winter soup" if locale == "en" else "Soupe d’hiver"
            await _open_card(person, "soupe", name, more=1)
        else:
            await _open_card(person, "carottes", "Carottes", more=1)
        people.append((person, soup))
    add = {"fr": "Ajouter", "en": "Add"}
    languages = {p.first_name: ("en" if i % 4 == 0 else "fr") for i, (p, _s) in enumerate(people)}
    await asyncio.gather(
        *(
            person.press(
                next(b for b in _buttons(person) if add[languages[person.first_name]] in b)
            )
            for person, _soup in people
        )
    )
    soup_seen = 2 + sum(
        _basket(p.last_message.text.replace("\xa0", " ")) for p, soup in people if soup
    )
    carrots_seen = sum(
        _basket(p.last_message.text.replace("\xa0", " ")) for p, soup in people if not soup
    )
    # What the twenty read they got is what the carrots allowed, never more.
    assert soup_seen * Decimal("0.4") + carrots_seen <= 6
    carrots = await offered(session, cycle.id, "CAR-KG")
    assert carrots == (6, soup_seen * Decimal("0.4") + carrots_seen)
    assert carrots[1] >= Decimal("5.5")  # the demand far exceeded the stock: it was sold
    refused = [p for p, _soup in people if _basket(p.last_message.text.replace("\xa0", " ")) == 0]
    for person in refused:
        text = person.last_message.text
        assert (
            english("Désolé, il n’en reste plus.") in text or "Désolé, il n’en reste plus." in text
        )
    await check_invariants(session)

    # Those who got something confirm; at the close the kitchen gets its production sheet and
    # the farm's purchase order counts the carrots the soup takes.
    await link(session, MARIE, "jardins-lusignan", name="Marie")
    marie = sandbox.user("Marie", language="fr", user_id=MARIE)
    confirm = {"fr": ("/panier", "Confirmer la commande"), "en": ("/basket", "Confirm the order")}
    for person, _soup in people:
        if person not in refused:
            command, label = confirm[languages[person.first_name]]
            await person.send(command)
            await person.press(label)
    await cycle_run.close_and_dispatch(app, cycle.id)
    sheet = "\n".join(m.text or "" for m in ines.messages).replace("\xa0", " ")
    litres = _number(soup_seen)
    assert "Fiche de production — La Cuisine de la Desserte" in sheet
    assert f"Soupe d’hiver : {litres} litres" in sheet
    assert f"Carottes : {_number(soup_seen * Decimal('0.4'))} kg" in sheet
    assert f"Poireaux : {_number(soup_seen * Decimal('0.25'))} botte" in sheet
    assert "🧑‍🌾 Les Jardins de la Vonne" in sheet
    # The kitchen's own purchase order: the soup to bring to the pickup point.
    assert any((m.document and m.document.file_name.endswith(".csv")) for m in ines.messages)
    order_text = "\n".join(m.text or "" for m in marie.messages).replace("\xa0", " ")
    assert "Bon de commande — Les Jardins de la Vonne" in order_text
    kitchen_block = order_text.split("Pour la cuisine : La Cuisine de la Desserte")[1]
    assert f"Carottes : {_number(soup_seen * Decimal('0.4'))} kg" in kitchen_block.split("\n\n")[0]
    # The total: the consumers' carrots and the kitchen's.
    assert f"• Carottes : {_number(carrots[1])} kg — " in order_text
    csv = next(m.document for m in marie.messages if m.document is not None).content.decode()
    assert "Cuisine : La Cuisine de la Desserte" in csv
    await check_invariants(session)


def _number(value: Decimal) -> str:
    """A quantity as the French texts write it: 4,8; 2."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",")
