"""What the exports hold: a cycle's order lines, their totals, and the pickup lists.

Plain data for the renderers (CSV, XLSX, PDF in ``handlers/documents``): one row per order
line, with the names a person reads; the pickup list of a point has its consumers in
alphabetical order (accents and case ignored), each with their lines and total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import fold
from models.cycle import Cycle
from models.errors import StaleAction
from models.member import Member
from models.order import Order, OrderLine
from models.pickup_point import PickupPoint
from models.producer import Producer, Product
from models.reports import SOLD_STATUSES


@dataclass(frozen=True)
class ExportLine:
    """One order line as the exports show it."""

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


@dataclass(frozen=True)
class Totals:
    """Sums of exported lines: overall, per producer and per pickup point (name → cents)."""

    orders: int
    revenue_cents: int
    per_producer: dict[str, int]
    per_pickup_point: dict[str, int]


@dataclass
class PickupEntry:
    """One consumer's order on a pickup list."""

    consumer: str
    order_id: int
    lines: list[ExportLine] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        """What the consumer pays."""
        return sum(line.total_cents for line in self.lines)


@dataclass
class PickupList:
    """A pickup point's list for one cycle: who comes, what they take."""

    slug: str
    name: str
    address: str
    window_start: time
    window_end: time
    pickup_day: datetime
    entries: list[PickupEntry] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        """The point's total."""
        return sum(entry.total_cents for entry in self.entries)


def _consumer_key(name: str) -> tuple[str, str]:
    return (fold(name), name)


async def order_lines(
    session: AsyncSession, cycle_id: int, point_id: int | None = None
) -> list[ExportLine]:
    """The cycle's confirmed order lines (optionally one point's), by point, consumer, producer
    and product."""
    query = (
        select(OrderLine, Order, Member, PickupPoint, Product, Producer)
        .join(Order, OrderLine.order_id == Order.id)
        .join(Member, Order.member_id == Member.id)
        .outerjoin(PickupPoint, Order.pickup_point_id == PickupPoint.id)
        .join(Product, OrderLine.product_id == Product.id)
        .join(Producer, Product.producer_id == Producer.id)
        .where(Order.cycle_id == cycle_id, Order.status.in_(SOLD_STATUSES))
    )
    if point_id is not None:
        query = query.where(Order.pickup_point_id == point_id)
    rows = await session.execute(query)
    lines = [
        ExportLine(
            order_id=order.id,
            consumer=member.display_name,
            pickup_point=point.name if point is not None else "",
            pickup_slug=point.slug if point is not None else "",
            producer=producer.name,
            product=product.name,
            sku=product.sku,
            quantity=line.quantity,
            unit=product.sale_unit,
            unit_price_cents=line.unit_price_cents,
            total_cents=line.total_cents,
        )
        for line, order, member, point, product, producer in rows.all()
    ]
    await session.commit()
    lines.sort(
        key=lambda ln: (
            fold(ln.pickup_point),
            _consumer_key(ln.consumer),
            ln.order_id,
            fold(ln.producer),
            fold(ln.product),
        )
    )
    return lines


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
        per_producer=dict(sorted(per_producer.items(), key=lambda kv: fold(kv[0]))),
        per_pickup_point=dict(sorted(per_point.items(), key=lambda kv: fold(kv[0]))),
    )


async def active_points(session: AsyncSession) -> list[PickupPoint]:
    """Every active pickup point (public and company ones), by name."""
    points = list(
        await session.scalars(
            select(PickupPoint).where(PickupPoint.active.is_(True)).order_by(PickupPoint.name)
        )
    )
    await session.commit()
    return points


async def pickup_lists(
    session: AsyncSession, cycle: Cycle, point_slug: str | None = None
) -> list[PickupList]:
    """The pickup list of every active point (or of the point ``point_slug``) for ``cycle``.

    A point nobody ordered at still gets its (empty) list when asked by slug; without a slug
    only points with orders are listed. An unknown slug answers :class:`StaleAction`.
    """
    query = select(PickupPoint).order_by(PickupPoint.name)
    if point_slug is not None:
        query = query.where(PickupPoint.slug == point_slug)
    points = list(await session.scalars(query))
    if point_slug is not None and not points:
        raise StaleAction(point=point_slug)
    lines = await order_lines(session, cycle.id)
    result: list[PickupList] = []
    for point in points:
        pickup = PickupList(
            slug=point.slug,
            name=point.name,
            address=point.address,
            window_start=point.window_start,
            window_end=point.window_end,
            pickup_day=cycle.pickup_starts_at,
        )
        entries: dict[int, PickupEntry] = {}
        for line in lines:
            if line.pickup_slug != point.slug:
                continue
            entry = entries.setdefault(line.order_id, PickupEntry(line.consumer, line.order_id))
            entry.lines.append(line)
        pickup.entries = sorted(entries.values(), key=lambda e: _consumer_key(e.consumer))
        if pickup.entries or point_slug is not None:
            result.append(pickup)
    return result


__all__ = [
    "ExportLine",
    "PickupEntry",
    "PickupList",
    "Totals",
    "active_points",
    "order_lines",
    "pickup_lists",
    "totals",
]
