"""The catalog's own words in the member's language: the known categories' and labels' names,
and a product's name and description (the catalog's ``name_en``/``description_en`` when given).

Every consumer's view names products and categories through here (catalog pages, cards, the
basket, receipts, reminders, /commandes, search results); a category or label the network made
up is shown as written.
"""

from __future__ import annotations

from babel.support import LazyProxy

from handlers.i18n import current_locale, lazy_gettext
from models import Product

CATEGORIES: dict[str, LazyProxy] = {
    "Légumes": lazy_gettext("Légumes"),
    "Fruits": lazy_gettext("Fruits"),
    "Crèmerie": lazy_gettext("Crèmerie"),
    "Viandes": lazy_gettext("Viandes"),
    "Boulangerie": lazy_gettext("Boulangerie"),
    "Épicerie": lazy_gettext("Épicerie"),
    "Cuisine": lazy_gettext("Cuisine"),
}


LABELS: dict[str, LazyProxy] = {
    "bio": lazy_gettext("Bio"),
    "sans-ogm": lazy_gettext("Sans OGM"),
    "label-rouge": lazy_gettext("Label Rouge"),
    "aop": lazy_gettext("AOP"),
    "nature-et-progres": lazy_gettext("Nature & Progrès"),
}


def label_name(label: str) -> str:
    """A label as the member reads it: translated when known, else as the catalog wrote it."""
    known = LABELS.get(label)
    return str(known) if known is not None else label


def category_name(name: str) -> str:
    """A category as the member reads it: translated when known, else as the catalog wrote it."""
    known = CATEGORIES.get(name)
    return str(known) if known is not None else name


def product_name(product: Product) -> str:
    """The product's name in the member's language (English when the catalog gives one)."""
    return name_in_language(product.name, product.name_en)


def name_in_language(name: str, name_en: str | None) -> str:
    """``name_en`` for an English-speaking member when there is one, else ``name``."""
    if current_locale() == "en" and name_en:
        return name_en
    return name


def product_description(product: Product) -> str | None:
    """The product's description in the member's language, or None when it has none."""
    if current_locale() == "en" and product.description_en:
        return product.description_en
    return product.description
