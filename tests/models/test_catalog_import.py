"""Importing the network into the database: the demo network, updates by key, bad files."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.demo_network import CATALOG_CSV, PICKUP_POINTS_CSV, PRODUCERS_CSV
from models import PickupPoint, Producer, Product
from models.catalog_csv import CsvImportError
from models.catalog_import import (
    export_catalog,
    import_catalog,
    import_pickup_points,
    import_producers,
)


async def _count(session, entity) -> int:
    return await session.scalar(select(func.count()).select_from(entity))


async def test_demo_network_imports_and_reimports(session):
    producers = await import_producers(session, PRODUCERS_CSV)
    points = await import_pickup_points(session, PICKUP_POINTS_CSV)
    catalog = await import_catalog(session, CATALOG_CSV)
    assert producers.created >= 8
    assert points.created >= 2
    assert catalog.created >= 60
    categories = set(await session.scalars(select(Product.category).distinct()))
    assert len(categories) == 7  # the six of the farms, and the kitchen's
    company = await session.scalar(select(PickupPoint).where(PickupPoint.is_public.is_(False)))
    assert company is not None
    assert company.invite_code
    again = await import_catalog(session, CATALOG_CSV)
    assert (again.created, again.updated) == (0, catalog.created)
    assert await _count(session, Product) == catalog.created


async def test_reimport_updates_by_sku(session):
    await import_producers(session, PRODUCERS_CSV)
    await import_catalog(session, CATALOG_CSV)
    rows = await export_catalog(session)
    first = rows[0]
    text = (
        "producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases\n"
        f"{first.producer},{first.sku},Nouveau nom,{first.category},{first.sale_unit},"
        f'{first.unit_amount},{first.unit_measure},"9,99",bio,\n'
    )
    report = await import_catalog(session, text)
    assert (report.created, report.updated) == (0, 1)
    product = await session.scalar(
        select(Product).where(Product.sku == first.sku).execution_options(populate_existing=True)
    )
    assert (product.name, product.price_cents) == ("Nouveau nom", 999)


async def test_broken_file_is_rejected_whole_with_line_numbers(session):
    await import_producers(session, PRODUCERS_CSV)
    slug = await session.scalar(select(Producer.slug))
    text = (
        "producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases\n"
        f'{slug},OK-1,Bon produit,Légumes,kg,1,kg,"2,50",bio,\n'
        f"{slug},BAD-1,Prix faux,Légumes,kg,1,kg,abc,,\n"
        f'ferme-inconnue,BAD-2,Inconnu,Légumes,kg,1,kg,"1,00",,\n'
        f'{slug},BAD-3,Unité,Légumes,kg,1,tonne,"1,00",,\n'
    )
    with pytest.raises(CsvImportError) as caught:
        await import_catalog(session, text)
    assert sorted({e.line for e in caught.value.errors}) == [3, 4, 5]
    assert {e.code for e in caught.value.errors} >= {
        "bad_price",
        "unknown_producer",
        "bad_unit_measure",
    }
    assert await _count(session, Product) == 0


async def test_export_round_trips(session, tmp_path):
    import io

    from models.catalog_csv import read_catalog, write_catalog

    await import_producers(session, PRODUCERS_CSV)
    await import_catalog(session, CATALOG_CSV)
    rows = await export_catalog(session)
    stream = io.StringIO()
    write_catalog(rows, stream)
    assert read_catalog(stream.getvalue()) == rows
    assert {r.sku for r in rows} == {r.sku for r in read_catalog(CATALOG_CSV)}


async def test_skus_and_slugs_compare_without_regard_to_case(session):
    await import_producers(session, "slug,name\nJardins,Les Jardins\n")
    header = "producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases\n"
    await import_catalog(session, header + 'jardins,x-9,Tomates,Légumes,kg,1,kg,"4,80",,\n')
    report = await import_catalog(session, header + 'JARDINS,X-9,Tomates,Légumes,kg,1,kg,"5",,\n')
    assert (report.created, report.updated) == (0, 1)
    assert list(await session.scalars(select(Product.sku))) == ["X-9"]
    assert list(await session.scalars(select(Producer.slug))) == ["jardins"]
    with pytest.raises(CsvImportError) as caught:
        await import_catalog(
            session,
            header
            + 'jardins,X-9,Tomates,Légumes,kg,1,kg,"4,80",,\n'
            + '\njardins,x-9,Tomates,Légumes,kg,1,kg,"4,80",,\n',
        )
    assert [(e.line, e.code) for e in caught.value.errors] == [(4, "duplicate_sku")]


async def test_a_cell_past_the_csv_readers_limit_is_refused_politely(session):
    from handlers.import_errors import describe

    text = "slug,name,town,description\nferme,Ferme,Lusignan," + "d" * 200_000 + "\n"
    with pytest.raises(CsvImportError) as caught:
        await import_producers(session, text)
    assert [(e.line, e.code) for e in caught.value.errors] == [(2, "bad_csv")]
    assert "ligne 2" in describe(caught.value.errors[0])


async def test_english_names_import_and_export(session):
    import io

    from models.catalog_csv import read_catalog, write_catalog

    await import_producers(session, PRODUCERS_CSV)
    import csv

    rows = list(csv.DictReader(io.StringIO(CATALOG_CSV.read_text(encoding="utf-8"))))
    rows[0]["name_en"] = "Heirloom tomatoes"
    rows[0]["description_en"] = "Heirloom varieties, mixed."
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    source = buffer.getvalue()
    await import_catalog(session, source)
    product = await session.scalar(select(Product).where(Product.sku == "TOM-ANC"))
    assert product.name_en == "Heirloom tomatoes"
    assert product.description_en == "Heirloom varieties, mixed."
    other = await session.scalar(select(Product).where(Product.sku == "TOM-CER"))
    assert other.name_en is None
    rows = await export_catalog(session)
    stream = io.StringIO()
    write_catalog(rows, stream)
    assert "name_en,description_en" in stream.getvalue().splitlines()[0]
    assert read_catalog(stream.getvalue()) == rows
    assert next(r for r in rows if r.sku == "TOM-ANC").name_en == "Heirloom tomatoes"


async def test_a_dishs_recipe_story_and_tip_import_and_export_back(session):
    """The December catalog's soup: its recipe by SKU, a story and a tip; the export writes
    them back, and importing the export changes nothing. A recipe naming an unknown SKU, a
    dish, itself or nonsense is refused with its line."""
    from io import StringIO

    from bot.demo_network import DECEMBER_CATALOG_CSV
    from models import RecipeIngredient
    from models.catalog_csv import write_catalog
    from models.kitchen import recipes

    await import_producers(session, PRODUCERS_CSV)
    await import_catalog(session, DECEMBER_CATALOG_CSV)
    soup = await session.scalar(select(Product).where(Product.sku == "SOU-HIV"))
    skus = dict((await session.execute(select(Product.id, Product.sku))).all())
    found = await recipes(session, [soup.id])
    assert {skus[i]: str(q) for i, q in found[soup.id]} == {
        "CAR-KG": "0.4",
        "POI-BOT": "0.25",
        "COU-POT": "0.25",
    }
    assert soup.story.startswith("Notre légumerie")
    assert soup.tip.startswith("Servie bien chaude")
    rows = await export_catalog(session)
    exported = next(row for row in rows if row.sku == "SOU-HIV")
    assert dict(exported.recipe) == {
        "CAR-KG": Decimal("0.4"),
        "POI-BOT": Decimal("0.25"),
        "COU-POT": Decimal("0.25"),
    }
    stream = StringIO()
    write_catalog(rows, stream)
    assert "CAR-KG:0,4;" in stream.getvalue()
    again = await import_catalog(session, stream.getvalue())
    assert again.created == 0
    assert await _count(session, RecipeIngredient) == 3

    head = "producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases,recipe\n"
    dish = 'cuisine-desserte,SOU-2,Soupe 2,Cuisine,litre,1,l,"4,00",,,{}\n'
    for recipe, code in (
        ("XXX-1:0,4", "unknown_ingredient"),
        ("SOU-HIV:1", "ingredient_is_dish"),
        ("SOU-2:1", "bad_recipe"),
        ("CAR-KG", "bad_recipe"),
        ("CAR-KG:0", "bad_recipe"),
        ("CAR-KG:0,0001", "bad_recipe"),
        ("CAR-KG:1;CAR-KG:2", "bad_recipe"),
    ):
        with pytest.raises(CsvImportError) as refused:
            await import_catalog(
                session,
                head
                + dish.format(f'"{recipe}"')
                + 'cuisine-desserte,SOU-HIV,Soupe d’hiver,Cuisine,litre,1,l,"4,50",,,"CAR-KG:0,4"\n',
            )
        assert [(e.line, e.column, e.code) for e in refused.value.errors] == [
            (2, "recipe", code)
        ], recipe
    assert await _count(session, RecipeIngredient) == 3
    # A dish already in the database is no ingredient either, even when the file omits it.
    with pytest.raises(CsvImportError) as refused:
        await import_catalog(session, head + dish.format("SOU-HIV:1"))
    assert [e.code for e in refused.value.errors] == ["ingredient_is_dish"]
