"""``python -m bench.history [--weeks N] [--quick] [--database URL]``: a week's statements
beside the same week after ``N`` weeks of history, SQLite's planner without statistics and
with them (``models.query_statistics``).

The open week of the benchmarks' network (1,800 confirmed orders of 12 lines; 300 with
``--quick``) is read as the bot reads it for the weighing, a price change's count of the lines
it touches, and the cycle's report; then the network gets ``N`` closed weeks before it
(``bench.network.add_history``) and the same reads are timed again, before and after the
statistics are refreshed. A statement that walks the whole history grows with ``N``; one that
starts from the week's orders does not. Not part of ``python -m bench``'s JSON line (no issue
names its figures); its table is in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.common import FULL_CONSUMERS, QUICK_SCALE, Options, fresh_database
from bench.network import add_history, build_network
from bot.db import sessionmaker
from models import Cycle
from models.price_change import _lines_at
from models.query_statistics import refresh_query_statistics
from models.reports import cycle_report
from models.weighing import weighing_lines

RUNS = 5
"""Timed runs of each read (after one untimed); the median is kept."""
WEEKS = 26
"""Half a year of weekly cycles."""

Read = Callable[[AsyncSession, Cycle], Awaitable[Any]]
READS: dict[str, Read] = {
    "weighing": lambda session, cycle: weighing_lines(session, cycle.id),
    "price change's lines": lambda session, cycle: _lines_at(session, cycle, 1),
    "cycle report": lambda session, cycle: cycle_report(session, cycle),
}


async def run_read(engine: AsyncEngine, cycle_id: int, read: Read) -> float:
    """Run ``read`` on the cycle in a session of its own; the seconds it took (the cycle's
    loading not counted)."""
    async with sessionmaker(engine)() as session:
        cycle = await session.scalar(select(Cycle).where(Cycle.id == cycle_id))
        assert cycle is not None
        started = time.perf_counter()
        await read(session, cycle)
        return time.perf_counter() - started


async def time_reads(engine: AsyncEngine, cycle_id: int) -> dict[str, float]:
    """Each read's median milliseconds over :data:`RUNS`, after one untimed run."""
    medians: dict[str, float] = {}
    for name, read in READS.items():
        await run_read(engine, cycle_id, read)
        times = [await run_read(engine, cycle_id, read) for _run in range(RUNS)]
        medians[name] = statistics.median(times) * 1000
    return medians


async def measure(options: Options, weeks: int) -> tuple[list[str], dict[str, list[float]], int]:
    """The columns, each read's milliseconds per column, and the history's order lines."""
    _url, engine = await fresh_database(options, "history")
    columns = ["one week"]
    try:
        network = await build_network(engine, options.consumers, with_orders=True)
        rows = {name: [ms] for name, ms in (await time_reads(engine, network.cycle_id)).items()}
        held = await add_history(engine, network.cycle_id, weeks)
        phases = [(f"+{weeks} weeks", False)]
        if engine.dialect.name == "sqlite":
            phases = [
                (f"+{weeks} weeks, no statistics", False),
                (f"+{weeks} weeks, statistics", True),
            ]
        for phase, refresh in phases:
            if refresh:
                async with sessionmaker(engine)() as session:
                    await refresh_query_statistics(session)
            columns.append(phase)
            for name, ms in (await time_reads(engine, network.cycle_id)).items():
                rows[name].append(ms)
    finally:
        await engine.dispose()
    return columns, rows, held


def main(argv: list[str] | None = None) -> int:
    """Print the table: one row per read, one column per phase, in milliseconds."""
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__)
    parser.add_argument("--weeks", type=int, default=WEEKS)
    parser.add_argument("--quick", action="store_true", help="300 consumers instead of 1,800")
    parser.add_argument("--database", metavar="URL", help="PostgreSQL URL (tables recreated)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="desserte-bench-history-") as workdir:
        options = Options(
            scale=QUICK_SCALE if args.quick else 1.0,
            database_url=args.database,
            workdir=Path(workdir),
        )
        columns, rows, held = asyncio.run(measure(options, args.weeks))
    consumers = round(FULL_CONSUMERS * options.scale)
    print(f"{consumers} orders a week; the history holds {held:,} order lines (ms, median)")
    print("| read | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{ms:.1f}" for ms in values) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
