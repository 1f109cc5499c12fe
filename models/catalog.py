"""The week's catalog as consumers see it: categories, product pages, cards, and search.

Everything reads one cycle's offers; a product nobody stocked this week (offered = 0) is not
shown, a sold-out one is shown last, marked as such by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import fuzz
from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from models.cycle import Offer
from models.producer import Product
from models.text import fold

CATEGORY_ORDER = ("Légumes", "Fruits", "Crèmerie", "Viandes", "Boulangerie", "Épicerie")
SCARCE_BELOW = Decimal(5)


@dataclass(frozen=True)
class OfferView:
    """A product as offered this cycle, with what is left."""

    product: Product
    offered: Decimal
    ordered: Decimal

    @property
    def remaining(self) -> Decimal:
        """What is left to sell."""
        return self.offered - self.ordered

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
    return [
        OfferView(product=product, offered=offered, ordered=ordered)
        for offered, ordered, product in rows
    ]


async def categories(session: AsyncSession, cycle_id: int) -> list[CategoryCount]:
    """The cycle's categories, in the network's order, with their available product counts."""
    available = case((Offer.ordered < Offer.offered, 1), else_=0)
    rows = await session.execute(
        select(Product.category, func.sum(available))
        .join(Offer, Offer.product_id == Product.id)
        .where(Offer.cycle_id == cycle_id, Offer.offered > 0, Product.active.is_(True))
        .group_by(Product.category)
    )
    counts = {name: int(count or 0) for name, count in rows}
    return [CategoryCount(name, counts[name]) for name in sorted(counts, key=_category_key)]


async def category_page(
    session: AsyncSession, cycle_id: int, category: str, page: int, per_page: int = 8
) -> Page:
    """Page ``page`` (0-based, clamped) of a category: available products by name, sold out last."""
    rows = await session.execute(_offered(cycle_id).where(Product.category == category))
    views = [OfferView(product=p, offered=offered, ordered=ordered) for offered, ordered, p in rows]
    views.sort(key=lambda v: (v.sold_out, search_form(v.product.name)))
    count = max(1, -(-len(views) // per_page))
    page = min(max(page, 0), count - 1)
    return Page(views[page * per_page : (page + 1) * per_page], page, count, len(views))


async def offer_view(session: AsyncSession, cycle_id: int, product_id: int) -> OfferView | None:
    """One product's offer in the cycle, or None when it is not offered (stale button)."""
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
    return OfferView(product=product, offered=offered, ordered=ordered)


def search_form(text: str) -> str:
    """``text`` folded (``models.text.fold``), punctuation as spaces: what search compares."""
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()


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


def search(views: list[OfferView], query: str, limit: int = 8) -> list[OfferView]:
    """The offers that match ``query`` best (accents, case, plurals and small typos tolerated).

    Tiers, best first: every word of the query in the product's name or aliases; every word in
    its category or producer; then products that share some of the words. Within a tier the
    closest spelling comes first. Only the best non-empty tier is returned, so "oeufs" finds the
    eggs and not the beef.
    """
    wanted = _words(query)
    if not wanted or all(len(w) < 2 for w in wanted):
        return []
    ranked: list[tuple[int, float, int]] = []  # (tier, -score, index)
    for index, view in enumerate(views):
        product = view.product
        primary = [w for text in (product.name, *product.aliases) for w in _words(text)]
        secondary = _words(product.category) + _words(product.producer.name)
        primary_scores = [_word_score(w, primary) for w in wanted]
        secondary_scores = [_word_score(w, secondary) for w in wanted]
        if all(primary_scores):
            score = sum(primary_scores) / len(wanted)
            tier = 0 if score == 100 else 2
        elif all(secondary_scores):
            score = sum(secondary_scores) / len(wanted)
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
    chosen = [item for item in ranked if item[0] == best_tier]
    chosen.sort(
        key=lambda item: (
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
