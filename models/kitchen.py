"""The network's kitchen: dishes made from the producers' products, by recipe.

A dish (a product with a recipe, :class:`models.recipe.RecipeIngredient`) is sold like any
product, with an offer of its own (what the kitchen can cook this week); selling it also takes
its ingredients from their offers. Both are reserved by ONE conditional statement::

    UPDATE offer SET ordered = ordered + CASE id WHEN :dish THEN :q WHEN :carrots THEN :c … END
    WHERE id IN (:dish, :carrots, …) AND ordered + CASE … END <= offered

Every row it touches is held to ``ordered ≤ offered`` exactly as a plain product's
reservation is (``models.ordering``); it counts as done only when every row was updated, and
is rolled back whole otherwise. So a soup and the carrots it needs never oversell together,
whoever taps first, on SQLite and PostgreSQL alike.

What a dish line takes of an ingredient is :func:`draw` of the line's quantity: the offers'
``ordered`` always equals what the order lines hold plus the draws of the dish lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from sqlalchemy import case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from models.base import Quantity, normalize_quantity
from models.cycle import Offer
from models.network import own_rows
from models.order import CONFIRMED_STATUSES, Order, OrderLine, OrderStatus
from models.producer import Product
from models.recipe import RecipeIngredient

Recipe = tuple[tuple[int, Decimal], ...]
"""A dish's ingredients: (ingredient product id, quantity per sale unit of the dish)."""

_THOUSANDTH = Decimal("0.001")
SOLD_STATUSES = CONFIRMED_STATUSES


def draw(quantity: Decimal, per_unit: Decimal) -> Decimal:
    """What ``quantity`` of a dish takes of an ingredient used at ``per_unit``, rounded up to
    the thousandth a quantity holds (the kitchen is never short by a rounding)."""
    return normalize_quantity((quantity * per_unit).quantize(_THOUSANDTH, rounding=ROUND_CEILING))


async def recipe(session: AsyncSession, dish_id: int) -> Recipe:
    """The dish's ingredients, by ingredient id (empty: the product is no dish)."""
    rows = await session.execute(
        select(RecipeIngredient.ingredient_id, RecipeIngredient.quantity)
        .where(RecipeIngredient.dish_id == dish_id)
        .order_by(RecipeIngredient.ingredient_id)
    )
    return tuple((int(i), q) for i, q in rows)


async def recipes(
    session: AsyncSession, dish_ids: Iterable[int] | None = None
) -> dict[int, Recipe]:
    """Every dish's recipe (or ``dish_ids``' only), by dish id."""
    query = select(
        RecipeIngredient.dish_id, RecipeIngredient.ingredient_id, RecipeIngredient.quantity
    ).order_by(RecipeIngredient.dish_id, RecipeIngredient.ingredient_id)
    if dish_ids is not None:
        wanted = list(dish_ids)
        if not wanted:  # no dish asked about: no statement
            return {}
        query = query.where(RecipeIngredient.dish_id.in_(wanted))
    found: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for dish_id, ingredient_id, quantity in await session.execute(query):
        found[int(dish_id)].append((int(ingredient_id), quantity))
    return {dish: tuple(items) for dish, items in found.items()}


def _changes(
    dish_offer_id: int,
    ingredient_offers: dict[int, int],
    dish_recipe: Recipe,
    held: Decimal,
    new: Decimal,
) -> dict[int, Decimal]:
    """Per offer id, how much its ``ordered`` moves when a dish line goes from ``held`` to
    ``new`` (negative: given back)."""
    moves = {dish_offer_id: new - held}
    for ingredient_id, per_unit in dish_recipe:
        offer_id = ingredient_offers[ingredient_id]
        moves[offer_id] = draw(new, per_unit) - draw(held, per_unit)
    return moves


async def _ingredient_offers(
    session: AsyncSession, cycle_id: int, dish_recipe: Recipe
) -> dict[int, int]:
    rows = await session.execute(
        select(Offer.product_id, Offer.id).where(
            Offer.cycle_id == cycle_id, Offer.product_id.in_([i for i, _ in dish_recipe])
        )
    )
    return {int(p): int(o) for p, o in rows}


