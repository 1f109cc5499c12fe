"""The figures admins read: a cycle's orders, revenue and average basket, what sold, per
producer (with its fill rate: what was ordered of what it offered) and per pickup point, and how
it compares with the previous cycle and with the cycle a year before.

Every figure is an SQL aggregation over confirmed orders (collected and no-show ones count too:
they were ordered); baskets never confirmed are not sales. Money stays in integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.cycle import Cycle, CycleState, Offer
from models.errors import NoOpenCycle, StaleAction
from models.order import CONFIRMED_STATUSES, Order, OrderLine
from models.pickup_point import PickupPoint
from models.producer import Producer, Product

SOLD_STATUSES = CONFIRMED_STATUSES
REPORTED_STATES = (CycleState.OPEN, CycleState.CLOSED, CycleState.DELIVERED)
# Cycles are weekly but their day may move (a bank holiday): "the cycle a year before" is the
# one that opened within this margin of exactly 364 days earlier.
MATCH_MARGIN = timedelta(days=3)


def average_cents(revenue_cents: int, orders: int) -> int:
    """The average basket in cents, rounded half up (0 without orders)."""
    if orders <= 0:
        return 0
    return int((Decimal(revenue_cents) / orders).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def change(current: int, previous: int | None) -> float | None:
    """The relative change from ``previous`` to ``current`` (None when there is no base)."""
    if previous is None or previous == 0:
        return None
    return (current - previous) / previous


@dataclass(frozen=True)
class CycleFigures:
    """One cycle's totals."""

    cycle_id: int
    opens_at: datetime
    pickup_starts_at: datetime
    orders: int
    revenue_cents: int

    @property
    def average_basket_cents(self) -> int:
        """Revenue per order, in cents."""
        return average_cents(self.revenue_cents, self.orders)


@dataclass(frozen=True)
class ProductFigure:
    """What one product sold in the cycle."""

    product_id: int
    name: str
    producer: str
    sale_unit: str
    quantity: Decimal
    revenue_cents: int


@dataclass(frozen=True)
class GroupFigure:
    """Orders and revenue of one producer or one pickup point; for a producer, what its offers
    were worth at their prices (None for a pickup point)."""

    name: str
    orders: int
    revenue_cents: int
    offered_cents: int | None = None

    @property
    def fill_rate(self) -> float | None:
        """The share of what was offered that was ordered, in value (None without offers)."""
        if not self.offered_cents:
            return None
        return self.revenue_cents / self.offered_cents


@dataclass(frozen=True)
class CycleReport:
    """Everything ``/rapport`` shows about one cycle."""

    cycle: Cycle
    figures: CycleFigures
    top_products: list[ProductFigure]
    producers: list[GroupFigure]
    pickup_points: list[GroupFigure]
    previous: CycleFigures | None
    year_before: CycleFigures | None
    to_weigh: int = 0
    """Lines of weighed products not weighed yet: the revenue holds their estimates."""

    @property
    def revenue_vs_previous(self) -> float | None:
        """Revenue change against the previous cycle, however long ago it was."""
        return _change_of(self.figures, self.previous, "revenue_cents")

    @property
    def basket_vs_previous(self) -> float | None:
        """Average basket change against the previous cycle."""
        return _change_of(self.figures, self.previous, "average_basket_cents")

    @property
    def revenue_vs_year(self) -> float | None:
        """Revenue change against the cycle about 52 weeks before."""
        return _change_of(self.figures, self.year_before, "revenue_cents")

    @property
    def basket_vs_year(self) -> float | None:
        """Average basket change against the cycle about 52 weeks before."""
        return _change_of(self.figures, self.year_before, "average_basket_cents")


def _change_of(current: CycleFigures, previous: CycleFigures | None, name: str) -> float | None:
    if previous is None:
        return None
    return change(getattr(current, name), getattr(previous, name))


async def _latest(session: AsyncSession, state: CycleState) -> Cycle | None:
    cycle: Cycle | None = await session.scalar(
        select(Cycle).where(Cycle.state == state).order_by(Cycle.opens_at.desc()).limit(1)
    )
    return cycle


