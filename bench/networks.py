"""The networks benchmark: many networks on one deployment, the cost of an update as they grow.

One database holds ``NETWORKS`` networks of 1,800 consumers each (``--quick``: 300), written by
``bench.network`` with each network's id. In one process, the real application of each
network's bot runs on a sandbox of its own (each bot its own Telegram). The same workload —
the consumers' ordering sessions of ``bench.updates``, ``SESSIONS`` of them, 20 at once — runs
first with one network served, then spread over all ``NETWORKS`` networks served at once.
Then every network broadcasts to all its consumers at the same time, each bot within its own
30 messages/s (the sandbox enforces Telegram's limits).

Figures: ``updates_per_s_1``/``_n``, ``p95_ms_1``/``_n``, ``cpu_ms_per_update_1``/``_n`` and
``sql_per_update_1``/``_n`` (statements counted on the engine, CPU of the whole process) with 1
and with ``NETWORKS`` networks served; ``cost_growth`` = CPU per update with ``NETWORKS``
networks / with one (flat is 1.0); ``broadcast_s`` = the slowest network's broadcast, beside
``broadcast_floor_s`` = consumers / 30 (the networks broadcast at once, each bot its own limit);
``delivered_pct`` of the broadcasts' recipients; ``networks`` and ``consumers_per_network``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import event

from bench.common import BenchResult, Options, bench_settings, fresh_database, percentile, ratio
from bench.network import Network, build_network
from bench.updates import CONSUMER_SESSION, Run, _sessions, consumer_session
from bot.db import sessionmaker
from bot.sandbox import Sandbox, SandboxUser
from models.network import ALL_NETWORKS, DEFAULT_NETWORK_ID
from models.networks import add_network

log = logging.getLogger(__name__)

KEYS = (
    "networks",
    "consumers_per_network",
    "updates_per_s_1",
    "updates_per_s_n",
    "p95_ms_1",
    "p95_ms_n",
    "cpu_ms_per_update_1",
    "cpu_ms_per_update_n",
    "sql_per_update_1",
    "sql_per_update_n",
    "cost_growth",
    "broadcast_s",
    "broadcast_floor_s",
    "delivered_pct",
)
NETWORKS = 10
SESSIONS = 200
"""Ordering sessions per workload (``--quick``: 60), 14 updates each."""
TELEGRAM_RATE = 30.0
MARKER = "Bench-réseaux-2b7e"


class Served:
    """One network's bot, on its own sandbox, with its people."""

    def __init__(self, network: Network, app: Any, sandbox: Sandbox, limiter: Any) -> None:
        self.network = network
        self.limiter = limiter
        """The sandbox's flood limits, put on for the broadcasts (the sessions run as
        ``bench.updates`` runs them, without)."""
        self.app = app
        self.sandbox = sandbox
        self.next_consumer = 0

    def consumer(self) -> tuple[int, SandboxUser]:
        """The next consumer of this network who has not ordered yet (index, sandbox user)."""
        index = self.next_consumer
        self.next_consumer += 1
        telegram_id = self.network.consumer_telegram_ids[index]
        return index, self.sandbox.user(f"Conso{index + 1}", language="fr", user_id=telegram_id)


async def _workload(served: list[Served], sessions: int, options: Options) -> tuple[Run, float]:
    """``sessions`` ordering sessions spread round-robin over ``served``; the run and the CPU
    seconds the process spent."""
    run = Run()
    people = [
        (*served[k % len(served)].consumer(), served[k % len(served)]) for k in range(sessions)
    ]
    cpu = time.process_time()

    async def session(_user: SandboxUser, k: int) -> None:
        index, user, one = people[k]
        await consumer_session(user, index, one.network, run, CONSUMER_SESSION)

    run.seconds, run.sessions, run.failures = await _sessions(
        [user for _index, user, _one in people], options.concurrency, None, session
    )
    return run, time.process_time() - cpu


