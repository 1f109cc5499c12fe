"""What the exports hold: a cycle's order lines, their totals, the pickup lists, and each
producer's preparation (what goes into which bag).

Plain data for the renderers (CSV, XLSX, PDF in ``handlers/documents``): one row per order
line, with the names a person reads, its order's number, status and confirmation; the pickup
list of a point has its consumers in alphabetical order (accents and case ignored), each with
their lines and total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import BigInteger, ColumnElement, Row, and_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.base import QUANTITY_SCALE, normalize_quantity
from models.catalog import search_form
from models.cycle import Cycle
from models.errors import StaleAction
from models.member import Member, display_name_of, sort_name_of
from models.order import Order, OrderLine, OrderStatus, owed_cents
from models.pickup_day import PickupEntry, PickupList, list_order
from models.pickup_point import PickupPoint
from models.producer import Producer, Product
from models.reports import SOLD_STATUSES


@dataclass(slots=True)
class ExportLine:
    """One order line as the exports show it (plain data, never changed once read).

    Not ``frozen``: an export builds one per order line (21,600 for a full cycle), and a frozen
    dataclass's ``__init__`` costs four times as much.
    """

    order_id: int
    consumer: str
    pickup_point: str
    pickup_slug: str
    producer: str
    product: str
    sku: str
    quantity: Decimal
    unit: str
    unit_price_cents: int
    total_cents: int
    price_per_kg_cents: int | None = None
    """A weighed product's price per kilo (``total_cents`` is then its weight's amount)."""
    weight_kg: Decimal | None = None
    """The line's real weight, once weighed."""
    status: OrderStatus = OrderStatus.CONFIRMED
    """The order's status (confirmed, collected, not collected)."""
    confirmed_at: datetime | None = None
    """When the order was first confirmed (UTC)."""

    @property
    def estimate(self) -> bool:
        """True while ``total_cents`` is an estimate: a weighed product not weighed yet."""
        return self.price_per_kg_cents is not None and self.weight_kg is None


@dataclass(frozen=True)
class Totals:
    """Sums of exported lines: overall, per producer and per pickup point (name → cents)."""

    orders: int
    revenue_cents: int
    per_producer: dict[str, int]
    per_pickup_point: dict[str, int]


async def order_lines(
    session: AsyncSession, cycle_id: int, point_id: int | None = None
) -> list[ExportLine]:
    """The cycle's confirmed order lines (optionally one point's), by point, consumer, producer
    and product.

    Three narrow queries — the orders' consumers and points, the names and producers of the
    network's products, then the bare lines — joined here by id: each name is read once per order or product, not
    once per line. They run as Core statements on the session's connection (plain rows, none of
    the ORM's per-row work), and each line's row is dropped as soon as its :class:`ExportLine`
    is made, which halves what the garbage collector walks. The lines query decides which lines
    there are: an order confirmed or changed meanwhile (PostgreSQL reads each statement afresh)
    has its names read afterwards.
    """
    lines, _orders = await _read_lines(session, cycle_id, point_id)
    return lines


class _OrderRow(NamedTuple):
    """What the exports read of one order (one row of :func:`_order_names`)."""

    consumer: str
    point: str
    slug: str
    status: OrderStatus
    confirmed_at: datetime | None
    point_id: int | None
    sort_name: str
    phone: str | None
    total_cents: int
    paid_cents: int