async def move_dish(
    session: AsyncSession,
    offer: Offer,
    dish_recipe: Recipe,
    held: Decimal,
    new: Decimal,
) -> tuple[Decimal, Decimal] | None:
    """Take a dish line of ``offer`` from ``held`` to ``new`` (more or less), moving its own
    offer and its ingredients' in one conditional update. Returns the dish offer's (offered,
    ordered) after it, or None when some row had not enough left (nothing changed then; an
    ingredient not offered this cycle counts as none left)."""
    ingredient_offers = await _ingredient_offers(session, offer.cycle_id, dish_recipe)
    if len(ingredient_offers) < len(dish_recipe):
        return None if new > held else await _stock(session, offer.id)
    moves = _changes(offer.id, ingredient_offers, dish_recipe, held, new)
    moves = {offer_id: amount for offer_id, amount in moves.items() if amount != 0}
    if not moves:
        return await _stock(session, offer.id)
    amount = case(
        {offer_id: literal(value, Quantity()) for offer_id, value in moves.items()},
        value=Offer.id,
    )
    try:
        async with session.begin_nested():
            result = await session.execute(
                update(Offer)
                .where(Offer.id.in_(list(moves)), Offer.ordered + amount <= Offer.offered)
                .values(ordered=Offer.ordered + amount)
                .returning(Offer.id, Offer.offered, Offer.ordered)
                .execution_options(synchronize_session=False)
            )
            rows = {int(r.id): (r.offered, r.ordered) for r in result}
            if len(rows) < len(moves):
                raise _NotEnough()
    except _NotEnough:
        return None
    return rows.get(offer.id) or await _stock(session, offer.id)


class _NotEnough(Exception):
    """Some row of a dish's reservation had not enough left: its savepoint is rolled back."""


async def _stock(session: AsyncSession, offer_id: int) -> tuple[Decimal, Decimal]:
    row = (
        await session.execute(select(Offer.offered, Offer.ordered).where(Offer.id == offer_id))
    ).one()
    return row[0], row[1]


async def ingredients_of(
    session: AsyncSession, dish_ids: Iterable[int]
) -> dict[int, tuple[tuple[str, str], ...]]:
    """Each dish's ingredients as a card names them: (product name, producer name), in the
    recipe's order."""
    wanted = list(dish_ids)
    if not wanted:  # no dish asked about: no statement
        return {}
    rows = await session.execute(
        select(RecipeIngredient.dish_id, Product)
        .join(Product, RecipeIngredient.ingredient_id == Product.id)
        .where(RecipeIngredient.dish_id.in_(wanted))
        .options(joinedload(Product.producer))
        .order_by(RecipeIngredient.dish_id, RecipeIngredient.id)
    )
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for dish_id, product in rows:
        found[int(dish_id)].append((product.name, product.producer.name))
    return {dish: tuple(items) for dish, items in found.items()}


async def dish_limits(
    session: AsyncSession, cycle_id: int, dish_ids: Iterable[int]
) -> dict[int, Decimal]:
    """For each dish among ``dish_ids`` (products with a recipe), how much more of it its
    ingredients allow this cycle, in whole steps of the dish (0 when an ingredient is not
    offered). Products that are no dish are left out."""
    found = await recipes(session, dish_ids)
    if not found:
        return {}
    ingredient_ids = {i for items in found.values() for i, _ in items}
    left = {
        int(p): offered - ordered
        for p, offered, ordered in await session.execute(
            select(Offer.product_id, Offer.offered, Offer.ordered).where(
                Offer.cycle_id == cycle_id, Offer.product_id.in_(ingredient_ids)
            )
        )
    }
    steps = {
        int(p): s
        for p, s in await session.execute(
            select(Product.id, Product.step).where(Product.id.in_(list(found)))
        )
    }
    limits: dict[int, Decimal] = {}
    for dish_id, items in found.items():
        portions = min(
            (left.get(i, Decimal(0)) / per_unit for i, per_unit in items), default=Decimal(0)
        )
        step = steps.get(dish_id, Decimal(1))
        whole = (max(portions, Decimal(0)) / step).to_integral_value(rounding=ROUND_DOWN)
        limits[dish_id] = normalize_quantity(whole * step)
    return limits


async def _dish_lines(
    session: AsyncSession, cycle_id: int, statuses: Sequence[OrderStatus]
) -> list[tuple[int, Decimal]]:
    """(dish product id, quantity) of each dish line of the cycle's orders in ``statuses``.

    A Core statement on the session's connection, the cycle choosing the lines (and so the
    network, the orders scoped to the session's): none of the ORM's criteria on each joined
    table, which made PostgreSQL, before its statistics caught up with a week's orders, join
    each order to every line of the network."""
    connection = await session.connection()
    rows = await connection.execute(
        select(OrderLine.product_id, OrderLine.quantity)
        .join(Order, OrderLine.order_id == Order.id)
        .where(
            Order.cycle_id == cycle_id,
            Order.status.in_(list(statuses)),
            OrderLine.product_id.in_(select(RecipeIngredient.dish_id)),
            own_rows(session, Order.network_id),
        )
    )
    return [(int(p), q) for p, q in rows]