async def report_cycle(session: AsyncSession) -> Cycle | None:
    """The cycle reports and exports are about by default: the one to be collected next.

    That is the latest closed cycle (its pickup is being prepared), else the open one once it
    has an order, else the last delivered one; an open cycle nobody ordered from comes last.
    """
    closed = await _latest(session, CycleState.CLOSED)
    if closed is not None:
        return closed
    open_cycle = await _latest(session, CycleState.OPEN)
    if open_cycle is not None:
        sold = await session.scalar(
            select(func.count(Order.id)).where(
                Order.cycle_id == open_cycle.id, Order.status.in_(SOLD_STATUSES)
            )
        )
        if sold:
            return open_cycle
    return await _latest(session, CycleState.DELIVERED) or open_cycle


async def recent_cycles(session: AsyncSession, count: int = 6) -> list[Cycle]:
    """The last ``count`` cycles a report or an export can be about, newest first."""
    return list(
        await session.scalars(
            select(Cycle)
            .where(Cycle.state.in_(REPORTED_STATES))
            .order_by(Cycle.opens_at.desc())
            .limit(count)
        )
    )


async def find_cycle(session: AsyncSession, cycle_id: int | None) -> Cycle:
    """Cycle ``cycle_id``, or the default one (:func:`report_cycle`) when it is None.

    Raises :class:`StaleAction` for an unknown id and :class:`NoOpenCycle` when there is no
    cycle to report on at all.
    """
    if cycle_id is None:
        cycle = await report_cycle(session)
        if cycle is None:
            raise NoOpenCycle()
        return cycle
    found = await session.get(Cycle, cycle_id)
    if found is None:
        raise StaleAction(cycle_id=cycle_id)
    return found


async def figures_of(session: AsyncSession, cycles: list[Cycle]) -> list[CycleFigures]:
    """The totals of ``cycles`` (same order), in one grouped query."""
    if not cycles:
        return []
    rows = await session.execute(
        select(Order.cycle_id, func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0))
        .where(Order.cycle_id.in_([c.id for c in cycles]), Order.status.in_(SOLD_STATUSES))
        .group_by(Order.cycle_id)
    )
    totals = {cycle_id: (int(n), int(total)) for cycle_id, n, total in rows.all()}
    return [
        CycleFigures(
            cycle_id=c.id,
            opens_at=c.opens_at,
            pickup_starts_at=c.pickup_starts_at,
            orders=totals.get(c.id, (0, 0))[0],
            revenue_cents=totals.get(c.id, (0, 0))[1],
        )
        for c in cycles
    ]


async def _cycle_near(session: AsyncSession, moment: datetime) -> Cycle | None:
    """The reported cycle that opened closest to ``moment``, within :data:`MATCH_MARGIN`."""
    candidates = await session.scalars(
        select(Cycle).where(
            Cycle.state.in_(REPORTED_STATES),
            Cycle.opens_at >= moment - MATCH_MARGIN,
            Cycle.opens_at <= moment + MATCH_MARGIN,
        )
    )
    return min(candidates, key=lambda c: abs(c.opens_at - moment), default=None)


async def history(session: AsyncSession, cycle: Cycle, count: int = 12) -> list[CycleFigures]:
    """The totals of the last ``count`` cycles up to and including ``cycle``, oldest first."""
    recent = list(
        await session.scalars(
            select(Cycle)
            .where(Cycle.state.in_(REPORTED_STATES), Cycle.opens_at <= cycle.opens_at)
            .order_by(Cycle.opens_at.desc())
            .limit(count)
        )
    )
    recent.reverse()
    return await figures_of(session, recent)


async def _offered_cents(session: AsyncSession, cycle_id: int) -> dict[int, int]:
    """Producer id → what the producer offered in the cycle, at the products' prices."""
    rows = await session.execute(
        select(Product.producer_id, Offer.offered, Product.price_cents)
        .join(Product, Offer.product_id == Product.id)
        .where(Offer.cycle_id == cycle_id)
    )
    worth: dict[int, Decimal] = {}
    for producer_id, quantity, price in rows:
        worth[producer_id] = worth.get(producer_id, Decimal(0)) + Decimal(quantity) * price
    return {
        producer_id: int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        for producer_id, value in worth.items()
    }