async def _read_lines(
    session: AsyncSession, cycle_id: int, point_id: int | None
) -> tuple[list[ExportLine], dict[int, _OrderRow]]:
    """:func:`order_lines`, with what was read of their orders (by order id); commits."""
    sold = and_(Order.cycle_id == cycle_id, Order.status.in_(SOLD_STATUSES))
    if point_id is not None:
        sold = and_(sold, Order.pickup_point_id == point_id)
    sold_ids = select(Order.id).where(sold)
    connection = await session.connection()
    orders = await _order_names(connection, sold)
    # The cycle's network's whole catalogue (a few hundred rows): no pass over the lines to
    # find which products they hold.
    products = await _product_names(
        connection,
        Product.network_id
        == select(Cycle.network_id).where(Cycle.id == cycle_id).scalar_subquery(),
    )
    line_rows = await connection.execute(
        select(
            OrderLine.order_id,
            OrderLine.product_id,
            # The stored thousandths: made a Decimal once per distinct quantity, not per line.
            type_coerce(OrderLine.quantity, BigInteger),
            OrderLine.unit_price_cents,
            OrderLine.total_cents,
            OrderLine.price_per_kg_cents,
            type_coerce(OrderLine.weight_kg, BigInteger),
        ).where(OrderLine.order_id.in_(sold_ids))
    )
    quantities: dict[int, Decimal] = {}
    lines: list[ExportLine] = []
    late: list[Row[int, int, int, int, int, int | None, int | None]] = []
    for row in line_rows:
        order_id, product_id, thousandths, unit_price, total, per_kg, grams = row
        names = orders.get(order_id)
        product = products.get(product_id)
        if names is None or product is None:
            late.append(row)
            continue
        consumer, point, slug, status, confirmed_at = names[:5]
        producer, name, sku, unit = product
        quantity = quantities.get(thousandths)
        if quantity is None:
            quantity = quantities[thousandths] = _quantity(thousandths)
        # Positional, in the order of the fields: faster than by name, 21,600 times.
        lines.append(
            ExportLine(
                order_id,
                consumer,
                point,
                slug,
                producer,
                name,
                sku,
                quantity,
                unit,
                unit_price,
                total,
                per_kg,
                None if grams is None else _quantity(grams),
                status,
                confirmed_at,
            )
        )
    if late:
        orders |= await _order_names(connection, Order.id.in_({row[0] for row in late}))
        products |= await _product_names(connection, Product.id.in_({row[1] for row in late}))
        for order_id, product_id, thousandths, unit_price, total, late_kg, late_g in late:
            consumer, point, slug, status, confirmed_at = orders[order_id][:5]
            producer, name, sku, unit = products[product_id]
            lines.append(
                ExportLine(
                    order_id,
                    consumer,
                    point,
                    slug,
                    producer,
                    name,
                    sku,
                    _quantity(thousandths),
                    unit,
                    unit_price,
                    total,
                    late_kg,
                    None if late_g is None else _quantity(late_g),
                    status,
                    confirmed_at,
                )
            )
    await session.commit()

    # Sorted on one integer per line: the rank of its order (by point, consumer, id) times the
    # number of products, plus the rank of its product (by producer, product; a sku is one
    # product); names compared with accents and case aside (``search_form`` remembers each).
    product_rank = {
        sku: rank
        for rank, (_producer, _product, sku, _unit) in enumerate(
            sorted(products.values(), key=lambda p: (search_form(p[0]), search_form(p[1])))
        )
    }
    stride = len(product_rank)
    order_rank = {
        order_id: rank * stride
        for rank, order_id in enumerate(
            sorted(
                orders,
                key=lambda o: (
                    search_form(orders[o][1]),
                    search_form(orders[o][0]),
                    orders[o][0],
                    o,
                ),
            )
        )
    }
    lines.sort(key=lambda line: order_rank[line.order_id] + product_rank[line.sku])
    return lines, orders


async def _order_names(
    connection: AsyncConnection, where: ColumnElement[bool]
) -> dict[int, _OrderRow]:
    """Order id → its consumer, pickup point, status, amounts…, for the orders ``where``
    selects."""
    rows = await connection.execute(
        select(
            Order.id,
            Member.first_name,
            Member.last_name,
            PickupPoint.name,
            PickupPoint.slug,
            Order.status,
            Order.confirmed_at,
            Order.pickup_point_id,
            Member.phone,
            Order.total_cents,
            Order.paid_cents,
        )
        .join(Member, Order.member_id == Member.id)
        .outerjoin(PickupPoint, Order.pickup_point_id == PickupPoint.id)
        .where(where)
    )
    return {
        order_id: _OrderRow(
            display_name_of(first, last),
            point or "",
            slug or "",
            status,
            confirmed_at,
            point_id,
            sort_name_of(first, last),
            phone,
            total,
            paid,
        )
        for order_id, first, last, point, slug, status, confirmed_at, point_id, phone, total, paid in rows
    }


async def _product_names(
    connection: AsyncConnection, where: ColumnElement[bool]
) -> dict[int, tuple[str, str, str, str]]:
    """Product id → (producer, product, sku, sale unit), for the products ``where`` selects."""
    rows = await connection.execute(
        select(Product.id, Producer.name, Product.name, Product.sku, Product.sale_unit)
        .join(Producer, Product.producer_id == Producer.id)
        .where(where)
    )
    return {pid: (producer, name, sku, unit) for pid, producer, name, sku, unit in rows}


def _quantity(thousandths: int) -> Decimal:
    """A stored quantity as the ORM reads it (``base.Quantity``)."""
    return normalize_quantity(Decimal(int(thousandths)) / QUANTITY_SCALE)


