"""The week's catalog as consumers see it: categories, product pages, cards, and search.

Everything reads one cycle's offers; a product nobody stocked this week (offered = 0) is not
shown, a sold-out one is shown last, marked as such by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Select, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from models import catalog_cache, kitchen
from models.cycle import Offer
from models.errors import StaleAction
from models.producer import Producer, Product
from models.recipe import RecipeIngredient
from models.text import fold
from models.unit_of_work import unit_of_work

CATEGORY_ORDER = ("Légumes", "Fruits", "Crèmerie", "Viandes", "Boulangerie", "Épicerie")
SCARCE_BELOW = Decimal(5)


@dataclass(frozen=True)
class OfferView:
    """A product as offered this cycle, with what is left."""

    product: Product
    offered: Decimal
    ordered: Decimal
    limit: Decimal | None = None
    """For a dish, how much more of it what is left of its ingredients allows."""
    ingredients: tuple[tuple[str, str], ...] = ()
    """For a dish, its ingredients and their producers: (product name, producer name)."""

    @property
    def remaining(self) -> Decimal:
        """What is left to sell (for a dish, no more than its ingredients allow)."""
        left = self.offered - self.ordered
        return left if self.limit is None else min(left, self.limit)

    @property
    def sold_out(self) -> bool:
        """Whether nothing is left."""
        return self.remaining <= 0

    @property
    def scarce(self) -> bool:
        """Whether so little is left that consumers should be told."""
        return Decimal(0) < self.remaining < SCARCE_BELOW


@dataclass(frozen=True)
class CategoryCount:
    """A category and how many of its products are available."""

    name: str
    available: int


@dataclass(frozen=True)
class Page:
    """One page of a category's products."""

    items: list[OfferView]
    number: int
    count: int
    total: int


def _category_key(name: str) -> tuple[int, str]:
    try:
        return (CATEGORY_ORDER.index(name), name)
    except ValueError:
        return (len(CATEGORY_ORDER), search_form(name))


def _offered(cycle_id: int) -> Select[Decimal, Decimal, Product]:
    return (
        select(Offer.offered, Offer.ordered, Product)
        .join(Product, Offer.product_id == Product.id)
        .where(Offer.cycle_id == cycle_id, Offer.offered > 0, Product.active.is_(True))
        .options(joinedload(Product.producer))
    )


async def offers(session: AsyncSession, cycle_id: int) -> list[OfferView]:
    """Every product offered in the cycle (offered > 0, active), with its producer loaded."""
    rows = await session.execute(_offered(cycle_id))
    return await with_dish_limits(
        session,
        cycle_id,
        [
            OfferView(product=product, offered=offered, ordered=ordered)
            for offered, ordered, product in rows
        ],
    )


async def with_dish_limits(
    session: AsyncSession, cycle_id: int, views: list[OfferView]
) -> list[OfferView]:
    """``views``, each dish's held to what its ingredients allow (``OfferView.limit``) and
    naming them (``OfferView.ingredients``)."""
    limits = await kitchen.dish_limits(session, cycle_id, [v.product.id for v in views])
    if not limits:
        return views
    names = await kitchen.ingredients_of(session, limits)
    return [
        OfferView(
            v.product, v.offered, v.ordered, limits[v.product.id], names.get(v.product.id, ())
        )
        if v.product.id in limits
        else v
        for v in views
    ]


async def _cached(session: AsyncSession, cycle_id: int) -> catalog_cache.Week | None:
    """The cached week when it is this cycle's (:mod:`models.catalog_cache`), else None."""
    week = await catalog_cache.week(session)
    if week is None or week.cycle is None or week.cycle.id != cycle_id:
        return None
    return week


