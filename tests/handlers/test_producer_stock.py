"""Producers through the sandbox: joining, stock by message, the weekly prompt, purchase orders
and shortages, read as a person sees them."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from handlers.cycle_run import announce_open, dispatch_close
from handlers.i18n import _, format_price, use_locale
from models import Cycle, Member, Offer, Order, Producer, Product, StockUpdate, StockUpdateStatus
from models.closing import close_cycle
from models.cycles import create_cycle
from models.ordering import add_to_basket, confirm_order
from models.outbox import Kind, cycle_topic, sent_count
from models.pickup_point import PickupPoint
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network, make_member, open_cycle_with_stock
from tests.invariants import check_invariants

MARIE = 700_001  # Les Jardins de la Vonne
JEAN = 700_002  # Ferme du Grand Pré


def english(message: str) -> str:
    """What the English catalog says for a French message (French until it is translated)."""
    with use_locale("en"):
        return _(message)


def buttons(message) -> list[str]:
    return [text for row in message.buttons for text in row]


async def link(session, telegram_id: int, slug: str, *, name: str, locale: str = "fr") -> Member:
    member = await make_member(session, telegram_id, name=name, locale=locale)
    producer = await session.scalar(select(Producer).where(Producer.slug == slug))
    member.producer_id = producer.id
    await session.commit()
    return member


async def offered(session, cycle_id: int, sku: str) -> tuple[Decimal, Decimal]:
    row = (
        await session.execute(
            select(Offer.offered, Offer.ordered)
            .join(Product, Offer.product_id == Product.id)
            .where(Offer.cycle_id == cycle_id, Product.sku == sku)
            .execution_options(populate_existing=True)
        )
    ).one()
    await session.commit()  # end the read: the next one sees what the bot wrote since
    return row[0], row[1]


async def product_id(session, sku: str) -> int:
    return await session.scalar(select(Product.id).where(Product.sku == sku))


@pytest.fixture
async def farm(app, sandbox, session, clock):
    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    await link(session, MARIE, "jardins-lusignan", name="Marie")
    marie = sandbox.user("Marie", language="fr", user_id=MARIE)
    return {"cycle": cycle, "marie": marie}


async def consumer(session, sandbox, telegram_id: int, name: str, point_slug: str, locale="fr"):
    point = await session.scalar(select(PickupPoint).where(PickupPoint.slug == point_slug))
    member = await make_member(session, telegram_id, pickup=point, name=name, locale=locale)
    person = sandbox.user(name, language=locale, user_id=telegram_id)
    return member, person


async def order(session, member, cycle_id, items: dict[str, Decimal | int], now) -> None:
    for sku, quantity in items.items():
        await add_to_basket(
            session, member, cycle_id, await product_id(session, sku), Decimal(quantity), now
        )
    await confirm_order(session, member, cycle_id, now)
    await session.commit()


# ---------------------------------------------------------------------------- joining


async def test_invitation_link_links_a_producer_once(app, sandbox, session):
    await load_demo_network(session)
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/invite_producteur")
    assert "jardins-lusignan" in admin.last_message.text
    await admin.send("/invite_producteur jardins-lusignan")
    text = admin.last_message.text
    assert "Les Jardins de la Vonne" in text
    code = re.search(r"https://t\.me/desserte_bot\?start=(f-[0-9a-f]+)", text).group(1)
    # Asking again before use shows the same link.
    await admin.send("/invite_producer jardins-lusignan")
    assert code in admin.last_message.text

    marie = sandbox.user("Marie", language="fr")
    await marie.send(f"/start {code}")
    assert "Bienvenue Marie" in marie.last_message.text
    assert "relié aux Jardins de la Vonne." in marie.last_message.text
    assert "/produits" in marie.last_message.text

    thief = sandbox.user("Paul", language="en")
    await thief.send(f"/start {code}")
    refusal = english(
        "Ce lien d’invitation producteur a déjà servi ou n’est plus valable. "
        "Demandez-en un nouveau à l’équipe du réseau."
    )
    assert refusal in thief.last_message.text
    await thief.send("/start f-nimportequoi")
    assert refusal in thief.last_message.text
    members = {
        m.first_name: m.producer_id
        for m in await session.scalars(select(Member).execution_options(populate_existing=True))
    }
    assert members["Marie"] is not None
    assert members["Paul"] is None
    await session.commit()

    # A new link is a new code; a second person of the farm can join with it.
    await admin.send("/invite_producteur jardins-lusignan")
    second = re.search(r"start=(f-[0-9a-f]+)", admin.last_message.text).group(1)
    assert second != code
    luc = sandbox.user("Luc", language="fr")
    await luc.send(f"/start {second}")
    assert "Bienvenue Luc" in luc.last_message.text


async def test_only_admins_invite_producers(app, sandbox, session):
    await load_demo_network(session)
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/invite_producteur jardins-lusignan")
    assert "réservée à l’équipe qui anime le réseau" in alice.last_message.text
    assert "t.me" not in alice.last_message.text


# ---------------------------------------------------------------------------- stock messages


async def test_whole_week_in_one_message_and_one_tap(farm, session):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send(
        "Bonjour ! tomates anciennes 12 kg, 24 barquettes de tomates cerises, "
        "30 bottes de radis, plus de poireaux, 40 batavias"
    )
    preview = marie.last_message
    assert "Tomates anciennes : 20 → 12\xa0kg" in preview.text
    assert "Tomates cerises : 20 → 24\xa0barquettes" in preview.text
    assert "Radis : 20 → 30\xa0bottes" in preview.text
    assert "Poireaux : 20 → 0\xa0botte" in preview.text
    assert "Salade batavia : 20 → 40\xa0pièces" in preview.text
    assert buttons(preview) == ["✅ Valider", "✏️ Corriger", "❌ Annuler"]
    # Nothing changes before the tap.
    assert await offered(session, cycle.id, "TOM-ANC") == (20, 0)

    count = len(marie.messages)
    await marie.press("Valider")
    assert len(marie.messages) == count  # edited in place
    assert "Stock enregistré" in marie.last_message.text
    expected = {"TOM-ANC": 12, "TOM-CER": 24, "RAD-BOT": 30, "POI-BOT": 0, "SAL-BAT": 40}
    for sku, quantity in expected.items():
        assert (await offered(session, cycle.id, sku))[0] == quantity
    stock_update = await session.scalar(
        select(StockUpdate).execution_options(populate_existing=True)
    )
    assert stock_update.status == StockUpdateStatus.APPLIED
    assert {u["sku"]: (u["before"], u["after"]) for u in stock_update.applied}["TOM-ANC"] == (
        "20",
        "12",
    )
    await session.commit()
    # The button is spent: pressing it again (a double tap, or a press after the process died
    # once the update was committed) changes nothing and says what was recorded.
    await marie.press_data(f"stk:ok:{stock_update.id}", message=marie.last_message)
    again = marie.last_message.text
    assert "Ce stock est déjà enregistré" in again
    assert "Tomates anciennes : 20 → 12\xa0kg" in again
    assert "Poireaux : 20 → 0\xa0botte" in again
    assert (await offered(session, cycle.id, "TOM-ANC")) == (12, 0)
    await session.commit()
    # Once undone, the update's Valider is stale: nothing of it is recorded any more.
    await marie.send("/defaire")
    assert "Dernière mise à jour annulée" in marie.last_message.text
    await marie.press_data(f"stk:ok:{stock_update.id}", message=marie.last_message)
    assert "plus valable" in marie.last_message.text  # said once the press was answered
    assert (await offered(session, cycle.id, "TOM-ANC")) == (20, 0)
    await check_invariants(session)


async def test_ambiguous_name_resolved_by_a_button(farm, session):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("35 salades, 10 kg de navets, 20 kg de radis")
    preview = marie.last_message
    assert "« salades »" in preview.text
    assert "navets" in preview.text  # unknown
    assert "20 kg de radis" in preview.text  # not convertible: asked about
    assert "✅ Valider" not in buttons(preview)  # nothing to apply yet
    await marie.press("salades → Salade batavia")
    preview = marie.last_message
    assert "Salade batavia : 20 → 35\xa0pièces" in preview.text
    assert "de quel produit" not in preview.text
    await marie.press("Valider")
    assert (await offered(session, cycle.id, "SAL-BAT"))[0] == 35
    assert (await offered(session, cycle.id, "SAL-FCH"))[0] == 20
    assert (await offered(session, cycle.id, "RAD-BOT"))[0] == 20


async def test_correct_and_cancel_change_nothing(farm, session):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("tomates anciennes 3 kg")
    await marie.press("Corriger")
    assert "message corrigé" in marie.last_message.text
    await marie.send("tomates anciennes 5 kg")
    await marie.press("Annuler")
    assert "n’a pas changé" in marie.last_message.text
    assert (await offered(session, cycle.id, "TOM-ANC"))[0] == 20


async def test_undo_the_last_update(farm, session):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("/annuler_stock")
    assert "pas de mise à jour" in marie.last_message.text
    await marie.send("tomates anciennes 12 kg, +5 radis")
    await marie.press("Valider")
    assert await offered(session, cycle.id, "RAD-BOT") == (25, 0)
    await marie.send("annuler la dernière mise à jour")
    assert "Dernière mise à jour annulée" in marie.last_message.text
    assert "Tomates anciennes : 12 → 20\xa0kg" in marie.last_message.text
    assert await offered(session, cycle.id, "TOM-ANC") == (20, 0)
    assert await offered(session, cycle.id, "RAD-BOT") == (20, 0)
    await marie.send("/annuler_stock")
    assert "pas de mise à jour" in marie.last_message.text


async def test_stock_never_drops_below_what_is_ordered(farm, session, sandbox, clock):
    marie, cycle = farm["marie"], farm["cycle"]
    alice, _person = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    await order(session, alice, cycle.id, {"TOM-ANC": 3}, clock())
    await marie.send("plus de tomates anciennes")
    assert "Tomates anciennes : 20 → 3\xa0kg (déjà commandé : 3)" in marie.last_message.text
    assert "déjà acheté 3\xa0kg" in marie.last_message.text
    await marie.press("Valider")
    assert await offered(session, cycle.id, "TOM-ANC") == (3, 3)
    # A consumer ordering between the preview and the tap is never oversold.
    await marie.send("tomates cerises 2 barquettes")
    bob, _person = await consumer(session, sandbox, 800_002, "Bob", "halle-centrale")
    await order(session, bob, cycle.id, {"TOM-CER": 5}, clock())
    await marie.press("Valider")
    assert "déjà acheté 5\xa0barquettes" in marie.last_message.text
    assert await offered(session, cycle.id, "TOM-CER") == (5, 5)
    await check_invariants(session)


async def test_a_consumer_never_gets_a_stock_preview(farm, session, sandbox):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("tomates anciennes 12 kg")
    assert "Valider" not in buttons(alice.last_message)
    assert "Votre stock" not in alice.last_message.text
    assert await session.scalar(select(StockUpdate.id)) is None
    assert await offered(session, farm["cycle"].id, "TOM-ANC") == (20, 0)


async def test_another_farm_cannot_touch_these_products(farm, session, sandbox):
    marie, cycle = farm["marie"], farm["cycle"]
    await link(session, JEAN, "ferme-grand-pre", name="Jean")
    jean = sandbox.user("Jean", language="fr", user_id=JEAN)
    # Jean's message naming Marie's products is not a stock update for him.
    await jean.send("tomates anciennes 2 kg")
    assert "Votre stock" not in jean.last_message.text
    await marie.send("tomates anciennes 2 kg, 20 salades")
    update_id = await session.scalar(
        select(StockUpdate.id).where(StockUpdate.status == StockUpdateStatus.PENDING)
    )
    await session.commit()
    for forged in (
        f"stk:ok:{update_id}",
        f"stk:pick:{update_id}:0:0",
        f"stk:no:{update_id}",
        "stk:ok:abc",
        f"stk:ok:{update_id}:9",
    ):
        await jean.press_data(forged, message=jean.last_message)
        # Malformed data is refused in the answer; someone else's update once answered.
        said = jean.answers[-1].text or jean.last_message.text
        assert "plus valable" in said, forged
    assert await offered(session, cycle.id, "TOM-ANC") == (20, 0)
    # Marie's preview still works.
    await marie.press("salades → Salade feuille de chêne")
    await marie.press("Valider")
    assert (await offered(session, cycle.id, "TOM-ANC"))[0] == 2


async def test_my_products_shows_offer_and_orders(farm, session, sandbox, clock):
    marie, cycle = farm["marie"], farm["cycle"]
    alice, _person = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    await order(session, alice, cycle.id, {"RAD-BOT": 2}, clock())
    await marie.send("/mes_produits")
    text = marie.last_message.text
    assert "Les Jardins de la Vonne" in text
    assert "Radis — proposé : 20\xa0bottes · commandé : 2\xa0bottes · reste : 18\xa0bottes" in text
    english_user = sandbox.user("Eve", language="en", user_id=700_009)
    await link(session, 700_009, "jardins-lusignan", name="Eve", locale="en")
    await english_user.send("/my_products")
    assert (
        english("Pour changer votre stock, écrivez-le simplement, par exemple « tomates 12 kg ».")
        in english_user.last_message.text
    )


# ---------------------------------------------------------------------------- weekly prompt


async def test_weekly_prompt_and_same_stock_as_last_week(farm, session, app, clock):
    marie, cycle = farm["marie"], farm["cycle"]
    await marie.send("tomates anciennes 12 kg, radis 7")
    await marie.press("Valider")
    # The scheduler plans next week and prompts producers.
    closes_at = clock() + timedelta(days=7)
    following = await create_cycle(
        session,
        opens_at=clock() + timedelta(days=6),
        closes_at=closes_at,
        pickup_starts_at=closes_at + timedelta(days=2),
        pickup_ends_at=closes_at + timedelta(days=2, hours=2),
    )
    await session.commit()
    await close_cycle(session, cycle.id, clock())
    await announce_open(app, following.id)
    assert await sent_count(session, cycle_topic(following.id), Kind.STOCK_PROMPT) >= 1
    # Marie also buys: the opening announcement reaches her beside the prompt.
    prompt = next(m for m in reversed(marie.messages) if "semaine dernière" in (m.text or ""))
    assert "Tomates anciennes — semaine dernière : 12\xa0kg" in prompt.text
    assert "Radis — semaine dernière : 7\xa0bottes" in prompt.text
    # While the prompt is pending any message is read as stock (no consumer search).
    await marie.send("bonjour")
    assert "aucune quantité" in marie.last_message.text
    await marie.press("Annuler")
    await marie.press("Même stock que la semaine dernière", message=prompt)
    assert "Tomates anciennes : 0 → 12\xa0kg" in prompt.text  # the prompt became the preview
    await marie.press("Valider")
    assert (await offered(session, following.id, "TOM-ANC"))[0] == 12
    assert (await offered(session, following.id, "RAD-BOT"))[0] == 7
    # Answered: a message naming no product goes back to the search.
    await marie.send("bonjour")
    assert "aucune quantité" not in marie.last_message.text


async def test_stock_command_prompts_on_demand(farm):
    marie = farm["marie"]
    await marie.send("/stock")
    assert "Qu’avez-vous à proposer" in marie.last_message.text
    alice_text = "réservée aux producteurs"
    await marie.send("/manque")
    assert alice_text not in marie.last_message.text


# ---------------------------------------------------------------------------- close


async def test_purchase_order_at_close_with_csv(farm, session, sandbox, app, clock):
    cycle = farm["cycle"]
    await link(session, 700_009, "jardins-lusignan", name="Eve", locale="en")
    eve = sandbox.user("Eve", language="en", user_id=700_009)
    alice, _a = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    bob, _b = await consumer(session, sandbox, 800_002, "Bob", "blaiserie")
    carl, _c = await consumer(session, sandbox, 800_003, "Carl", "halle-centrale")
    await order(session, alice, cycle.id, {"TOM-ANC": 2, "RAD-BOT": 2, "OEU-6": 1}, clock())
    await order(session, bob, cycle.id, {"TOM-ANC": 2}, clock())
    await order(session, carl, cycle.id, {"TOM-ANC": 1}, clock())
    dan, _d = await consumer(session, sandbox, 800_004, "Dan", "halle-centrale")
    radishes = await product_id(session, "RAD-BOT")
    await add_to_basket(session, dan, cycle.id, radishes, Decimal(5), clock())
    await close_cycle(session, cycle.id, clock())  # Dan's unconfirmed basket is dropped

    await dispatch_close(app, cycle.id)
    sent = await sent_count(session, cycle_topic(cycle.id), Kind.PURCHASE_ORDER)
    assert sent == 2  # Marie and Eve (the egg farm has no one linked)
    marie = farm["marie"]
    text = marie.messages[-2].text
    assert "Bon de commande — Les Jardins de la Vonne" in text
    assert "La Desserte — halle centrale" in text
    assert "Centre socioculturel de la Blaiserie" in text
    assert "• Tomates anciennes : 5\xa0kg — 24,00\xa0€" in text
    assert "Œufs" not in text
    document = marie.last_message.document
    assert document.file_name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(document.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:7] == [
        "Producteur",
        "Date de livraison",
        "Point de retrait",
        "Référence",
        "Produit",
        "Unité",
        "Quantité",
    ]
    rows = [r[2:] for r in rows]
    by_point = {(r[0], r[1]): r for r in rows[1:]}
    assert by_point[("La Desserte — halle centrale", "TOM-ANC")][4] == "3"
    assert by_point[("Centre socioculturel de la Blaiserie", "TOM-ANC")][4] == "2"
    assert by_point[("La Desserte — halle centrale", "RAD-BOT")][4] == "2"
    assert by_point[("TOTAL", "TOM-ANC")][4] == "5"
    assert by_point[("TOTAL", "TOM-ANC")][6] == "24,00"
    # Eve reads hers in English, with an English CSV.
    title = english("📦 <b>Bon de commande — {producer}</b>").format(producer="Les")
    assert re.sub("<[^>]+>", "", title) in eve.messages[-2].text
    rows = list(csv.reader(io.StringIO(eve.last_message.document.content.decode("utf-8-sig"))))
    assert rows[0][2] == english("Point de retrait")
    assert any(r[3] == "TOM-ANC" and r[6] == "5" for r in rows)


async def test_shortage_after_close_first_confirmed_first_served(
    farm, session, sandbox, app, clock
):
    cycle = farm["cycle"]
    marie = farm["marie"]
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    alice, alice_chat = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    bob, bob_chat = await consumer(session, sandbox, 800_002, "Bob", "blaiserie", locale="en")
    carl, carl_chat = await consumer(session, sandbox, 800_003, "Carl", "halle-centrale")
    alice_id, bob_id, carl_id = alice.id, bob.id, carl.id
    await order(session, alice, cycle.id, {"TOM-ANC": 4, "RAD-BOT": 1}, clock())
    clock.advance(minutes=5)
    await order(session, bob, cycle.id, {"TOM-ANC": 3, "RAD-BOT": 1}, clock())
    clock.advance(minutes=5)
    await order(session, carl, cycle.id, {"TOM-ANC": 5, "RAD-BOT": 2}, clock())
    clock.advance(days=4)
    await close_cycle(session, cycle.id, clock())

    await marie.send("seulement 6 tomates anciennes")
    preview = marie.last_message
    assert "6 au lieu des 12\xa0kg commandés" in preview.text
    await marie.press("Confirmer le manque")
    assert "Manque enregistré" in marie.last_message.text
    assert "2 commandes modifiées" in marie.last_message.text

    lines = {
        o.member_id: (o.total_cents, {ln.product_id: ln.quantity for ln in o.lines})
        for o in await session.scalars(
            select(Order)
            .options(selectinload(Order.lines))
            .execution_options(populate_existing=True)
        )
    }
    tom = await product_id(session, "TOM-ANC")
    rad = await product_id(session, "RAD-BOT")
    assert lines[alice_id][1] == {tom: 4, rad: 1}
    assert lines[bob_id][1] == {tom: 2, rad: 1}
    assert lines[carl_id][1] == {rad: 2}
    assert await offered(session, cycle.id, "TOM-ANC") == (6, 6)
    await check_invariants(session)

    assert "Alice" not in [m.text for m in alice_chat.messages if "⚠️" in (m.text or "")]
    assert not any("⚠️" in (m.text or "") for m in alice_chat.messages)
    assert "Tomates anciennes : 5\xa0kg → retiré" in carl_chat.last_message.text
    assert "Nouveau total de votre commande" in carl_chat.last_message.text
    assert "3\xa0kg → 2\xa0kg" in bob_chat.last_message.text
    with use_locale("en"):
        assert format_price(lines[bob_id][0]) in bob_chat.last_message.text
    assert "Nouveau total" not in bob_chat.last_message.text or english(
        "Nouveau total de votre commande : {total} (au lieu de {before})."
    ).startswith("Nouveau")
    assert "Manque signalé par" in admin.last_message.text
    assert "Les Jardins de la Vonne" in admin.last_message.text


async def test_shortage_command_and_next_week_stock(farm, session, sandbox, app, clock):
    cycle = farm["cycle"]
    marie = farm["marie"]
    alice, _alice = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    await order(session, alice, cycle.id, {"RAD-BOT": 4}, clock())
    closes_at = clock() + timedelta(days=9)
    following = await create_cycle(
        session,
        opens_at=clock() + timedelta(days=6),
        closes_at=closes_at,
        pickup_starts_at=closes_at + timedelta(days=2),
        pickup_ends_at=closes_at + timedelta(days=2, hours=2),
    )
    await session.commit()
    await close_cycle(session, cycle.id, clock())
    await marie.send("/manque")
    assert "Radis : 4\xa0bottes" in marie.last_message.text
    # "radis 2" after close is less than ordered: a shortage… or next week's stock.
    await marie.send("radis 2")
    assert "2 au lieu des 4\xa0bottes commandés" in marie.last_message.text
    await marie.press("stock de la semaine prochaine")
    assert "Radis : 0 → 2\xa0bottes" in marie.last_message.text
    await marie.press("Valider")
    assert (await offered(session, following.id, "RAD-BOT"))[0] == 2
    assert await offered(session, cycle.id, "RAD-BOT") == (20, 4)
    await marie.send("/manque radis 3")
    await marie.press("Confirmer le manque")
    assert await offered(session, cycle.id, "RAD-BOT") == (3, 3)
    cycle_id = cycle.id
    await check_invariants(session)
    state = await session.scalar(select(Cycle.state).where(Cycle.id == cycle_id))
    assert state.value == "closed"


async def test_moving_to_another_farm_is_asked_and_a_farm_left_alone_is_told(app, sandbox, session):
    """Marie, alone at Les Jardins de la Vonne, opens the Ferme du Grand Pré's invitation: she
    is asked first; "stay" keeps everything; "move" moves her and the admins hear that the
    Jardins have nobody to receive their orders."""
    await load_demo_network(session)
    marie_member = await link(session, MARIE, "jardins-lusignan", name="Marie")
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/invite_producteur ferme-grand-pre")
    code = re.search(r"start=(f-[0-9a-f]+)", admin.last_message.text).group(1)
    admin_before = len(admin.messages)
    marie = sandbox.user("Marie", language="fr", user_id=MARIE)

    async def farm_of_marie() -> str:
        slug = await session.scalar(
            select(Producer.slug)
            .join(Member, Member.producer_id == Producer.id)
            .where(Member.id == marie_member.id)
            .execution_options(populate_existing=True)
        )
        await session.commit()
        return slug

    await marie.send(f"/start {code}")
    question = marie.last_message
    assert "Votre compte est relié aux Jardins de la Vonne." in question.text
    assert "Passer à Ferme du Grand Pré ?" in question.text
    assert "Vous ne recevrez plus les commandes des Jardins de la Vonne." in question.text
    assert "(e)" not in question.text
    assert await farm_of_marie() == "jardins-lusignan"

    await marie.press("Rester avec Les Jardins de la Vonne")
    assert "votre compte reste relié aux Jardins de la Vonne." in marie.last_message.text
    assert await farm_of_marie() == "jardins-lusignan"

    # The invitation was not used: she can still change her mind.
    await marie.send(f"/start {code}")
    await marie.press("Passer à Ferme du Grand Pré")
    assert "Bienvenue Marie ! Votre compte est maintenant relié à Ferme du Grand Pré." in (
        marie.last_message.text
    )
    assert "(e)" not in marie.last_message.text
    assert await farm_of_marie() == "ferme-grand-pre"
    told = [m.text for m in admin.messages[admin_before:]]
    assert len(told) == 1, told
    assert "Les Jardins de la Vonne" in told[0]
    assert "plus personne" in told[0]
    assert "/invite_producteur jardins-lusignan" in told[0]

    # The same button pressed again (a double tap) moves nothing and tells no one again.
    await marie.press_data("pj:move:" + code.removeprefix("f-"))
    assert "déjà servi" in marie.last_message.text
    assert len(admin.messages) == admin_before + 1
