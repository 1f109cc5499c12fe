"""Prices and quantities written as a person says them: "3,20 € la barquette de 250 g"."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from babel.support import LazyProxy

from handlers.i18n import _, format_price, format_quantity, lazy_gettext, ngettext
from models.producer import Product

# "the <unit>" as in "3,20 € la barquette": French needs the article, English says "per".
PER_UNIT: dict[str, LazyProxy] = {
    "kg": lazy_gettext("le kg"),
    "pièce": lazy_gettext("la pièce"),
    "botte": lazy_gettext("la botte"),
    "barquette": lazy_gettext("la barquette"),
    "boîte": lazy_gettext("la boîte"),
    "sachet": lazy_gettext("le sachet"),
    "pot": lazy_gettext("le pot"),
    "litre": lazy_gettext("le litre"),
    "bouteille": lazy_gettext("la bouteille"),
    "pain": lazy_gettext("le pain"),
    "lot": lazy_gettext("le lot"),
    "plaquette": lazy_gettext("la plaquette"),
    "douzaine": lazy_gettext("la douzaine"),
}

UNIT_NAMES: dict[str, Callable[[int], str]] = {
    "kg": lambda n: ngettext("kg", "kg", n),
    "pièce": lambda n: ngettext("pièce", "pièces", n),
    "botte": lambda n: ngettext("botte", "bottes", n),
    "barquette": lambda n: ngettext("barquette", "barquettes", n),
    "boîte": lambda n: ngettext("boîte", "boîtes", n),
    "sachet": lambda n: ngettext("sachet", "sachets", n),
    "pot": lambda n: ngettext("pot", "pots", n),
    "litre": lambda n: ngettext("litre", "litres", n),
    "bouteille": lambda n: ngettext("bouteille", "bouteilles", n),
    "pain": lambda n: ngettext("pain", "pains", n),
    "lot": lambda n: ngettext("lot", "lots", n),
    "plaquette": lambda n: ngettext("plaquette", "plaquettes", n),
    "douzaine": lambda n: ngettext("douzaine", "douzaines", n),
}

MEASURE_NAMES: dict[str, Callable[[int], str]] = {
    "g": lambda n: "g",
    "kg": lambda n: "kg",
    "ml": lambda n: "ml",
    "cl": lambda n: "cl",
    "l": lambda n: "l",
    "pièce": lambda n: ngettext("pièce", "pièces", n),
    "botte": lambda n: ngettext("botte", "bottes", n),
}


def _plural_count(quantity: Decimal) -> int:
    return int(quantity) if quantity == quantity.to_integral_value() else 2


def unit_name(sale_unit: str, quantity: Decimal = Decimal(1)) -> str:
    """The sale unit's name, singular or plural for ``quantity``, in the current language."""
    name = UNIT_NAMES.get(sale_unit)
    return name(_plural_count(quantity)) if name else sale_unit


def unit_size(product: Product) -> str | None:
    """What one sale unit holds ("250 g", "6"), or None when the unit speaks for itself (kg)."""
    return size_phrase(product.sale_unit, product.unit_amount, product.unit_measure)


def size_phrase(sale_unit: str, unit_amount: Decimal, unit_measure: str) -> str | None:
    """What one ``sale_unit`` of ``unit_amount`` ``unit_measure`` holds ("250 g", "6"), or None
    when the unit speaks for itself (kg)."""
    if sale_unit == unit_measure and unit_amount == 1:
        return None
    if sale_unit in ("litre",) and unit_measure == "l" and unit_amount == 1:
        return None
    amount = format_quantity(unit_amount)
    if unit_measure == "pièce":
        return amount
    measure = MEASURE_NAMES.get(unit_measure)
    name = measure(_plural_count(unit_amount)) if measure else unit_measure
    return f"{amount}\u00a0{name}"


def per_unit(product: Product) -> str:
    """ "la barquette de 250 g" / "per punnet of 250 g"."""
    base = PER_UNIT.get(product.sale_unit)
    phrase = (
        str(base) if base is not None else _("l’unité « {unit} »").format(unit=product.sale_unit)
    )
    size = unit_size(product)
    if size is None:
        return phrase
    return _("{per_unit} de {size}").format(per_unit=phrase, size=size)


def price_phrase(product: Product, price_cents: int | None = None) -> str:
    """ "3,20 € la barquette de 250 g" (fr) / "€3.20 per punnet of 250 g" (en)."""
    price = format_price(product.price_cents if price_cents is None else price_cents)
    return _("{price} {per_unit}").format(price=price, per_unit=per_unit(product))


def amount_phrase(quantity: Decimal, sale_unit: str) -> str:
    """A quantity of a sale unit in the current language: "2 barquettes", "1,5 kg", "1 pièce"."""
    return f"{format_quantity(quantity)}\u00a0{unit_name(sale_unit, quantity)}"


def quantity_phrase(product: Product, quantity: Decimal) -> str:
    """A quantity of ``product`` in its sale unit: "2 barquettes", "1,5 kg", "1 pièce"."""
    return amount_phrase(quantity, product.sale_unit)