async def drawn(
    session: AsyncSession,
    cycle_id: int,
    statuses: Sequence[OrderStatus] = SOLD_STATUSES,
    product_ids: Iterable[int] | None = None,
) -> dict[int, Decimal]:
    """What the dish lines of the cycle's orders in ``statuses`` take of each ingredient, by
    ingredient product id (the sum of each line's :func:`draw`)."""
    dish_lines = await _dish_lines(session, cycle_id, statuses)
    found = await recipes(session, {p for p, _ in dish_lines})
    wanted = None if product_ids is None else set(product_ids)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for dish_id, quantity in dish_lines:
        for ingredient_id, per_unit in found.get(dish_id, ()):
            if wanted is None or ingredient_id in wanted:
                totals[ingredient_id] += draw(quantity, per_unit)
    return {k: normalize_quantity(v) for k, v in totals.items()}


async def release_baskets(session: AsyncSession, cycle_id: int) -> None:
    """Give back to the ingredients' offers what the cycle's unconfirmed baskets' dish lines
    took (at the close, before the baskets are abandoned; their own offers are the caller's)."""
    for ingredient_id, quantity in (await drawn(session, cycle_id, (OrderStatus.BASKET,))).items():
        await session.execute(
            update(Offer)
            .where(Offer.cycle_id == cycle_id, Offer.product_id == ingredient_id)
            .values(ordered=Offer.ordered - quantity)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class IngredientNeed:
    """What the kitchen needs of one ingredient, and from whom."""

    product_id: int
    name: str
    sale_unit: str
    producer: str
    quantity: Decimal
    orders: int = 0
    """How many order lines of dishes take it."""


@dataclass(frozen=True)
class DishToCook:
    """One dish to cook for the cycle: how much was sold, and its ingredients."""

    product_id: int
    name: str
    sale_unit: str
    quantity: Decimal
    ingredients: tuple[IngredientNeed, ...]
    orders: int = 0
    """How many order lines hold it."""


@dataclass
class ProductionSheet:
    """What one kitchen (the producer whose products the dishes are) cooks for a cycle."""

    producer_id: int
    producer_name: str
    dishes: list[DishToCook] = field(default_factory=list)

    @property
    def shopping(self) -> list[IngredientNeed]:
        """Every ingredient over every dish, by producer then product."""
        totals: dict[int, IngredientNeed] = {}
        for dish in self.dishes:
            for need in dish.ingredients:
                before = totals.get(need.product_id)
                quantity = need.quantity + (before.quantity if before else Decimal(0))
                orders = need.orders + (before.orders if before else 0)
                totals[need.product_id] = IngredientNeed(
                    need.product_id, need.name, need.sale_unit, need.producer, quantity, orders
                )
        return sorted(totals.values(), key=lambda n: (n.producer, n.name))


async def production_sheets(session: AsyncSession, cycle_id: int) -> list[ProductionSheet]:
    """Each kitchen's production sheet for the cycle: the dishes its confirmed orders hold
    (collected and no-show ones too), each with what its lines take of every ingredient and
    the ingredient's producer. Kitchens with nothing sold are left out."""
    sold: dict[int, list[Decimal]] = defaultdict(list)
    for product_id, quantity in await _dish_lines(session, cycle_id, SOLD_STATUSES):
        sold[product_id].append(quantity)
    if not sold:
        return []
    found = await recipes(session, sold)
    ids = set(sold) | {i for items in found.values() for i, _ in items}
    products = {
        p.id: p
        for p in await session.scalars(
            select(Product).where(Product.id.in_(ids)).options(joinedload(Product.producer))
        )
    }
    sheets: dict[int, ProductionSheet] = {}
    for dish_id in sorted(sold, key=lambda d: products[d].name):
        dish = products[dish_id]
        needs = tuple(
            IngredientNeed(
                ingredient_id,
                products[ingredient_id].name,
                products[ingredient_id].sale_unit,
                products[ingredient_id].producer.name,
                normalize_quantity(sum((draw(q, per_unit) for q in sold[dish_id]), Decimal(0))),
                len(sold[dish_id]),
            )
            for ingredient_id, per_unit in found.get(dish_id, ())
        )
        sheet = sheets.setdefault(
            dish.producer_id, ProductionSheet(dish.producer_id, dish.producer.name)
        )
        sheet.dishes.append(
            DishToCook(
                dish_id,
                dish.name,
                dish.sale_unit,
                normalize_quantity(sum(sold[dish_id], Decimal(0))),
                needs,
                len(sold[dish_id]),
            )
        )
    return sorted(sheets.values(), key=lambda s: s.producer_name)


async def give_back(
    session: AsyncSession, cycle_id: int, dish_recipe: Recipe, held: Decimal, kept: Decimal
) -> None:
    """A dish line shrunk from ``held`` to ``kept`` by a shortage gives its ingredients back
    (its own offer is the caller's)."""
    for ingredient_id, per_unit in dish_recipe:
        await session.execute(
            update(Offer)
            .where(Offer.cycle_id == cycle_id, Offer.product_id == ingredient_id)
            .values(ordered=Offer.ordered - (draw(held, per_unit) - draw(kept, per_unit)))
            .execution_options(synchronize_session=False)
        )
