"""The close benchmark: closing a cycle of 1,800 confirmed orders × 12 lines, beside one SQL.

The close is every step of :mod:`models.closing` and its neighbours that exists yet — freeze
and summary (``models.closing.close_cycle``), purchase orders
(``models.purchase_orders.purchase_orders``), pickup lists (``models.exports.pickup_lists``, or
whichever module provides them) — timed together, message sending excluded. The baseline is
one hand-written SQL statement giving the same per-producer and per-pickup-point totals.
The close is timed in a process set as the bot's is (``bot.app.freeze_long_lived``).
Figures: ``seconds``, ``sql_seconds``, ``ratio`` (= seconds / sql_seconds) and ``lines``.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import BenchResult, Options, empty, fresh_database, ratio
from bench.network import build_network
from bot.app import freeze_long_lived
from bot.db import sessionmaker

log = logging.getLogger(__name__)

KEYS = ("seconds", "sql_seconds", "ratio", "lines")
SQL_RUNS = 3

# (step, [(module, function), …]): the first candidate found is used.
OPTIONAL_STEPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("purchase orders", (("models.purchase_orders", "purchase_orders"),)),
    (
        "pickup lists",
        (
            ("models.exports", "pickup_lists"),
            ("models.pickup_lists", "pickup_lists"),
            ("models.pickup_lists", "pickup_list"),
            ("models.pickup", "pickup_lists"),
            ("models.pickup", "pickup_list"),
            ("models.reports", "pickup_lists"),
            ("models.closing", "pickup_lists"),
        ),
    ),
)

TOTALS_SQL = text(
    """
    SELECT 'producer' AS kind, p.producer_id AS key, count(*) AS n, sum(ol.total_cents) AS cents
    FROM order_line ol
    JOIN "order" o ON o.id = ol.order_id
    JOIN product p ON p.id = ol.product_id
    WHERE o.cycle_id = :cycle AND o.status IN ('confirmed', 'collected', 'no_show')
    GROUP BY p.producer_id
    UNION ALL
    SELECT 'point', o.pickup_point_id, count(*), sum(o.total_cents)
    FROM "order" o
    WHERE o.cycle_id = :cycle AND o.status IN ('confirmed', 'collected', 'no_show')
    GROUP BY o.pickup_point_id
    """
)

Step = Callable[[AsyncSession, int], Awaitable[Any]]


def _find(candidates: tuple[tuple[str, str], ...]) -> tuple[str, Callable[..., Any]] | None:
    for module_name, function_name in candidates:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        function = getattr(module, function_name, None)
        if callable(function):
            return f"{module_name}.{function_name}", function
    return None


def _as_step(function: Callable[..., Any], point_ids: list[int]) -> Step:
    """Call ``function(session, cycle_id)``, or once per pickup point when it takes one; a
    function taking the cycle itself (``cycle: Cycle``) gets it, loaded within the timing."""
    required = [
        p
        for p in inspect.signature(function).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    wants_cycle = len(required) >= 2 and str(required[1].annotation).endswith("Cycle")

    async def step(session: AsyncSession, cycle_id: int) -> Any:
        cycle: Any = cycle_id
        if wants_cycle:
            from models import Cycle

            cycle = await session.get(Cycle, cycle_id)
        if len(required) >= 3:
            return [await function(session, cycle, point) for point in point_ids]
        return await function(session, cycle)

    return step


async def sql_totals(session: AsyncSession, cycle_id: int) -> dict[tuple[str, int | None], tuple]:
    """The baseline: per producer (lines, cents) and per point (orders, cents), one statement."""
    rows = await session.execute(TOTALS_SQL, {"cycle": cycle_id})
    totals = {(kind, key): (int(n), int(cents)) for kind, key, n, cents in rows}
    await session.commit()
    return totals


async def run(options: Options) -> BenchResult:
    """Close a full cycle and time it beside the SQL aggregation; nulls if closing is missing."""
    try:
        from models.closing import close_cycle
    except ImportError as exc:
        return empty("close", KEYS, "waiting", f"waiting for models.closing.close_cycle ({exc})")
    steps: list[tuple[str, Step]] = []
    missing: list[str] = []
    url, engine = await fresh_database(options, "close")
    try:
        network = await build_network(engine, options.consumers, with_orders=True)
        for label, candidates in OPTIONAL_STEPS:
            found = _find(candidates)
            if found is None:
                missing.append(label)
            else:
                steps.append((label, _as_step(found[1], network.pickup_point_ids)))
        sessions = sessionmaker(engine)
        async with sessions() as session:
            await sql_totals(session, network.cycle_id)  # warm-up: same cache for both
        # The close runs in the bot's process, whose start-up objects are out of the garbage
        # collector's scans (bot.app): so here, where the network's building left its own.
        freeze_long_lived()
        async with sessions() as session:
            started = time.perf_counter()
            summary = await close_cycle(session, network.cycle_id, datetime.now(UTC))
            for _label, step in steps:
                await step(session, network.cycle_id)
            seconds = time.perf_counter() - started
        sql_times = []
        async with sessions() as session:
            for _run in range(SQL_RUNS):
                started = time.perf_counter()
                totals = await sql_totals(session, network.cycle_id)
                sql_times.append(time.perf_counter() - started)
        sql_seconds = statistics.median(sql_times)
    finally:
        gc.unfreeze()
        await engine.dispose()
    agree = _agree(summary, totals)
    included = ", ".join(["freeze + summary", *(label for label, _s in steps)])
    note = f"{network.orders} orders; timed: {included}"
    if missing:
        note += "; waiting for: " + ", ".join(missing)
    if not agree:
        note += "; WARNING: the close's totals differ from the SQL totals"
    return BenchResult(
        name="close",
        figures={
            "seconds": round(seconds, 4),
            "sql_seconds": round(sql_seconds, 4),
            "ratio": ratio(seconds, sql_seconds),
            "lines": int(getattr(summary, "lines", network.lines)),
        },
        note=note,
        extra={"totals_agree": agree, "missing_steps": missing, "database": url.split(":")[0]},
    )


def _agree(summary: Any, totals: dict[tuple[str, int | None], tuple]) -> bool:
    """Whether the close's summary gives the same per-producer and per-point figures."""
    try:
        mine = {("producer", p.producer_id): (p.lines, p.revenue_cents) for p in summary.producers}
        mine |= {
            ("point", p.pickup_point_id): (p.orders, p.revenue_cents) for p in summary.pickup_points
        }
    except AttributeError:
        log.warning("the close summary has no per-producer/per-point totals to compare")
        return False
    return mine == totals
