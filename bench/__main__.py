"""``python -m bench [--quick] [--json] [--database URL]``: every benchmark, side by side with
its baseline, in a table (and one JSON line with ``--json``).

Each benchmark runs in a child process of its own (``--child NAME``), so that one cannot slow,
break or inflate the memory of another; the memory figure is the peak RSS of the child that ran
the updates benchmark. A benchmark whose feature is not there yet reports ``null`` figures and
says what it waits for; the others still run. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import memory
from bench.common import QUICK_SCALE, BenchResult, Options, empty, quiet_logs

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = (
    "updates",
    "open_loop",
    "costs",
    "close",
    "broadcast",
    "parser",
    "rounds",
    "networks",
    "workers",
)
"""The benchmarks run in a child process each (memory is read from the updates child)."""
MODULES = {"workers": "worker_processes"}
"""The module of a benchmark not named as its JSON key (``bench/workers.py`` holds the real
workers' process helpers, shared with the workers' proof test)."""
KEYS: dict[str, tuple[str, ...]] = {
    "updates": ("bot_per_s", "echo_per_s", "ratio", "p95_ms", "users"),
    "open_loop": (
        "bot_capacity_per_s",
        "echo_capacity_per_s",
        "capacity_ratio",
        "p95_ms_at_peak",
        "p50_ms_10x",
        "p95_ms_10x",
        "p99_ms_10x",
    ),
    "costs": (
        "read_sql",
        "add_sql",
        "confirm_sql",
        "read_cpu_ms",
        "add_cpu_ms",
        "confirm_cpu_ms",
        "echo_cpu_ms",
        "floor_cpu_ms",
    ),
    "close": ("seconds", "sql_seconds", "ratio", "lines"),
    "broadcast": (
        "seconds",
        "floor_seconds",
        "ratio",
        "recipients",
        "delivered",
        "duplicates",
        "http_429",
    ),
    "parser": ("messages_per_s", "exact_pct"),
    "rounds": ("seconds", "farms", "km", "direct_km"),
    "networks": (
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
    ),
    "workers": (
        "consumers",
        "updates_per_s_1w",
        "p95_ms_1w",
        "broadcast_s_1w",
        "updates_per_s_2w",
        "p95_ms_2w",
        "broadcast_s_2w",
    ),
    "memory": ("peak_rss_mb",),
}
"""The JSON line's keys, exactly as the issue names them, in order."""
QUICK_BUDGET_S = 12.0
CHILD_TIMEOUT_S = {"quick": 150.0, "full": 3600.0}

Check = Callable[[dict[str, Any]], bool | None]


def _at_most(key: str, limit: float) -> Check:
    return lambda f: None if f.get(key) is None else f[key] <= limit


def _at_least(key: str, limit: float) -> Check:
    return lambda f: None if f.get(key) is None else f[key] >= limit


def _equal(key: str, other: str) -> Check:
    return lambda f: None if f.get(key) is None else f[key] == f.get(other)


