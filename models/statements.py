"""Producers' statements: what each producer sold in a cycle or a month, and what the network
owes them.

A statement counts the lines of the orders that were delivered or due (confirmed, collected,
no-show) in closed and delivered cycles; a month holds the cycles whose pickup falls in it, in
the network's time zone. Per producer:

* **gross sales**: what consumers ordered from them (a weighed product at its weight once
  weighed), before shortages — the lines as they stand plus the refunds;
* **refunds**: what shortages took off those orders (:class:`models.producer_account.Refund`);
* **sales** = gross − refunds = the sum of the lines as they stand;
* **commission**: ``COMMISSION_PERCENT`` of the sales, in cents, rounded half a cent up;
* **net due** = sales − commission.

So a statement's net due is always the sum of its lines less the commission (the invariant
``tests/invariants.py`` checks). ``estimates`` counts lines still at an estimate (not weighed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.amounts import line_is_estimate
from models.cycle import Cycle, CycleState
from models.errors import DomainError, StaleAction
from models.member import Member
from models.order import CONFIRMED_STATUSES, Order, OrderLine
from models.producer import Producer, Product
from models.producer_account import Payout, Refund
from models.text import fold
from models.unit_of_work import unit_of_work

COUNTED = CONFIRMED_STATUSES
"""Orders the producer delivered for (a no-show's goods were brought all the same)."""
SETTLED_CYCLES = (CycleState.CLOSED, CycleState.DELIVERED)


class AlreadyPaid(DomainError):
    """The producer's payout for that month was already marked (``paid_at``)."""

    code = "already_paid"


def commission_cents(sales_cents: int, percent: Decimal) -> int:
    """``percent`` of ``sales_cents``, in whole cents, half a cent up."""
    return int((Decimal(sales_cents) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class StatementLine:
    """One order line of the producer's, as the statement lists it."""

    cycle_id: int
    pickup_day: datetime
    order_id: int
    product: str
    sale_unit: str
    quantity: Decimal
    amount_cents: int
    weight_kg: Decimal | None
    estimate: bool


@dataclass(frozen=True)
class StatementRefund:
    """An amount a shortage took off one of the producer's orders."""

    cycle_id: int
    order_id: int
    product: str
    cents: int


@dataclass
class Statement:
    """A producer's account for a period (one cycle, or one month)."""

    producer_id: int
    producer_name: str
    period: str
    """``YYYY-MM`` for a month, ``cycle:<id>`` for a cycle."""
    commission_percent: Decimal
    lines: list[StatementLine] = field(default_factory=list)
    refunds: list[StatementRefund] = field(default_factory=list)
    paid_at: datetime | None = None
    paid_cents: int | None = None

    @property
    def sales_cents(self) -> int:
        """What the lines come to now: after weighing and shortages."""
        return sum(line.amount_cents for line in self.lines)

    @property
    def refunds_cents(self) -> int:
        """What shortages took off."""
        return sum(refund.cents for refund in self.refunds)

    @property
    def gross_cents(self) -> int:
        """What was sold before the shortages."""
        return self.sales_cents + self.refunds_cents

    @property
    def commission_cents(self) -> int:
        """The network's commission on the sales."""
        return commission_cents(self.sales_cents, self.commission_percent)

    @property
    def net_cents(self) -> int:
        """What the network owes the producer."""
        return self.sales_cents - self.commission_cents

    @property
    def estimates(self) -> int:
        """Lines still at an estimate (weighed products not weighed yet)."""
        return sum(1 for line in self.lines if line.estimate)

    @property
    def cycles(self) -> list[int]:
        """The cycles the statement covers, in order."""
        return sorted({line.cycle_id for line in self.lines} | {r.cycle_id for r in self.refunds})


def month_bounds(month: str, timezone: ZoneInfo) -> tuple[datetime, datetime]:
    """``2026-12`` → its first instant and the next month's, in ``timezone``."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime.combine(date(year, number, 1), time(0), timezone)
    end = datetime.combine(
        date(year + (number == 12), number % 12 + 1, 1),
        time(0),
        timezone,
    )
    return start, end


def month_of(moment: datetime, timezone: ZoneInfo) -> str:
    """The ``YYYY-MM`` a moment falls in, in ``timezone``."""
    return moment.astimezone(timezone).strftime("%Y-%m")


def shift_month(month: str, months: int) -> str:
    """``2026-12`` shifted by ``months`` (``-1``: ``2026-11``)."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


async def _cycle_ids(
    session: AsyncSession, month: str | None, cycle_id: int | None, timezone: ZoneInfo
) -> list[int]:
    query = select(Cycle.id).where(Cycle.state.in_(SETTLED_CYCLES))
    if cycle_id is not None:
        query = query.where(Cycle.id == cycle_id)
    if month is not None:
        start, end = month_bounds(month, timezone)
        query = query.where(Cycle.pickup_starts_at >= start, Cycle.pickup_starts_at < end)
    return list(await session.scalars(query))


async def statements(
    session: AsyncSession,
    *,
    timezone: ZoneInfo,
    commission_percent: Decimal,
    month: str | None = None,
    cycle_id: int | None = None,
    producer_id: int | None = None,
) -> list[Statement]:
    """Each producer's statement for ``month`` (``YYYY-MM``) or for cycle ``cycle_id`` (one of
    them), by producer name; ``producer_id``: that producer's only (an empty statement when they
    sold nothing). Ends its read (commits)."""
    if (month is None) == (cycle_id is None):
        raise ValueError("a statement is for one month or one cycle")
    period = month if month is not None else f"cycle:{cycle_id}"
    cycles = await _cycle_ids(session, month, cycle_id, timezone)
    producers = {
        p.id: p
        for p in await session.scalars(
            select(Producer).where(Producer.id == producer_id)
            if producer_id is not None
            else select(Producer)
        )
    }
    found: dict[int, Statement] = {}

    def statement(pid: int) -> Statement:
        if pid not in found:
            found[pid] = Statement(pid, producers[pid].name, period, commission_percent)
        return found[pid]

    if cycles:
        rows = await session.execute(
            select(OrderLine, Order.id, Order.cycle_id, Cycle.pickup_starts_at, Product)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Cycle, Cycle.id == Order.cycle_id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.cycle_id.in_(cycles), Order.status.in_(COUNTED))
            .where(Product.producer_id.in_(producers))
            .order_by(Cycle.pickup_starts_at, Order.id, OrderLine.id)
        )
        for line, order_id, cid, pickup_day, product in rows:
            statement(product.producer_id).lines.append(
                StatementLine(
                    cid,
                    pickup_day,
                    order_id,
                    product.name,
                    product.sale_unit,
                    line.quantity,
                    line.total_cents,
                    line.weight_kg,
                    line_is_estimate(line),
                )
            )
        refunds = await session.execute(
            select(Refund, Product.name)
            .join(Order, Order.id == Refund.order_id)
            .join(Product, Product.id == Refund.product_id)
            .where(Refund.cycle_id.in_(cycles), Order.status.in_(COUNTED))
            .where(Refund.producer_id.in_(producers))
            .order_by(Refund.id)
        )
        for refund, name in refunds:
            statement(refund.producer_id).refunds.append(
                StatementRefund(refund.cycle_id, refund.order_id, name, refund.cents)
            )
    if producer_id is not None and producer_id in producers:
        statement(producer_id)
    if month is not None and found:
        payouts = await session.scalars(
            select(Payout).where(Payout.month == month, Payout.producer_id.in_(found))
        )
        for payout in payouts:
            found[payout.producer_id].paid_at = payout.paid_at
            found[payout.producer_id].paid_cents = payout.amount_cents
    await session.commit()
    return sorted(found.values(), key=lambda s: (fold(s.producer_name), s.producer_id))


async def mark_paid(
    session: AsyncSession,
    producer_id: int,
    month: str,
    amount_cents: int,
    by: Member,
    now: datetime,
) -> Payout:
    """Record that the network paid ``producer_id`` ``amount_cents`` for ``month``; once per
    producer and month (:class:`AlreadyPaid` the second time, even from two admins at once).
    Commits."""
    async with unit_of_work(session):
        if await session.get(Producer, producer_id) is None:
            raise StaleAction(producer_id=producer_id)
        existing = await session.scalar(
            select(Payout).where(Payout.producer_id == producer_id, Payout.month == month)
        )
        if existing is not None:
            raise AlreadyPaid(paid_at=existing.paid_at, amount=existing.amount_cents)
        payout = Payout(
            producer_id=producer_id,
            month=month,
            amount_cents=amount_cents,
            paid_at=now,
            paid_by_id=by.id,
        )
        session.add(payout)
        try:
            await session.flush()
        except IntegrityError as exc:  # another admin marked it in the same instant
            raise AlreadyPaid(paid_at=now, amount=amount_cents) from exc
        return payout


async def months_with_sales(
    session: AsyncSession, timezone: ZoneInfo, limit: int = 12
) -> list[str]:
    """The latest months (``YYYY-MM``, newest first) with a closed or delivered cycle."""
    days = await session.scalars(
        select(Cycle.pickup_starts_at)
        .where(Cycle.state.in_(SETTLED_CYCLES))
        .order_by(Cycle.pickup_starts_at.desc())
        .limit(limit * 6)
    )
    months: list[str] = []
    for day in days:
        month = month_of(day, timezone)
        if month not in months:
            months.append(month)
    await session.commit()
    return months[:limit]


__all__ = [
    "AlreadyPaid",
    "Statement",
    "StatementLine",
    "StatementRefund",
    "commission_cents",
    "mark_paid",
    "month_bounds",
    "month_of",
    "months_with_sales",
    "shift_month",
    "statements",
]
