"""Purchase orders: what each producer must bring for a cycle, per product and pickup point.

Computed by one SQL aggregation over the cycle's confirmed orders (collected and no-show orders
too, so that the document stays the same after pickup day); used at close to message producers,
and by the demo and exports.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from models.base import Quantity
from models.cycle import Cycle
from models.errors import StaleAction
from models.kitchen import production_sheets
from models.order import CONFIRMED_STATUSES, Order, OrderLine
from models.ordering import line_total
from models.pickup_point import PickupPoint
from models.producer import Producer, Product

ORDERED_STATUSES = CONFIRMED_STATUSES


@dataclass(frozen=True)
class PurchaseLine:
    """One product for one pickup point: quantity in sale units, amount, number of orders."""

    pickup_point_id: int | None
    pickup_point: str
    product_id: int
    sku: str
    name: str
    sale_unit: str
    quantity: Decimal
    amount_cents: int
    orders: int
    estimate: bool = False
    """A weighed product with lines not weighed yet: ``amount_cents`` is (partly) estimated."""
    kitchen: bool = False
    """What the network's kitchen takes for its dishes (``pickup_point``: the kitchen's name)."""


@dataclass(frozen=True)
class ProductTotal:
    """One product over every pickup point."""

    sku: str
    name: str
    sale_unit: str
    quantity: Decimal
    amount_cents: int
    estimate: bool = False


@dataclass
class PurchaseOrder:
    """A producer's purchase order for a cycle."""

    producer_id: int
    producer_name: str
    cycle: Cycle
    lines: list[PurchaseLine] = field(default_factory=list)

    @property
    def by_pickup_point(self) -> dict[str, list[PurchaseLine]]:
        """The lines grouped by pickup point name (the kitchen's lines under its name), in line
        order."""
        grouped: dict[str, list[PurchaseLine]] = defaultdict(list)
        for line in self.lines:
            grouped[line.pickup_point].append(line)
        return dict(grouped)

    @property
    def totals(self) -> list[ProductTotal]:
        """Per product, every pickup point together, by product name."""
        quantities: dict[str, Decimal] = defaultdict(Decimal)
        amounts: dict[str, int] = defaultdict(int)
        info: dict[str, tuple[str, str]] = {}
        estimated: set[str] = set()
        for line in self.lines:
            quantities[line.sku] += line.quantity
            amounts[line.sku] += line.amount_cents
            info[line.sku] = (line.name, line.sale_unit)
            if line.estimate:
                estimated.add(line.sku)
        return sorted(
            (
                ProductTotal(
                    sku,
                    info[sku][0],
                    info[sku][1],
                    quantities[sku],
                    amounts[sku],
                    sku in estimated,
                )
                for sku in quantities
            ),
            key=lambda total: (total.name, total.sku),
        )

    @property
    def total_cents(self) -> int:
        """The whole purchase order's amount."""
        return sum(line.amount_cents for line in self.lines)

    @property
    def estimate(self) -> bool:
        """Whether some amount is still an estimate (a weighed product not weighed yet)."""
        return any(line.estimate for line in self.lines)


async def purchase_orders(
    session: AsyncSession, cycle_id: int, producer_id: int | None = None
) -> list[PurchaseOrder]:
    """Every producer's purchase order for the cycle (only producers with something ordered),
    or just ``producer_id``'s. Raises :class:`StaleAction` for an unknown cycle.

    The lines are summed per (product, pickup point) over ids only, then named: the grouping
    never compares strings. An order holds a product on one line at most (``order_line``'s
    unique key), so the lines counted per group are its orders. A Core statement on the
    session's connection, the cycle (read through the ORM, so of the session's network) choosing
    the lines: none of the ORM's criteria on each joined table, which made PostgreSQL, before
    its statistics caught up with a week's orders, join each order to every line of the network.
    """
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None:
        raise StaleAction(cycle_id=cycle_id)
    sums = (
        select(
            OrderLine.product_id.label("product_id"),
            Order.pickup_point_id.label("point_id"),
            func.sum(OrderLine.quantity).label("quantity"),
            func.sum(OrderLine.total_cents).label("amount"),
            func.count().label("orders"),
            func.sum(
                case(
                    (
                        and_(
                            OrderLine.price_per_kg_cents.is_not(None),
                            OrderLine.weight_kg.is_(None),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("unweighed"),
        )
        .join(Order, OrderLine.order_id == Order.id)
        .where(Order.cycle_id == cycle_id, Order.status.in_(ORDERED_STATUSES))
        .group_by(OrderLine.product_id, Order.pickup_point_id)
    )
    if producer_id is not None:
        sums = sums.join(Product, OrderLine.product_id == Product.id).where(
            Product.producer_id == producer_id
        )
    totals = sums.subquery()
    query = (
        select(
            Producer.id,
            Producer.name,
            totals.c.point_id,
            PickupPoint.name,
            Product.id,
            Product.sku,
            Product.name,
            Product.sale_unit,
            type_coerce(totals.c.quantity, Quantity()),
            totals.c.amount,
            totals.c.orders,
            totals.c.unweighed,
        )
        .select_from(totals)
        .join(Product, totals.c.product_id == Product.id)
        .join(Producer, Product.producer_id == Producer.id)
        .outerjoin(PickupPoint, totals.c.point_id == PickupPoint.id)
        .order_by(Producer.name, PickupPoint.name, Product.name)
    )
    result: dict[int, PurchaseOrder] = {}
    connection = await session.connection()
    for row in await connection.execute(query):
        (
            prod_id,
            prod_name,
            point_id,
            point_name,
            product_id,
            sku,
            name,
            sale_unit,
            quantity,
            amount,
            orders,
            unweighed,
        ) = row
        purchase = result.setdefault(prod_id, PurchaseOrder(prod_id, prod_name, cycle))
        purchase.lines.append(
            PurchaseLine(
                pickup_point_id=point_id,
                pickup_point=point_name or "",
                product_id=product_id,
                sku=sku,
                name=name,
                sale_unit=sale_unit,
                quantity=Decimal(quantity),
                amount_cents=int(amount or 0),
                orders=int(orders),
                estimate=bool(unweighed),
            )
        )
    await _add_kitchen_lines(session, cycle, result, producer_id)
    return sorted(result.values(), key=lambda po: po.producer_name)


async def _add_kitchen_lines(
    session: AsyncSession,
    cycle: Cycle,
    result: dict[int, PurchaseOrder],
    producer_id: int | None,
) -> None:
    """What the kitchen's dishes take of each producer's products, as lines of their purchase
    orders (one block per kitchen, after the pickup points)."""
    sheets = await production_sheets(session, cycle.id)
    needs = [(sheet, need) for sheet in sheets for need in sheet.shopping]
    if not needs:
        return
    products = {
        p.id: p
        for p in await session.scalars(
            select(Product)
            .where(Product.id.in_({need.product_id for _sheet, need in needs}))
            .options(joinedload(Product.producer))
        )
    }
    for sheet, need in needs:
        product = products[need.product_id]
        if producer_id is not None and product.producer_id != producer_id:
            continue
        purchase = result.setdefault(
            product.producer_id, PurchaseOrder(product.producer_id, product.producer.name, cycle)
        )
        purchase.lines.append(
            PurchaseLine(
                pickup_point_id=None,
                pickup_point=sheet.producer_name,
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                sale_unit=product.sale_unit,
                quantity=need.quantity,
                amount_cents=line_total(need.quantity, product.price_cents),
                orders=need.orders,
                kitchen=True,
            )
        )
