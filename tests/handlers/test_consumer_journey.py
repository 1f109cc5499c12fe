"""The consumer journey through the sandbox, reading only what a person sees."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import Cycle, CycleState, Member, Offer, Product
from tests.factories import load_demo_network, open_cycle_with_stock
from tests.invariants import check_invariants


@pytest.fixture
async def shop(app, session, clock):
    await load_demo_network(session)
    return await open_cycle_with_stock(session, clock() - timedelta(hours=1), only={"OEU-6": 3})


def buttons(message) -> list[str]:
    return [text for row in message.buttons for text in row]


async def test_french_consumer_from_start_to_reorder(app, sandbox, session, shop, clock):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    assert "Bonjour Alice" in alice.messages[0].text
    # No pickup point yet: asked, with addresses and windows; the company point is invisible.
    asked = alice.last_message
    assert "où voulez-vous retirer" in asked.text
    assert "12 rue des Carmes" in asked.text
    assert "Enedis" not in asked.text
    await alice.press("La Desserte — halle centrale")
    assert "Vous retirerez vos commandes ici" in alice.last_message.text

    await alice.send("/catalogue")
    catalog_message = alice.last_message
    assert any(b.startswith("Légumes (") for b in buttons(catalog_message))
    before = len(alice.messages)
    await alice.press("Légumes")
    assert "Légumes — page 1/3" in alice.last_message.text
    assert "Carottes — 2,40\xa0€ le kg" in alice.last_message.text
    await alice.press("Carottes")  # sold by the kg in half-kilo steps
    card = alice.last_message
    assert "Les Jardins de la Vonne" in card.text
    assert "Lusignan" in card.text
    assert "Bio" in card.text
    assert "Origine" in card.text
    await alice.press("➕")
    await alice.press("➕")
    assert "1,5\xa0kg" in buttons(alice.last_message)
    await alice.press("Ajouter")
    assert "Dans votre panier : 1,5\xa0kg" in alice.last_message.text
    await alice.press("Retour")
    while "Tomates anciennes" not in buttons(alice.last_message):
        await alice.press("▶️")
    assert "Tomates anciennes — 4,80\xa0€ le kg" in alice.last_message.text
    await alice.press("Tomates anciennes")
    await alice.press("➕")
    await alice.press("Ajouter")
    assert len(alice.messages) == before  # every step edited the same message
    await alice.press("Retour")
    await alice.press("▶️")
    await alice.press("Tomates cerises")
    await alice.press("Ajouter")
    assert "barquette de 250\xa0g" in alice.last_message.text

    # Search by typing, with a typo and no accent.
    await alice.send("oeuf")
    assert "Œufs plein air" in alice.last_message.text
    await alice.press("Œufs plein air")
    assert "Plus que 3" in alice.last_message.text
    await alice.press("➕")
    await alice.press("➕")
    await alice.press("➕")  # only 3 left: the stepper stops at what is left
    assert "3\xa0boîtes" in buttons(alice.last_message)
    await alice.press("Ajouter")

    await alice.send("/panier")
    basket = alice.last_message.text
    assert "Carottes — 1,5\xa0kg × 2,40\xa0€ = 3,60\xa0€" in basket
    assert "Tomates anciennes — 2\xa0kg × 4,80\xa0€ = 9,60\xa0€" in basket
    assert "Total : 25,10\xa0€" in basket  # 3,60 + 9,60 + 3,20 + 3 × 2,90
    assert "halle centrale" in basket
    assert "pas encore confirmé" in basket
    await alice.press("Confirmer la commande")
    receipt = alice.last_message.text
    number = re.search(r"Commande (n° \d+) confirmée — merci", receipt).group(1)
    assert "Total : 25,10\xa0€" in receipt
    assert "chaque modification compte aussitôt" in receipt
    basket_message = alice.messages[-2]
    assert f"Commande {number} confirmée. Vous pouvez la modifier" in basket_message.text

    # A change after confirmation counts at once: the order stays confirmed.
    await alice.send("/panier")
    assert "vendredi 11 décembre, 17:00–19:30" in alice.last_message.text  # the point's hours
    await alice.press_data(alice.last_message.button_data[0][0])  # ➖ on carrots: 1,5 → 1 kg
    text = alice.last_message.text
    assert f"Commande {number} mise à jour — nouveau total : 23,90\xa0€" in text
    assert "Elle reste confirmée" in text
    assert not any("Confirmer" in b for b in buttons(alice.last_message))

    # Next week: same basket in one tap.
    await session.execute(update(Cycle).values(state=CycleState.CLOSED))
    await session.commit()
    clock.advance(days=7)
    await open_cycle_with_stock(
        session, clock() - timedelta(hours=1), only={"OEU-6": 1, "TOM-CER": 0}
    )
    await alice.send("/start")
    await alice.press("Même panier")
    text = alice.last_message.text
    assert "J’ai repris votre dernière commande" in text
    assert "Œufs plein air : seulement 1\xa0boîte" in text
    assert "Pas disponible cette semaine : Tomates cerises" in text
    assert "Carottes — 1\xa0kg" in text
    assert "Tomates anciennes — 2\xa0kg" in text
    await check_invariants(session)

    await alice.send("/commandes")
    assert f"{number} — " in alice.last_message.text
    assert "23,90\xa0€ — confirmée" in alice.last_message.text
    await alice.press("23,90")
    assert f"Commande {number} du" in alice.last_message.text
    assert "Tomates anciennes" in alice.last_message.text


async def test_english_consumer_orders_changes_and_reorders(app, sandbox, session, shop, clock):
    bob = sandbox.user("Bob", language="en")
    await bob.send("/start")
    assert "where would you like to collect" in bob.last_message.text
    await bob.press("La Desserte — halle centrale")
    await bob.send("/catalog")
    await bob.press("Dairy")
    assert "€5.80 per piece of 250\xa0g" in bob.last_message.text
    await bob.press("▶️")
    await bob.press("Œufs plein air")
    assert "€2.90 per box of 6" in bob.last_message.text
    await bob.press("Add")
    await bob.send("honey")  # a kind in English finds the French products
    assert "Miel de châtaignier" in bob.last_message.text
    await bob.send("xylophone")  # nothing: the search says so and offers the aisles
    assert "found nothing" in bob.last_message.text.lower()
    await bob.send("miel")
    await bob.press("Miel de châtaignier")
    await bob.press("Add")
    await bob.send("/basket")
    assert "Your basket" in bob.last_message.text
    assert "Total: €11.90" in bob.last_message.text  # €2.90 + €9.00
    await bob.press("Confirm the order")
    receipt = bob.last_message.text
    number = re.search(r"Order (no\. \d+) confirmed — thank you", receipt).group(1)
    assert "Total: €11.90" in receipt
    assert "every change counts at once" in receipt
    # A change after confirmation counts at once: the order stays confirmed.
    await bob.send("/basket")
    await bob.press_data(bob.last_message.button_data[0][2])  # ➕ on the eggs
    assert f"Order {number} updated — new total: €14.80. It stays confirmed." in (
        bob.last_message.text
    )
    assert not any("Confirm" in b for b in buttons(bob.last_message))
    # Next week, the same basket in one tap.
    await session.execute(update(Cycle).values(state=CycleState.CLOSED))
    await session.commit()
    clock.advance(days=7)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1), only={"OEU-6": 1})
    await bob.send("/start")
    await bob.press("Same basket")
    text = bob.last_message.text
    assert "I copied your last order" in text
    assert "Œufs plein air: only 1\xa0box (limited stock)" in text
    assert "Miel de châtaignier — 1\xa0jar" in text
    await bob.send("/orders")
    assert "€14.80" in bob.last_message.text
    await check_invariants(session)


async def test_company_point_joined_by_invitation_only(app, sandbox, session, shop):
    from models import PickupPoint

    company = await session.scalar(select(PickupPoint).where(PickupPoint.is_public.is_(False)))
    await session.commit()
    carol = sandbox.user("Carol", language="fr")
    await carol.send(f"/start p-{company.invite_code}")
    assert "Vous avez rejoint le point de retrait" in carol.last_message.text
    await carol.send("/retrait")
    assert company.name in carol.last_message.text
    dave = sandbox.user("Dave", language="fr")
    await dave.send("/start p-mauvais-code")
    assert "n’est plus valable" in dave.messages[0].text
    await dave.send("/retrait")
    assert company.name not in dave.last_message.text
    # Forging the button of a company point does nothing.
    await dave.press_data(f"pk:set:{company.id}")
    assert "plus valable" in dave.last_message.text
    await session.commit()  # a fresh snapshot: the bot wrote meanwhile
    member = await session.scalar(select(Member).where(Member.telegram_id == dave.id))
    assert member.pickup_point_id != company.id


async def test_closed_shop_and_stale_buttons(app, sandbox, session, shop, clock):
    erin = sandbox.user("Erin", language="fr")
    await erin.send("/start")
    await erin.press("La Desserte — halle centrale")
    await erin.send("/catalogue")
    await erin.press("Légumes")
    await erin.press("Carottes")
    card = erin.last_message
    await session.execute(update(Cycle).values(state=CycleState.CLOSED))
    await session.commit()
    await erin.press("Ajouter", message=card)
    assert "fermées" in erin.answers[-1].text
    await erin.send("/catalogue")
    assert "fermées" in erin.last_message.text
    # Next week's cycle: last week's button says it is from an earlier week.
    await open_cycle_with_stock(session, clock() + timedelta(days=7))
    await erin.press("Ajouter", message=card)
    assert "semaine précédente" in erin.answers[-1].text
    await check_invariants(session)


async def test_stale_confirm_shows_the_current_basket(app, sandbox, session, shop):
    fanny = sandbox.user("Fanny", language="fr")
    await fanny.send("/start")
    await fanny.press("La Desserte — halle centrale")
    await fanny.send("miel")
    await fanny.press("Miel de châtaignier")
    await fanny.press("Ajouter")
    await fanny.send("/panier")
    old = fanny.last_message
    await fanny.send("poireaux")
    await fanny.press("Poireaux")
    await fanny.press("Ajouter")
    await fanny.press("Confirmer la commande", message=old)
    assert "a changé" in old.text
    assert "Poireaux" in fanny.last_message.text or "Poireaux" in old.text


async def test_more_than_left_and_minimum_order(app, sandbox, session, shop, settings):
    from handlers.context import services_of

    services_of(app).minimum_order_cents = 1500
    gus = sandbox.user("Gus", language="fr")
    hugo = sandbox.user("Hugo", language="fr")
    await gus.send("/start")
    await gus.press("La Desserte — halle centrale")
    # Hugo sets 3 boxes on the card while 3 are left…
    await hugo.send("oeufs")
    await hugo.press("Œufs plein air")
    await hugo.press("➕")
    await hugo.press("➕")
    # …then Gus takes one…
    await gus.send("oeufs")
    await gus.press("Œufs plein air")
    await gus.press("Ajouter")
    await gus.send("/panier")
    basket = gus.last_message
    assert "Total : 2,90\xa0€" in basket.text
    assert "Encore 12,10\xa0€ pour atteindre le minimum de 15,00\xa0€." in basket.text
    assert not any("Confirmer" in b for b in buttons(basket))  # nothing to confirm yet
    # …and Hugo gets what is left, and is told so.
    await hugo.press("Ajouter")
    card = hugo.last_message
    assert "Il n’en restait que 2" in (card.text or card.caption)
    await session.commit()
    offer = await session.scalar(
        select(Offer)
        .join(Product)
        .where(Product.sku == "OEU-6")
        .execution_options(populate_existing=True)
    )
    assert offer.ordered == offer.offered == 3
    await check_invariants(session)
