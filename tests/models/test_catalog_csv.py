"""CSV import/export of producers, catalog and pickup points."""

from __future__ import annotations

import io
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from bot.demo_network import CATALOG_CSV, PICKUP_POINTS_CSV, PRODUCERS_CSV
from models.catalog_csv import (
    CsvImportError,
    ProductRow,
    RowError,
    read_catalog,
    read_pickup_points,
    read_producers,
    write_catalog,
)

HEADER = "producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases"


def test_demo_network_reads_cleanly() -> None:
    producers = read_producers(PRODUCERS_CSV)
    catalog = read_catalog(CATALOG_CSV, producers={p.slug for p in producers})
    points = read_pickup_points(PICKUP_POINTS_CSV)

    assert 7 <= len(producers) <= 10
    assert all(p.distance_km is not None and p.distance_km <= 100 for p in producers)
    assert 55 <= len(catalog) <= 65
    assert {p.category for p in catalog} == {
        "Légumes",
        "Fruits",
        "Crèmerie",
        "Viandes",
        "Boulangerie",
        "Épicerie",
        "Cuisine",
    }
    assert {p.producer for p in catalog} == {p.slug for p in producers}
    assert 2 <= len(points) <= 3
    assert {p.kind for p in points} == {"public", "company"}
    by_sku = {p.sku: p for p in catalog}
    assert by_sku["TOM-CER"].price_cents == 320
    assert by_sku["TOM-CER"].unit_amount == Decimal(250)
    assert by_sku["OEU-6"].aliases == ("oeufs", "oeuf", "œuf")
    assert any(p.step == Decimal("0.5") for p in catalog)
    assert all(p.labels is not None for p in catalog)


def test_example_rows_from_the_format() -> None:
    text = (
        HEADER + "\n"
        'ferme-x,TOM-CER,Tomates cerises,Légumes,barquette,250,g,"3,20",bio,\n'
        'ferme-x,OEU-6,Œufs plein air,Crèmerie,boîte,6,pièce,"2,90",bio,oeufs\n'
    )
    rows = read_catalog(text)
    assert rows == [
        ProductRow(
            "ferme-x",
            "TOM-CER",
            "Tomates cerises",
            "Légumes",
            "barquette",
            Decimal(250),
            "g",
            320,
            ("bio",),
            (),
        ),
        ProductRow(
            "ferme-x",
            "OEU-6",
            "Œufs plein air",
            "Crèmerie",
            "boîte",
            Decimal(6),
            "pièce",
            290,
            ("bio",),
            ("oeufs",),
        ),
    ]


@pytest.mark.parametrize(
    ("price", "cents"), [("3,20", 320), ("3.20", 320), ("3", 300), ("3,2", 320), ("12,50 €", 1250)]
)
def test_prices_accepted(price: str, cents: int) -> None:
    rows = read_catalog(f'{HEADER}\nf,A,Nom,Cat,kg,1,kg,"{price}",,\n')
    assert rows[0].price_cents == cents


@pytest.mark.parametrize(
    ("price", "code"),
    [
        ("3,2,0", "bad_price"),
        ("abc", "bad_price"),
        ("-1", "negative_price"),
        ("3,205", "bad_price"),
        ("0", "zero_price"),
    ],
)
def test_prices_rejected(price: str, code: str) -> None:
    with pytest.raises(CsvImportError) as info:
        read_catalog(f'{HEADER}\nf,A,Nom,Cat,kg,1,kg,"{price}",,\n')
    assert [(e.line, e.column, e.code) for e in info.value.errors] == [(2, "price", code)]