async def categories(session: AsyncSession, cycle_id: int) -> list[CategoryCount]:
    """The cycle's categories, in the network's order, with their available product counts."""
    week = await _cached(session, cycle_id)
    if week is not None:
        return await _cached_categories(session, cycle_id, week)
    available = case((Offer.ordered < Offer.offered, 1), else_=0)
    rows = await session.execute(
        select(Product.category, func.sum(available))
        .join(Offer, Offer.product_id == Product.id)
        .where(Offer.cycle_id == cycle_id, Offer.offered > 0, Product.active.is_(True))
        .group_by(Product.category)
    )
    counts = {name: int(count or 0) for name, count in rows}
    # A dish counted available by its own stock may have no ingredients left.
    dishes = await session.execute(
        select(Product.id, Product.category)
        .join(Offer, Offer.product_id == Product.id)
        .where(
            Offer.cycle_id == cycle_id,
            Offer.ordered < Offer.offered,
            Product.active.is_(True),
            Product.id.in_(select(RecipeIngredient.dish_id)),
        )
    )
    dish_categories = dict(dishes.all())
    limits = await kitchen.dish_limits(session, cycle_id, dish_categories)
    for dish_id, limit in limits.items():
        if limit <= 0:
            counts[dish_categories[dish_id]] -= 1
    return [CategoryCount(name, counts[name]) for name in sorted(counts, key=_category_key)]


@cache
def _sold_out_query() -> Select[int]:
    """The products offered in ``:cycle_id`` and sold out, built once."""
    return select(Offer.product_id).where(
        Offer.cycle_id == bindparam("cycle_id"), Offer.offered > 0, Offer.ordered >= Offer.offered
    )


async def _cached_categories(
    session: AsyncSession, cycle_id: int, week: catalog_cache.Week
) -> list[CategoryCount]:
    """:func:`categories` from the cached products: one statement, the sold-out ones."""
    sold_out = set(await session.scalars(_sold_out_query(), {"cycle_id": cycle_id}))
    counts: dict[str, int] = {}
    for product_id, product in week.products.items():
        counts[product.category] = counts.get(product.category, 0) + (product_id not in sold_out)
    dishes = [d for d in week.dishes if d not in sold_out]
    if dishes:
        for dish_id, limit in (await kitchen.dish_limits(session, cycle_id, dishes)).items():
            if limit <= 0:
                counts[week.products[dish_id].category] -= 1
    return [CategoryCount(name, counts[name]) for name in sorted(counts, key=_category_key)]


async def category_name(session: AsyncSession, cycle_id: int, index: int) -> str | None:
    """The name of the cycle's ``index``-th category (in :func:`categories`' order), or None
    when there is no such category any more."""
    week = await _cached(session, cycle_id)
    if week is None:
        names = [c.name for c in await categories(session, cycle_id)]
    else:
        names = _category_names.get(week.version) or _remember_names(week)
    return names[index] if 0 <= index < len(names) else None


_category_names: dict[int, list[str]] = {}
"""Catalog version → its categories' names in order (a version is one catalog's state)."""


def _remember_names(week: catalog_cache.Week) -> list[str]:
    if len(_category_names) >= 64:  # old versions are never asked for again
        _category_names.clear()
    names = _category_names[week.version] = sorted(
        {p.category for p in week.products.values()}, key=_category_key
    )
    return names


@cache
def _category_query(with_names: bool) -> Select[*tuple[Any, ...]]:
    """A category's offered products' ids and stock (and names ``with_names``), for
    ``:cycle_id`` and ``:category``: built once, every category page reads it."""
    query = (
        select(Offer.product_id, Offer.offered, Offer.ordered)
        .join(Product, Offer.product_id == Product.id)
        .where(
            Offer.cycle_id == bindparam("cycle_id"),
            Offer.offered > 0,
            Product.active.is_(True),
            Product.category == bindparam("category"),
        )
    )
    return query.add_columns(Product.name) if with_names else query


