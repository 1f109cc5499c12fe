"""Prices and quantities written as a person says them: "3,20 € la barquette de 250 g"."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from babel.support import LazyProxy

from handlers.i18n import _, format_price, format_quantity, lazy_gettext, ngettext
from models.amounts import line_estimated_kg, order_is_final
from models.order import Order, OrderLine
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
    """ "3,20 € la barquette de 250 g" (fr) / "€3.20 per punnet of 250 g" (en); a weighed
    product: "≈ 17,10 € la pièce (≈ 1,8 kg à 9,50 €/kg)"."""
    price = format_price(product.price_cents if price_cents is None else price_cents)
    if product.price_per_kg_cents is not None and product.estimated_kg is not None:
        return _("≈ {price} {per_unit} ({weight})").format(
            price=price,
            per_unit=per_unit(product),
            weight=weight_phrase(product.estimated_kg, product.price_per_kg_cents, estimate=True),
        )
    return _("{price} {per_unit}").format(price=price, per_unit=per_unit(product))


def weight_phrase(kilos: Decimal, price_per_kg_cents: int, *, estimate: bool) -> str:
    """ "≈ 1,8 kg à 9,50 €/kg" (an estimate) or "1,82 kg à 9,50 €/kg" (weighed)."""
    weight = f"{format_quantity(kilos)}\u00a0kg"
    if estimate:
        return _("≈ {weight} à {price}/kg").format(
            weight=weight, price=format_price(price_per_kg_cents)
        )
    return _("{weight} à {price}/kg").format(weight=weight, price=format_price(price_per_kg_cents))


def line_amount_phrase(line: OrderLine) -> str:
    """A line's amount as a receipt says it: "3,20 €"; a weighed product's, "≈ 17,10 € (≈ 1,8 kg
    à 9,50 €/kg)" until it is weighed, then "17,29 € (1,82 kg à 9,50 €/kg)"."""
    total = format_price(line.total_cents)
    if line.price_per_kg_cents is None:
        return total
    if line.weight_kg is not None:
        weight = weight_phrase(line.weight_kg, line.price_per_kg_cents, estimate=False)
        return _("{total} ({weight})").format(total=total, weight=weight)
    kilos = line_estimated_kg(line) or Decimal(0)
    weight = weight_phrase(kilos, line.price_per_kg_cents, estimate=True)
    return _("≈ {total} ({weight})").format(total=total, weight=weight)


def order_total_phrase(order: Order) -> str:
    """The order's total, "≈ 34,20 €" while a line is still an estimate (lines loaded)."""
    total = format_price(order.total_cents)
    return total if order_is_final(order) else _("≈ {total}").format(total=total)


def amount_phrase(quantity: Decimal, sale_unit: str) -> str:
    """A quantity of a sale unit in the current language: "2 barquettes", "1,5 kg", "1 pièce"."""
    return f"{format_quantity(quantity)}\u00a0{unit_name(sale_unit, quantity)}"


def quantity_phrase(product: Product, quantity: Decimal) -> str:
    """A quantity of ``product`` in its sale unit: "2 barquettes", "1,5 kg", "1 pièce"."""
    return amount_phrase(quantity, product.sale_unit)


def estimate_note() -> str:
    """What "≈" means on a basket or a receipt with a weighed product not weighed yet."""
    return _("≈ : montant estimé ; le prix final suit la pesée, après la clôture.")
