"""Three ``desserte run`` workers on one PostgreSQL database, behind the sandbox as reverse proxy,
two networks (two bots: 300 consumers, and 100 more in the second); one worker killed in the
middle of the first network's close, another in the middle of its broadcast; then the second
network closes and broadcasts on the worker left.

What must hold (issue 18, point 3): every step of the week once; nothing that must arrive lost;
nothing sent twice except marked resends; the bot's pace within Telegram's 30 messages a second,
measured from when the sandbox received each message. The harness is in ``workers.py``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine, sessionmaker
from models import CycleEvent
from models.outbox import Kind
from tests.reliability.workers import (
    RESEND_MARK,
    Harness,
    ServedNetwork,
    close_harness,
    densest_second,
    highest_pace,
    open_harness,
    outbox_states,
    press,
    texts_since,
    until,
)

TOKEN = "7001:HARNESSfirstnetworktoken"
CONSUMERS = 300
SECOND_TOKEN = "7002:HARNESSsecondnetworktoken"
SECOND_CONSUMERS = 100
WORKERS = 3
MARKER = "Diffusion de contrôle"
TELEGRAM_PACE = 30
SETTINGS = {
    # A dead worker's claims lapse, and the others look for its work, within seconds (the
    # production defaults are 90 s and 10 min).
    "OUTBOX_LEASE_SECONDS": "5",
    "SCHEDULER_TICK_SECONDS": "2",
}


async def _announced(network: ServedNetwork) -> bool:
    return all(
        any("sont ouvertes" in (m.body or "") for m in p.messages) for p in network.consumers
    )


async def _consumers_told(network: ServedNetwork, start: dict[int, int], needle: str) -> int:
    return sum(
        1 for p in network.consumers if any(needle in t for t in texts_since(p, start[p.id]))
    )


async def _kill_mid_close(harness: Harness, network: ServedNetwork) -> str:
    """The admin closes the cycle now; the worker doing it is killed once 40 receipts went
    out. Returns the killed worker's name."""
    admin = network.admin
    await admin.send("/cycle")
    await press(admin, "Clôturer maintenant")
    await press(admin, "Oui, clôturer")
    closer = harness.worker_of_last_update(network)
    start = len(network.bot.sent)
    await until(lambda: len(network.bot.sent) - start >= 40, 30, "the close's first receipts")
    closer.kill()
    return closer.name


async def _kill_mid_broadcast(harness: Harness, network: ServedNetwork) -> str:
    """The admin broadcasts to every consumer; the worker sending it is killed once 60 copies
    went out. Returns the killed worker's name."""
    admin = network.admin
    await admin.send("/diffusion")
    await until(lambda: "envoyer" in (admin.last_message.body or "").lower(), 20, "asked a text")
    await admin.send(f"{MARKER} : la distribution de jeudi est avancée à 16 h.")
    await press(admin, "Tous les consommateurs")
    await press(admin, "Envoyer à")
    sender = harness.worker_of_last_update(network)
    start = len(network.bot.sent)
    # Meanwhile people use the bot: every worker answers some, beside the broadcast's sender.
    asking = network.consumers[-30:]
    await asyncio.gather(*(p.send("/panier") for p in asking))
    await until(lambda: len(network.bot.sent) - start >= 60, 60, "the broadcast's first copies")
    sender.kill()
    return sender.name


async def _outbox_settled(engine: AsyncEngine, kind: str, network_id: int = 1) -> bool:
    states = await outbox_states(engine, kind, network_id)
    return bool(states) and not (states.keys() & {"pending", "sending"})


async def _close_and_broadcast(database: AsyncEngine, network: ServedNetwork) -> None:
    """The second network's week goes on, on whichever worker is left: its admin closes (every
    receipt sent once), then broadcasts (every consumer gets it once), its bot within pace."""
    admin = network.admin
    at_close = {p.id: len(p.messages) for p in network.consumers}
    await admin.send("/cycle")
    await press(admin, "Clôturer maintenant")
    await press(admin, "Oui, clôturer")
    await until(
        lambda: _outbox_settled(database, Kind.FINAL_RECEIPT, network.network_id),
        60,
        "the second network's receipts settled",
    )
    receipts = await outbox_states(database, Kind.FINAL_RECEIPT, network.network_id)
    assert receipts == {"sent": len(network.consumers)}, receipts
    for person in network.consumers:
        assert texts_since(person, at_close[person.id]), f"{person.first_name} got no receipt"
    at_broadcast = {p.id: len(p.messages) for p in network.consumers}
    await admin.send("/diffusion")
    await until(lambda: "envoyer" in (admin.last_message.body or "").lower(), 20, "asked a text")
    await admin.send(f"{MARKER} : Niort aussi.")
    await press(admin, "Tous les consommateurs")
    await press(admin, "Envoyer à")
    await until(
        lambda: _outbox_settled(database, Kind.BROADCAST, network.network_id),
        60,
        "the second network's broadcast settled",
    )
    copies = [
        sum("Niort aussi" in t for t in texts_since(p, at_broadcast[p.id]))
        for p in network.consumers
    ]
    assert copies == [1] * len(network.consumers), Counter(copies)
    async with sessionmaker(database, network.network_id)() as session:
        steps = Counter(
            (
                await session.execute(
                    select(CycleEvent.kind).where(CycleEvent.cycle_id == network.data.cycle_id)
                )
            ).scalars()
        )
    assert steps["open_announced"] == 1
    assert steps["close_dispatched"] == 1
    assert set(steps.values()) == {1}, steps
    pace = highest_pace([call.at for call in network.bot.sent])
    assert pace <= TELEGRAM_PACE, densest_second(list(network.bot.sent))


