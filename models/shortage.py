"""Shortages: a producer has less than was ordered (after the close, or while the cycle is
open), and orders shrink to match.

The quantity the producer can bring is shared out first-confirmed first-served
(``Order.confirmed_at``): the earliest orders keep their lines whole, the later ones are reduced
or lose the line, their totals follow (the unit price snapshot is kept), and the offer ends with
``ordered`` equal to what the orders hold. One unit of work, under an exclusive lock on the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models import kitchen
from models.amounts import line_cents
from models.base import normalize_quantity
from models.cycle import Cycle, CycleState, Offer
from models.cycles import lock_cycle
from models.errors import StaleAction
from models.member import Member
from models.order import Order, OrderLine, OrderStatus
from models.ordering import floor_to_step
from models.payments import order_total_changed
from models.producer import Product
from models.producer_account import Refund
from models.stock import (
    SHORTAGE,
    catalog_items,
    new_pending_update,
    pending_update,
    preview,
    producer_products,
)
from models.stock_parser import StockParser
from models.stock_update import StockUpdate, StockUpdateStatus
from models.unit_of_work import unit_of_work

RESERVING = (OrderStatus.BASKET, OrderStatus.CONFIRMED, OrderStatus.COLLECTED, OrderStatus.NO_SHOW)
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ShortageLine:
    """A product the producer cannot bring in full: ``ordered`` asked, ``available`` to share."""

    product_id: int
    sku: str
    name: str
    sale_unit: str
    ordered: Decimal
    available: Decimal
    offered: Decimal | None = None
    """What the offer held before the shortage (once applied)."""


@dataclass(frozen=True)
class ShortagePreview:
    """What a pending shortage report would take off the orders."""

    update_id: int
    cycle: Cycle
    lines: list[ShortageLine]


@dataclass(frozen=True)
class LineChange:
    """One order line reduced (``after`` 0: removed)."""

    name: str
    sale_unit: str
    before: Decimal
    after: Decimal


@dataclass
class AffectedOrder:
    """A consumer's order the shortage changed, with its new total."""

    order_id: int
    member_id: int
    telegram_id: int
    locale: str
    total_before: int
    total_after: int = 0
    changes: list[LineChange] = field(default_factory=list)
    refunded_cents: int = 0
    """What went back to the member's balance (the order had been paid for more)."""


@dataclass(frozen=True)
class ShortageReport:
    """What applying a shortage did: per product, and per affected order."""

    cycle: Cycle
    producer_id: int
    lines: list[ShortageLine]
    orders: list[AffectedOrder]


async def shortage_cycle(session: AsyncSession) -> Cycle | None:
    """The cycle a shortage applies to: the latest closed one, before pickup is over."""
    result: Cycle | None = await session.scalar(
        select(Cycle)
        .where(Cycle.state == CycleState.CLOSED)
        .order_by(Cycle.closes_at.desc())
        .limit(1)
    )
    return result


async def _shortage_lines(
    session: AsyncSession, producer_id: int, cycle: Cycle, wanted: dict[str, Decimal]
) -> list[ShortageLine]:
    products = {p.sku: p for p in await producer_products(session, producer_id)}
    ids = [products[sku].id for sku in wanted if sku in products]
    if not ids:
        return []
    ordered = await _ordered(session, cycle.id, ids)
    lines = []
    for sku, available in wanted.items():
        product = products.get(sku)
        if product is None:
            continue
        asked = ordered.get(product.id, Decimal(0))
        if available < asked:
            lines.append(
                ShortageLine(
                    product_id=product.id,
                    sku=sku,
                    name=product.name,
                    sale_unit=product.sale_unit,
                    ordered=asked,
                    available=normalize_quantity(max(available, Decimal(0))),
                )
            )
    return lines


async def read_shortage_message(
    session: AsyncSession,
    member: Member,
    text: str,
    now: datetime,
    cycle: Cycle | None = None,
    *,
    whole: bool = False,
) -> ShortagePreview | None:
    """A pending shortage report when ``text`` gives, for one of the producer's products, less
    than consumers ordered in ``cycle`` (default: the closed one) (``seulement 8 tomates``);
    with ``whole``, only when every product the message names is such a shortage (an open
    cycle: a message that also gives stock stays a stock update). None otherwise. Commits when
    it creates one."""
    if member.producer_id is None:
        return None
    cycle = cycle or await shortage_cycle(session)
    if cycle is None:
        return None
    products = await producer_products(session, member.producer_id)
    result = StockParser(catalog_items(products)).parse(text)
    ordered = await _ordered(session, cycle.id, [p.id for p in products])
    by_sku = {p.sku: p for p in products}
    wanted: dict[str, Decimal] = {}
    for line in result.updates:
        base = wanted.get(line.sku, ordered.get(by_sku[line.sku].id, Decimal(0)))
        if line.op == "set":
            wanted[line.sku] = line.quantity
        elif line.op == "remove":
            wanted[line.sku] = base - line.quantity
    lines = await _shortage_lines(session, member.producer_id, cycle, wanted)
    if not lines:
        return None
    if whole and (
        len(lines) != len({line.sku for line in result.updates})
        or result.ambiguous
        or result.unconvertible
    ):
        return None
    return await _pending_shortage(session, member, text, cycle, lines, now)


