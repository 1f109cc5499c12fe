"""Open when there is something to buy: producers are asked first, consumers are told once the
catalog is ready (half the producers asked gave stock, or six hours after the opening), and an
admin's "open now" asks first. Through the sandbox, reading what people see."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers import cycle_run
from models import Producer
from models.cycles import create_cycle
from models.planning import open_now
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network, make_member

MARIE, SOPHIE = 710_001, 710_002


def told(user) -> bool:
    return any("commandes de la semaine sont ouvertes" in (m.text or "") for m in user.messages)


async def week(session, clock, *, planned_only: bool = False):
    """The demo network, two producers with a person each, a consumer, a planned cycle."""
    await load_demo_network(session)
    for telegram_id, slug, name in (
        (MARIE, "jardins-lusignan", "Marie"),
        (SOPHIE, "ferme-grand-pre", "Sophie"),
    ):
        member = await make_member(session, telegram_id, name=name)
        member.is_consumer = False
        member.producer_id = await session.scalar(select(Producer.id).where(Producer.slug == slug))
    await session.commit()
    now = clock()
    cycle = await create_cycle(
        session,
        opens_at=now + timedelta(minutes=1),
        closes_at=now + timedelta(days=4),
        pickup_starts_at=now + timedelta(days=5),
        pickup_ends_at=now + timedelta(days=5, hours=2),
    )
    await session.commit()
    return cycle


async def test_consumers_are_told_once_half_the_producers_gave_stock(app, sandbox, session, clock):
    cycle = await week(session, clock)
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    marie = sandbox.user("Marie", language="fr", user_id=MARIE)
    sophie = sandbox.user("Sophie", language="fr", user_id=SOPHIE)
    await open_now(session, cycle.id, clock())
    await cycle_run.announce_open(app, cycle.id)
    # The producers are asked; the consumers hear nothing of an empty catalog.
    assert "Qu’avez-vous à proposer" in marie.last_message.text
    assert "Qu’avez-vous à proposer" in sophie.last_message.text
    assert not told(alice)
    assert (await cycle_run.run_due_work(app)).announced == []
    await alice.send("/catalogue")
    assert not told(alice)

    # Marie gives her stock: one producer of two, half of those asked: the catalog is ready.
    await marie.send("tomates anciennes 12 kg, radis 10")
    await marie.press("Valider")
    report = await cycle_run.run_due_work(app)
    assert report.announced == [cycle.id]
    assert told(alice)
    await alice.press("Catalogue")
    assert ["Légumes (2)"] in alice.last_message.buttons
    # Once.
    count = len(alice.messages)
    assert (await cycle_run.run_due_work(app)).idle
    assert len(alice.messages) == count


async def test_consumers_are_told_six_hours_after_the_opening_whatever_the_stock(
    app, sandbox, session, clock
):
    cycle = await week(session, clock)
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    await open_now(session, cycle.id, clock())
    await cycle_run.run_due_work(app)
    clock.advance(hours=5, minutes=59)
    await cycle_run.run_due_work(app)
    assert not told(alice)
    clock.advance(minutes=1)
    report = await cycle_run.run_due_work(app)
    assert report.announced == [cycle.id]
    assert told(alice)


async def test_the_scheduler_plans_the_announcement(app, session, clock):
    from models.planning import upcoming_moments

    cycle = await week(session, clock)
    services = app.bot_data["services"]
    names = dict(upcoming_moments(services.calendar, [cycle], clock()))
    assert names[f"cycle:{cycle.id}:announce"] == cycle.opens_at + timedelta(hours=6)


async def test_open_now_asks_first(app, sandbox, session, clock):
    cycle = await week(session, clock)
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    marie = sandbox.user("Marie", language="fr", user_id=MARIE)
    await admin.send("/cycle")
    view = admin.last_message
    await admin.press("Ouvrir maintenant")
    assert "Ouvrir le cycle maintenant ?" in view.text
    await admin.press("Annuler")
    assert not marie.messages
    await admin.press("Ouvrir maintenant")
    await admin.press("Oui, ouvrir")
    assert "Cycle ouvert" in view.text
    assert "Qu’avez-vous à proposer" in marie.last_message.text
    await session.refresh(cycle)
    assert cycle.state.value == "open"
