"""What every benchmark shares: its result, the database it runs on, timing helpers.

A benchmark module exposes ``async def run(options: Options) -> BenchResult``; the result
carries the figures named in ``bench/README.md`` (``None`` when it could not run), a status
(``ok``, ``waiting`` for a feature that is not there yet, ``failed``) and a one-line note.
"""

from __future__ import annotations

import logging
import math
import os
import resource
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

FULL_CONSUMERS = 1800
QUICK_SCALE = 1 / 6
"""``--quick``: 300 consumers, as the issue's quick broadcast."""

Figure = float | int | None


@dataclass(frozen=True)
class Options:
    """How a benchmark runs: its scale (1.0 = full), the database URL (None = SQLite in a
    temporary folder), the folder for scratch files, how many simulated people act at once."""

    scale: float = 1.0
    database_url: str | None = None
    workdir: Path = Path(".")
    concurrency: int = 20
    budget_s: float | None = None
    """A bound on each timed phase that could run long (``--quick``): no session starts after
    it, and the figures count the sessions that ran."""

    @property
    def consumers(self) -> int:
        """How many consumers the network has at this scale (at least 2)."""
        return max(2, round(FULL_CONSUMERS * self.scale))


@dataclass
class BenchResult:
    """One benchmark's figures (the JSON keys), status and note for the table."""

    name: str
    figures: dict[str, Figure]
    status: str = "ok"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what a child process prints)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchResult:
        """The inverse of :meth:`to_json`."""
        return cls(
            name=str(data["name"]),
            figures=dict(data["figures"]),
            status=str(data.get("status", "ok")),
            note=str(data.get("note", "")),
            extra=dict(data.get("extra") or {}),
        )


def empty(name: str, keys: Sequence[str], status: str, note: str) -> BenchResult:
    """A result whose every figure is ``None``: the benchmark could not run, and why."""
    return BenchResult(name=name, figures=dict.fromkeys(keys), status=status, note=note)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` (0–1) percentile by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` rounded to 3 places, None when either is missing or zero."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (VmHWM on Linux)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


async def fresh_database(options: Options, name: str) -> tuple[str, AsyncEngine]:
    """An empty database with the schema: a new SQLite file in ``options.workdir`` (which must
    not hold one by that name already), or the
    ``--database`` URL with every table dropped and created again. Returns (url, engine)."""
    from bot.db import create_engine, create_schema, drop_schema

    if options.database_url:
        url = options.database_url
        engine = create_engine(url)
        await drop_schema(engine)
    else:
        path = options.workdir / f"{name}.sqlite3"  # the workdir is new for each run
        url = f"sqlite+aiosqlite:///{path}"
        engine = create_engine(url)
    await create_schema(engine)
    return url, engine


def bench_settings(url: str, admin_ids: Sequence[int] = ()) -> Any:
    """Application settings for a benchmark: this database, these admins, no token, no .env."""
    from bot.settings import load_settings

    return load_settings(
        _env_file=None,
        database_url=url,
        admin_ids=",".join(str(i) for i in admin_ids),
        telegram_bot_token=None,
        webhook_url=None,
        minimum_order_cents=0,
    )


def quiet_logs() -> None:
    """Benchmarks print figures, not the bot's warnings (errors still show)."""
    logging.basicConfig(
        level=os.environ.get("BENCH_LOG_LEVEL", "ERROR"),
        format="%(levelname)s %(name)s: %(message)s",
    )