async def cycle_report(session: AsyncSession, cycle: Cycle, top: int = 10) -> CycleReport:
    """The report of ``cycle``: totals, top products, per producer, per pickup point, trends."""
    sold = Order.status.in_(SOLD_STATUSES)
    product_rows = await session.execute(
        select(
            Product.id,
            Product.name,
            Producer.name,
            Product.sale_unit,
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.total_cents).label("revenue"),
        )
        .join(Order, OrderLine.order_id == Order.id)
        .join(Product, OrderLine.product_id == Product.id)
        .join(Producer, Product.producer_id == Producer.id)
        .where(Order.cycle_id == cycle.id, sold)
        .group_by(Product.id, Product.name, Producer.name, Product.sale_unit)
        .order_by(func.sum(OrderLine.total_cents).desc(), Product.name)
        .limit(top)
    )
    top_products = [
        ProductFigure(pid, name, producer, unit, Decimal(quantity), int(revenue))
        for pid, name, producer, unit, quantity, revenue in product_rows.all()
    ]
    producer_rows = await session.execute(
        select(
            Producer.id,
            Producer.name,
            func.count(func.distinct(Order.id)),
            func.sum(OrderLine.total_cents),
        )
        .join(Order, OrderLine.order_id == Order.id)
        .join(Product, OrderLine.product_id == Product.id)
        .join(Producer, Product.producer_id == Producer.id)
        .where(Order.cycle_id == cycle.id, sold)
        .group_by(Producer.id, Producer.name)
        .order_by(func.sum(OrderLine.total_cents).desc(), Producer.name)
    )
    offered = await _offered_cents(session, cycle.id)
    producers = [
        GroupFigure(name, int(n), int(total), offered.get(pid))
        for pid, name, n, total in producer_rows.all()
    ]
    point_rows = await session.execute(
        select(PickupPoint.name, func.count(Order.id), func.sum(Order.total_cents))
        .select_from(Order)
        .outerjoin(PickupPoint, Order.pickup_point_id == PickupPoint.id)
        .where(Order.cycle_id == cycle.id, sold)
        .group_by(PickupPoint.id, PickupPoint.name)
        .order_by(func.sum(Order.total_cents).desc(), PickupPoint.name)
    )
    points = [GroupFigure(name or "—", int(n), int(total)) for name, n, total in point_rows.all()]
    previous: Cycle | None = await session.scalar(
        select(Cycle)
        .where(Cycle.state.in_(REPORTED_STATES), Cycle.opens_at < cycle.opens_at)
        .order_by(Cycle.opens_at.desc())
        .limit(1)
    )
    year = await _cycle_near(session, cycle.opens_at - timedelta(weeks=52))
    compared = [c for c in (cycle, previous, year) if c is not None]
    figures = {f.cycle_id: f for f in await figures_of(session, compared)}
    to_weigh = await session.scalar(
        select(func.count(OrderLine.id))
        .join(Order, OrderLine.order_id == Order.id)
        .where(
            Order.cycle_id == cycle.id,
            sold,
            OrderLine.price_per_kg_cents.is_not(None),
            OrderLine.weight_kg.is_(None),
        )
    )
    return CycleReport(
        cycle=cycle,
        figures=figures[cycle.id],
        top_products=top_products,
        producers=producers,
        pickup_points=points,
        previous=figures[previous.id] if previous is not None else None,
        year_before=figures[year.id] if year is not None else None,
        to_weigh=int(to_weigh or 0),
    )


__all__ = [
    "CycleFigures",
    "CycleReport",
    "GroupFigure",
    "ProductFigure",
    "average_cents",
    "change",
    "cycle_report",
    "figures_of",
    "find_cycle",
    "history",
    "recent_cycles",
    "report_cycle",
]
