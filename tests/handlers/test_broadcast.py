"""/diffusion through the sandbox: compose, choose the audience, preview, send; flood limits,
blocked members and a crash in the middle."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.sandbox import Sandbox
from handlers.broadcast_sending import launch, resume_broadcasts, wait_for_broadcasts
from models import Broadcast, BroadcastStatus, Member, OutboxMessage, OutboxState
from models.broadcasts import Audience, count_recipients
from models.cycle import CycleState
from models.outbox import LEASE
from tests.admin_support import make_members, order, running_app
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_network
from tests.reliability.workers import highest_pace

BODY = "Marché de Noël samedi : venez goûter les huîtres !"
READING = 2.1
"""Seconds a person reads the preview before sending it (edits count in the chat's limit)."""


async def rows(session, model) -> int:
    """How many rows ``model`` has (the read transaction ends at once: SQLite writers wait)."""
    count = await session.scalar(select(func.count()).select_from(model))
    await session.commit()
    return count


def broadcasts_in(user, body: str = BODY) -> int:
    """How many copies of the broadcast ``user`` received."""
    return sum(1 for m in user.messages if m.text and body in m.text and "📣" in m.text)


async def compose(admin, audience_button: str, body: str = BODY) -> None:
    await admin.send("/diffusion")
    await admin.send(body)
    await admin.press(audience_button)


async def test_admin_broadcasts_to_consumers_with_preview_and_progress(
    app, sandbox, session, clock
):
    network = await make_network(session, clock())
    pairs = await make_members(session, sandbox, 5, pickup=network["central"])
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await compose(admin, "Tous les consommateurs")
    preview = admin.last_message.text
    assert "Aperçu" in preview
    assert BODY in preview
    assert "6 personnes" in preview  # five consumers and the admin
    await admin.press("Envoyer à 6 personnes")
    await wait_for_broadcasts(app)
    for user, _member in pairs:
        assert broadcasts_in(user) == 1
        assert "La Desserte Locale" in user.last_message.text
    assert broadcasts_in(admin) == 1
    progress = next(m for m in admin.messages if "Diffusion terminée" in (m.text or ""))
    assert "6 / 6" in progress.text
    broadcast = await session.scalar(select(Broadcast))
    await session.refresh(broadcast)
    assert broadcast.status == BroadcastStatus.DONE


async def test_english_admin_gets_english_flow(app, sandbox, session, clock):
    await make_network(session, clock())
    await make_members(session, sandbox, 2)
    admin = sandbox.user("Admin", language="en", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/broadcast")
    assert "/cancel" in admin.last_message.text or "cancel" in admin.last_message.text.lower()
    await admin.send(BODY)
    await admin.press("All consumers")
    assert "3 people" in admin.last_message.text
    await admin.press("Send to 3 people")
    await wait_for_broadcasts(app)
    assert any("Broadcast finished" in (m.text or "") for m in admin.messages)


async def test_audiences_pickup_point_producers_and_not_ordered(app, sandbox, session, clock):
    network = await make_network(session, clock())
    at_halle = await make_members(session, sandbox, 3, pickup=network["central"], first_id=710_000)
    elsewhere = await make_members(session, sandbox, 2, first_id=720_000)
    producer_user, producer = elsewhere[0]
    producer.producer_id = network["producer"].id
    await session.commit()
    tomatoes = network["products"]["TOM-CER"]
    await order(session, at_halle[0][1], network["cycle"], {tomatoes: 2}, clock())

    assert await count_recipients(session, Audience.PICKUP_POINT, str(network["central"].id)) == 3
    assert await count_recipients(session, Audience.PRODUCERS) == 1
    # Everybody but the one who ordered (the admin is not registered yet).
    assert await count_recipients(session, Audience.NOT_ORDERED) == 4

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await compose(admin, "Un point de retrait")
    await admin.press("Halle centrale")
    assert "3 personnes" in admin.last_message.text
    await admin.press("Changer les destinataires")
    await admin.press("pas commandé")
    assert "5 personnes" in admin.last_message.text  # now with the admin
    await admin.press("Envoyer")
    await wait_for_broadcasts(app)
    assert broadcasts_in(at_halle[0][0]) == 0
    assert all(broadcasts_in(user) == 1 for user, _m in at_halle[1:] + elsewhere)
    assert producer_user.messages


async def test_cancel_and_double_send(app, sandbox, session, clock):
    await make_network(session, clock())
    await make_members(session, sandbox, 2)
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await compose(admin, "Les producteurs")
    assert "Personne à qui l’envoyer" in admin.last_message.text
    await admin.send("/annuler")
    assert "abandonnée" in admin.last_message.text
    assert await rows(session, Broadcast) == 0

    await compose(admin, "Tous les consommateurs")
    preview = admin.last_message
    send_data = preview.button_data[0][0]
    await admin.press("Envoyer")
    before = len(admin.messages)
    await admin.press_data(send_data, message=preview)  # a second tap on the same button
    await wait_for_broadcasts(app)
    assert await rows(session, OutboxMessage) == 3
    # The second tap (or a press after the process died once the first started) says it is
    # sent, once, with where it stands: not a stale button, which would have the admin write it
    # again and everyone get it twice.
    said = [m.text or "" for m in admin.messages[before:]]
    said += [preview.text or ""] + [state["text"] or "" for state in preview.history]
    assert any("déjà partie" in text for text in said), said
    assert not any("plus valable" in text for text in said), said
    # Pressed once more when it is over: the outcome.
    await admin.press_data(send_data, message=preview)
    assert "déjà partie" in preview.text
    assert "Diffusion terminée : 3 / 3 envoyés" in preview.text
    assert await rows(session, OutboxMessage) == 3


async def test_no_open_cycle_refuses_the_not_ordered_audience(app, sandbox, session, clock):
    await make_network(session, clock(), state=CycleState.CLOSED)
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await compose(admin, "pas commandé")
    # The press is answered first: the refusal is on top of the audience choice, shown again.
    assert "Aucun cycle" in admin.last_message.text
    assert admin.last_message.buttons  # still choosing


async def test_too_long_text_is_refused(app, sandbox, session, clock):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/diffusion")
    await admin.send("x" * 3600)
    assert "trop long" in admin.last_message.text
    await admin.send("Court.")
    assert "À qui" in admin.last_message.text


async def test_blocked_member_is_marked_and_skipped_next_time(app, sandbox, session, clock):
    await make_network(session, clock())
    pairs = await make_members(session, sandbox, 3)
    blocked_user, blocked = pairs[1]
    # Blocked without the bot being told (a my_chat_member update it missed): the 403 tells it.
    blocked_user.blocked = True
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await compose(admin, "Tous les consommateurs")
    await admin.press("Envoyer à 4 personnes")
    await wait_for_broadcasts(app)
    assert "1 personne a bloqué le bot" in admin.messages[-1].text or any(
        "a bloqué" in (m.text or "") for m in admin.messages
    )
    await session.refresh(blocked)
    await session.commit()
    assert blocked.reachable is False

    calls = sandbox.stats.calls["sendMessage"]
    await compose(admin, "Tous les consommateurs", body="Deuxième annonce")
    assert "3 personnes" in admin.last_message.text
    await admin.press("Envoyer")
    await wait_for_broadcasts(app)
    assert sandbox.stats.statuses[403] == 1  # nobody tried the blocked chat again
    # The two replies of the conversation, then the three reachable members.
    assert sandbox.stats.calls["sendMessage"] - calls == 2 + 3
    # Writing to the bot again makes the member reachable.
    blocked_user.unblock_bot()
    await blocked_user.send("/start")
    await session.refresh(blocked)
    assert blocked.reachable is True


async def test_300_members_under_strict_limits_with_429_and_403(settings, engine, session, clock):
    """Telegram's 30 messages/s enforced: every reachable member gets it exactly once."""
    sandbox = Sandbox(strict_limits=True)
    async with running_app(settings, engine, sandbox, clock, rate_limiter=True) as application:
        network = await make_network(session, clock())
        pairs = await make_members(session, sandbox, 300, pickup=network["central"])
        blocked_user, blocked = pairs[123]
        blocked_user.blocked = True  # without the bot being told: the 403 tells it
        admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
        await compose(admin, "Tous les consommateurs")
        faults = [
            sandbox.faults.inject("sendMessage", "429", times=2, retry_after=1),
            sandbox.faults.inject("sendMessage", "429", chat_id=pairs[200][0].id, retry_after=1),
        ]
        await asyncio.sleep(READING)
        await admin.press("Envoyer à 301 personnes")
        # A guard against a hang, not a speed check: about 10 s of sending at 30/s, but on a
        # host giving half its CPU away, beside the PostgreSQL suite, a run once took over 60.
        await asyncio.wait_for(wait_for_broadcasts(application), timeout=180)

    injected = sum(fault.fired for fault in faults)
    assert injected == 3
    assert sandbox.stats.too_many_requests == injected  # none caused by our own pace
    received = Counter(user.id for user, _m in pairs for _ in range(broadcasts_in(user)))
    assert received[blocked_user.id] == 0
    assert all(received[user.id] == 1 for user, _m in pairs if user is not blocked_user)
    assert broadcasts_in(admin) == 1
    assert any("300 / 301" in (m.text or "") for m in admin.messages)
    await session.refresh(blocked)
    await session.commit()
    assert blocked.reachable is False
    assert await count_recipients(session, Audience.CONSUMERS) == 300


SLOW_ANSWER = 0.15
"""Seconds Telegram takes to answer a call from a real server, on a slow day (50–150 ms)."""


async def test_slow_answers_from_telegram_do_not_slow_the_broadcast(
    settings, engine, session, clock
):
    """Each call comes back 150 ms after Telegram took it, and a sender waits for its answer
    before its next message: the bot keeps enough messages in flight to hold its pace (one
    every 34 ms), so some 150 ms take in more messages than three senders could send."""
    sandbox = Sandbox(strict_limits=True, latency=SLOW_ANSWER)
    async with running_app(settings, engine, sandbox, clock, rate_limiter=True) as application:
        network = await make_network(session, clock())
        pairs = await make_members(session, sandbox, 60, pickup=network["central"])
        admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
        await compose(admin, "Tous les consommateurs")
        await asyncio.sleep(READING)
        await admin.press("Envoyer à 61 personnes")
        await asyncio.wait_for(wait_for_broadcasts(application), timeout=180)

    consumers = {user.id for user, _member in pairs}
    moments = [call.at for call in sandbox.sent if int(str(call.chat_id)) in consumers]
    assert len(moments) == 60
    assert highest_pace(moments, window=SLOW_ANSWER) >= 4  # 150 ms / 34 ms: 4 or 5
    assert highest_pace(moments) <= 30
    assert sandbox.stats.too_many_requests == 0
    assert all(broadcasts_in(user) == 1 for user, _member in pairs)


async def test_crash_mid_way_resumes_without_duplicates(
    settings, engine, session, clock, monkeypatch
):
    """The process dies right after Telegram accepted the 20th message, before the bot wrote it
    down; a fresh application on the same database finishes the broadcast."""
    import handlers.delivery as delivery

    # One sender, so that the 20th delivery is the only one in flight when the process dies.
    monkeypatch.setattr(delivery, "WORKERS", 1)
    sandbox = Sandbox(strict_limits=True)
    await make_network(session, clock())
    pairs = await make_members(session, sandbox, 60)
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    recorded = []
    real_record = delivery.settle

    async with running_app(settings, engine, sandbox, clock, rate_limiter=True) as first:
        await compose(admin, "Tous les consommateurs")
        broadcast = await session.scalar(select(Broadcast))
        await session.commit()

        async def record_then_die(db, target, status, now, error=None):
            recorded.append(target)
            if len(recorded) == 20:
                launch(first, broadcast.id).cancel()  # the whole process goes
                raise asyncio.CancelledError
            await real_record(db, target, status, now, error)

        monkeypatch.setattr(delivery, "settle", record_then_die)
        await asyncio.sleep(READING)
        await admin.press("Envoyer à 61 personnes")
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(launch(first, broadcast.id), timeout=30)
        monkeypatch.setattr(delivery, "settle", real_record)

    statuses = dict(
        (
            await session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            )
        ).all()
    )
    assert statuses == {
        OutboxState.SENT: 19,
        OutboxState.SENDING: 1,
        OutboxState.PENDING: 41,
    }
    assert await session.scalar(select(Broadcast.status)) == BroadcastStatus.SENDING
    await session.commit()
    in_flight = recorded[-1]
    # The row in flight is known to be orphaned once its claim's lease has lapsed.
    clock.set(clock() + LEASE)
    # A process takes more than a second to start again: what the dead one sent is out of
    # Telegram's one-second window when the new one, which knows nothing of it, starts sending.
    await asyncio.sleep(1.0)

    async with running_app(settings, engine, sandbox, clock, rate_limiter=True) as second:
        await resume_broadcasts(second)  # start-up already resumed it: a second call is harmless
        await asyncio.wait_for(wait_for_broadcasts(second), timeout=30)

    everyone = [user for user, _m in pairs] + [admin]
    copies = Counter(broadcasts_in(user) for user in everyone)
    assert copies == {1: 61}  # the one in flight got it once, nobody twice
    assert sandbox.stats.too_many_requests == 0
    assert await session.scalar(select(Broadcast.status)) == BroadcastStatus.DONE
    # The delivery in flight is not re-sent: it is marked uncertain, as it cannot be known.
    uncertain = await session.scalar(
        select(OutboxMessage.state).where(OutboxMessage.id == in_flight.id)
    )
    assert uncertain == OutboxState.UNCERTAIN
    await session.commit()
    notices = [m.text for m in admin.messages if "Reprise de la diffusion" in (m.text or "")]
    assert len(notices) == 1
    assert "1 envoi était en cours" in notices[0]
    assert await rows(session, Member) == 61


async def test_an_unfinished_broadcast_asks_before_taking_unrelated_text(app, sandbox, session):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/start")
    await admin.send("/diffusion")
    assert "Nouvelle diffusion" in admin.last_message.text
    await admin.send("/aide")  # the admin moved on
    assert "Ce que je sais faire" in admin.last_message.text
    await admin.send("tomates")
    asked = admin.last_message
    assert "Vous aviez commencé une diffusion" in asked.text
    await admin.press("✖️ Annuler")
    assert "rien n’a été envoyé" in admin.last_message.text
    await admin.send("tomates")
    assert "diffusion" not in admin.last_message.text.lower()
    # Straight after the prompt, the text is the broadcast, as before.
    await admin.send("/diffusion")
    await admin.send("Marché de Noël samedi")
    assert admin.last_message.text == "À qui faut-il l’envoyer ?"


async def test_each_step_served_by_another_worker(settings, engine, session, clock):
    """Two workers on one database: the admin's command, text and presses each reach the other
    one (as a reverse proxy spreads them), and the broadcast goes out once all the same."""
    sandbox = Sandbox()
    async with (
        running_app(settings, engine, sandbox, clock, rate_limiter=False) as first,
        running_app(settings, engine, sandbox, clock, rate_limiter=False) as second,
    ):
        await make_network(session, clock())
        pairs = await make_members(session, sandbox, 3)
        admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
        workers = [first, second]
        steps = [
            lambda: admin.send("/diffusion"),
            lambda: admin.send(BODY),
            lambda: admin.press("Tous les consommateurs"),
            lambda: admin.press("Envoyer à"),
        ]
        for n, step in enumerate(steps):
            sandbox.attach(workers[n % 2])
            await step()
        assert "Diffusion" in admin.last_message.text  # the preview became its progress
        for worker in workers:
            await wait_for_broadcasts(worker)
    assert all(broadcasts_in(user) == 1 for user, _member in pairs)
