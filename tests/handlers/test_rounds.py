"""Collection rounds through the sandbox: a driver joins, the demo network's close plans the
round (with its picture), the driver ticks the stops, one reported short, its consumers told."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from handlers import cycle_run
from models import CollectionRound, Member, OutboxMessage, Producer, RoundStop, StopStatus
from models.outbox import Kind, must_arrive
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network, open_cycle_with_stock
from tests.handlers.test_producer_stock import consumer, english, offered, order
from tests.invariants import check_invariants

pytestmark = pytest.mark.database

PARIS = ZoneInfo("Europe/Paris")
DRIVER = 700_001


async def test_the_close_plans_a_round_that_the_driver_ticks(app, sandbox, session, clock):
    await load_demo_network(session)
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    paul = sandbox.user("Paul", language="fr", user_id=DRIVER)
    # The admin invites a driver; the link works once.
    await admin.send("/invite_chauffeur")
    link = admin.last_message.text.split("start=")[1].split()[0]
    await paul.send(f"/start {link}")
    assert "chauffeur de la tournée" in paul.last_message.text
    intruder = sandbox.user("Zoé", language="fr", user_id=700_002)
    await intruder.send(f"/start {link}")
    assert "déjà servi" in intruder.last_message.text

    cycle = await open_cycle_with_stock(session, datetime(2026, 12, 4, 12, tzinfo=PARIS))
    alice, alice_chat = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    bob, bob_chat = await consumer(session, sandbox, 800_002, "Bob", "blaiserie", locale="en")
    # Alice confirmed first: she keeps her chickens; Bob's come off.
    await order(session, alice, cycle.id, {"POU-ENT": 2, "TOM-ANC": 1}, clock())
    clock.advance(minutes=5)
    await order(session, bob, cycle.id, {"POU-ENT": 2, "CHA-AOP": 1, "MIE-ACA": 1}, clock())
    # Élevage des Brandes delivers to the depot itself: never a stop.
    await order(session, bob, cycle.id, {"BOE-ROT": 1}, clock())
    await cycle_run.close_and_dispatch(app, cycle.id)

    rounds = list(await session.scalars(select(CollectionRound)))
    stops = list(
        await session.scalars(select(RoundStop).join(Producer).order_by(RoundStop.position))
    )
    farms = {
        stop.producer_id: slug
        for stop, slug in (
            await session.execute(select(RoundStop, Producer.slug).join(Producer))
        ).all()
    }
    await session.commit()
    assert len(rounds) == 1
    assert sorted(farms.values()) == [
        "chevrerie-chauvigny",
        "ferme-grand-pre",
        "jardins-lusignan",
        "rucher-saint-benoit",
    ]
    assert rounds[0].distance_m < rounds[0].direct_m
    # The round: numbered stops, a map link each, what to load; the picture comes with it.
    texts = "\n".join(m.text or "" for m in paul.messages).replace("\xa0", " ")
    assert "🚚 Tournée 1 — 4 arrêts" in texts
    assert "4. Ferme du Grand Pré — Vouillé · 2 kg" in texts
    links = [e.get("url", "") for m in paul.messages for e in m.entities]
    assert any(
        url.startswith("https://www.openstreetmap.org/?mlat=46.64030&mlon=0.16580") for url in links
    )
    assert "Poulet fermier entier × 4 pièces" in texts
    assert "Rôti" not in texts
    picture = [m for m in paul.messages if m.document is not None]
    assert len(picture) == 1
    assert picture[0].document.content.startswith(b"\x89PNG")
    assert must_arrive(Kind.COLLECTION_ROUND)
    # The admins' summary compares the kilometres.
    summary = next(m.text for m in admin.messages if "clôturé" in (m.text or ""))
    assert "au lieu de" in summary
    assert "si chacune venait au dépôt" in summary

    # The driver ticks the stops: one collected, the chicken farm two chickens short.
    checklist = paul.last_message
    assert "⬜ 1." in checklist.text
    await paul.press("✅ 1. Collecté")
    assert "✅ 1." in paul.last_message.text
    first = next(s for s in stops if s.position == 1)
    await paul.press_data(f"rnd:df:{first.id}")  # "Différence" from a checklist shown before
    assert "déjà noté collecté, rien n’a changé" in paul.last_message.text
    chicken_stop = next(s for s in stops if farms[s.producer_id] == "ferme-grand-pre")
    number = chicken_stop.position
    await paul.press(f"⚠️ {number}. Différence")
    await paul.press("➖ Poulet fermier entier")
    minus = (await paul.press("➖ Poulet fermier entier")).data
    assert "à charger, il en manque 2 pièces" in paul.last_message.text.replace("\xa0", " ")
    confirm = (await paul.press("✅ Confirmer le manque")).data
    assert "manque enregistré" in paul.last_message.text
    assert f"⚠️ {number}." in paul.last_message.text
    assert await offered(session, cycle.id, "POU-ENT") == (2, 2)
    # Pressed again (a double tap, the count's screen shown on another phone): what was
    # recorded, nothing changed, nobody told twice.
    told_before = len(bob_chat.messages)
    for again in (confirm, minus):
        await paul.press_data(again)
        assert "ce manque est déjà enregistré, rien n’a changé" in paul.last_message.text
        assert "plus valable" not in paul.last_message.text
        assert f"⚠️ {number}." in paul.last_message.text  # the checklist as it is
    assert await offered(session, cycle.id, "POU-ENT") == (2, 2)
    assert len(bob_chat.messages) == told_before
    # Bob confirmed last: his chickens are gone, and he is told in English.
    told = bob_chat.last_message.text
    assert "Poulet fermier entier" in told or "chicken" in told.lower()
    assert english("Toutes nos excuses, ce sont les aléas des récoltes.") in told
    assert not any("ne pourra pas livrer" in (m.text or "") for m in alice_chat.messages)
    # A second close pass plans nothing again and sends nothing again.
    before = len(paul.messages)
    await cycle_run.dispatch_close(app, cycle.id)
    assert len(paul.messages) == before
    assert len(list(await session.scalars(select(CollectionRound)))) == 1
    status = await session.scalar(select(RoundStop.status).where(RoundStop.id == chicken_stop.id))
    assert status == StopStatus.SHORT
    await session.commit()
    await check_invariants(session)
    # Someone who is not the driver cannot tick a stop: told the button does nothing.
    pending = next(s for s in stops if s.position not in (1, number))
    await intruder.press_data(f"rnd:ok:{pending.id}")
    assert "plus valable" in intruder.last_message.text
    status = await session.scalar(select(RoundStop.status).where(RoundStop.id == pending.id))
    assert status == StopStatus.PENDING
    assert await session.scalar(select(Member.is_driver).where(Member.telegram_id == DRIVER))
    rows = await session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == Kind.COLLECTION_ROUND)
    )
    await session.commit()
    assert rows == 3  # the round's text, the checklist, the picture


async def test_two_closes_at_once_plan_the_rounds_once(app, sandbox, session, sessions, clock):
    """Two admins (or two workers) dispatch the same close at the same moment: one writes the
    rounds, the other reads them; no duplicate and no error."""
    from models.rounds import plan_rounds

    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, datetime(2026, 12, 4, 12, tzinfo=PARIS))
    alice, _chat = await consumer(session, sandbox, 800_001, "Alice", "halle-centrale")
    await order(session, alice, cycle.id, {"POU-ENT": 2, "CHA-AOP": 1}, clock())
    settings = app.bot_data["services"].rounds

    async def plan_in_own_session():
        async with sessions() as own:
            plan = await plan_rounds(own, cycle.id, settings)
            return [(r.vehicle, r.distance_m) for r in plan.rounds]

    first, second = await asyncio.gather(plan_in_own_session(), plan_in_own_session())
    assert first == second
    count = await session.scalar(select(func.count(CollectionRound.id)))
    await session.commit()
    assert count == len(first) == 1
