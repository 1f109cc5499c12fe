"""``python -m bench --quick --json`` at a tiny scale: it runs, and its JSON line has exactly
the issue's keys, each a number or null. Speed is never asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import KEYS, parse_args, table
from bench.common import BenchResult, percentile, ratio
from bench.memory import from_updates

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "updates": {"bot_per_s", "echo_per_s", "ratio", "p95_ms", "users"},
    "open_loop": {
        "bot_capacity_per_s",
        "echo_capacity_per_s",
        "capacity_ratio",
        "p95_ms_at_peak",
        "p50_ms_10x",
        "p95_ms_10x",
        "p99_ms_10x",
    },
    "costs": {
        "read_sql",
        "add_sql",
        "confirm_sql",
        "read_cpu_ms",
        "add_cpu_ms",
        "confirm_cpu_ms",
        "echo_cpu_ms",
        "floor_cpu_ms",
    },
    "close": {"seconds", "sql_seconds", "ratio", "lines"},
    "broadcast": {
        "seconds",
        "floor_seconds",
        "ratio",
        "recipients",
        "delivered",
        "duplicates",
        "http_429",
    },
    "parser": {"messages_per_s", "exact_pct"},
    "rounds": {"seconds", "farms", "km", "direct_km"},
    "networks": {
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
    },
    "workers": {
        "consumers",
        "updates_per_s_1w",
        "p95_ms_1w",
        "broadcast_s_1w",
        "updates_per_s_2w",
        "p95_ms_2w",
        "broadcast_s_2w",
    },
    "memory": {"peak_rss_mb"},
}


@pytest.fixture(scope="module")
def quick_run() -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", "--scale", "0.002"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_quick_json_has_exactly_the_keys_and_numbers_or_nulls(quick_run):
    assert quick_run.returncode == 0, quick_run.stderr
    last = quick_run.stdout.strip().splitlines()[-1]
    figures = json.loads(last)
    assert {name: set(values) for name, values in figures.items()} == EXPECTED
    for name, values in figures.items():
        for key, value in values.items():
            assert value is None or (
                isinstance(value, int | float) and not isinstance(value, bool)
            ), (name, key, value)


def test_no_benchmark_failed(quick_run):
    """Each benchmark ran, or said what it waits for: none crashed (a benchmark whose module
    could not be found used to pass here as a row of nulls)."""
    rows = [line.split() for line in quick_run.stdout.splitlines() if line[:1].isalpha()]
    statuses = {row[0]: row[1] for row in rows if row[0] in EXPECTED and len(row) > 1}
    assert set(statuses) == set(EXPECTED), quick_run.stdout
    failed = {name for name, status in statuses.items() if status == "failed"}
    assert not failed, quick_run.stdout


def test_the_table_names_every_benchmark_and_its_goals(quick_run):
    for name in EXPECTED:
        assert name in quick_run.stdout
    assert "goals:" in quick_run.stdout


def test_a_benchmark_that_cannot_run_yields_nulls_and_says_why():
    waiting = BenchResult(
        name="updates",
        figures={"echo_per_s": 900.0, "users": 9},
        status="waiting",
        note="waiting for the consumer journey",
        extra={"peak_rss_mb": 120.0},
    )
    memory = from_updates(waiting, 1.0)
    assert memory.figures == {"peak_rss_mb": None}
    assert "waiting" in memory.note
    text = table({"updates": waiting, "memory": memory})
    assert "waiting for the consumer journey" in text
    assert "bot_per_s=null" in text


def test_the_open_loop_and_costs_ran_the_bot(quick_run):
    figures = json.loads(quick_run.stdout.strip().splitlines()[-1])
    assert figures["costs"]["read_sql"] is not None, quick_run.stdout
    assert figures["open_loop"]["echo_capacity_per_s"] is not None, quick_run.stdout
    assert figures["open_loop"]["p95_ms_10x"] is not None, quick_run.stdout


async def test_the_parser_benchmark_scores_the_corpus_as_its_test_does(tmp_path):
    """The benchmark's ``exact_pct`` is the share the parser's own corpus test counts (its
    parsers once missed the corpus farms' catalog: 63.66 % for 99.27 %)."""
    from bench import parser as parser_bench
    from bench.common import Options
    from bot.parse_stock import result_to_json
    from tests.models.test_stock_parser import comparable, load_corpus, parser_for

    cases = load_corpus()
    right = sum(
        comparable(result_to_json(c["id"], parser_for(c["producer"]).parse(c["text"])))
        == comparable(c["expected"])
        for c in cases
    )
    result = await parser_bench.run(Options(scale=0.05, workdir=tmp_path))
    assert result.figures["exact_pct"] == round(100 * right / len(cases), 2)


def test_keys_match_the_issue():
    assert {name: set(keys) for name, keys in KEYS.items()} == EXPECTED


def test_quick_defaults():
    args = parse_args(["--quick"])
    assert args.scale < 1
    assert args.budget is not None
    assert parse_args([]).scale == 1.0


def test_helpers():
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.95) == 5.0
    assert percentile([], 0.95) is None
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None
    assert ratio(1.0, 0) is None
