"""Importing and exporting the network's producers, catalog and pickup points.

Files are read and validated by :mod:`models.catalog_csv` (a bad file is rejected whole, every
bad row listed); this module writes the rows into the database in one unit of work, updating
existing rows by their key (producer slug, product sku, pickup point slug), compared without
regard to case. Every limit of the database is checked by the reader, before anything is
written: a file is imported whole or refused whole, with the same answer on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import time
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.catalog_csv import (
    CsvImportError,
    ProductRow,
    RowError,
    Source,
    read_catalog,
    read_pickup_points,
    read_producers,
)
from models.pickup_point import PickupPoint
from models.producer import Producer, Product
from models.recipe import RecipeIngredient
from models.unit_of_work import unit_of_work


@dataclass(frozen=True)
class ImportReport:
    """How many rows an import created and updated."""

    created: int
    updated: int

    @property
    def total(self) -> int:
        """Rows read."""
        return self.created + self.updated


async def import_producers(session: AsyncSession, source: Source) -> ImportReport:
    """Create or update the producers of a producers CSV; raises :class:`CsvImportError`."""
    rows = read_producers(source)
    created = updated = 0
    async with unit_of_work(session):
        existing = {p.slug.lower(): p for p in await session.scalars(select(Producer))}
        for row in rows:
            producer = existing.get(row.slug)
            if producer is None:
                producer = Producer(slug=row.slug)
                session.add(producer)
                created += 1
            else:
                updated += 1
            producer.slug = row.slug
            producer.name = row.name
            producer.town = row.town
            producer.description = row.description
            producer.distance_km = int(row.distance_km) if row.distance_km is not None else None
            producer.lat, producer.lon = row.lat, row.lon
            producer.collected = row.collected
            producer.ready_from, producer.ready_until = row.ready_from, row.ready_until
    return ImportReport(created, updated)


async def import_catalog(session: AsyncSession, source: Source) -> ImportReport:
    """Create or update products by sku from a catalog CSV; raises :class:`CsvImportError`.

    Every producer named must exist already (import the producers first); a sku that moves to
    another producer is refused, since its history belongs to the first one.
    """
    async with unit_of_work(session):
        producers = {p.slug.lower(): p for p in await session.scalars(select(Producer))}
        rows = read_catalog(source, producers=set(producers))
        products = {
            p.sku.upper(): p
            for p in await session.scalars(select(Product).options(selectinload(Product.producer)))
        }
        errors = [
            RowError(
                row.line,
                "sku",
                "sku_of_other_producer",
                {"sku": row.sku, "producer": product.producer.slug},
            )
            for row in rows
            if (product := products.get(row.sku)) is not None
            and product.producer.slug.lower() != row.producer
        ]
        known_dishes = {
            sku.upper()
            for sku in await session.scalars(
                select(Product.sku).where(Product.id.in_(select(RecipeIngredient.dish_id)))
            )
        }
        errors += _recipe_errors(rows, products, known_dishes)
        if errors:
            raise CsvImportError(errors)
        created = updated = 0
        for row in rows:
            product = products.get(row.sku)
            if product is None:
                product = Product(sku=row.sku, producer=producers[row.producer])
                session.add(product)
                created += 1
            else:
                updated += 1
            _fill_product(product, row)
            products[row.sku] = product
        await _write_recipes(session, rows, products)
    return ImportReport(created, updated)


def _recipe_errors(
    rows: list[ProductRow], products: dict[str, Product], known_dishes: set[str]
) -> list[RowError]:
    """An ingredient must be a product (of the file or already known) and no dish itself (as
    the file has it, else as the database has it)."""
    in_file = {row.sku: row for row in rows}
    dishes = {row.sku for row in rows if row.recipe} | (known_dishes - set(in_file))
    errors = []
    for row in rows:
        for sku, _quantity in row.recipe:
            if sku not in in_file and sku not in products:
                errors.append(RowError(row.line, "recipe", "unknown_ingredient", {"value": sku}))
            elif sku in dishes:
                errors.append(RowError(row.line, "recipe", "ingredient_is_dish", {"value": sku}))
    return errors


async def _write_recipes(
    session: AsyncSession, rows: list[ProductRow], products: dict[str, Product]
) -> None:
    """Each row's recipe replaces its product's (an empty cell: the product is no dish)."""
    await session.flush()
    ids = [products[row.sku].id for row in rows]
    await session.execute(delete(RecipeIngredient).where(RecipeIngredient.dish_id.in_(ids)))
    for row in rows:
        for sku, quantity in row.recipe:
            session.add(
                RecipeIngredient(
                    dish_id=products[row.sku].id,
                    ingredient_id=products[sku].id,
                    quantity=quantity,
                )
            )


def _fill_product(product: Product, row: ProductRow) -> None:
    product.sku = row.sku
    product.name = row.name
    product.name_en = row.name_en
    product.category = row.category
    product.sale_unit = row.sale_unit
    product.unit_amount = row.unit_amount
    product.unit_measure = row.unit_measure
    product.price_cents = row.price_cents
    product.labels = list(row.labels)
    product.aliases = list(row.aliases)
    product.description = row.description
    product.description_en = row.description_en
    product.price_per_kg_cents = row.price_per_kg_cents
    product.estimated_kg = row.estimated_kg
    product.origin = row.origin
    product.farming = row.farming
    product.step = row.step if row.step is not None else Decimal(1)
    product.max_per_person = row.max_per_person
    if row.photo != product.photo:
        product.photo_failed_at = None  # a new photo is worth trying
    product.photo = row.photo
    product.story = row.story
    product.tip = row.tip
    product.active = True


async def import_pickup_points(session: AsyncSession, source: Source) -> ImportReport:
    """Create or update pickup points by slug; a company point gets an invitation code."""
    rows = read_pickup_points(source)
    created = updated = 0
    async with unit_of_work(session):
        existing = {p.slug.lower(): p for p in await session.scalars(select(PickupPoint))}
        for row in rows:
            point = existing.get(row.slug)
            if point is None:
                point = PickupPoint(slug=row.slug)
                session.add(point)
                created += 1
            else:
                updated += 1
            point.slug = row.slug
            point.name = row.name
            point.address = row.address
            point.is_public = row.kind != "company"
            point.company = row.company
            point.window_start = row.window_start or time(17, 0)
            point.window_end = row.window_end or time(19, 0)
            point.lat, point.lon = row.lat, row.lon
            if not point.is_public and point.invite_code is None:
                point.invite_code = secrets.token_urlsafe(9)
    return ImportReport(created, updated)


async def export_catalog(session: AsyncSession) -> list[ProductRow]:
    """Every active product as a catalog row (the import format), by producer then sku."""
    dish_recipes = {
        dish_id: tuple((sku, quantity) for sku, quantity in items)
        for dish_id, items in (await _recipes_by_sku(session)).items()
    }
    products = await session.scalars(
        select(Product)
        .join(Producer)
        .where(Product.active.is_(True))
        .options(selectinload(Product.producer))
        .order_by(Producer.slug, Product.sku)
    )
    return [
        ProductRow(
            producer=p.producer.slug,
            sku=p.sku,
            name=p.name,
            category=p.category,
            sale_unit=p.sale_unit,
            unit_amount=p.unit_amount,
            unit_measure=p.unit_measure,
            price_cents=p.price_cents,
            labels=tuple(p.labels),
            aliases=tuple(p.aliases),
            description=p.description,
            origin=p.origin,
            farming=p.farming,
            step=p.step if p.step != 1 else None,
            photo=p.photo,
            name_en=p.name_en,
            description_en=p.description_en,
            price_per_kg_cents=p.price_per_kg_cents,
            estimated_kg=p.estimated_kg,
            max_per_person=p.max_per_person,
            story=p.story,
            tip=p.tip,
            recipe=dish_recipes.get(p.id, ()),
        )
        for p in products
    ]


async def _recipes_by_sku(session: AsyncSession) -> dict[int, list[tuple[str, Decimal]]]:
    """Every dish's recipe with its ingredients' SKUs, by dish id."""
    found: dict[int, list[tuple[str, Decimal]]] = {}
    rows = await session.execute(
        select(RecipeIngredient.dish_id, Product.sku, RecipeIngredient.quantity)
        .join(Product, RecipeIngredient.ingredient_id == Product.id)
        .order_by(RecipeIngredient.dish_id, RecipeIngredient.id)
    )
    for dish_id, sku, quantity in rows:
        found.setdefault(int(dish_id), []).append((sku, quantity))
    return found
