"""What an order or a line finally costs, in integer cents: the one place that says so.

A weighed product (a chicken, a cheese by the piece) is sold per piece at an estimated weight and
a price per kilo. Its line's ``total_cents`` is the estimate (quantity × estimated kilos × price
per kilo) until the line is weighed after the close, then the final amount. The rounding rule,
the same for the estimate and the final amount: **weight in grams × price per kilo in cents,
divided by 1 000, rounded to the nearest cent, half a cent up** (1,825 kg à 9,50 €/kg =
17,3375 € → 17,34 €). An order's ``total_cents`` is always the sum of its lines, so it is final
once none of its lines is still an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.order import Order, OrderLine

if TYPE_CHECKING:
    from models.producer import Product


def weighed_cents(weight_kg: Decimal, price_per_kg_cents: int) -> int:
    """The amount of ``weight_kg`` kilos at ``price_per_kg_cents``: cents, half a cent up."""
    return int((weight_kg * price_per_kg_cents).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def unit_estimate_cents(product: Product) -> int:
    """A weighed product's price of one sale unit at its estimated weight (else its price)."""
    if product.price_per_kg_cents is None or product.estimated_kg is None:
        return product.price_cents
    return weighed_cents(product.estimated_kg, product.price_per_kg_cents)


def line_is_weighed_product(line: OrderLine) -> bool:
    """True when the line is a weighed product's (sold per piece at a price per kilo)."""
    return line.price_per_kg_cents is not None


def line_is_estimate(line: OrderLine) -> bool:
    """True while the line's amount is an estimate: a weighed product not weighed yet."""
    return line.price_per_kg_cents is not None and line.weight_kg is None


def line_estimated_kg(line: OrderLine) -> Decimal | None:
    """The line's estimated weight in kilos (quantity × estimated weight of one unit)."""
    if line.estimated_kg is None:
        return None
    return line.quantity * line.estimated_kg


def line_final_cents(line: OrderLine) -> int:
    """The line's amount: final once weighed, else the estimate (``total_cents``)."""
    if line.weight_kg is not None and line.price_per_kg_cents is not None:
        return weighed_cents(line.weight_kg, line.price_per_kg_cents)
    return line.total_cents


def order_is_final(order: Order) -> bool:
    """True once no line of the order is still an estimate (its lines must be loaded)."""
    return not any(line_is_estimate(line) for line in order.lines)


@dataclass(frozen=True)
class OrderAmount:
    """What an order costs: ``cents``, and whether it is ``final`` or still an estimate."""

    order_id: int
    cents: int
    final: bool


def order_amount(order: Order) -> OrderAmount:
    """The order's amount in cents (its lines loaded), final or still an estimate."""
    return OrderAmount(
        order.id, sum(line.total_cents for line in order.lines), order_is_final(order)
    )


async def final_amount_cents(session: AsyncSession, order_id: int) -> OrderAmount | None:
    """The amount of order ``order_id`` in cents, and whether it is final (None: no such order).

    This is what a consumer owes for the order: after shortages (taken off the lines) and the
    weighing of every weighed line. Before all of them are weighed, ``final`` is False and the
    amount is the estimate.
    """
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines))
        .execution_options(populate_existing=True)
    )
    return None if order is None else order_amount(order)


def line_cents(line: OrderLine) -> int:
    """What ``line`` costs at its present quantity: a plain line, quantity × unit price; a
    weighed line, its weight (real once weighed, else quantity × estimated weight) × price per
    kilo; both rounded half a cent up."""
    if line.price_per_kg_cents is not None:
        weight = line.weight_kg
        if weight is None:
            weight = line.quantity * (line.estimated_kg or Decimal(0))
        return weighed_cents(weight, line.price_per_kg_cents)
    return int((line.quantity * line.unit_price_cents).quantize(Decimal(1), rounding=ROUND_HALF_UP))
