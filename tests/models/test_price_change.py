"""Reading a price message: what is a price, and what stays a stock message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.price_change import PriceRequest, read_price

CORPUS = Path(__file__).with_name("stock_corpus.jsonl")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomates 5,80 le kilo", PriceRequest("tomates", 580, "kg")),
        ("prix des radis : 1,60 € la botte", PriceRequest("radis", 160, None)),
        ("miel 7€", PriceRequest("miel", 700, None)),
        ("cidre 4.50 euros le litre", PriceRequest("cidre", 450, "l")),
        ("prix radis 2", PriceRequest("radis", 200, None)),
    ],
)
def test_price_messages(text: str, expected: PriceRequest) -> None:
    assert read_price(text) == expected


@pytest.mark.parametrize(
    "text", ["radis 5", "tomates 12 kg", "basilics 20aine", "tomates 12 kg à 4,80 €, radis 3"]
)
def test_stock_messages_are_no_prices(text: str) -> None:
    assert read_price(text) is None


def test_no_message_of_the_stock_corpus_is_read_as_a_price() -> None:
    texts = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert [text for text in texts if read_price(text) is not None] == []
