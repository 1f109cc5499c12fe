"""Producers read as a person would read them, through the sandbox: no question dropped by
Valider, absurd numbers asked, producer phrases answered as a producer, shortages while the
cycle is open, prices by message, reminders, the producer's menu, previews that explain."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import StockUpdate, StockUpdateStatus
from models.closing import close_cycle
from models.cycles import create_cycle
from tests.handlers import test_producer_stock as stock_tests
from tests.handlers.test_producer_stock import buttons, consumer, english, link, offered, order
from tests.invariants import check_invariants

pytestmark = pytest.mark.database
farm = stock_tests.farm  # the same farm: Marie of Les Jardins de la Vonne, a cycle open
PARIS = ZoneInfo("Europe/Paris")


# ---------------------------------------------------------------------------- 2. no question dropped


async def test_valider_waits_while_a_product_question_is_open(farm, session):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("radis 30, salades 35")
    preview = marie.last_message
    assert "Radis : 20 → 30\xa0bottes" in preview.text
    assert "« salades » : de quel produit" in preview.text
    assert "✅ Valider" not in buttons(preview)
    assert "Répondez d’abord aux questions" in preview.text
    # An old Valider (pressed from an earlier view) records nothing and says why.
    update_id = await session.scalar(
        select(StockUpdate.id).where(StockUpdate.status == StockUpdateStatus.PENDING)
    )
    await session.commit()
    await marie.press_data(f"stk:ok:{update_id}", message=preview)
    assert "Une question attend encore" in marie.last_message.text
    assert await offered(session, cycle.id, "RAD-BOT") == (20, 0)
    # "None of these": the line is left out, Valider comes back and names what was not recorded.
    await marie.press("salades → aucun de ceux-là")
    preview = marie.last_message
    assert "✅ Valider" in buttons(preview)
    await marie.press("Valider")
    assert "Stock enregistré" in marie.last_message.text
    assert "Pas enregistré : « salades »" in marie.last_message.text
    assert (await offered(session, cycle.id, "RAD-BOT"))[0] == 30
    assert (await offered(session, cycle.id, "SAL-BAT"))[0] == 20


async def test_an_unsure_correction_is_asked_as_a_yes_or_no(farm, session, sandbox):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("oignonss 3")
    preview = marie.last_message
    assert "❓ « oignonss » : vouliez-vous dire Oignons jaunes ?" in preview.text
    assert buttons(preview)[:2] == ["Oui, Oignons jaunes", "Non"]
    await marie.press("Oui, Oignons jaunes")
    assert "Oignons jaunes : 20 → 3\xa0kg" in marie.last_message.text
    await marie.press("Valider")
    assert (await offered(session, cycle.id, "OIG-KG"))[0] == 3
    # In English, translated.
    await link(session, 700_009, "jardins-lusignan", name="Eve", locale="en")
    eve = sandbox.user("Eve", language="en", user_id=700_009)
    await eve.send("oignonss 4")
    asked = english("❓ « {text} » : vouliez-vous dire {name} ?").format(
        text="oignonss", name="Oignons jaunes"
    )
    assert asked in eve.last_message.text
    await eve.press(english("Non"))
    assert english("Pas enregistré : {items}").format(items="« oignonss »") in (
        eve.last_message.text
    )


# ---------------------------------------------------------------------------- numbers


async def test_absurd_quantities_are_asked_and_past_storage_refused(farm, session):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("radis 99999999999999999")
    preview = marie.last_message
    assert "⛔ Radis" in preview.text
    assert "plus que je ne peux enregistrer" in preview.text
    assert "✅ Valider" not in buttons(preview)
    await marie.press("Annuler")
    # Far above last week's offer (20): asked, never stored unasked.
    await marie.send("radis 5000, tomates anciennes 12 kg")
    preview = marie.last_message
    assert "❓ Radis : vous avez écrit 5\u202f000\xa0bottes" in preview.text
    assert "est-ce bien ça ?" in preview.text
    assert "✅ Valider" not in buttons(preview)
    await marie.press("Oui, 5\u202f000\xa0bottes de Radis")
    assert "Radis : 20 → 5\u202f000\xa0bottes" in marie.last_message.text
    await marie.press("Valider")
    assert (await offered(session, cycle.id, "RAD-BOT"))[0] == 5000
    assert (await offered(session, cycle.id, "TOM-ANC"))[0] == 12
    # An addition that would pass the storage range is refused too.
    await marie.send("+999999999 radis")
    assert "plus que je ne peux enregistrer" in marie.last_message.text
    await check_invariants(session)


async def test_a_huge_number_after_an_ambiguity_never_reaches_the_database(farm, session):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("tomates 99999999999999999")
    await marie.press("tomates → Tomates anciennes")
    assert "plus que je ne peux enregistrer" in marie.last_message.text
    assert "✅ Valider" not in buttons(marie.last_message)
    assert await offered(session, cycle.id, "TOM-ANC") == (20, 0)


# ---------------------------------------------------------------------------- 3. as a producer


async def test_whole_week_phrases_are_previewed(farm, session, sandbox, app, clock):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("rien cette semaine, je suis en vacances")
    preview = marie.last_message
    assert "Tomates anciennes : 20 → 0\xa0kg" in preview.text
    assert "Radis : 20 → 0\xa0botte" in preview.text
    assert "Résultats pour" not in preview.text
    await marie.press("Valider")
    assert (await offered(session, cycle.id, "RAD-BOT"))[0] == 0
    await marie.send("annuler la dernière mise à jour")
    # No week before this one yet: said, not searched.
    await marie.send("pareil que la semaine dernière")
    assert "pas de semaine précédente" in marie.last_message.text


async def test_same_as_last_week_with_an_exception(farm, session, sandbox, app, clock):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("tout à zéro")
    await marie.press("Valider")
    await marie.send("tomates anciennes 12 kg, radis 7")
    await marie.press("Valider")
    following = await create_cycle(
        session,
        opens_at=clock() + timedelta(days=6),
        closes_at=clock() + timedelta(days=7),
        pickup_starts_at=clock() + timedelta(days=9),
        pickup_ends_at=clock() + timedelta(days=9, hours=2),
    )
    await session.commit()
    await close_cycle(session, cycle.id, clock())
    await marie.send("comme la semaine dernière sauf radis 5")
    preview = marie.last_message
    assert "Tomates anciennes : 0 → 12\xa0kg" in preview.text
    assert "Radis : 0 → 5\xa0bottes" in preview.text
    # Only what had stock last week is copied.
    assert "Poireaux" not in preview.text
    await marie.press("Valider")
    assert (await offered(session, following.id, "RAD-BOT"))[0] == 5
    assert (await offered(session, following.id, "TOM-ANC"))[0] == 12


async def test_another_farms_product_is_named_as_such(farm, session):
    marie = farm["marie"]
    await marie.send("oeufs 0")
    text = marie.last_message.text
    assert "Vous ne vendez pas d’oeufs sur La Desserte Locale." in text
    assert "Résultats pour" not in text
    assert "rien trouvé" not in text
    assert "Tomates anciennes" in text  # her own products, to write them right
    await marie.send("des trucs 12")
    assert "Je n’ai reconnu aucun de vos produits" in marie.last_message.text
    # A bare word still finds a product to buy.
    await marie.send("miel")
    assert "Vous ne vendez pas" not in marie.last_message.text


# ---------------------------------------------------------------------------- 7. the producer's menu


async def test_a_producer_sees_their_tools_first_with_short_names(farm, session, sandbox):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("/start")
    text = marie.last_message.text
    tools = text.index("Vos outils de producteur")
    for command in ("/stock", "/produits", "/defaire", "/manque", "/prix"):
        assert command + " " in text, command
        assert text.index(command + " ") > tools
    await marie.send("/aide")
    text = marie.last_message.text
    assert text.index("/stock ") < text.index("Pour vos achats") < text.index("/panier ")
    # The short names work, the old ones too.
    await marie.send("/produits")
    assert "Radis — proposé : 20\xa0bottes" in marie.last_message.text
    await marie.send("radis 3")
    await marie.press("Valider")
    assert "tapez /defaire." in marie.last_message.text
    await marie.send("/defaire")
    assert "Dernière mise à jour annulée" in marie.last_message.text
    assert (await offered(session, cycle.id, "RAD-BOT"))[0] == 20
    await marie.send("/mes_produits")
    assert "Radis — proposé" in marie.last_message.text
    # A consumer's help shows no producer tools.
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/aide")
    assert "Vos outils de producteur" not in alice.last_message.text
    assert "/produits" not in alice.last_message.text
    # In English: /products, /undo.
    await link(session, 700_009, "jardins-lusignan", name="Eve", locale="en")
    eve = sandbox.user("Eve", language="en", user_id=700_009)
    await eve.send("/help")
    assert "/products " in eve.last_message.text
    assert "/undo " in eve.last_message.text


# ---------------------------------------------------------------------------- 4. shortage while open


async def test_a_shortage_while_the_cycle_is_open(farm, session, sandbox, clock):
    marie, cycle = farm["marie"], farm["cycle"]
    alice, alice_chat = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    bob, bob_chat = await consumer(session, sandbox, 800_002, "Bob", "blaiserie", locale="en")
    await order(session, alice, cycle.id, {"TOM-ANC": 6, "RAD-BOT": 1}, clock())
    clock.advance(minutes=5)
    await order(session, bob, cycle.id, {"TOM-ANC": 5}, clock())
    await marie.send("seulement 8 tomates anciennes")
    preview = marie.last_message
    assert "Vous avez déjà vendu plus que cela" in preview.text
    assert "8 au lieu des 11\xa0kg commandés" in preview.text
    await marie.press("Confirmer le manque")
    assert "Manque enregistré" in marie.last_message.text
    assert "1 commande modifiée" in marie.last_message.text
    assert await offered(session, cycle.id, "TOM-ANC") == (8, 8)
    # First confirmed, first served: Alice keeps her 6 kg, Bob gets 2 of his 5, and is told.
    assert not any("⚠️" in (m.text or "") for m in alice_chat.messages)
    assert "5\xa0kg → 2\xa0kg" in bob_chat.last_message.text
    await check_invariants(session)


async def test_a_stock_below_what_is_sold_can_become_a_shortage(farm, session, sandbox, clock):
    marie, cycle = farm["marie"], farm["cycle"]
    alice, alice_chat = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    await order(session, alice, cycle.id, {"RAD-BOT": 4}, clock())
    await marie.send("radis 2, tomates anciennes 15")
    preview = marie.last_message
    assert "déjà acheté 4\xa0bottes" in preview.text
    await marie.press("J’en ai moins que vendu")
    text = marie.last_message.text
    assert "2 au lieu des 4\xa0bottes commandés" in text
    assert "Pas enregistré : « Tomates anciennes »" in text
    await marie.press("Confirmer le manque")
    assert await offered(session, cycle.id, "RAD-BOT") == (2, 2)
    assert "4\xa0bottes → 2\xa0bottes" in alice_chat.last_message.text


async def test_last_week_is_what_was_offered_not_what_a_shortage_left(
    farm, session, sandbox, clock
):
    marie, cycle = farm["marie"], farm["cycle"]
    alice, _alice = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    await order(session, alice, cycle.id, {"RAD-BOT": 10}, clock())
    await marie.send("tout à zéro")
    await marie.press("Valider")
    await marie.send("radis 30")
    await marie.press("Valider")
    await marie.send("/manque seulement 6 radis")
    await marie.press("Confirmer le manque")
    assert await offered(session, cycle.id, "RAD-BOT") == (6, 6)
    following = await create_cycle(
        session,
        opens_at=clock() + timedelta(days=6),
        closes_at=clock() + timedelta(days=7),
        pickup_starts_at=clock() + timedelta(days=9),
        pickup_ends_at=clock() + timedelta(days=9, hours=2),
    )
    await session.commit()
    await close_cycle(session, cycle.id, clock())
    await marie.send("/stock")
    assert "Radis — semaine dernière : 30\xa0bottes" in marie.last_message.text
    await marie.send("pareil que la semaine dernière")
    assert "Radis : 0 → 30\xa0bottes" in marie.last_message.text
    await marie.press("Valider")
    assert (await offered(session, following.id, "RAD-BOT"))[0] == 30


# ---------------------------------------------------------------------------- 8. previews explain


async def test_a_conversion_is_shown(farm, session):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("12 kg de tomates cerises, 3 kg d'échalotes, radis 5")
    text = marie.last_message.text
    assert "Tomates cerises : 20 → 48\xa0barquettes (12 kg → 48\xa0barquettes de 250\xa0g)" in text
    assert "Échalotes : 20 → 6\xa0sachets (3 kg → 6\xa0sachets de 500\xa0g)" in text
    assert "Radis : 20 → 5\xa0bottes\n" in text  # no conversion, nothing added
    await marie.press("Valider")
    assert (await offered(session, cycle.id, "TOM-CER"))[0] == 48


# ---------------------------------------------------------------------------- 6. nudges


async def test_one_nudge_to_a_producer_without_stock(app, sandbox, session, clock):
    from handlers import cycle_run
    from tests.conftest import ADMIN_TELEGRAM_ID
    from tests.factories import load_demo_network

    await load_demo_network(session)
    await link(session, stock_tests.MARIE, "jardins-lusignan", name="Marie")
    await link(session, stock_tests.JEAN, "ferme-grand-pre", name="Jean", locale="en")
    marie = sandbox.user("Marie", language="fr", user_id=stock_tests.MARIE)
    jean = sandbox.user("Jean", language="en", user_id=stock_tests.JEAN)
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await cycle_run.run_due_work(app)  # Saturday: planned
    clock.set(datetime(2026, 12, 11, 12, 0, tzinfo=PARIS))
    await cycle_run.run_due_work(app)  # Friday noon: open, producers prompted
    assert "Qu’avez-vous à proposer" in marie.last_message.text
    await marie.send("tomates anciennes 12 kg")
    await marie.press("Valider")
    await admin.send("/cycle")
    assert "Ferme du Grand Pré" in admin.last_message.text
    assert "Les Jardins de la Vonne" not in admin.last_message.text.split("Pas encore de stock")[1]
    # Not yet 24 h after the prompt: nobody is nudged.
    clock.set(datetime(2026, 12, 12, 11, 0, tzinfo=PARIS))
    await cycle_run.run_due_work(app)
    nudge = english(
        "Vous ne m’avez pas encore donné votre stock, et les commandes ferment le {moment}. "
        "Répondez en un message, par exemple « tomates 12 kg, plus de radis », ou "
        "« pareil que la semaine dernière », ou « rien cette semaine »."
    ).split("{moment}")[0]
    assert not any(nudge in (m.text or "") for m in jean.messages)
    clock.set(datetime(2026, 12, 12, 12, 30, tzinfo=PARIS))
    count = len(marie.messages)
    await cycle_run.run_due_work(app)
    assert nudge in jean.last_message.text
    assert len(marie.messages) == count  # she gave her stock
    # Once per cycle.
    clock.advance(hours=5)
    await cycle_run.run_due_work(app)
    assert sum(nudge in (m.text or "") for m in jean.messages) == 1
    # Jean answers from the nudge: he is off the admin's list.
    await jean.send("oeufs 10")
    await jean.press(english("✅ Valider"))
    await admin.send("/cycle")
    assert "Ferme du Grand Pré" not in admin.last_message.text


# ---------------------------------------------------------------------------- 5. prices by message


async def test_a_price_by_message_applies_now_or_from_next_cycle(
    farm, session, sandbox, app, clock
):
    from handlers import cycle_run
    from models import PriceChange, PriceChangeStatus, Product

    marie, cycle = farm["marie"], farm["cycle"]

    async def price(sku: str) -> int:
        value = await session.scalar(
            select(Product.price_cents)
            .where(Product.sku == sku)
            .execution_options(populate_existing=True)
        )
        await session.commit()
        return value

    # Nothing ordered yet: at once, and the audit trail keeps old and new.
    await marie.send("tomates anciennes 5,80 le kilo")
    preview = marie.last_message
    assert "Tomates anciennes : 4,80\xa0€ le kg → 5,80\xa0€ le kg" in preview.text
    assert "tout de suite" in preview.text
    assert await price("TOM-ANC") == 480  # nothing before the tap
    confirm = await marie.press("Confirmer le prix")
    assert "dès maintenant" in marie.last_message.text
    assert await price("TOM-ANC") == 580
    # Pressed again (a double tap, or after a restart): said to be recorded, nothing changes.
    await marie.press_data(confirm.data, message=preview)
    assert "Ce prix est déjà enregistré" in marie.last_message.text
    assert "dès maintenant" in marie.last_message.text
    assert await price("TOM-ANC") == 580
    change = await session.scalar(select(PriceChange).where(PriceChange.status == "applied"))
    assert (change.old_price_cents, change.new_price_cents) == (480, 580)
    await session.commit()
    # A kilo price of a product sold by 250 g barquettes is converted.
    await marie.send("tomates cerises 12 € le kilo")
    assert "(12,00\xa0€ le kg → 3,00\xa0€ la barquette de 250\xa0g)" in marie.last_message.text
    await marie.press("Annuler")
    assert await price("TOM-CER") == 320
    # Ordered at the old price: from the next cycle, and the preview says so.
    alice, _alice = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    await order(session, alice, cycle.id, {"RAD-BOT": 2}, clock())
    await marie.send("radis 1,80 € la botte")
    assert "à partir du prochain cycle : 1 commande" in marie.last_message.text
    await marie.press("Confirmer le prix")
    assert "à partir du prochain cycle" in marie.last_message.text
    assert await price("RAD-BOT") == 150
    status = await session.scalar(
        select(PriceChange.status).where(PriceChange.new_price_cents == 180)
    )
    assert status == PriceChangeStatus.SCHEDULED
    await session.commit()
    await cycle_run.close_and_dispatch(app, cycle.id)
    assert await price("RAD-BOT") == 180
    # Bad prices are refused politely; /prix lists them.
    await marie.send("radis 99999999999 €")
    assert "Ce prix n’est pas possible pour Radis" in marie.last_message.text
    await marie.send("radis 3 € le kilo")
    assert "ne se vend pas au poids" in marie.last_message.text
    await marie.send("/prix")
    assert "Radis : 1,80\xa0€ la botte" in marie.last_message.text
