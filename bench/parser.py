"""The parser benchmark: the stock-message parser over the test corpus.

Figures: ``messages_per_s`` (the corpus parsed ``passes`` times, each producer's parser built
beforehand from the demo's catalog and the corpus farms', untimed) and ``exact_pct`` (share of
corpus messages whose updates, ambiguities and unknown words are exactly the expected ones,
compared as ``tests/models/test_stock_parser.py`` does).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from bench.common import BenchResult, Options, empty

log = logging.getLogger(__name__)

KEYS = ("messages_per_s", "exact_pct")
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "models" / "stock_corpus.jsonl"
CORPUS_FARMS = CORPUS.with_name("stock_corpus_farms.csv")
"""The catalog of the corpus's farms beyond the demo network's (its cases ``n-…``), read beside
the demo's as ``tests/models/test_stock_parser.py`` reads it."""
FULL_PASSES = 20


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The corpus cases: ``{"id", "producer", "text", "expected"}``."""
    with path.open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """What must match exactly (unknown words in any order)."""
    return {
        "updates": answer["updates"],
        "ambiguous": answer["ambiguous"],
        "unknown": sorted(answer["unknown"]),
    }


async def run(options: Options) -> BenchResult:
    """Parse the corpus; nulls with the reason when the parser or the corpus is missing."""
    try:
        from bot.demo_network import CATALOG_CSV
        from bot.parse_stock import catalog_items, result_to_json
        from models.catalog_csv import read_catalog
        from models.stock_parser import StockParser
    except ImportError as exc:
        return empty("parser", KEYS, "waiting", f"waiting for models.stock_parser ({exc})")
    if not CORPUS.exists():
        return empty("parser", KEYS, "waiting", f"waiting for the corpus {CORPUS}")
    cases = load_corpus()
    rows = [*read_catalog(CATALOG_CSV), *read_catalog(CORPUS_FARMS)]
    parsers = {
        producer: StockParser(catalog_items(rows, producer))
        for producer in {case["producer"] for case in cases}
    }
    jobs = [(parsers[case["producer"]], case["text"]) for case in cases]
    exact = sum(
        comparable(result_to_json(case["id"], parsers[case["producer"]].parse(case["text"])))
        == comparable(case["expected"])
        for case in cases
    )
    passes = max(1, round(FULL_PASSES * options.scale))
    started = time.perf_counter()
    for _pass in range(passes):
        for parser, text in jobs:
            parser.parse(text)
    elapsed = time.perf_counter() - started
    return BenchResult(
        name="parser",
        figures={
            "messages_per_s": round(passes * len(jobs) / elapsed, 1),
            "exact_pct": round(100 * exact / len(cases), 2),
        },
        note=f"{len(cases)} corpus messages × {passes} passes (after one checking pass)",
    )
