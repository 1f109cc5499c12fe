"""What one update costs the bot: SQL statements and CPU milliseconds per kind of update.

Consumers run the updates benchmark's session (:data:`bench.updates.CONSUMER_SESSION`) one
after another, one update at a time, so that nothing else runs while an update is handled.
Statements are counted with a SQLAlchemy ``before_cursor_execute`` listener on the engine (an
``executemany`` counts once); CPU is ``time.process_time()`` around the update (every thread of
the process: the handlers, SQLAlchemy, the driver's thread, PTB and the in-process sandbox).
The echo bot's CPU per update, on a sandbox of its own, is the floor.

Kinds, as the issue names them: **read** (``/catalogue`` and a category page), **add** (➕ and
"Ajouter"), **confirm** ("Confirmer la commande"). Figures are medians per update of a kind.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import event

from bench.common import BenchResult, Options, bench_settings, empty, fresh_database
from bench.network import build_network
from bench.updates import CONSUMER_SESSION, bot_step, echo_application, echo_step, journey_missing
from bot.sandbox import Sandbox

log = logging.getLogger(__name__)

KEYS = (
    "read_sql",
    "add_sql",
    "confirm_sql",
    "read_cpu_ms",
    "add_cpu_ms",
    "confirm_cpu_ms",
    "echo_cpu_ms",
)
KINDS = {"catalog": "read", "category": "read", "more": "add", "add": "add", "confirm": "confirm"}
"""Session step name → the kind it is reported under (other steps are measured, not reported)."""


def _sessions(options: Options) -> int:
    if options.scale < 0.05:
        return 2
    return 15 if options.scale < 1 else 40


async def run(options: Options) -> BenchResult:
    """Sequential sessions on the bot, then on the echo bot; medians per kind."""
    from bot.app import build_application, start_application, stop_application

    sessions = min(_sessions(options), options.consumers)
    url, engine = await fresh_database(options, "costs")
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    sql: dict[str, list[int]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    echo_cpu: list[float] = []
    try:
        network = await build_network(engine, options.consumers)
        sandbox = Sandbox()
        app = build_application(
            bench_settings(url, [network.admin_telegram_id]),
            request=sandbox.request(),
            engine=engine,
            rate_limiter=False,
        )
        await start_application(app)
        try:
            sandbox.attach(app)
            missing = await journey_missing(sandbox, network)
            if missing is not None:
                return empty("costs", KEYS, "waiting", missing)
            event.listen(engine.sync_engine, "before_cursor_execute", count)
            for index, tid in enumerate(network.consumer_telegram_ids[:sessions]):
                user = sandbox.user(f"Conso{index + 1}", language="fr", user_id=tid)
                for step in CONSUMER_SESSION:
                    before_sql, before_cpu = statements, time.process_time()
                    await bot_step(user, index, network, step)
                    kind = KINDS.get(step.name, step.name)
                    cpu[kind].append(time.process_time() - before_cpu)
                    sql[kind].append(statements - before_sql)
                user.forget()
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        finally:
            sandbox.detach()
            await stop_application(app)

        echo_sandbox = Sandbox()
        echo_app = echo_application(echo_sandbox)
        async with echo_app:
            echo_sandbox.attach(echo_app)
            for index in range(sessions):
                user = echo_sandbox.user(f"Écho{index}", language="fr")
                for number, step in enumerate(CONSUMER_SESSION):
                    before_cpu = time.process_time()
                    await echo_step(user, number, step)
                    echo_cpu.append(time.process_time() - before_cpu)
                user.forget()
            echo_sandbox.detach()
    finally:
        await engine.dispose()
    return _result(sessions, sql, cpu, echo_cpu)


def _median_ms(values: list[float]) -> float | None:
    return round(statistics.median(values) * 1000, 2) if values else None


def _result(
    sessions: int, sql: dict[str, list[int]], cpu: dict[str, list[float]], echo_cpu: list[float]
) -> BenchResult:
    figures: dict[str, float | int | None] = {}
    for kind in ("read", "add", "confirm"):
        figures[f"{kind}_sql"] = round(statistics.median(sql[kind])) if sql[kind] else None
    for kind in ("read", "add", "confirm"):
        figures[f"{kind}_cpu_ms"] = _median_ms(cpu[kind])
    figures["echo_cpu_ms"] = _median_ms(echo_cpu)
    every = {
        kind: {"sql": statistics.median(sql[kind]), "cpu_ms": _median_ms(cpu[kind])} for kind in sql
    }
    others = ", ".join(
        f"{kind} {v['sql']:g} stmt {v['cpu_ms']} ms"
        for kind, v in every.items()
        if kind not in ("read", "add", "confirm")
    )
    note = (
        f"{sessions} sessions one update at a time, medians; CPU = process time (all threads); "
        f"other steps: {others}"
    )
    return BenchResult(name="costs", figures=figures, note=note, extra={"per_step": every})