async def stock_as_shortage(
    session: AsyncSession, member: Member, update_id: int, now: datetime
) -> tuple[ShortagePreview, list[str]]:
    """The pending stock update ``update_id`` of the open cycle read as a shortage: the
    products it sets below what consumers already ordered, and (second) the names of what else
    it said, left out. Raises :class:`StaleAction` when it sets none below. Commits."""
    shown = await preview(session, member, update_id)
    cycle = shown.cycle
    if member.producer_id is None or cycle is None or cycle.state != CycleState.OPEN:
        raise StaleAction(update_id=update_id)
    wanted = {line.sku: line.requested for line in shown.lines if line.clamped}
    lines = await _shortage_lines(session, member.producer_id, cycle, wanted)
    if not lines:
        raise StaleAction(update_id=update_id)
    pending = await pending_update(session, member, update_id)
    found = await _pending_shortage(session, member, pending.text, cycle, lines, now)
    left_out = [line.name for line in shown.lines if line.sku not in wanted]
    return found, [*left_out, *shown.not_recorded]


async def _pending_shortage(
    session: AsyncSession,
    member: Member,
    text: str,
    cycle: Cycle,
    lines: list[ShortageLine],
    now: datetime,
) -> ShortagePreview:
    parsed = {
        "kind": SHORTAGE,
        "updates": [
            {"sku": line.sku, "op": "set", "quantity": str(line.available), "text": line.name}
            for line in lines
        ],
        "ambiguous": [],
        "unknown": [],
        "unconvertible": [],
    }
    stock_update = await new_pending_update(session, member, text, parsed, cycle.id, now)
    return ShortagePreview(update_id=stock_update.id, cycle=cycle, lines=lines)


async def _ordered(
    session: AsyncSession, cycle_id: int, product_ids: list[int]
) -> dict[int, Decimal]:
    rows = await session.execute(
        select(Offer.product_id, Offer.ordered).where(
            Offer.cycle_id == cycle_id, Offer.product_id.in_(product_ids)
        )
    )
    return dict(rows.all())


async def ordered_products(
    session: AsyncSession, member: Member, cycle: Cycle | None = None
) -> list[ShortageLine]:
    """The producer's products ordered in ``cycle`` (default: the closed one), for ``/manque``
    without text."""
    if member.producer_id is None:
        return []
    cycle = cycle or await shortage_cycle(session)
    if cycle is None:
        return []
    rows = await session.execute(
        select(Product, Offer.ordered)
        .join(Offer, Offer.product_id == Product.id)
        .where(
            Offer.cycle_id == cycle.id,
            Product.producer_id == member.producer_id,
            Offer.ordered > 0,
        )
        .order_by(Product.name)
    )
    return [ShortageLine(p.id, p.sku, p.name, p.sale_unit, ordered, ordered) for p, ordered in rows]


async def apply_shortage(
    session: AsyncSession, member: Member, update_id: int, now: datetime
) -> ShortageReport:
    """Share the available quantities out first-confirmed first-served, shrink the orders and
    their totals, set the offers. All or nothing. Commits.

    Raises :class:`StaleAction` when the report is not this farm's pending one or its cycle is
    neither open nor closed any more (delivered).
    """
    stock_update = await pending_update(session, member, update_id, kind=SHORTAGE)
    async with unit_of_work(session):
        return await _apply(session, stock_update, now)


async def report_collection_shortage(
    session: AsyncSession,
    driver: Member,
    producer_id: int,
    cycle_id: int,
    missing: dict[int, Decimal],
    text: str,
    now: datetime,
) -> ShortageReport:
    """What the round's driver found missing at a farm (product id → sale units missing;
    ``text`` the difference as the driver saw it, kept for the audit trail), applied as that farm's shortage at once: recorded as a stock update by the driver, then
    shared out as :func:`apply_shortage` does, inside the caller's unit of work (so that the
    caller's own record of it lands with it or not at all).

    Raises :class:`StaleAction` when the cycle is not closed (or open) any more."""
    products = {p.id: p for p in await producer_products(session, producer_id)}
    ordered = await _ordered(session, cycle_id, list(products))
    updates = [
        {
            "sku": products[product_id].sku,
            "op": "set",
            "quantity": str(max(ordered.get(product_id, Decimal(0)) - less, Decimal(0))),
            "text": products[product_id].name,
        }
        for product_id, less in missing.items()
        if product_id in products and less > 0
    ]
    stock_update = StockUpdate(
        producer_id=producer_id,
        member_id=driver.id,
        cycle_id=cycle_id,
        text=text,
        parsed={"kind": SHORTAGE, "updates": updates, "ambiguous": [], "unknown": []},
        applied=[],
        status=StockUpdateStatus.PENDING,
        created_at=now,
    )
    session.add(stock_update)
    await session.flush()
    return await _apply(session, stock_update, now)


