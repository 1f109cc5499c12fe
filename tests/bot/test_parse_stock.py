"""``bot.parse_stock.run``: JSON lines in, JSON lines out."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bot.demo_network import CATALOG_CSV
from bot.parse_stock import run


def call(
    lines: list[str], producer: str = "jardins-lusignan", catalog: Path = CATALOG_CSV
) -> tuple[int, list[dict[str, object]], str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(catalog, producer, io.StringIO("\n".join(lines) + "\n"), stdout, stderr)
    answers = [json.loads(line) for line in stdout.getvalue().splitlines()]
    return code, answers, stderr.getvalue()


def test_parses_each_line_in_the_cli_shape() -> None:
    code, answers, err = call(
        [
            json.dumps({"id": "1", "text": "tomates anciennes 12 kg, plus de radis"}),
            json.dumps({"id": "2", "text": "tomates 3 kg\nasperges 2 kg\n10 kg de poireaux"}),
            json.dumps({"id": 3, "text": "carottes 1500 g, +5 batavia, enlève 2 butternut"}),
        ]
    )
    assert (code, err) == (0, "")
    assert answers == [
        {
            "id": "1",
            "updates": [
                {"sku": "TOM-ANC", "op": "set", "quantity": "12"},
                {"sku": "RAD-BOT", "op": "set", "quantity": "0"},
            ],
            "ambiguous": [],
            "unknown": [],
        },
        {
            "id": "2",
            "updates": [],
            "ambiguous": [{"text": "tomates", "candidates": ["TOM-ANC", "TOM-CER"]}],
            "unknown": ["asperges", "10 kg de poireaux"],
        },
        {
            "id": 3,
            "updates": [
                {"sku": "CAR-KG", "op": "set", "quantity": "1.5"},
                {"sku": "SAL-BAT", "op": "add", "quantity": "5"},
                {"sku": "COU-BUT", "op": "remove", "quantity": "2"},
            ],
            "ambiguous": [],
            "unknown": [],
        },
    ]
    assert all(list(a) == ["id", "updates", "ambiguous", "unknown"] for a in answers)


def test_bad_lines_answer_an_error_and_the_run_goes_on() -> None:
    code, answers, _ = call(
        [
            "{not json",
            json.dumps({"id": "a"}),
            json.dumps({"id": "b", "text": 12}),
            json.dumps(["x"]),
            "",
            json.dumps({"id": "c", "text": "radis 4"}),
        ]
    )
    assert code == 0
    assert [a["id"] for a in answers] == [None, "a", "b", None, "c"]
    assert all("error" in a for a in answers[:4])
    assert answers[4]["updates"] == [{"sku": "RAD-BOT", "op": "set", "quantity": "4"}]


def test_only_the_producers_catalog_is_used() -> None:
    _, answers, _ = call(
        [json.dumps({"id": "x", "text": "2 douzaines d'oeufs"})], producer="ferme-grand-pre"
    )
    assert answers[0]["updates"] == [{"sku": "OEU-6", "op": "set", "quantity": "4"}]
    _, answers, _ = call([json.dumps({"id": "x", "text": "2 douzaines d'oeufs"})])
    assert answers[0]["unknown"] == ["oeufs"]


def test_unknown_producer_exits_2() -> None:
    code, answers, err = call([json.dumps({"id": "1", "text": "radis 3"})], producer="nobody")
    assert code == 2
    assert answers == []
    assert "nobody" in err


def test_unreadable_catalog_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("producer,sku\nx,y\n", encoding="utf-8")
    code, _, err = call([], catalog=bad)
    assert code == 2
    assert "missing_column" in err
    code, _, err = call([], catalog=tmp_path / "missing.csv")
    assert code == 2