async def _broadcast(one: Served, admin: SandboxUser) -> float:
    """The admin of ``one`` broadcasts to every consumer through the bot; seconds from the
    press on "send" until every delivery settled."""
    from bench.broadcast import _press_target
    from handlers.broadcast_sending import wait_for_broadcasts

    # The admin's gestures a second apart: the applications run without PTB's rate limiter
    # (as bench.updates), and the sandbox now holds every chat to Telegram's pace.
    await admin.send("/diffusion")
    await asyncio.sleep(1.1)
    await admin.send(f"{MARKER} : la distribution de jeudi est avancée à 16 h.")
    await asyncio.sleep(1.1)
    message, data = _press_target(admin, r"tous les consommateurs|all consumers")
    await admin.press_data(data, message=message)
    await asyncio.sleep(1.1)
    message, data = _press_target(admin, r"envoyer|send")
    started = time.perf_counter()
    await admin.press_data(data, message=message)
    await wait_for_broadcasts(one.app)
    return time.perf_counter() - started


async def run(options: Options) -> BenchResult:
    """One network served, then ``NETWORKS`` at once, the same workload; then ten broadcasts."""
    from bot.app import build_application, start_application, stop_application

    consumers = options.consumers
    # Each workload takes consumers who have not ordered yet: network 1 serves in both.
    sessions = max(1, min(SESSIONS if options.scale >= 1 else 60, consumers // 2))
    url, engine = await fresh_database(options, "networks")
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    served: list[Served] = []
    try:
        ids = [DEFAULT_NETWORK_ID]
        async with sessionmaker(engine, ALL_NETWORKS)() as operator:
            for n in range(2, NETWORKS + 1):
                added = await add_network(
                    operator, f"reseau-{n}", name=f"Réseau {n}", bot_token=None
                )
                ids.append(added.id)
        for network_id in ids:
            network = await build_network(engine, consumers, network_id=network_id)
            sandbox = Sandbox(strict_limits=True)
            limiter, sandbox.limiter = sandbox.limiter, None  # Telegram's limits: broadcasts
            app = build_application(
                bench_settings(url, [network.admin_telegram_id]),
                request=sandbox.request(),
                engine=engine,
                network_id=network_id,
                rate_limiter=False,  # the outbox paces the broadcasts, as bench.updates runs
            )
            await start_application(app)
            sandbox.attach(app)
            served.append(Served(network, app, sandbox, limiter))
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        figures: dict[str, Any] = {"networks": len(served), "consumers_per_network": consumers}
        for label, group in (("1", served[:1]), ("n", served)):
            statements = 0
            result, cpu_s = await _workload(group, sessions, options)
            if result.failures:
                raise RuntimeError(f"{len(result.failures)} sessions failed: {result.failures[0]}")
            per_update = result.updates or 1
            figures[f"updates_per_s_{label}"] = result.per_second
            p95 = percentile(result.latencies, 0.95)
            figures[f"p95_ms_{label}"] = None if p95 is None else round(p95 * 1000, 1)
            figures[f"cpu_ms_per_update_{label}"] = round(cpu_s * 1000 / per_update, 2)
            figures[f"sql_per_update_{label}"] = round(statements / per_update, 2)
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        figures["cost_growth"] = ratio(
            figures["cpu_ms_per_update_n"], figures["cpu_ms_per_update_1"]
        )
        admins = [
            one.sandbox.user("Admin", language="fr", user_id=one.network.admin_telegram_id)
            for one in served
        ]
        for one in served:  # the people of the broadcast: every consumer of the network
            one.sandbox.limiter = one.limiter
            for _index in range(one.next_consumer, consumers):
                one.consumer()
        times = await asyncio.gather(
            *(_broadcast(one, a) for one, a in zip(served, admins, strict=True))
        )
        received = sum(
            any(MARKER in (m.body or "") for m in user.messages)
            for one in served
            for user in one.sandbox.users
            if user.id != one.network.admin_telegram_id
        )
        figures["broadcast_s"] = round(max(times), 2)
        figures["broadcast_floor_s"] = round(consumers / TELEGRAM_RATE, 2)
        figures["delivered_pct"] = round(100 * received / (consumers * len(served)), 1)
    finally:
        for one in served:
            one.sandbox.detach()
            await stop_application(one.app)
        await engine.dispose()
    return BenchResult(
        name="networks",
        figures=figures,
        note=(
            f"{len(served)} networks × {consumers} consumers, {sessions} sessions per workload, "
            "one process; broadcasts at once, each bot within 30/s"
        ),
    )