def totals(lines: list[ExportLine]) -> Totals:
    """The sums of ``lines``: overall, per producer and per pickup point (by name, sorted)."""
    per_producer: dict[str, int] = {}
    per_point: dict[str, int] = {}
    for line in lines:
        per_producer[line.producer] = per_producer.get(line.producer, 0) + line.total_cents
        per_point[line.pickup_point] = per_point.get(line.pickup_point, 0) + line.total_cents
    return Totals(
        orders=len({line.order_id for line in lines}),
        revenue_cents=sum(line.total_cents for line in lines),
        per_producer=dict(sorted(per_producer.items(), key=lambda kv: search_form(kv[0]))),
        per_pickup_point=dict(sorted(per_point.items(), key=lambda kv: search_form(kv[0]))),
    )


async def pickup_lists(
    session: AsyncSession, cycle: Cycle, point_slug: str | None = None
) -> list[PickupList]:
    """The pickup list of every active point (or of the point ``point_slug``) for ``cycle``,
    for print: the pickup day's lists (as :func:`models.pickup_day.pickup_list` makes them: by
    surname, then order number, with the shared phones) with each order's lines.

    A point nobody ordered at still gets its (empty) list when asked by slug; without a slug
    only points with orders are listed. An unknown slug answers :class:`StaleAction`.

    The entries are made from what :func:`order_lines` reads (its orders' and lines' queries),
    not by a query per point: every line is read once.
    """
    query = select(PickupPoint).order_by(PickupPoint.name)
    if point_slug is not None:
        query = query.where(PickupPoint.slug == point_slug)
    points = list(await session.scalars(query))
    if point_slug is not None and not points:
        raise StaleAction(point=point_slug)
    fresh = await session.get(Cycle, cycle.id, populate_existing=True)
    if fresh is None:
        raise StaleAction(cycle_id=cycle.id)
    # One point asked for: only its lines are read.
    lines, orders = await _read_lines(
        session, cycle.id, points[0].id if point_slug is not None else None
    )
    by_order: dict[int, list[ExportLine]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line)
    per_point: dict[int, list[tuple[tuple[str, str, int], PickupEntry]]] = {}
    for order_id, row in orders.items():
        if row.point_id is None:
            continue
        items = tuple(by_order.get(order_id, ()))
        entry = PickupEntry(
            order_id,
            row.consumer,
            row.total_cents,
            len(items),
            row.status,
            row.phone,
            items=items,
            to_pay_cents=owed_cents(row.total_cents, row.paid_cents),
            to_weigh=sum(1 for item in items if item.estimate),
        )
        key = list_order(row.sort_name, row.consumer, order_id, search_form)
        per_point.setdefault(row.point_id, []).append((key, entry))
    result: list[PickupList] = []
    for point in points:
        listed = sorted(per_point.get(point.id, ()), key=lambda keyed: keyed[0])
        if listed or point_slug is not None:
            result.append(PickupList(fresh, point, tuple(entry for _key, entry in listed)))
    return result


@dataclass(frozen=True)
class BagLine:
    """One product going into one order's bag, as a producer's preparation page lists it."""

    pickup_point: str
    order_id: int
    member_name: str
    product: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class Preparation:
    """What one producer prepares for pickup day: each bag's lines (by pickup point, then as
    the point's list orders its consumers), and how much of each product in all."""

    producer: str
    bags: tuple[BagLine, ...]
    totals: tuple[tuple[str, str, Decimal], ...]
    """(product, sale unit, quantity in all), by product name."""


def preparations(lists: list[PickupList]) -> list[Preparation]:
    """Per producer (by name, accents and case aside), what goes into which bag, from printed
    pickup lists (:func:`pickup_lists`, whose entries hold their lines)."""
    bags: dict[str, list[BagLine]] = {}
    amounts: dict[str, dict[tuple[str, str], Decimal]] = {}
    for pickup in lists:
        for entry in pickup.entries:
            for line in entry.items:
                bags.setdefault(line.producer, []).append(
                    BagLine(
                        pickup.point.name,
                        entry.order_id,
                        entry.member_name,
                        line.product,
                        line.quantity,
                        line.unit,
                    )
                )
                sums = amounts.setdefault(line.producer, {})
                key = (line.product, line.unit)
                sums[key] = sums.get(key, Decimal(0)) + line.quantity
    return [
        Preparation(
            producer,
            tuple(bags[producer]),
            tuple(
                (product, unit, quantity)
                for (product, unit), quantity in sorted(
                    amounts[producer].items(), key=lambda kv: search_form(kv[0][0])
                )
            ),
        )
        for producer in sorted(bags, key=search_form)
    ]


__all__ = [
    "BagLine",
    "ExportLine",
    "Preparation",
    "Totals",
    "order_lines",
    "pickup_lists",
    "preparations",
    "totals",
]