def test_broken_file_lists_every_error_and_imports_nothing() -> None:
    text = (
        "\ufeff" + HEADER + ",step\n"  # line 1
        'ferme-x,TOM-CER,Tomates cerises,Légumes,barquette,250,g,"3,20",bio,\n'  # 2 ok
        "ferme-x,TOM-ANC,Tomates anciennes,Légumes,kg,1,kg,abc,bio,,\n"  # 3 bad price
        "ferme-x,TOM-CER,Doublon,Légumes,kg,1,kg,2,,\n"  # 4 duplicate
        "\n"  # 5 blank
        "ferme-y,RAD,Radis,Légumes,botte,1,litre,1,,\n"  # 6 unknown prod+unit
        ',POI,"Poireaux, bottes",Légumes,botte,0,botte,2,,,"0,3"\n'  # 7 3 errors
        'ferme-x,"CAR\n'  # 8 multi-line
        'OTTE",Carottes,Légumes,kg,1,kg,"-2",,,-1\n'  # 9
        "ferme-x,EPI,Épinards,Légumes,kg,1,kg,4,,,0.5\n"  # 10 ok
    )
    with pytest.raises(CsvImportError) as info:
        read_catalog(text, producers={"ferme-x"})
    got = [(e.line, e.column, e.code) for e in info.value.errors]
    assert got == [
        (3, "price", "bad_price"),
        (4, "sku", "duplicate_sku"),
        (6, "producer", "unknown_producer"),
        (6, "unit_measure", "bad_unit_measure"),
        (7, "producer", "missing_value"),
        (7, "unit_amount", "bad_amount"),
        (8, "price", "negative_price"),
        (8, "sku", "bad_sku"),
        (8, "step", "bad_step"),
    ]
    dup = next(e for e in info.value.errors if e.code == "duplicate_sku")
    assert dup.params == {"value": "TOM-CER", "first_line": 2}
    assert "line 4" in str(dup)


def test_header_errors() -> None:
    with pytest.raises(CsvImportError) as info:
        read_catalog("producer,sku,name,prix\nf,A,B,3\n")
    codes = {(e.code, e.column) for e in info.value.errors}
    assert ("unknown_column", "prix") in codes
    assert ("missing_column", "price") in codes
    assert all(e.line == 1 for e in info.value.errors)

    with pytest.raises(CsvImportError) as info:
        read_catalog(HEADER.replace(",", ";") + "\nf;A;B\n")
    assert info.value.errors == [RowError(1, None, "bad_header", {"separator": ";"})]


def test_bad_encoding_reports_the_line() -> None:
    data = (HEADER + "\nf,A,Tomates,L,kg,1,kg,2,,\nf,B,Pur\xe9e,L,kg,1,kg,2,,\n").encode("latin-1")
    with pytest.raises(CsvImportError) as info:
        read_catalog(data)
    assert [(e.line, e.code) for e in info.value.errors] == [(3, "bad_encoding")]


def test_whitespace_bom_and_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(
        (
            "\ufeff" + HEADER + ",origin,photo\n"
            "f , A ,Miel ,Épicerie,pot , 500 ,G,8.5, bio ; AOP , miel ; ,  ,https://x.fr/m.jpg \n"
        ).encode()
    )
    for source in (path, str(path)):
        (row,) = read_catalog(source)
        assert row.producer == "f"
        assert row.sku == "A"
        assert row.unit_measure == "g"
        assert row.price_cents == 850
        assert row.labels == ("bio", "aop")
        assert row.aliases == ("miel",)
        assert row.origin is None
        assert row.step is None
        assert row.photo == "https://x.fr/m.jpg"


def test_round_trip() -> None:
    rows = read_catalog(CATALOG_CSV)
    out = io.StringIO()
    write_catalog(rows, out)
    assert read_catalog(out.getvalue()) == rows
    extra = ProductRow(
        "f",
        "X-1",
        'Pain "aux, graines"',
        "Boulangerie",
        "pain",
        Decimal("0.75"),
        "kg",
        5,
        ("bio",),
        ("graines", "pain graines"),
        "desc\nsur deux lignes",
        None,
        None,
        Decimal("0.5"),
        None,
    )
    out = io.StringIO()
    write_catalog([extra], out)
    assert read_catalog(out.getvalue()) == [extra]


def test_producers_and_pickup_points_errors() -> None:
    with pytest.raises(CsvImportError) as info:
        read_producers(
            "slug,name,town,description,distance_km\na,A,Lusignan,,27\na,B,,,-3\nBad Slug,,,,x\n"
        )
    assert [(e.line, e.column, e.code) for e in info.value.errors] == [
        (3, "distance_km", "bad_number"),
        (3, "slug", "duplicate_slug"),
        (4, "distance_km", "bad_number"),
        (4, "name", "missing_value"),
        (4, "slug", "bad_slug"),
    ]
    header = "slug,name,address,kind,company,window_start,window_end\n"
    (point,) = read_pickup_points(header + "p,P,1 rue X,public,,17h,19h30\n")
    assert (point.window_start, point.window_end, point.company) == (time(17), time(19, 30), None)
    with pytest.raises(CsvImportError) as info:
        read_pickup_points(
            header
            + "p,P,1 rue X,company,,12:00,14:00\n"
            + "q,Q,1 rue Y,prive,,25:00,14:00\n"
            + "r,R,1 rue Z,public,,18:00,17:00\n"
        )
    assert [(e.line, e.column, e.code) for e in info.value.errors] == [
        (2, "company", "missing_value"),
        (3, "kind", "bad_kind"),
        (3, "window_start", "bad_time"),
        (4, "window_end", "bad_window"),
    ]


