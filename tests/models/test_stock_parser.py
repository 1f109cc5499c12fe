"""The stock-message parser: the corpus of real-looking messages, then one test per rule."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.demo_network import CATALOG_CSV
from bot.parse_stock import catalog_items, result_to_json
from models.catalog_csv import read_catalog
from models.stock_parser import (
    Ambiguity,
    ParseResult,
    StockLine,
    StockParser,
    Unconvertible,
    parse_stock_message,
)

CORPUS = Path(__file__).with_name("stock_corpus.jsonl")
# the corpus's farms beyond the demo network's (cases with ids "n-…")
CORPUS_FARMS_CSV = Path(__file__).with_name("stock_corpus_farms.csv")
GARDENER = "jardins-lusignan"


@cache
def corpus_catalog() -> list[Any]:
    return [*read_catalog(CATALOG_CSV), *read_catalog(CORPUS_FARMS_CSV)]


@cache
def parser_for(producer: str) -> StockParser:
    return StockParser(catalog_items(corpus_catalog(), producer))


def load_corpus() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "updates": answer["updates"],
        "ambiguous": answer["ambiguous"],
        "unknown": sorted(answer["unknown"]),
    }


def parse(text: str, producer: str = GARDENER) -> ParseResult:
    return parser_for(producer).parse(text)


def updates(text: str, producer: str = GARDENER) -> list[tuple[str, str, str]]:
    return [(u.sku, u.op, str(u.quantity)) for u in parse(text, producer).updates]


# ---------------------------------------------------------------- the corpus


def test_corpus_is_big_varied_and_well_formed() -> None:
    cases = load_corpus()
    assert len(cases) >= 160 + 150
    assert len({c["id"] for c in cases}) == len(cases)
    assert len({c["producer"] for c in cases}) == 8 + 5
    for case in cases:
        known = {row.sku for row in corpus_catalog() if row.producer == case["producer"]}
        assert set(case["expected"]) == {"updates", "ambiguous", "unknown"}
        for update in case["expected"]["updates"]:
            assert update["sku"] in known
            assert update["op"] in ("set", "add", "remove")


def silent_wrong_updates(got: dict[str, Any], expected: dict[str, Any]) -> list[dict[str, str]]:
    """The updates the parser would apply without a question that the message did not mean
    (another product, another quantity or operation)."""
    meant = [dict(u) for u in expected["updates"]]
    wrong = []
    for update in got["updates"]:
        if update in meant:
            meant.remove(update)
        else:
            wrong.append(update)
    return wrong


def test_silent_wrong_updates_counts_what_would_be_applied_wrongly() -> None:
    expected = {"updates": [{"sku": "A", "op": "set", "quantity": "2"}]}
    assert silent_wrong_updates({"updates": []}, expected) == []
    assert silent_wrong_updates(expected, expected) == []
    wrong = {"updates": [{"sku": "B", "op": "set", "quantity": "2"}]}
    assert silent_wrong_updates(wrong, expected) == wrong["updates"]
    twice = {"updates": expected["updates"] * 2}
    assert silent_wrong_updates(twice, expected) == expected["updates"]


def test_corpus_share_exactly_right_and_no_silent_wrong_update(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = load_corpus()
    wrong = []
    silent = []
    for case in cases:
        got = result_to_json(case["id"], parser_for(case["producer"]).parse(case["text"]))
        if comparable(got) != comparable(case["expected"]):
            wrong.append((case["id"], case["text"], got))
        silent.extend((case["id"], u) for u in silent_wrong_updates(got, case["expected"]))
    with capsys.disabled():
        for label, subset in (
            ("demo farms", [c for c in cases if not c["id"].startswith("n-")]),
            ("corpus farms", [c for c in cases if c["id"].startswith("n-")]),
        ):
            ids = {c["id"] for c in subset}
            bad = sum(1 for w in wrong if w[0] in ids)
            print(f"\nstock corpus, {label}: {len(subset) - bad}/{len(subset)} exactly right")
        print(f"silent wrong updates: {len(silent)} {silent}")
        for case_id, text, got in wrong:
            print(f"  {case_id} {text!r} -> {got}")
    assert silent == []
    assert 1 - len(wrong) / len(cases) >= 0.95


def test_parse_speed() -> None:
    cases = load_corpus()
    pairs = [(parser_for(c["producer"]), c["text"]) for c in cases]
    start = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for parser, text in pairs:
            parser.parse(text)
    rate = rounds * len(pairs) / (time.perf_counter() - start)
    # the benchmark wants >= 5,000/s; a loose bound here so a loaded CI machine never flakes
    assert rate >= 1_500, rate


# ---------------------------------------------------------------- rules, one by one


def test_quantity_after_or_before_the_name_and_units() -> None:
    assert updates("tomates anciennes 12 kg") == [("TOM-ANC", "set", "12")]
    assert updates("12 kg de tomates anciennes") == [("TOM-ANC", "set", "12")]
    assert updates("1500 g de tomates cerises") == [("TOM-CER", "set", "6")]
    assert updates("carottes 1500 g") == [("CAR-KG", "set", "1.5")]
    assert updates("3 kg d'échalotes") == [("ECH-500", "set", "6")]
    assert updates("radis 12") == [("RAD-BOT", "set", "12")]
    assert updates("2 douzaines d'oeufs", "ferme-grand-pre") == [("OEU-6", "set", "4")]
    assert updates("cuisses de poulet 20 pièces", "ferme-grand-pre") == [("CUI-POU", "set", "10")]
    assert updates("jus pomme poire 15 litres", "vergers-mirebalais") == [("JUS-POP", "set", "20")]


def test_decimal_comma_and_dot_and_number_words() -> None:
    assert updates("carottes 12,5 kg") == [("CAR-KG", "set", "12.5")]
    assert updates("carottes 12.5 kg") == [("CAR-KG", "set", "12.5")]
    assert updates("vingt-cinq kg de tomates anciennes") == [("TOM-ANC", "set", "25")]
    assert updates("trente et une batavias") == [("SAL-BAT", "set", "31")]
    assert updates("une batavia") == [("SAL-BAT", "set", "1")]
    assert updates("une vingtaine de batavias") == [("SAL-BAT", "set", "20")]
    assert updates("une douzaine de concombres") == [("CON-PCE", "set", "12")]
    assert updates("une demi-douzaine d'oeufs", "ferme-grand-pre") == [("OEU-6", "set", "1")]
    assert updates("haricots verts 2 kg et demi") == [("HAR-VER", "set", "2.5")]
    assert updates("1 kg 500 de haricots verts") == [("HAR-VER", "set", "1.5")]


def test_operations() -> None:
    assert updates("+5 batavia") == [("SAL-BAT", "add", "5")]
    assert updates("batavia + 5") == [("SAL-BAT", "add", "5")]
    assert updates("ajoute 5 batavia") == [("SAL-BAT", "add", "5")]
    assert updates("rajoute 5 batavia") == [("SAL-BAT", "add", "5")]
    assert updates("5 batavia en plus") == [("SAL-BAT", "add", "5")]
    assert updates("-3 radis") == [("RAD-BOT", "remove", "3")]
    assert updates("radis -3") == [("RAD-BOT", "remove", "3")]
    assert updates("enlève 2 butternut") == [("COU-BUT", "remove", "2")]
    assert updates("retire 2 butternuts") == [("COU-BUT", "remove", "2")]
    assert updates("moins 2 butternuts") == [("COU-BUT", "remove", "2")]
    assert updates("ajouter 3 concombres et 2 kg de haricots") == [
        ("CON-PCE", "add", "3"),
        ("HAR-VER", "add", "2"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "radis 0",
        "0 radis",
        "radis épuisés",
        "radis : rupture",
        "plus de radis",
        "pas de radis cette semaine",
        "radis finis",
        "fini les radis",
        "radis : plus rien",
        "y a plus de radis",
        "radis plus dispo",
        "rupture de stock sur les radis",
    ],
)
def test_none_left_is_set_zero(text: str) -> None:
    assert updates(text) == [("RAD-BOT", "set", "0")]


def test_plus_de_with_a_number_and_plus_que_are_not_none_left() -> None:
    assert updates("plus que 10 poireaux") == [("POI-BOT", "set", "10")]
    assert updates("plus de 20 kg de carottes") == [("CAR-KG", "set", "20")]


def test_bullets_lines_and_separators() -> None:
    text = "- radis 10\n• poireaux 12\n* batavia 30; feuille de chêne 20 et butternut 5, potiron 4"
    assert updates(text) == [
        ("RAD-BOT", "set", "10"),
        ("POI-BOT", "set", "12"),
        ("SAL-BAT", "set", "30"),
        ("SAL-FCH", "set", "20"),
        ("COU-BUT", "set", "5"),
        ("COU-POT", "set", "4"),
    ]
    assert updates("batavia 30 feuille de chêne 25") == [
        ("SAL-BAT", "set", "30"),
        ("SAL-FCH", "set", "25"),
    ]
    assert updates("- 5 concombres") == [("CON-PCE", "set", "5")]


def test_greetings_fillers_and_signatures_are_ignored() -> None:
    result = parse(
        "Bonjour ! 😊\nVoici mon stock pour cette semaine :\nRadis 10\nMerci, bonne journée\nMarie"
    )
    assert [(u.sku, str(u.quantity)) for u in result.updates] == [("RAD-BOT", "10")]
    assert result.ambiguous == result.unconvertible == []
    assert result.unknown == []
    assert parse("Merci !") == ParseResult()


def test_accents_case_plurals_typos_and_aliases() -> None:
    assert updates("FEUILLE DE CHENE 3") == [("SAL-FCH", "set", "3")]
    assert updates("feuilles de chêne 3") == [("SAL-FCH", "set", "3")]
    assert updates("tomatos anciennes 4kg") == [("TOM-ANC", "set", "4")]
    assert updates("poiraux 8") == [("POI-BOT", "set", "8")]
    assert updates("pdt 10 kg") == [("PDT-2K", "set", "5")]
    assert updates("patates 3 sachets") == [("PDT-2K", "set", "3")]
    assert updates("oeufs 5", "ferme-grand-pre") == [("OEU-6", "set", "5")]
    assert updates("Œufs 5", "ferme-grand-pre") == [("OEU-6", "set", "5")]


def test_ambiguous_names_keep_the_quantity() -> None:
    result = parse("tomates 12 kg, salades 20")
    assert result.updates == []
    assert result.ambiguous == [
        Ambiguity("tomates", ("TOM-ANC", "TOM-CER"), "set", Decimal(12), "kg"),
        Ambiguity("salades", ("SAL-BAT", "SAL-FCH"), "set", Decimal(20), None),
    ]
    parser = parser_for(GARDENER)
    assert parser.resolve(result.ambiguous[0], "TOM-ANC") == StockLine(
        "TOM-ANC", "set", Decimal(12), "tomates"
    )
    assert parser.resolve(result.ambiguous[0], "TOM-CER") == StockLine(
        "TOM-CER", "set", Decimal(48), "tomates"
    )
    assert parser.resolve(result.ambiguous[1], "SAL-FCH").quantity == 20
    zero = parse("plus de tomates").ambiguous[0]
    assert (zero.op, zero.quantity) == ("set", 0)


def test_unknown_names() -> None:
    result = parse("asperges 5 kg, radis 3, plus d'épinards")
    assert result.unknown == ["asperges", "épinards"]
    assert [u.sku for u in result.updates] == ["RAD-BOT"]
    # only the sender's catalog: eggs are not the market gardener's
    assert parse("oeufs 10").unknown == ["oeufs"]
    # a name without quantity nor operation is not a stock line
    assert parse("radis").unknown == []
    # a quantity without a name is reported
    assert parse("12 kg").unknown == ["12 kg"]


def test_unconvertible_quantities_are_not_rounded() -> None:
    result = parse("20 salades, 10 kg de poireaux, échalotes 700 g")
    assert result.unconvertible == [
        Unconvertible("10 kg de poireaux", "POI-BOT", Decimal(10), "kg"),
        Unconvertible("échalotes 700 g", "ECH-500", Decimal(700), "g"),
    ]
    assert parse("butternut 10 kg").unconvertible[0].sku == "COU-BUT"
    assert parse("5 cagettes de tomates anciennes").unconvertible[0].unit == "cagette"
    ambiguous = parse("tomates 1,1 kg").ambiguous[0]
    assert isinstance(parser_for(GARDENER).resolve(ambiguous, "TOM-CER"), Unconvertible)


def test_prices_dates_and_ranges_are_not_quantities() -> None:
    assert updates("tomates anciennes 12 kg à 4,80€") == [("TOM-ANC", "set", "12")]
    assert updates("Stock semaine 38 :\nradis 5") == [("RAD-BOT", "set", "5")]
    assert updates("livraison jeudi 18h : radis 5") == [("RAD-BOT", "set", "5")]
    assert updates("tomates anciennes 10-12 kg") == [("TOM-ANC", "set", "10")]
    assert updates("tomates cerises 20 barquettes de 250 g") == [("TOM-CER", "set", "20")]


def test_name_and_quantity_on_separate_clauses_or_lines() -> None:
    assert updates("Radis : 20") == [("RAD-BOT", "set", "20")]
    assert updates("Tomates anciennes\n12 kg") == [("TOM-ANC", "set", "12")]
    assert updates("Tomates cerises : fini") == [("TOM-CER", "set", "0")]
    assert updates("Salades : 15 batavia et 15 feuille de chêne") == [
        ("SAL-BAT", "set", "15"),
        ("SAL-FCH", "set", "15"),
    ]


def test_unit_word_that_is_the_product_name() -> None:
    assert updates("10 pains de campagne", "fournil-liguge") == [("PAI-CAM", "set", "10")]
    result = parse("12 pains", "fournil-liguge")
    assert result.ambiguous[0].candidates == ("PAI-CAM", "PAI-COM", "PAI-GRA")


def test_stock_line_text_is_the_original_fragment() -> None:
    (line,) = parse("Bonjour, Tomates Cerises : 20 barquettes 🍅").updates
    assert line.text == "Tomates Cerises : 20 barquettes"


def test_one_shot_function_and_empty_input() -> None:
    catalog = catalog_items(read_catalog(CATALOG_CSV), GARDENER)
    assert parse_stock_message("radis 3", catalog).updates[0].quantity == 3
    assert parse_stock_message("", catalog) == ParseResult()
    assert parse_stock_message("   \n\n", []) == ParseResult()
