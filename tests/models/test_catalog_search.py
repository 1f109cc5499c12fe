"""Catalog search by name first, then by what a product is (category, labels, kind words)."""

from __future__ import annotations

from datetime import UTC, datetime

from models import catalog
from tests.factories import load_demo_network, open_cycle_with_stock


async def _views(session):
    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, datetime(2026, 12, 4, 11, tzinfo=UTC))
    return await catalog.offers(session, cycle.id)


def _names(views, query):
    return [view.product.name for view in catalog.search(views, query, limit=60)]


async def test_kind_words_find_their_products(session):
    views = await _views(session)
    cheeses = _names(views, "fromage")
    assert cheeses[0] == "Fromage blanc"  # the name first
    assert {"Chabichou du Poitou", "Crottin frais", "Tomme de chèvre"} <= set(cheeses)
    assert "Yaourts nature" not in cheeses
    goat = _names(views, "chèvre")
    assert {"Chabichou du Poitou", "Crottin frais"} <= set(goat)
    organic = _names(views, "bio")
    assert "Tomates anciennes" in organic
    assert "Chabichou du Poitou" not in organic  # aop, not organic
    assert len(organic) >= 20
    assert _names(views, "Légumes")[:1]
    assert all(v.product.category == "Légumes" for v in catalog.search(views, "légumes", limit=60))


async def test_names_come_before_kinds_and_typos_stay_apart(session):
    views = await _views(session)
    eggs = _names(views, "oeufs")
    assert eggs[0].startswith("Œufs")
    assert not any("bœuf" in name.lower() for name in eggs)


async def test_english_words_find_french_products(session):
    views = await _views(session)
    assert "Crottin frais" in _names(views, "goat cheese")
    assert "Tomates anciennes" in _names(views, "organic")
    assert "Carottes" in _names(views, "vegetables")
