"""``desserte parse-stock``: run the stock-message parser over JSON lines.

:func:`run` reads the catalog CSV (:func:`models.catalog_csv.read_catalog`), keeps the given
producer's products, then reads JSON lines ``{"id": "...", "text": "..."}`` on ``stdin`` and
writes one JSON line per input line on ``stdout``::

    {"id": "...", "updates": [{"sku": "TOM-ANC", "op": "set", "quantity": "12"}],
     "ambiguous": [{"text": "tomates", "candidates": ["TOM-ANC", "TOM-CER"]}],
     "unknown": ["asperges"]}

``quantity`` is a normalised decimal string in sale units (``"12"``, ``"1.5"``); candidates are
sorted skus. Unconvertible lines (``"20 kg de poireaux"`` of a product sold by the botte, or 700 g
into 500 g sachets) are NOT applied and are reported in ``"unknown"`` with their text, after the
unknown names. An unreadable input line (bad JSON, no ``text`` string) answers
``{"id": <id or null>, "error": "<reason>"}`` and the run goes on. Blank input lines are
skipped. Returns the exit code: 0, or 2 when the catalog cannot be read or the producer has no
product in it (message on stderr).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from models.catalog_csv import CsvImportError, ProductRow, format_decimal, read_catalog
from models.stock_parser import CatalogItem, ParseResult, StockParser


def catalog_items(rows: Sequence[ProductRow], producer: str) -> list[CatalogItem]:
    """The producer's products as the parser's :class:`CatalogItem` (file order)."""
    return [
        CatalogItem(
            sku=row.sku,
            name=row.name,
            aliases=row.aliases,
            sale_unit=row.sale_unit,
            unit_amount=row.unit_amount,
            unit_measure=row.unit_measure,
        )
        for row in rows
        if row.producer == producer
    ]


def result_to_json(message_id: Any, result: ParseResult) -> dict[str, Any]:
    """The CLI's JSON shape for one parsed message."""
    return {
        "id": message_id,
        "updates": [
            {"sku": u.sku, "op": u.op, "quantity": format_decimal(u.quantity, comma=False)}
            for u in result.updates
        ],
        "ambiguous": [{"text": a.text, "candidates": list(a.candidates)} for a in result.ambiguous],
        "unknown": [*result.unknown, *(u.text for u in result.unconvertible)],
    }


def run(
    catalog_path: Path, producer: str, stdin: TextIO, stdout: TextIO, stderr: TextIO | None = None
) -> int:
    """Parse every JSON line of ``stdin`` against ``producer``'s catalog; see the module doc."""
    err = stderr if stderr is not None else sys.stderr
    try:
        rows = read_catalog(catalog_path)
    except CsvImportError as exc:
        for error in exc.errors:
            print(f"{catalog_path}: {error}", file=err)
        return 2
    except OSError as exc:
        print(f"{catalog_path}: {exc.strerror or exc}", file=err)
        return 2
    items = catalog_items(rows, producer)
    if not items:
        known = ", ".join(sorted({r.producer for r in rows}))
        print(f"unknown producer {producer!r} (catalog has: {known})", file=err)
        return 2
    parser = StockParser(items)
    for raw in stdin:
        if not raw.strip():
            continue
        answer: dict[str, Any]
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            answer = {"id": None, "error": f"bad JSON: {exc.msg}"}
        else:
            message_id = data.get("id") if isinstance(data, dict) else None
            text = data.get("text") if isinstance(data, dict) else None
            if not isinstance(data, dict):
                answer = {"id": None, "error": "expected a JSON object"}
            elif not isinstance(text, str):
                answer = {"id": message_id, "error": "missing text"}
            else:
                answer = result_to_json(message_id, parser.parse(text))
        stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
    stdout.flush()
    return 0
