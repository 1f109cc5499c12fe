"""Imports give the same answer on SQLite and PostgreSQL: generated producer, catalog and
pickup-point files, with values past every column's limit, are imported whole or refused whole
with every bad line listed (in French and English), never with another exception.

Each generated row knows whether it is bad (a name one character over its column, a price
whose line would not fit an integer, a NUL byte, a step or unit amount that would round to
zero or past the BigInteger of thousandths, ``x-9`` after ``X-9``…): the refusal must list
exactly the bad lines, and leave the database as it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from handlers.i18n import activate
from handlers.import_errors import REASONS, describe
from models import PickupPoint, Producer, Product
from models.catalog_csv import (
    CATALOG_COLUMNS,
    PICKUP_POINT_COLUMNS,
    PRICE_MAX_CENTS,
    PRODUCER_COLUMNS,
    QUANTITY_MAX,
    CsvImportError,
    format_price,
)
from models.catalog_import import import_catalog, import_pickup_points, import_producers
from models.cells import read_cell

Value = tuple[str, bool]  # a cell, and whether it makes its row bad


def over(limit: int, char: str = "x") -> list[Value]:
    """A cell at its column's length (good) and one character past it (bad)."""
    return [(char * limit, False), (char * (limit + 1), True)]


NUL: Value = ("a\x00b", True)
NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"),
    min_size=1,
    max_size=200,
).map(lambda text: (text, not read_cell(text.strip())))
FRIENDLY: list[Value] = [("<b>Tomates</b> & co", False), ("=1+1", False), ("'=1+1", False)]

PRODUCER_CELLS: dict[str, list[Value]] = {
    "name": [*over(200), *over(200, "é"), *over(200, "🍅"), NUL, *FRIENDLY],
    "town": [*over(120), NUL, ("", False)],
    "description": [("d" * 5000, False), NUL, ("", False)],
    "distance_km": [
        ("2147483647", False),
        ("2147483648", True),
        ("12,5", False),
        ("-1", True),
        ("9" * 5000, True),
        ("", False),
    ],
}
CATALOG_CELLS: dict[str, list[Value]] = {
    "name": [*over(200), *over(200, "🍅"), NUL, *FRIENDLY],
    "category": [*over(80), NUL],
    "sale_unit": [*over(40), NUL],
    "price": [
        (format_price(PRICE_MAX_CENTS), False),
        (format_price(PRICE_MAX_CENTS + 1), True),
        ("99999999999999999999", True),
        ("1" * 5000, True),
        ("0,01", False),
        ("3,205", True),
    ],
    "unit_amount": [
        ("0,001", False),
        ("0,0001", True),
        ("0,0004", True),
        (str(QUANTITY_MAX), False),
        (str(QUANTITY_MAX + 1), True),
        ("1" * 30, True),
        ("9" * 5000, True),
    ],
    "step": [
        ("0,5", False),
        ("0,001", False),
        ("0,0004", True),
        ("999", False),
        ("1000", True),
        ("", False),
    ],
    "labels": [("bio;sans-ogm", False), ("BIO", False), ("a b", True), NUL],
    "aliases": [("pdt;patates", False), ("a\x00", True)],
    "description": [("d" * 5000, False), NUL],
    "origin": [*over(200), NUL],
    "farming": [*over(200)],
    "photo": [("https://x/" + "p" * 490, False), ("https://x/" + "p" * 491, True), NUL],
}
PICKUP_CELLS: dict[str, list[Value]] = {
    "name": [*over(200), NUL, *FRIENDLY],
    "address": [*over(300), NUL],
    "company": [*over(200), NUL],
    "window_start": [("17:00", False), ("25:00", True), ("", False)],
}


@dataclass(frozen=True)
class File:
    """A generated file: its text, its rows' keys (in the file's case) and its bad lines."""

    text: str
    keys: list[str]
    bad_lines: frozenset[int]