async def _apply(session: AsyncSession, stock_update: StockUpdate, now: datetime) -> ShortageReport:
    """Apply a pending shortage update inside the caller's unit of work."""
    products = {p.sku: p for p in await producer_products(session, stock_update.producer_id)}
    affected: dict[int, AffectedOrder] = {}
    lines: list[ShortageLine] = []
    if stock_update.cycle_id is None:
        raise StaleAction(update_id=stock_update.id)
    cycle = await lock_cycle(session, stock_update.cycle_id)
    if cycle.state not in (CycleState.OPEN, CycleState.CLOSED):
        raise StaleAction(update_id=stock_update.id)
    for item in stock_update.parsed.get("updates", []):
        product = products.get(item["sku"])
        if product is None:
            continue
        line = await _share_out(session, cycle, product, Decimal(item["quantity"]), affected, now)
        if line is not None:
            lines.append(line)
    for order_id, report in affected.items():
        order = await session.get(Order, order_id)
        assert order is not None
        report.total_after = order.total_cents
    stock_update.applied = [
        {
            "sku": line.sku,
            "product_id": line.product_id,
            "before": str(line.ordered),
            "after": str(line.available),
            "offered": str(line.offered),
        }
        for line in lines
    ]
    stock_update.status = StockUpdateStatus.APPLIED
    stock_update.applied_at = now
    return ShortageReport(
        cycle=cycle,
        producer_id=stock_update.producer_id,
        lines=lines,
        orders=list(affected.values()),
    )


async def _share_out(
    session: AsyncSession,
    cycle: Cycle,
    product: Product,
    available: Decimal,
    affected: dict[int, AffectedOrder],
    now: datetime,
) -> ShortageLine | None:
    offer = await session.scalar(
        select(Offer)
        .where(Offer.cycle_id == cycle.id, Offer.product_id == product.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if offer is None or available >= offer.ordered:
        return None
    orders = list(
        await session.scalars(
            select(Order)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(
                Order.cycle_id == cycle.id,
                Order.status.in_(RESERVING),
                OrderLine.product_id == product.id,
            )
            .options(selectinload(Order.lines), selectinload(Order.member))
            .with_for_update(of=Order)
            .execution_options(populate_existing=True)
        )
    )
    orders.sort(key=lambda o: (o.confirmed_at is None, o.confirmed_at or _LATEST, o.id))
    # What the kitchen's dishes took of it stays theirs: the shortage is shared among the
    # consumers' own lines of the product.
    kitchen_draw = (await kitchen.drawn(session, cycle.id, RESERVING, [product.id])).get(
        product.id, Decimal(0)
    )
    left = max(available - kitchen_draw, Decimal(0))
    kept_total = Decimal(0)
    dish = await kitchen.recipe(session, product.id)
    for order in orders:
        line = next(ln for ln in order.lines if ln.product_id == product.id)
        keep = floor_to_step(min(line.quantity, left), product.step)
        left -= keep
        kept_total += keep
        if keep == line.quantity:
            continue
        report = affected.get(order.id)
        if report is None:
            report = AffectedOrder(
                order_id=order.id,
                member_id=order.member_id,
                telegram_id=order.member.telegram_id,
                locale=order.member.locale,
                total_before=order.total_cents,
            )
            affected[order.id] = report
        report.changes.append(LineChange(product.name, product.sale_unit, line.quantity, keep))
        cents_before = line.total_cents
        if dish:  # a dish cooked in smaller quantity gives its ingredients back
            await kitchen.give_back(session, cycle.id, dish, line.quantity, keep)
        if keep == 0:
            order.lines.remove(line)
        else:
            line.quantity = keep
            line.weight_kg = None  # a weighed line is weighed again at its new quantity
            line.weighed_at = None
            line.total_cents = line_cents(line)
        refunded = cents_before - (line.total_cents if keep else 0)
        if refunded > 0:
            session.add(
                Refund(
                    cycle_id=cycle.id,
                    order_id=order.id,
                    producer_id=product.producer_id,
                    product_id=product.id,
                    cents=refunded,
                    created_at=now,
                )
            )
        order.total_cents = sum(ln.total_cents for ln in order.lines)
        order.updated_at = now
        report.refunded_cents += await order_total_changed(session, order, now)
    ordered_before = offer.ordered
    offered_before = offer.offered
    offer.ordered = normalize_quantity(kept_total + kitchen_draw)
    offer.offered = normalize_quantity(max(available, kept_total + kitchen_draw, Decimal(0)))
    await session.flush()
    return ShortageLine(
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        sale_unit=product.sale_unit,
        ordered=ordered_before,
        available=offer.offered,
        offered=offered_before,
    )