async def test_three_workers_two_killed_every_step_once_nothing_lost_within_pace(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("workers share a PostgreSQL database (SQLite stays one process)")
    harness = await open_harness(tmp_path, engine.url.render_as_string(hide_password=False))
    database = create_engine(harness.database_url)
    try:
        network = await harness.add_network(TOKEN, CONSUMERS)
        second = await harness.add_network(SECOND_TOKEN, SECOND_CONSUMERS, slug="niort")
        harness.start_workers(WORKERS, **SETTINGS)
        await harness.wait_ready()

        # The opening's announcement: every worker's start-up pass finds it due; one sends it,
        # in each network, each by its own bot.
        await until(lambda: _announced(network), 60, "every consumer told ordering is open")
        await until(lambda: _announced(second), 60, "the second network's consumers told")
        # Any worker serves any update: consumers look at their basket, spread over the three.
        asking = network.consumers[:30]
        before = {p.id: len(p.messages) for p in asking}
        await asyncio.gather(*(p.send("/panier") for p in asking))
        await until(
            lambda: all(len(p.messages) > before[p.id] for p in asking), 30, "30 baskets shown"
        )
        served_by = Counter(post.url.split("/tg-")[0] for post in network.bot.webhook_posts)
        assert len(served_by) == WORKERS, served_by

        # The close, one worker killed in the middle of sending its receipts.
        at_close = {p.id: len(p.messages) for p in network.consumers}
        killed_closing = await _kill_mid_close(harness, network)
        await until(
            lambda: _outbox_settled(database, Kind.FINAL_RECEIPT), 60, "every receipt settled"
        )

        # A broadcast, another worker killed in the middle of it; the last one finishes it.
        at_broadcast = {p.id: len(p.messages) for p in network.consumers}
        killed_broadcasting = await _kill_mid_broadcast(harness, network)
        assert killed_broadcasting != killed_closing
        await until(lambda: _outbox_settled(database, Kind.BROADCAST), 60, "the broadcast settled")
        await until(
            lambda: all(
                any(MARKER not in t for t in texts_since(p, at_broadcast[p.id]))
                for p in network.consumers[-30:]
            ),
            30,
            "an answer to each basket asked for during the broadcast",
        )
        survivors = [w for w in harness.workers if w.alive]
        assert len(survivors) == 1

        # -- every step of the week once
        async with sessionmaker(database)() as session:
            steps = Counter(
                (
                    await session.execute(
                        select(CycleEvent.kind).where(CycleEvent.cycle_id == network.data.cycle_id)
                    )
                ).scalars()
            )
        assert steps["open_announced"] == 1
        assert steps["close_dispatched"] == 1
        assert set(steps.values()) == {1}
        for person in network.consumers:
            opened = [
                m
                for m in person.messages[: at_close[person.id]]
                if "sont ouvertes" in (m.body or "")
            ]
            assert len(opened) == 1, person

        # -- the close: every consumer's receipt arrived (must arrive); a second copy only marked
        receipts = await outbox_states(database, Kind.FINAL_RECEIPT)
        assert receipts == {"sent": CONSUMERS}, receipts
        for person in network.consumers:
            close_texts = texts_since(person, at_close[person.id])[
                : at_broadcast[person.id] - at_close[person.id]
            ]
            plain = [t for t in close_texts if not t.startswith(RESEND_MARK)]
            assert len(plain) <= 1, (person, close_texts)
            assert close_texts, f"{person.first_name} got no receipt"

        # -- the broadcast: never twice; what was in flight at the kill is counted uncertain
        copies = [
            sum(MARKER in t for t in texts_since(p, at_broadcast[p.id])) for p in network.consumers
        ]
        assert max(copies) == 1
        broadcast = await outbox_states(database, Kind.BROADCAST)
        # Uncertain: in flight when its sender died, it may or may not have arrived.
        sent, uncertain = broadcast.get("sent", 0), broadcast.get("uncertain", 0)
        assert sent + uncertain == CONSUMERS, broadcast
        assert sent <= copies.count(1) <= sent + uncertain, broadcast

        # -- the pace, as Telegram sees it
        pace = highest_pace([call.at for call in network.bot.sent])
        print(f"{len(network.bot.sent)} messages, at most {pace} within one second")
        assert pace <= TELEGRAM_PACE, densest_second(list(network.bot.sent))
        assert len(network.bot.sent) >= 3 * CONSUMERS

        # -- the second network, apart: its week goes on on the worker left, its bot alone
        await _close_and_broadcast(database, second)
        # Same Telegram ids in both networks, two bots: nothing of one reached the other's.
        assert not any(
            "Niort aussi" in (m.body or "") for p in network.consumers for m in p.messages
        )
    except BaseException:
        for worker in harness.workers:
            print(f"--- {worker.name} ---\n{worker.output()[-4000:]}")
        raise
    finally:
        await database.dispose()
        await close_harness(harness)