def _file(draw, columns, cells, base: dict[str, str], key: str, pool: list[str]) -> File:
    count = draw(st.integers(min_value=1, max_value=5))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    keys: list[str] = []
    seen: set[str] = set()
    bad: set[int] = set()
    for index in range(count):
        line = index + 2
        row = dict(base)
        value = draw(st.sampled_from(pool))
        row[key] = value
        if value.lower() in seen:  # SKUs and slugs compare without regard to case
            bad.add(line)
        seen.add(value.lower())
        keys.append(value)
        if draw(st.booleans()):
            name, is_bad = draw(NAMES)
            row["name"] = name
            if is_bad:
                bad.add(line)
        nasty = draw(st.lists(st.sampled_from(sorted(cells)), max_size=2, unique=True))
        for column in nasty:
            cell, is_bad = draw(st.sampled_from(cells[column]))
            if column == "name" and row["name"] != base["name"]:
                continue  # the generated name stays, and so does its verdict
            row[column] = cell
            if is_bad:
                bad.add(line)
        writer.writerow([row.get(column, "") for column in columns])
    return File(out.getvalue(), keys, frozenset(bad))


@st.composite
def producer_files(draw) -> File:
    base = {"name": "Ferme", "town": "Lusignan", "distance_km": "12"}
    pool = ["ferme-a", "FERME-A", "ferme-b", "Ferme-C", "ferme-d"]
    return _file(draw, PRODUCER_COLUMNS, PRODUCER_CELLS, base, "slug", pool)


@st.composite
def catalog_files(draw) -> File:
    base = {
        "producer": "Jardins",
        "name": "Tomates",
        "category": "Légumes",
        "sale_unit": "kg",
        "unit_amount": "1",
        "unit_measure": "kg",
        "price": "4,80",
    }
    pool = ["X-9", "x-9", "TOM-1", "tom-2", "Miel.3"]
    return _file(draw, CATALOG_COLUMNS, CATALOG_CELLS, base, "sku", pool)


@st.composite
def pickup_files(draw) -> File:
    base = {"name": "Halle", "address": "12 rue des Carmes", "kind": "company", "company": "E"}
    pool = ["halle", "HALLE", "enedis", "Gare", "mairie"]
    return _file(draw, PICKUP_POINT_COLUMNS, PICKUP_CELLS, base, "slug", pool)


FILES = st.one_of(
    st.tuples(st.just("producers"), producer_files()),
    st.tuples(st.just("catalog"), catalog_files()),
    st.tuples(st.just("pickup-points"), pickup_files()),
)
IMPORTS: dict[str, tuple[Callable, type, Callable]] = {
    "producers": (import_producers, Producer, lambda key: key.lower()),
    "catalog": (import_catalog, Product, lambda key: key.upper()),
    "pickup-points": (import_pickup_points, PickupPoint, lambda key: key.lower()),
}


async def _rows(session, entity) -> list[tuple]:
    key = Product.sku if entity is Product else entity.slug
    found = await session.execute(
        select(key, entity.name).order_by(key).execution_options(populate_existing=True)
    )
    rows = [tuple(row) for row in found]
    await session.commit()
    return rows


@pytest.fixture
async def farm(session):
    await import_producers(session, "slug,name\njardins,Les Jardins de la Vonne\n")


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=FILES)
async def test_an_import_is_whole_or_refused_whole_with_every_reason(session, farm, generated):
    kind, file = generated
    function, entity, normalise = IMPORTS[kind]
    before = await _rows(session, entity)
    refusal: CsvImportError | None = None
    try:
        report = await function(session, file.text)
    except CsvImportError as caught:
        refusal = caught
    if refusal is not None:
        listed = [str(e) for e in refusal.errors]
        assert file.bad_lines, listed
        assert {e.line for e in refusal.errors} == file.bad_lines, listed
        for locale in ("fr", "en"):
            activate(locale)
            for error in refusal.errors:
                assert error.code in REASONS, error
                sentence = describe(error)
                assert f"{error.line}" in sentence, sentence
                assert "{" not in sentence, sentence
        activate("fr")
        assert await _rows(session, entity) == before
        return
    assert not file.bad_lines, file.bad_lines
    assert report.total == len(file.keys)
    keys = {key for key, _name in await _rows(session, entity)}
    assert {normalise(key) for key in file.keys} <= keys