def test_coordinates_collection_and_hours_of_producers_and_points() -> None:
    header = "slug,name,town,description,distance_km,lat,lon,collected,ready_from,ready_until\n"
    farm, depot_farm = read_producers(
        header + 'a,A,Lusignan,,27,"46,4356",0.1219,oui,7h,11:00\nb,B,,,,,,,,\n'
    )
    assert (farm.lat, farm.lon, farm.collected) == (46.4356, 0.1219, True)
    assert (farm.ready_from, farm.ready_until) == (time(7), time(11))
    assert (depot_farm.lat, depot_farm.lon, depot_farm.collected) == (None, None, False)
    with pytest.raises(CsvImportError) as info:
        read_producers(
            header
            + "a,A,,,,91,0.1,yes,,\n"
            + "b,B,,,,46.5,-181,peut-être,,\n"
            + "c,C,,,,46.5,,non,12:00,08:00\n"
            + "d,D,,,,nord,0.3,no,,\n"
        )
    assert [(e.line, e.column, e.code) for e in info.value.errors] == [
        (2, "lat", "bad_latitude"),
        (3, "collected", "bad_yes_no"),
        (3, "lon", "bad_longitude"),
        (4, "lon", "missing_value"),
        (4, "ready_until", "bad_window"),
        (5, "lat", "bad_latitude"),
    ]
    # The demo's farms and its central point are placed around Poitiers.
    for row in [*read_producers(PRODUCERS_CSV), *read_pickup_points(PICKUP_POINTS_CSV)[:2]]:
        assert 46.2 < (row.lat or 0) < 46.9, row.slug
        assert -0.1 < (row.lon or -1) < 1.0, row.slug
    points = "slug,name,address,kind,company,window_start,window_end,lat,lon\n"
    (point,) = read_pickup_points(points + "p,P,1 rue X,public,,,,46.58,0.34\n")
    assert (point.lat, point.lon) == (46.58, 0.34)


def test_weighed_products_read_their_price_per_kilo_and_estimate() -> None:
    header = HEADER + ",price_per_kg,estimated_kg"
    rows = read_catalog(
        f"{header}\n"
        'f,POULET,Poulet fermier,Viandes,pièce,1,pièce,,,,"9,50","1,8"\n'
        'f,TOMME,Tomme,Fromages,pièce,1,pièce,99,,,"22,00","0,455"\n'
    )
    chicken, cheese = rows
    # The price is the estimate: 1,8 × 9,50 = 17,10 €; 0,455 × 22,00 = 10,01 € (a given
    # price is replaced by the estimate).
    assert (chicken.price_cents, chicken.price_per_kg_cents, chicken.estimated_kg) == (
        1710,
        950,
        Decimal("1.8"),
    )
    assert cheese.price_cents == 1001
    out = io.StringIO()
    write_catalog(rows, out)
    assert read_catalog(out.getvalue()) == rows
    with pytest.raises(CsvImportError) as info:
        read_catalog(
            f"{header}\n"
            'f,A,Poulet,Viandes,pièce,1,pièce,,,,"9,50",\n'
            'f,B,Poulet,Viandes,pièce,1,pièce,,,,,"0"\n'
            'f,C,Poulet,Viandes,pièce,1,pièce,,,,abc,"1,2"\n'
        )
    codes = {(e.line, e.column, e.code) for e in info.value.errors}
    assert (2, "estimated_kg", "missing_value") in codes
    assert (3, "price_per_kg", "missing_value") in codes
    assert (3, "estimated_kg", "bad_amount") in codes
    assert (4, "price_per_kg", "bad_price") in codes