async def category_page(
    session: AsyncSession, cycle_id: int, category: str, page: int, per_page: int = 8
) -> Page:
    """Page ``page`` (0-based, clamped) of a category: available products by name, sold out last.

    The order is decided on narrow rows (id, stock) and only the page's products are
    loaded as objects (with their producers), or taken from the cached week."""
    week = await _cached(session, cycle_id)
    rows = (
        await session.execute(
            _category_query(with_names=week is None), {"cycle_id": cycle_id, "category": category}
        )
    ).all()
    if week is None:
        names = {r.product_id: r.name for r in rows}
    else:
        products = week.products
        names = {
            r.product_id: products[r.product_id].name for r in rows if r.product_id in products
        }
        rows = [r for r in rows if r.product_id in names]
    ordered_rows = sorted(
        rows, key=lambda r: (r.ordered >= r.offered, search_form(names[r.product_id]))
    )
    count = max(1, -(-len(ordered_rows) // per_page))
    page = min(max(page, 0), count - 1)
    shown = ordered_rows[page * per_page : (page + 1) * per_page]
    if week is not None:
        items = [OfferView(week.products[r.product_id], r.offered, r.ordered) for r in shown]
        if not week.dishes.intersection(r.product_id for r in shown):
            return Page(items, page, count, len(ordered_rows))
        return Page(
            await with_dish_limits(session, cycle_id, items), page, count, len(ordered_rows)
        )
    loaded = {
        p.id: p
        for p in await session.scalars(
            select(Product)
            .where(Product.id.in_([r.product_id for r in shown]))
            .options(joinedload(Product.producer))
        )
    }
    items = [OfferView(loaded[r.product_id], r.offered, r.ordered) for r in shown]
    return Page(await with_dish_limits(session, cycle_id, items), page, count, len(ordered_rows))


@cache
def _stock_query() -> Select[Decimal, Decimal]:
    """One product's stock in one cycle (``:cycle_id``, ``:product_id``): built once, every
    product card reads it."""
    return select(Offer.offered, Offer.ordered).where(
        Offer.cycle_id == bindparam("cycle_id"), Offer.product_id == bindparam("product_id")
    )


async def offer_view(session: AsyncSession, cycle_id: int, product_id: int) -> OfferView | None:
    """One product's offer in the cycle, or None when it is not offered (stale button)."""
    week = await _cached(session, cycle_id)
    product = week.products.get(product_id) if week is not None else None
    if week is not None and product is not None:
        stock = (
            await session.execute(_stock_query(), {"cycle_id": cycle_id, "product_id": product_id})
        ).first()
        if stock is None:
            return None
        view = OfferView(product=product, offered=stock.offered, ordered=stock.ordered)
        if product_id not in week.dishes:
            return view
        return (await with_dish_limits(session, cycle_id, [view]))[0]
    row = (
        await session.execute(
            select(Offer.offered, Offer.ordered, Product)
            .join(Product, Offer.product_id == Product.id)
            .where(
                Offer.cycle_id == cycle_id, Offer.product_id == product_id, Product.active.is_(True)
            )
            .options(joinedload(Product.producer))
        )
    ).first()
    if row is None:
        return None
    offered, ordered, product = row
    views = [OfferView(product=product, offered=offered, ordered=ordered)]
    return (await with_dish_limits(session, cycle_id, views))[0]


async def photo_unfetchable(
    session: AsyncSession, product_id: int, photo: str, now: datetime
) -> None:
    """Remember that Telegram could not fetch ``photo`` for the product (committed), so its
    card is shown as text from now on; nothing changes if the product has another photo now."""
    async with unit_of_work(session):
        await session.execute(
            update(Product)
            .where(Product.id == product_id, Product.photo == photo)
            .values(photo_failed_at=now)
            .execution_options(synchronize_session="fetch")
        )


async def set_max_per_person(
    session: AsyncSession, sku: str, maximum: Decimal | None, *, producer_id: int | None = None
) -> Product:
    """Set the product's per-person maximum (None: no limit but the stock); ``producer_id``
    limits it to that farm's products. Returns the product. Commits.

    An unknown SKU (or another farm's) answers :class:`StaleAction`; a maximum that is not a
    whole number of the product's steps, or past what a line may hold,
    :class:`InvalidQuantity`. What members already hold stays: the maximum holds their next adds.
    """
    from models.ordering import check_quantity  # ordering reads the catalog's views

    async with unit_of_work(session):
        query = select(Product).where(func.upper(Product.sku) == sku.strip().upper())
        if producer_id is not None:
            query = query.where(Product.producer_id == producer_id)
        product = await session.scalar(query.options(joinedload(Product.producer)))
        if product is None or not product.active:
            raise StaleAction(sku=sku)
        product.max_per_person = None if maximum is None else check_quantity(maximum, product.step)
    return product


@lru_cache(maxsize=8192)
def search_form(text: str) -> str:
    """``text`` folded (``models.text.fold``), punctuation as spaces: what search compares.

    Remembered for the last few thousand texts: every category page sorts its products by
    this form of their names."""
    return _NOT_ALPHANUMERIC.sub(" ", fold(text)).strip()


_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def singular(word: str) -> str:
    """A French word without its plural mark (tomates → tomate, poireaux → poireau)."""
    if len(word) > 3 and word.endswith("aux"):
        return word[:-1]
    if len(word) > 3 and word[-1] in "sx":
        return word[:-1]
    return word


def _normalise(text: str) -> str:
    return " ".join(singular(w) for w in search_form(text).split())


STOPWORDS = frozenset(
    {"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "en", "et", "un", "une"}
)


def _words(text: str) -> list[str]:
    return [w for w in _normalise(text).split() if w not in STOPWORDS]


def _word_score(wanted: str, words: list[str]) -> float:
    """100 for the word itself, a fuzzy score for a near miss (typos), 0 otherwise."""
    best = 0.0
    for word in words:
        if word == wanted:
            return 100.0
        if len(wanted) >= 4 and word.startswith(wanted):
            best = max(best, 95.0)
        elif len(wanted) >= 4 and len(word) >= 4:
            best = max(best, fuzz.ratio(wanted, word))
    return best if best >= 80 else 0.0


CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "legume": ("vegetable", "veg"),
    "fruit": ("fruit",),
    "cremerie": ("dairy", "laitage", "laitier"),
    "viande": ("meat", "boucherie"),
    "boulangerie": ("bakery", "bread", "pain"),
    "epicerie": ("grocery", "pantry"),
}
"""The known categories' other names (folded, singular), French and English."""

KIND_WORDS: dict[str, tuple[str, ...]] = {
    "bio": ("organic", "biologique"),
    "biologique": ("bio", "organic"),
    "ab": ("bio", "organic"),
    "ogm": ("gmo",),
    "aop": ("pdo", "aoc"),
    "aoc": ("aop", "pdo"),
    "label rouge": ("label", "rouge"),
    "caprin": ("chevre", "goat"),
    "chevre": ("goat",),
    "brebis": ("sheep", "ewe"),
    "ovin": ("brebis", "sheep"),
    "vache": ("cow",),
    "bovin": ("vache", "cow"),
    "fromage": ("cheese",),
    "fromager": ("fromage", "cheese"),
    "chabichou": ("fromage", "cheese", "chevre", "goat"),
    "crottin": ("fromage", "cheese"),
    "tomme": ("fromage", "cheese"),
    "buche": ("fromage", "cheese"),
    "faisselle": ("fromage", "cheese"),
    "oeuf": ("egg",),
    "miel": ("honey",),
    "lait": ("milk",),
    "volaille": ("poultry", "poulet"),
    "poulet": ("chicken", "volaille"),
    "porc": ("pork",),
    "boeuf": ("beef",),
    "agneau": ("lamb",),
}
"""Words that say what kind a product is: a product whose texts hold the key (folded,
singular) is found by each of its words too ("caprin" → "chèvre", "biologique" → "bio")."""


def _kind_words(product: Product) -> list[str]:
    """What a product is, in words: its category and that category's other names, its labels,
    its description and farming mode, its producer, and what those words imply."""
    texts = [
        product.category,
        *product.labels,
        product.description or "",
        product.description_en or "",
        product.farming or "",
        product.producer.name,
    ]
    words = [w for text in texts for w in _words(text)]
    for category in _words(product.category):
        words += CATEGORY_WORDS.get(category, ())
    folded = " " + " ".join(words + _name_words(product)) + " "
    for kind, implied in KIND_WORDS.items():
        if f" {kind} " in folded:
            words += implied
    return words


def _name_words(product: Product) -> list[str]:
    texts = (product.name, product.name_en or "", *product.aliases)
    return [w for text in texts for w in _words(text)]


def search(views: list[OfferView], query: str, limit: int = 8) -> list[OfferView]:
    """The offers that match ``query`` best (accents, case, plurals and small typos tolerated).

    Tiers, best first: every word of the query in the product's name (French or English) or
    aliases; every word in what the product is (its category and the category's other names,
    its labels, description, farming mode, producer, and the kinds those imply:
    :data:`KIND_WORDS`); the same with small typos; then products that share some of the words.
    The two exact tiers are returned together, names first ("fromage" gives the fromage blanc,
    then the goat cheeses); otherwise only the best non-empty tier, so "oeufs" finds the eggs
    and not the beef.
    """
    wanted = _words(query)
    if not wanted or all(len(w) < 2 for w in wanted):
        return []
    ranked: list[tuple[int, float, int]] = []  # (tier, -score, index)
    for index, view in enumerate(views):
        product = view.product
        primary = _name_words(product)
        secondary = _kind_words(product)
        primary_scores = [_word_score(w, primary) for w in wanted]
        secondary_scores = [_word_score(w, secondary) for w in wanted]
        if all(primary_scores):
            score = sum(primary_scores) / len(wanted)
            tier = 0 if score == 100 else 2
        elif all(max(p, q) for p, q in zip(primary_scores, secondary_scores, strict=True)):
            both = [max(p, q) for p, q in zip(primary_scores, secondary_scores, strict=True)]
            score = sum(both) / len(wanted)
            tier = 1 if score == 100 else 3
        else:
            matched = [max(p, q) for p, q in zip(primary_scores, secondary_scores, strict=True)]
            if not any(matched):
                continue
            tier, score = 4, sum(matched) / len(wanted)
        ranked.append((tier, -score, index))
    if not ranked:
        return []
    best_tier = min(tier for tier, _score, _index in ranked)
    shown = {0, 1} if best_tier <= 1 else {best_tier}
    chosen = [item for item in ranked if item[0] in shown]
    chosen.sort(
        key=lambda item: (
            item[0],
            item[1],
            views[item[2]].sold_out,
            search_form(views[item[2]].product.name),
        )
    )
    return [views[index] for _tier, _score, index in chosen[:limit]]


__all__ = [
    "CategoryCount",
    "OfferView",
    "Page",
    "categories",
    "category_page",
    "offer_view",
    "offers",
    "search",
    "search_form",
]


@dataclass(frozen=True)
class Reach:
    """How far the network's catalog reaches: how many producers sell in it, the farthest how
    many km away."""

    producers: int
    farthest_km: int | None
    """None when no selling producer gave a distance."""


async def network_reach(session: AsyncSession) -> Reach:
    """The producers with a product on sale, and the farthest one's distance (the greeting
    says it, true for each network). The network's kitchen, which sells only dishes cooked
    from the producers' products, is no producer of its own."""
    count, farthest = (await session.execute(_reach_query())).one()
    return Reach(int(count or 0), None if farthest is None else int(farthest))


@cache
def _reach_query() -> Select[int, int | None]:
    """:func:`network_reach`'s statement (the greeting runs it), built once."""
    selling = select(Product.producer_id).where(
        Product.active.is_(True), Product.id.not_in(select(RecipeIngredient.dish_id))
    )
    return select(func.count(Producer.id), func.max(Producer.distance_km)).where(
        Producer.id.in_(selling)
    )
