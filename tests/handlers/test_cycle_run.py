"""The weekly cycle running itself, on the simulated clock, through the sandbox.

A whole week: planned from the calendar, opened (consumers told), reminders before close (a
basket named, an opted-out consumer left alone), closed (admins get the summary), the pickup-day
reminder, the pickup lists, delivered. Then a restart after a missed close, the admin commands,
and every admin command and button refused to a consumer and to a producer.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from handlers import cycle_run
from models import (
    Cycle,
    CycleState,
    Member,
    Offer,
    Order,
    OrderStatus,
    OutboxMessage,
)
from models.closing import close_cycle
from models.ordering import add_to_basket, confirm_order
from models.outbox import Kind
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_network
from tests.invariants import check_invariants

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def seams(monkeypatch):
    """Records each time the week renders the producers' weekly prompts and purchase orders
    (the real functions, wrapped)."""
    calls: dict[str, list[int]] = {"prompts": [], "purchase_orders": []}
    real_prompts = cycle_run.weekly_prompt_parts
    real_orders = cycle_run.purchase_order_parts

    async def prompts(session, services, cycle):
        calls["prompts"].append(cycle.id)
        return await real_prompts(session, services, cycle)

    async def purchase_orders(session, services, cycle_id):
        calls["purchase_orders"].append(cycle_id)
        return await real_orders(session, services, cycle_id)

    monkeypatch.setattr(cycle_run, "weekly_prompt_parts", prompts)
    monkeypatch.setattr(cycle_run, "purchase_order_parts", purchase_orders)
    return calls


@pytest.fixture
async def network(session, clock):
    """The demo farm, its pickup points and a cycle delivered two weeks ago."""
    return await make_network(session, clock() - timedelta(days=14), state=CycleState.DELIVERED)


async def member_of(session, user) -> Member:
    member = await session.scalar(
        select(Member)
        .where(Member.telegram_id == user.id)
        .execution_options(populate_existing=True)
    )
    await session.commit()
    return member


async def set_point(session, user, point) -> Member:
    await session.execute(
        update(Member).where(Member.telegram_id == user.id).values(pickup_point_id=point.id)
    )
    await session.commit()
    return await member_of(session, user)


async def cycles(session) -> list[Cycle]:
    result = list(
        await session.scalars(
            select(Cycle).order_by(Cycle.opens_at).execution_options(populate_existing=True)
        )
    )
    await session.commit()
    return result


async def stock_up(session, cycle_id: int, quantity: int = 20) -> None:
    """What producers' stock messages would do: quantities on this cycle's offers."""
    await session.execute(
        update(Offer).where(Offer.cycle_id == cycle_id).values(offered=Decimal(quantity))
    )
    await session.commit()


def texts(user) -> list[str]:
    return [m.text or "" for m in user.messages]


async def notifications(session, kind: str) -> int:
    count = await session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.kind == kind, OutboxMessage.part == 0
        )
    )
    await session.commit()
    return int(count or 0)


async def test_a_whole_week_runs_itself(app, sandbox, session, clock, network, seams):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    alice = sandbox.user("Alice", language="fr")
    bob = sandbox.user("Bob", language="en")
    carol = sandbox.user("Carol", language="fr")
    dave = sandbox.user("Dave", language="fr")
    for user in (admin, alice, bob, carol, dave):
        await user.send("/start")
    # Carol wants no announcement and no reminder before close.
    await carol.send("/notifications")
    await carol.press("Ouverture des commandes")
    await carol.press("Rappel avant la clôture")
    alice_m = await set_point(session, alice, network["central"])
    bob_m = await set_point(session, bob, network["central"])
    carol_m = await set_point(session, carol, network["company"])
    bob_id = bob_m.id

    # Saturday: the next two cycles are planned from the calendar, nothing opens yet.
    report = await cycle_run.run_due_work(app)
    planned = await cycles(session)
    assert len(report.planned) == 2
    assert not report.opened
    week = planned[1]
    assert week.state == CycleState.PLANNED
    assert week.opens_at == paris(2026, 12, 11, 12, 0)
    assert week.closes_at == paris(2026, 12, 15, 23, 59)
    assert week.pickup_starts_at == paris(2026, 12, 17, 17, 0)
    assert planned[2].opens_at == paris(2026, 12, 18, 12, 0)
    assert (await cycle_run.run_due_work(app)).idle

    # Friday noon: the cycle opens, producers are prompted, consumers are told.
    before = {u.first_name: len(u.messages) for u in (alice, bob, carol, dave)}
    clock.set(paris(2026, 12, 11, 12, 0))
    report = await cycle_run.run_due_work(app)
    assert report.opened == [week.id]
    assert seams["prompts"] == [week.id]
    assert "commandes de la semaine sont ouvertes" in alice.last_message.text
    assert "mardi 15 décembre à 23:59" in alice.last_message.text
    assert len(bob.messages) == before["Bob"] + 1
    assert len(dave.messages) == before["Dave"] + 1
    assert len(carol.messages) == before["Carol"]  # opted out
    assert (await cycle_run.run_due_work(app)).idle
    assert seams["prompts"] == [week.id]

    # Orders: Alice leaves a basket unconfirmed, Bob confirms, Carol too has a basket.
    await stock_up(session, week.id)
    await cycles(session)  # this session saw the cycle planned: see it open
    now = clock()
    products = network["products"]
    await add_to_basket(session, alice_m, week.id, products["TOM-ANC"].id, Decimal(2), now)
    await add_to_basket(session, alice_m, week.id, products["MIEL"].id, Decimal(1), now)
    await add_to_basket(session, bob_m, week.id, products["OEU-6"].id, Decimal(2), now)
    await confirm_order(session, bob_m, week.id, now)
    await add_to_basket(session, carol_m, week.id, products["MIEL"].id, Decimal(1), now)

    # 24 h before the close is Monday 23:59, in the quiet hours (21:00-08:00): the reminder
    # goes out at 21:00 that evening instead. Alice is reminded of her basket, Dave to order.
    counts = {u.first_name: len(u.messages) for u in (alice, bob, carol, dave)}
    clock.set(paris(2026, 12, 14, 20, 59))
    assert (await cycle_run.run_due_work(app)).idle
    clock.set(paris(2026, 12, 14, 21, 0))
    report = await cycle_run.run_due_work(app)
    assert report.reminded == [(week.id, "1440m")]
    reminder = alice.last_message.text
    assert "pas encore confirmé" in reminder
    assert "Tomates anciennes × 2\xa0kg" in reminder
    assert "Miel de châtaignier × 1\xa0pot" in reminder
    assert "pas encore commandé" in dave.last_message.text
    assert len(bob.messages) == counts["Bob"]  # confirmed: no reminder
    assert len(carol.messages) == counts["Carol"]  # opted out
    assert (await cycle_run.run_due_work(app)).idle
    assert len(alice.messages) == counts["Alice"] + 1

    # Tuesday 21:00: the 3 h reminder.
    clock.set(paris(2026, 12, 15, 21, 0))
    report = await cycle_run.run_due_work(app)
    assert report.reminded == [(week.id, "180m")]
    assert len(alice.messages) == counts["Alice"] + 2

    # Wednesday 00:00: closed; Alice's and Carol's baskets abandoned, stock back; admins told.
    clock.set(paris(2026, 12, 16, 0, 0))
    report = await cycle_run.run_due_work(app)
    assert report.closed == [week.id]
    assert seams["purchase_orders"] == [week.id]
    summary = admin.last_message.text
    assert "clôturé" in summary
    assert "1 commande" in summary
    assert "2 paniers non confirmés abandonnés" in summary
    assert "Halle centrale" in summary
    statuses = dict(
        (
            await session.execute(
                select(Order.member_id, Order.status).where(Order.cycle_id == week.id)
            )
        ).all()
    )
    assert statuses[alice_m.id] == OrderStatus.ABANDONED
    assert statuses[bob_m.id] == OrderStatus.CONFIRMED
    await session.commit()
    # Everyone with a basket hears the close: Bob's order is final, Alice's basket released.
    bob_order = await session.scalar(
        select(Order.id).where(Order.cycle_id == week.id, Order.member_id == bob_m.id)
    )
    await session.commit()
    receipt = bob.last_message.text
    assert f"Your order no. {bob_order} is final: €5.80." in receipt  # Bob reads English
    assert "Halle centrale" in receipt
    assert "Thursday 17 December" in receipt
    released = alice.last_message.text
    assert "Votre panier n’a pas été confirmé avant la clôture : ses 2 produits" in released
    assert len(alice.messages) == counts["Alice"] + 3
    assert len(dave.messages) == counts["Dave"] + 2  # no basket: nothing at the close
    admin_count = len(admin.messages)
    assert (await cycle_run.run_due_work(app)).idle
    assert len(admin.messages) == admin_count
    assert seams["purchase_orders"] == [week.id]
    week_id, next_id = week.id, planned[2].id
    await check_invariants(session)  # (ends the session's transaction: objects expire)
    week = await session.get(Cycle, week_id)

    # Thursday 08:00: Bob is reminded where and when to collect, and how much.
    bob_count = len(bob.messages)
    clock.set(paris(2026, 12, 17, 8, 0))
    report = await cycle_run.run_due_work(app)
    assert report.pickup_reminded == [week.id]
    assert len(bob.messages) == bob_count + 1
    pickup = bob.last_message.text
    assert "Halle centrale" in pickup
    assert "12 rue des Carmes" in pickup
    assert "5.80" in pickup
    assert len(alice.messages) == counts["Alice"] + 3  # no order to collect
    assert (await cycle_run.run_due_work(app)).idle

    # Pickup: the admin ticks Bob off the list, in place.
    await admin.send("/retraits halle")
    listing = admin.last_message
    assert "Halle centrale" in listing.text
    await admin.press("Bob")
    assert "à payer. Payé comment ?" in listing.text
    await admin.press("Carte")
    assert admin.last_message is listing
    assert listing.edits == 2
    assert any("✅ Bob" in b and b.endswith("payé") for row in listing.buttons for b in row)

    # End of the pickup window: delivered.
    clock.set(paris(2026, 12, 17, 19, 30))
    report = await cycle_run.run_due_work(app)
    assert report.delivered == [week.id]
    await session.commit()
    delivered = await session.get(Cycle, week.id, populate_existing=True)
    assert delivered.state == CycleState.DELIVERED
    order_status = await session.scalar(
        select(Order.status).where(Order.member_id == bob_id, Order.cycle_id == week.id)
    )
    assert order_status == OrderStatus.COLLECTED
    await session.commit()

    # Friday noon again: the next planned cycle opens by itself.
    clock.set(paris(2026, 12, 18, 12, 0))
    report = await cycle_run.run_due_work(app)
    assert report.opened == [next_id]
    await check_invariants(session)


async def test_opening_and_closing_with_no_producer_to_ask(app, sandbox, session, clock, network):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    await cycle_run.run_due_work(app)
    clock.set(paris(2026, 12, 11, 12, 0))
    report = await cycle_run.run_due_work(app)
    assert len(report.opened) == 1
    assert "ouvertes" in alice.last_message.text
    clock.set(paris(2026, 12, 16, 0, 0))
    assert len((await cycle_run.run_due_work(app)).closed) == 1


async def test_a_blocked_consumer_is_marked_and_the_others_still_told(
    app, sandbox, session, clock, network, seams
):
    users = [sandbox.user(name, language="fr") for name in ("Anne", "Basile", "Chloé")]
    for user in users:
        await user.send("/start")
    users[0].block_bot()
    await cycle_run.run_due_work(app)
    clock.set(paris(2026, 12, 11, 12, 0))
    await cycle_run.run_due_work(app)
    assert not (await member_of(session, users[0])).reachable
    for user in users[1:]:
        assert "ouvertes" in user.last_message.text


async def test_after_a_downtime_only_the_latest_reminder_is_sent(
    app, sandbox, session, clock, network
):
    """Down from before the 24 h reminder until after the 3 h one: one reminder, the 3 h one,
    and the missed one is never sent later."""
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    await cycle_run.run_due_work(app)
    clock.set(paris(2026, 12, 11, 12, 0))
    report = await cycle_run.run_due_work(app)
    week_id = report.opened[0]
    before = len(alice.messages)
    clock.set(paris(2026, 12, 15, 21, 0))
    report = await cycle_run.run_due_work(app)
    assert report.reminded == [(week_id, "180m")]
    assert len(alice.messages) == before + 1
    assert "pas encore commandé" in alice.last_message.text
    reminders = await session.scalars(
        select(OutboxMessage.kind).where(OutboxMessage.kind.startswith(Kind.CLOSE_REMINDER.value))
    )
    assert list(reminders) == ["close_reminder:180m"]
    await session.commit()
    assert (await cycle_run.run_due_work(app)).idle
    assert len(alice.messages) == before + 1


async def test_a_restart_after_a_missed_close_closes_exactly_once(
    app, sandbox, session, clock, network, seams, settings, engine
):
    from bot.app import build_application, start_application, stop_application
    from bot.scheduling import install_jobs, run_scheduled

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/start")
    await cycle_run.run_due_work(app)
    clock.set(paris(2026, 12, 11, 12, 0))
    await cycle_run.run_due_work(app)
    week = (await cycles(session))[1]
    assert week.state == CycleState.OPEN

    # The bot is down at the close time; it comes back on Wednesday morning.
    clock.set(paris(2026, 12, 16, 9, 0))
    restarted = build_application(
        settings,
        request=sandbox.request(),
        get_updates_request=sandbox.request(),
        engine=engine,
        clock=clock,
        rate_limiter=False,
    )
    install_jobs(restarted)
    await start_application(restarted)
    try:
        for _ in range(300):  # the catch-up job runs as soon as the job queue starts
            if (await session.get(Cycle, week.id, populate_existing=True)).state != (
                CycleState.OPEN
            ) and await notifications(session, cycle_run.CLOSE_SUMMARY):
                break
            await session.commit()
            await asyncio.sleep(0.01)
        await session.commit()
        # Running again, on either application, does nothing more.
        assert (await run_scheduled(restarted)).idle
        assert (await cycle_run.run_due_work(app)).idle
        jobs = {job.name for job in restarted.job_queue.jobs()}
        assert f"desserte:cycle:{week.id}:pickup" in jobs
        assert "desserte:tick" in jobs
    finally:
        await stop_application(restarted)
    closed = await session.get(Cycle, week.id, populate_existing=True)
    assert closed.state == CycleState.CLOSED
    assert closed.closed_at == paris(2026, 12, 16, 9, 0)
    await session.commit()
    assert await notifications(session, cycle_run.CLOSE_SUMMARY) == 1
    assert sum("clôturé" in t for t in texts(admin)) == 1
    assert seams["purchase_orders"] == [week.id]


async def test_a_close_interrupted_before_its_messages_sends_them_once(
    app, sandbox, session, clock, network, seams
):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/start")
    await cycle_run.run_due_work(app)
    clock.set(paris(2026, 12, 11, 12, 0))
    await cycle_run.run_due_work(app)
    week = (await cycles(session))[1]
    # The close was committed, then the process died before telling anyone.
    await close_cycle(session, week.id, clock())
    await cycle_run.run_due_work(app)
    await cycle_run.run_due_work(app)
    assert sum("clôturé" in t for t in texts(admin)) == 1
    assert seams["purchase_orders"] == [week.id]


async def test_install_jobs_plans_a_job_per_instant(app, session, clock, network):
    from bot.scheduling import install_jobs, reschedule

    await cycle_run.run_due_work(app)
    install_jobs(app)
    await reschedule(app)
    week = (await cycles(session))[1]
    jobs = {job.name: job for job in app.job_queue.jobs()}
    assert f"desserte:cycle:{week.id}:open" in jobs
    assert f"desserte:cycle:{week.id}:remind:1440m" in jobs
    close_job = jobs[f"desserte:cycle:{week.id}:close"]
    assert close_job.next_t == paris(2026, 12, 15, 23, 59)
    for job in app.job_queue.jobs():
        job.schedule_removal()


# -- the admin's commands ---------------------------------------------------------------------


@pytest.fixture
async def open_week(app, sandbox, session, clock, network, seams):
    """The admin (registered) and an open cycle."""
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/start")
    await cycle_run.run_due_work(app)
    clock.set(paris(2026, 12, 11, 12, 0))
    await cycle_run.run_due_work(app)
    return admin, (await cycles(session))[1]


async def test_admin_sees_the_cycle_extends_and_closes_it(app, sandbox, session, clock, open_week):
    admin, week = open_week
    await admin.send("/cycle")
    view = admin.last_message
    assert "ouvert" in view.text
    assert "Clôture : mardi 15 décembre à 23:59" in view.text
    assert "Retrait : jeudi 17 décembre, de 17:00 à 19:30" in view.text
    assert "0 commande confirmée" in view.text
    await admin.press("+1 heure")
    assert admin.last_message is view
    assert "mercredi 16 décembre à 00:59" in view.text
    await admin.press("+1 jour")
    assert "Clôture : jeudi 17 décembre à 00:59" in view.text
    await admin.press("+1 jour")  # would pass the pickup: refused
    assert "Impossible" in view.text
    extended = await session.get(Cycle, week.id, populate_existing=True)
    assert extended.closes_at == paris(2026, 12, 17, 0, 59)
    await session.commit()

    await admin.press("Clôturer maintenant")
    assert "Clôturer le cycle maintenant ?" in view.text
    await admin.press("Annuler")
    assert "ouvert" in view.text
    await admin.press("Clôturer maintenant")
    await admin.press("Oui, clôturer")
    assert "clôturé" in view.text
    # Only what is still possible, and when it really closed (before the planned close).
    assert not any("+1" in b or "Clôturer" in b for row in view.buttons for b in row)
    await admin.press("Actualiser")
    assert "Clôturé le vendredi 11 décembre à 12:00 (prévu le jeudi 17 décembre à 00:59)" in (
        view.text
    )
    assert "Clôture :" not in view.text
    shown = [b for row in view.buttons for b in row]
    assert "▶️ Ouvrir le prochain cycle maintenant" in shown  # the scheduler planned it
    assert not any("+1" in b or "Clôturer" in b for b in shown)
    closed = await session.get(Cycle, week.id, populate_existing=True)
    assert closed.state == CycleState.CLOSED
    await session.commit()
    # The summary also came as its own message, once; a second close changes nothing.
    assert sum("clôturé" in t for t in texts(admin)) == 2  # the view and the summary
    await admin.press_data(f"cyc:close!:{week.id}")
    assert "déjà clôturé" in view.text
    assert sum(m.text.startswith("🔒") for m in admin.messages) == 1


async def test_admin_opens_the_next_cycle_now_and_plans_one(
    app, sandbox, session, clock, network, seams
):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    alice = sandbox.user("Alice", language="fr")
    for user in (admin, alice):
        await user.send("/start")
    await admin.send("/nouveau_cycle")
    assert "Prochain cycle planifié" in admin.last_message.text
    assert "prévu" in admin.last_message.text
    await admin.send("/new_cycle")
    assert "déjà prévu" in admin.last_message.text
    view = admin.last_message
    await admin.press("Ouvrir maintenant")
    assert "Ouvrir le cycle maintenant ?" in view.text  # asked first, as the close is
    assert not any("ouvertes" in (m.text or "") for m in alice.messages)
    await admin.press("Oui, ouvrir")
    assert "Cycle ouvert" in view.text
    assert "ouvertes" in alice.last_message.text
    opened = [c for c in await cycles(session) if c.state == CycleState.OPEN]
    assert len(opened) == 1
    assert opened[0].opens_at == clock()
    # The scheduler does not announce it a second time.
    count = len(alice.messages)
    await cycle_run.run_due_work(app)
    assert len(alice.messages) == count


async def test_invitation_link_of_a_company_point(app, sandbox, session, network):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/invite_retrait enedis")
    assert "https://t.me/desserte_bot?start=p-ENEDIS-CODE" in admin.last_message.text
    await admin.send("/invite_retrait halle")
    assert "point public" in admin.last_message.text
    await admin.send("/invite_pickup nulle-part")
    assert "Je ne connais pas" in admin.last_message.text
    await admin.send("/invite_retrait")
    assert "/invite_retrait enedis" in admin.last_message.text


async def test_a_new_invitation_code_is_created_once(app, sandbox, session, network):
    from models import PickupPoint

    await session.execute(
        update(PickupPoint).where(PickupPoint.slug == "enedis").values(invite_code=None)
    )
    await session.commit()
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/invite_retrait enedis")
    first = admin.last_message.text
    await admin.send("/invite_retrait enedis")
    assert admin.last_message.text == first
    code = first.split("start=p-")[1].split()[0]
    assert 8 <= len(code) <= 64
    assert code.replace("-", "").replace("_", "").isalnum()


async def test_notifications_toggle_in_place(app, sandbox, session):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/notifications")
    view = alice.last_message
    assert len(view.buttons) == 5  # four kinds and the menu
    await alice.press("Rappel le jour du retrait")
    assert alice.last_message is view
    assert view.edits == 1
    assert any("🔕 Rappel le jour du retrait" in b for row in view.buttons for b in row)
    assert (await member_of(session, alice)).notifications_off == ["pickup_reminder"]
    await alice.press("Rappel le jour du retrait")
    assert (await member_of(session, alice)).notifications_off == []
    # The switch sets a state: its second tap (a double tap) leaves it on.
    switch = await alice.press("Rappel le jour du retrait", message=view)
    await alice.press_data(switch.data, message=view)
    assert (await member_of(session, alice)).notifications_off == ["pickup_reminder"]
    await alice.press("Rappel le jour du retrait")
    assert (await member_of(session, alice)).notifications_off == []
    await alice.press_data("ntf:set:everything:1")
    assert "plus valable" in alice.answers[-1].text


ADMIN_COMMANDS = [
    "/cycle",
    "/nouveau_cycle",
    "/new_cycle",
    "/retraits halle",
    "/pickups",
    "/invite_retrait enedis",
    "/invite_pickup enedis",
]


def admin_buttons(cycle_id: int, point_id: int, order_id: int) -> list[str]:
    return [
        "cyc",
        f"cyc:open:{cycle_id}",
        f"cyc:open!:{cycle_id}",
        f"cyc:close:{cycle_id}",
        f"cyc:close!:{cycle_id}",
        f"cyc:ext:{cycle_id}:1d",
        "cyc:plan",
        "pck",
        f"pck:pt:{cycle_id}:{point_id}:0",
        f"pck:set:{order_id}:0:1",
        f"pck:end:{cycle_id}:{point_id}",
        f"pck:end!:{cycle_id}:{point_id}",
    ]


@pytest.mark.parametrize("role", ["consumer", "producer"])
async def test_admin_commands_and_buttons_are_refused_to_others(
    app, sandbox, session, clock, open_week, network, role
):
    _admin, week = open_week
    user = sandbox.user("Zoé", language="fr")
    await user.send("/start")
    member = await set_point(session, user, network["central"])
    if role == "producer":
        await session.execute(
            update(Member)
            .where(Member.id == member.id)
            .values(producer_id=network["producer"].id, is_consumer=False)
        )
        await session.commit()
    await stock_up(session, week.id)
    member = await member_of(session, user)
    await add_to_basket(
        session, member, week.id, network["products"]["MIEL"].id, Decimal(1), clock()
    )
    await confirm_order(session, member, week.id, clock())
    order_id = await session.scalar(select(Order.id).where(Order.member_id == member.id))
    await session.commit()
    cycle_count = len(await cycles(session))

    for command in ADMIN_COMMANDS:
        await user.send(command)
        assert "réservée à l’équipe qui anime le réseau" in user.last_message.text, command
    await user.send("/start")
    for data in admin_buttons(week.id, network["central"].id, order_id):
        await user.press_data(data)
        assert "réservée à l’équipe qui anime le réseau" in user.answers[-1].text, data
    still = await session.get(Cycle, week.id, populate_existing=True)
    assert still.state == CycleState.OPEN
    assert still.closes_at == paris(2026, 12, 15, 23, 59)
    assert len(await cycles(session)) == cycle_count
    await check_invariants(session)


async def test_english_admin_is_refused_in_english_too(app, sandbox):
    bob = sandbox.user("Bob", language="en")
    await bob.send("/cycle")
    assert bob.last_message.text


async def test_three_weeks_down_skips_the_missed_cycles_and_marks_no_one_absent(
    app, sandbox, session, clock, network
):
    """The bot stops while a week is open and comes back three weeks later: that week is
    closed once, late, with nobody marked absent (no pickup day took place); the two planned
    weeks that fell inside the downtime are skipped; /cycle shows the real next week, which
    opens at once; the admins are told what happened, once."""
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    alice = sandbox.user("Alice", language="fr")
    for user in (admin, alice):
        await user.send("/start")
    alice_m = await set_point(session, alice, network["central"])
    await cycle_run.run_due_work(app)
    clock.set(paris(2026, 12, 11, 12, 0))
    week = (await cycle_run.run_due_work(app)).opened[0]
    await stock_up(session, week)
    product = await session.scalar(select(Offer.product_id).where(Offer.cycle_id == week))
    await add_to_basket(session, alice_m, week, product, Decimal(1), clock())
    await confirm_order(session, alice_m, week, clock())
    await session.commit()
    missed = [c.id for c in await cycles(session) if c.state == CycleState.PLANNED]
    assert len(missed) == 2

    # Down from Friday 11 December until Thursday 31 December.
    clock.set(paris(2026, 12, 31, 10, 0))
    before = len(admin.messages)
    report = await cycle_run.run_due_work(app)
    assert report.closed == [week]
    assert report.skipped == missed
    assert report.delivered == []
    states = {c.id: c.state for c in await cycles(session)}
    assert states[week] == CycleState.CLOSED
    assert [states[c] for c in missed] == [CycleState.SKIPPED, CycleState.SKIPPED]
    statuses = list(
        await session.scalars(
            select(Order.status)
            .where(Order.cycle_id == week)
            .execution_options(populate_existing=True)
        )
    )
    await session.commit()
    assert statuses == [OrderStatus.CONFIRMED]
    told = [t for t in texts(admin)[before:] if "Le bot était arrêté" in t]
    assert len(told) == 1, texts(admin)[before:]
    assert "2 cycles n’ont jamais ouvert" in told[0]
    assert "le retrait n’a pas eu lieu" in told[0]
    assert "personne n’est noté « non venu »" in told[0]
    assert await notifications(session, cycle_run.CLOSE_SUMMARY) == 1

    # Running again does nothing more: no second close, no no-show, no second notice.
    assert (await cycle_run.run_due_work(app)).idle
    assert sum("Le bot était arrêté" in t for t in texts(admin)) == 1
    no_shows = await session.scalar(
        select(func.count(Order.id)).where(Order.status == OrderStatus.NO_SHOW)
    )
    await session.commit()
    assert no_shows == 0

    # /cycle shows the real next week (Friday 1 January), and "open now" opens it.
    await admin.send("/cycle")
    view = admin.last_message
    assert "prévu" in view.text
    nxt = next(c for c in await cycles(session) if c.state == CycleState.PLANNED)
    assert nxt.opens_at > clock()
    assert nxt.opens_at.astimezone(PARIS).date().isoformat() == "2027-01-01"
    await admin.press("Ouvrir maintenant")
    await admin.press("Oui, ouvrir")
    assert "Cycle ouvert" in view.text
    assert (await session.get(Cycle, nxt.id, populate_existing=True)).state == CycleState.OPEN
    await session.commit()