GOALS: dict[str, list[tuple[str, Check]]] = {
    "updates": [("ratio ≤ 2.0", _at_most("ratio", 2.0)), ("p95 ≤ 50 ms", _at_most("p95_ms", 50))],
    "open_loop": [
        ("capacity ratio ≤ 3", _at_most("capacity_ratio", 3.0)),
        ("p95 ≤ 50 ms at 10× the peak", _at_most("p95_ms_10x", 50)),
    ],
    "costs": [],
    "close": [("≤ 1 s", _at_most("seconds", 1.0)), ("ratio ≤ 3", _at_most("ratio", 3.0))],
    "broadcast": [
        ("ratio ≤ 1.05", _at_most("ratio", 1.05)),
        ("delivered = recipients", _equal("delivered", "recipients")),
        ("0 duplicates", _at_most("duplicates", 0)),
        ("0 HTTP 429", _at_most("http_429", 0)),
    ],
    "parser": [
        ("≥ 5,000 msg/s", _at_least("messages_per_s", 5000)),
        ("≥ 95 % exact", _at_least("exact_pct", 95)),
    ],
    "rounds": [("≤ 2 s for 40 farms", _at_most("seconds", 2.0))],
    "networks": [
        ("cost per update flat (≤ 1.25× with 10 networks)", _at_most("cost_growth", 1.25)),
        ("every broadcast delivered", _at_least("delivered_pct", 100)),
    ],
    "workers": [],
    "memory": [("≤ 150 MB", _at_most("peak_rss_mb", 150))],
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (hidden options are for the smoke test and for child processes)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="desserte's benchmarks, each beside its baseline."
    )
    parser.add_argument("--quick", action="store_true", help="smaller scale, under a minute")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument(
        "--database", metavar="URL", help="PostgreSQL URL (its tables are dropped and recreated)"
    )
    parser.add_argument(
        "--only", metavar="NAMES", help="comma-separated benchmarks to run (others: null)"
    )
    parser.add_argument("--scale", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=20, help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=BENCHMARKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale is None:
        args.scale = QUICK_SCALE if args.quick else 1.0
    if args.budget is None and args.quick:
        args.budget = QUICK_BUDGET_S
    return args


# -- child: one benchmark ---------------------------------------------------------------------


def run_child(args: argparse.Namespace) -> int:
    """Run one benchmark in this process and print its result as the last JSON line."""
    quiet_logs()
    name = args.child
    with tempfile.TemporaryDirectory(prefix=f"desserte-bench-{name}-") as workdir:
        options = Options(
            scale=args.scale,
            database_url=args.database,
            workdir=Path(workdir),
            concurrency=args.concurrency,
            budget_s=args.budget,
        )
        try:
            module = importlib.import_module(f"bench.{MODULES.get(name, name)}")
            result: BenchResult = asyncio.run(module.run(options))
        except Exception as exc:
            traceback.print_exc()
            result = empty(name, KEYS[name], "failed", f"failed: {type(exc).__name__}: {exc}")
    print(json.dumps(result.to_json(), ensure_ascii=False))
    return 0


# -- parent: every benchmark, each in its own process -------------------------------------------


def run_in_child(name: str, args: argparse.Namespace) -> BenchResult:
    """Run benchmark ``name`` in a new Python process; a crash or timeout gives nulls."""
    command = [
        sys.executable,
        "-m",
        "bench",
        "--child",
        name,
        "--scale",
        repr(args.scale),
        "--concurrency",
        str(args.concurrency),
    ]
    if args.database:
        command += ["--database", args.database]
    if args.budget is not None:
        command += ["--budget", repr(args.budget)]
    timeout = CHILD_TIMEOUT_S["quick" if args.scale < 1 else "full"]
    if name == "workers":  # real worker processes, started three times, and two broadcasts
        timeout *= 3
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return empty(name, KEYS[name], "failed", f"failed: no result after {timeout:.0f}s")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        return BenchResult.from_json(json.loads(lines[-1]))
    except (IndexError, json.JSONDecodeError, KeyError):
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return empty(name, KEYS[name], "failed", f"failed: {why}")
    finally:
        if done.returncode != 0 or "Traceback" in done.stderr:
            sys.stderr.write(done.stderr)


def conform(result: BenchResult) -> dict[str, Any]:
    """The result's figures with exactly the issue's keys (numbers or None)."""
    figures = {}
    for key in KEYS[result.name]:
        value = result.figures.get(key)
        figures[key] = (
            value if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    return figures


def verdict(name: str, figures: dict[str, Any]) -> str:
    """Which goals are met (✓), missed (✗) or not measured (·)."""
    marks = []
    for label, check in GOALS[name]:
        outcome = check(figures)
        marks.append(("·" if outcome is None else "✓" if outcome else "✗") + " " + label)
    return ", ".join(marks) or "— (figures to read beside the echo's)"


def table(results: dict[str, BenchResult]) -> str:
    """The human-readable report: one block per benchmark."""
    out = []
    for name, result in results.items():
        figures = conform(result)
        shown = "  ".join(f"{k}={_fmt(v)}" for k, v in figures.items())
        out.append(f"{name:<10} {result.status:<8} {shown}")
        out.append(f"{'':<10} goals: {verdict(name, figures)}")
        if result.note:
            out.append(f"{'':<10} {result.note}")
    return "\n".join(out)


def _fmt(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if value < 1000 else f"{value:,.0f}"
    return f"{value:,}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and print the table (and the JSON line)."""
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    wanted = set(BENCHMARKS) if not args.only else {n.strip() for n in args.only.split(",")}
    unknown = wanted - set(BENCHMARKS) - {"memory"}
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if "memory" in wanted:
        wanted.add("updates")
    results: dict[str, BenchResult] = {}
    for name in BENCHMARKS:
        if name not in wanted:
            results[name] = empty(name, KEYS[name], "skipped", "not asked for (--only)")
            continue
        print(f"running {name} (scale {args.scale:g})…", file=sys.stderr, flush=True)
        started = time.perf_counter()
        results[name] = run_in_child(name, args)
        log.info("%s took %.1fs", name, time.perf_counter() - started)
    results["memory"] = memory.from_updates(results["updates"], args.scale)
    ordered = {name: results[name] for name in KEYS}
    print(table(ordered))
    if args.json:
        print(json.dumps({name: conform(result) for name, result in ordered.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
