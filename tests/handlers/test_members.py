"""Members, for the organiser: /membres finds a member, shows their orders, moves them to
another pickup point, blocks and unblocks them; /maximum holds one person to a few of a product
(the catalog CSV's ``max_per_person`` too)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers import cycle_run
from models import Offer, Product
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network, open_cycle_with_stock


@pytest.fixture
async def shop(app, session, clock):
    await load_demo_network(session)
    return await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=40)


async def _order_potimarrons(person, count: int) -> None:
    await person.send("potimarron")
    await person.press("Potimarron")
    for _ in range(count - 1):
        await person.press("➕")
    await person.press("Ajouter")


async def _ordered(session, cycle_id: int, sku: str):
    ordered = await session.scalar(
        select(Offer.ordered)
        .join(Product, Product.id == Offer.product_id)
        .where(Offer.cycle_id == cycle_id, Product.sku == sku)
    )
    await session.commit()
    return ordered


async def test_the_organiser_finds_moves_blocks_and_unblocks_a_member(
    app, sandbox, session, shop, clock
):
    alice = sandbox.user("Alice", language="fr", last_name="Dupont", username="alidup")
    await alice.send("/start")
    await alice.press("La Desserte — halle centrale")
    await _order_potimarrons(alice, 2)
    await alice.send("/panier")
    await alice.press("Confirmer la commande")
    number = next(w for w in alice.last_message.text.split() if w.isdigit())
    assert await _ordered(session, shop.id, "COU-POT") == 2

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/membres")
    assert "suivi d’un nom, d’un @pseudo" in admin.last_message.text
    await admin.send("/membres personne-de-ce-nom")
    assert "Personne ne correspond à « personne-de-ce-nom »" in admin.last_message.text
    for query in ("dupont", "@alidup", f"n° {number}"):
        await admin.send(f"/membres {query}")
        card = admin.last_message.text
        assert "Alice Dupont (@alidup)" in card, (query, card)
        assert "📍 Retrait : La Desserte — halle centrale" in card
        assert f"• n° {number} — " in card
        assert "5,60\xa0€ — confirmée" in card

    await admin.press("📍 Changer de point de retrait")
    await admin.press("Centre socioculturel de la Blaiserie")
    assert (
        "📍 Point de retrait changé : Centre socioculturel de la Blaiserie."
        in admin.last_message.text
    )
    assert "📍 Retrait : Centre socioculturel de la Blaiserie" in admin.last_message.text
    await alice.send("/panier")
    assert "Centre socioculturel de la Blaiserie" in alice.last_message.text

    await admin.press("⛔ Bloquer")
    assert "Il ne pourra plus commander" in admin.last_message.text
    await admin.press("⛔ Oui, bloquer")
    text = admin.last_message.text
    assert "⛔ Membre bloqué. Son panier est libéré (1 produit remis en stock)." in text
    assert "⛔ Bloqué depuis le" in text
    assert await _ordered(session, shop.id, "COU-POT") == 0

    await alice.send("/panier")
    assert "Votre panier est vide" in alice.last_message.text
    await alice.send("potimarron")
    await alice.press("Potimarron")
    await alice.press("Ajouter")
    assert "vous ne pouvez pas commander pour le moment" in alice.last_message.text
    assert await _ordered(session, shop.id, "COU-POT") == 0
    await alice.send("/commandes")  # the rest of the bot still answers her
    assert "Vos commandes" in alice.last_message.text or "pas encore" in alice.last_message.text
    # The reminder to order goes to the others, not to her.
    bob = sandbox.user("Bob", language="fr")
    await bob.send("/start")
    before = len(alice.messages)
    clock.set(shop.closes_at - timedelta(hours=2))
    await cycle_run.run_due_work(app)
    assert any("Les commandes ferment le" in (m.text or "") for m in bob.messages)
    assert len(alice.messages) == before

    await admin.send("/membres Dupont")
    await admin.press("✅ Débloquer")
    assert "✅ Membre débloqué : il peut commander." in admin.last_message.text
    await alice.send("potimarron")
    await alice.press("Potimarron")
    await alice.press("Ajouter")
    assert "Ajouté au panier : Potimarron, 1\xa0pièce." in alice.last_message.text

    # Someone else cannot use it.
    await bob.send("/membres Dupont")
    assert "réservée à l’équipe" in bob.last_message.text


async def test_a_per_person_maximum_holds_each_consumer_to_a_few(app, sandbox, session, shop):
    admin = sandbox.user("Admin", language="en", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/maximum COU-POT lots")
    assert "“lots” is not a number." in admin.last_message.text
    await admin.send("/maximum COU-POT -1")
    said = admin.last_message.text
    assert "“-1” is not a number" not in said
    assert "The maximum is a number above 0 (or “none” to remove it)." in said
    # The usage's example names a product of the catalog: following it works.
    assert "for example: /maximum COU-POT 3" in said
    await admin.send("/maximum NOPE 3")
    assert "I do not know the product “NOPE”." in admin.last_message.text
    await admin.send("/maximum cou-pot 3")
    assert "Potimarron: at most 3\xa0pieces per person each week." in admin.last_message.text

    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    await alice.press("La Desserte — halle centrale")
    await _order_potimarrons(alice, 2)
    await _order_potimarrons(alice, 2)
    assert (
        "C’est au plus 3\xa0pièces par personne : votre panier en a maintenant 3\xa0pièces."
        in alice.last_message.text
    )
    await alice.press("Ajouter")
    assert (
        "C’est au plus 3\xa0pièces par personne, et votre panier en a déjà 3\xa0pièces."
        in alice.last_message.text
    )
    await alice.send("/panier")
    await alice.press("➕")
    assert "au plus 3\xa0pièces par personne" in alice.last_message.text
    assert await _ordered(session, shop.id, "COU-POT") == 3

    await admin.send("/maximum COU-POT aucun")
    assert "plus de maximum par personne" not in admin.last_message.text  # English member
    assert "Potimarron: no maximum per person any more." in admin.last_message.text
    await alice.send("/panier")
    await alice.press("➕")
    assert await _ordered(session, shop.id, "COU-POT") == 4


async def test_the_catalog_csv_sets_the_maximum(session, tmp_path):
    from models.catalog_csv import CsvImportError, read_catalog
    from models.catalog_import import export_catalog, import_catalog

    await load_demo_network(session)
    header = (
        "producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases,"
        "max_per_person\n"
    )
    good = tmp_path / "good.csv"
    good.write_text(header + "jardins-lusignan,COU-POT,Potimarron,Légumes,pièce,1,pièce,2,bio,,3\n")
    await import_catalog(session, good)
    product = await session.scalar(select(Product).where(Product.sku == "COU-POT"))
    assert product.max_per_person == 3
    rows = [row for row in await export_catalog(session) if row.sku == "COU-POT"]
    assert rows[0].max_per_person == 3
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "jardins-lusignan,COU-POT,Potimarron,Légumes,pièce,1,pièce,2,bio,,-2\n")
    with pytest.raises(CsvImportError) as refused:
        read_catalog(bad)
    assert [error.code for error in refused.value.errors] == ["bad_maximum"]


async def test_a_producer_sets_the_maximum_of_their_own_products_only(app, sandbox, session, shop):
    from models import Member, Producer

    producer = await session.scalar(select(Producer).where(Producer.slug == "jardins-lusignan"))
    session.add(
        Member(telegram_id=70_001, first_name="Marie", locale="fr", producer_id=producer.id)
    )
    await session.commit()
    marie = sandbox.user("Marie", language="fr", user_id=70_001)
    await marie.send("/maximum")
    assert "suivi de la référence du produit et du maximum par personne" in marie.last_message.text
    await marie.send("/maximum COU-POT 2")
    assert "Potimarron : au plus 2\xa0pièces par personne et par semaine." in (
        marie.last_message.text
    )
    await marie.send("/maximum CHA-AOP 2")  # the goat farm's chabichou
    assert "Je ne connais pas le produit « CHA-AOP »." in marie.last_message.text
    await marie.send("/maximum COU-POT 1,5")
    assert "Ce maximum n’est pas possible pour ce produit" in marie.last_message.text
    chabichou = await session.scalar(select(Product).where(Product.sku == "CHA-AOP"))
    assert chabichou.max_per_person is None
    consumer = sandbox.user("Jean", language="fr")
    await consumer.send("/maximum COU-POT 9")
    assert "Cette commande est réservée aux producteurs du réseau." in consumer.last_message.text
    await session.commit()
    potimarron = await session.scalar(
        select(Product).where(Product.sku == "COU-POT").execution_options(populate_existing=True)
    )
    assert potimarron.max_per_person == 2
