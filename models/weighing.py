"""Weighing after the close: the real weight of each weighed line, and the final amounts.

A weighed product's line is ordered at an estimate; after the close the producer, or whoever packs
at the pickup point, gives its real weight (the whole line's, all its pieces together). The line's
amount becomes :func:`models.amounts.weighed_cents` of that weight, the order's total follows, and
once no line of the order is still an estimate the order is final. A weight may be given again to
correct it (the amount follows again). One unit of work per weight, under a share lock on the cycle
and an update lock on the order, so a weighing and a shortage on the same order never interleave.

The three ways in (a message "poulet Jeanne 1,82", the guided flow, the pickup-day screen) all end
in :func:`weigh`; :func:`read_weighing_message` reads the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.amounts import line_cents, order_is_final
from models.base import normalize_quantity
from models.cycle import Cycle, CycleState
from models.cycles import lock_cycle
from models.errors import DomainError, StaleAction
from models.member import Member
from models.members import await_input, awaited, stop_awaiting
from models.order import CONFIRMED_STATUSES, Order, OrderLine
from models.outbox import Kind, Part, add_messages
from models.payments import settle_final_amount
from models.producer import Product
from models.text import fold
from models.unit_of_work import unit_of_work

WEIGHABLE = (CycleState.CLOSED, CycleState.DELIVERED)
"""A line is weighed once its cycle closed, before or after the pickup."""
ON_THE_LIST = CONFIRMED_STATUSES
MAX_WEIGHT_KG = Decimal(999)
"""The heaviest line a weight may give (a typo guard: 1820 typed for 1,820 kg is refused)."""
MAX_LINE_CENTS = 2**31 - 1
PLAUSIBLE_FACTOR = Decimal(5)
"""A line's real weight lies within this factor of its estimate, either way (a typo guard: 500
or 18,2 typed for a chicken of ≈ 1,8 kg is refused, and said so)."""


class WeightRefused(DomainError):
    """A weight that cannot be right: ``reason`` is ``bounds`` (not above 0, or past
    :data:`MAX_WEIGHT_KG`), ``implausible`` (more than :data:`PLAUSIBLE_FACTOR` times the line's
    estimate away from it, with ``estimate``, ``low`` and ``high`` in kilos), ``unit`` (the line is not a weighed product's) or ``cycle`` (its cycle is
    still open)."""

    code = "weight_refused"


@dataclass(frozen=True)
class WeighingLine:
    """One line to weigh (or weighed), as a packer reads it."""

    line_id: int
    order_id: int
    member_name: str
    product_name: str
    sale_unit: str
    quantity: Decimal
    estimated_kg: Decimal
    price_per_kg_cents: int
    total_cents: int
    weight_kg: Decimal | None
    point_id: int | None
    producer_id: int


@dataclass(frozen=True)
class Weighed:
    """What a weight did: the line now, its order's new total, and whether the order is final
    (then ``receipt_key`` names its final receipt, one per final amount)."""

    line: WeighingLine
    order_id: int
    order_total_cents: int
    order_final: bool
    before_cents: int

    @property
    def receipt_key(self) -> str:
        """The outbox topic of this final amount's receipt (a correction gives a new one)."""
        return f"weighed:{self.order_id}:{self.order_total_cents}"


async def weighing_cycle(session: AsyncSession) -> Cycle | None:
    """The cycle whose lines are weighed now: the latest closed (or delivered) one."""
    result: Cycle | None = await session.scalar(
        select(Cycle).where(Cycle.state.in_(WEIGHABLE)).order_by(Cycle.closes_at.desc()).limit(1)
    )
    return result


def _weighing_line(line: OrderLine, order: Order, product: Product, member: Member) -> WeighingLine:
    assert line.price_per_kg_cents is not None
    return WeighingLine(
        line_id=line.id,
        order_id=order.id,
        member_name=member.display_name,
        product_name=product.name,
        sale_unit=product.sale_unit,
        quantity=line.quantity,
        estimated_kg=normalize_quantity(line.quantity * (line.estimated_kg or Decimal(0))),
        price_per_kg_cents=line.price_per_kg_cents,
        total_cents=line.total_cents,
        weight_kg=line.weight_kg,
        point_id=order.pickup_point_id,
        producer_id=product.producer_id,
    )


async def weighing_lines(
    session: AsyncSession,
    cycle_id: int,
    *,
    producer_id: int | None = None,
    point_id: int | None = None,
    unweighed_only: bool = False,
) -> list[WeighingLine]:
    """The cycle's weighed-product lines (one producer's, one point's, or all), product by
    product then consumer by surname: the order a packer works in."""
    query = (
        select(OrderLine, Order, Product, Member)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Member, Member.id == Order.member_id)
        .where(
            Order.cycle_id == cycle_id,
            Order.status.in_(ON_THE_LIST),
            OrderLine.price_per_kg_cents.is_not(None),
        )
    )
    if producer_id is not None:
        query = query.where(Product.producer_id == producer_id)
    if point_id is not None:
        query = query.where(Order.pickup_point_id == point_id)
    if unweighed_only:
        query = query.where(OrderLine.weight_kg.is_(None))
    rows = (await session.execute(query)).all()
    lines = [_weighing_line(line, order, product, member) for line, order, product, member in rows]
    lines.sort(key=lambda w: (fold(w.product_name), fold(w.member_name), w.order_id))
    return lines


async def weigh(
    session: AsyncSession,
    line_id: int,
    weight_kg: Decimal,
    now: datetime,
    *,
    producer_id: int | None = None,
    receipt: Callable[[Order], Sequence[Part]] | None = None,
    overdraft_cents: int | None = None,
) -> Weighed:
    """Give line ``line_id`` its real weight (``producer_id``: only one of that producer's
    lines); the caller gets the line, the order's new total and whether the order is now final.
    When it is, ``receipt`` renders the consumer's final receipt from the order (its lines and
    products, member, point and cycle loaded), written into the outbox in the same unit of work
    under :attr:`Weighed.receipt_key` (a correction to another amount writes another one).
    What was paid follows the new amount (:func:`models.payments.settle_final_amount`: a refund
    to the balance, or with ``overdraft_cents`` — the balance mode — a debit from it).
    Refuses with :class:`WeightRefused`, or :class:`StaleAction` for a line that is gone."""
    async with unit_of_work(session):
        found = await session.execute(
            select(OrderLine.id, Order.cycle_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.id == line_id)
        )
        row = found.first()
        if row is None:
            raise StaleAction(line_id=line_id)
        cycle = await lock_cycle(session, row.cycle_id, shared=True)
        if cycle.state not in WEIGHABLE:
            raise WeightRefused(reason="cycle")
        order = await session.scalar(
            select(Order)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(OrderLine.id == line_id)
            .options(
                selectinload(Order.lines).selectinload(OrderLine.product),
                selectinload(Order.member),
                selectinload(Order.pickup_point),
                selectinload(Order.cycle),
            )
            .with_for_update(of=Order)
            .execution_options(populate_existing=True)
        )
        line = None if order is None else next((x for x in order.lines if x.id == line_id), None)
        if order is None or line is None or order.status not in ON_THE_LIST:
            raise StaleAction(line_id=line_id)
        if producer_id is not None and line.product.producer_id != producer_id:
            raise StaleAction(line_id=line_id)
        if line.price_per_kg_cents is None:
            raise WeightRefused(reason="unit", name=line.product.name)
        weight = normalize_quantity(weight_kg)
        if not Decimal(0) < weight <= MAX_WEIGHT_KG:
            raise WeightRefused(reason="bounds", name=line.product.name)
        estimate = line.quantity * (line.estimated_kg or Decimal(0))
        if (
            estimate > 0
            and not estimate / PLAUSIBLE_FACTOR <= weight <= estimate * PLAUSIBLE_FACTOR
        ):
            raise WeightRefused(
                reason="implausible",
                name=line.product.name,
                weight=weight,
                estimate=normalize_quantity(estimate),
                low=normalize_quantity(estimate / PLAUSIBLE_FACTOR),
                high=normalize_quantity(estimate * PLAUSIBLE_FACTOR),
            )
        before = line.total_cents
        line.weight_kg = weight
        line.weighed_at = now
        line.total_cents = line_cents(line)
        if line.total_cents > MAX_LINE_CENTS:
            raise WeightRefused(reason="bounds", name=line.product.name)
        order.total_cents = sum(x.total_cents for x in order.lines)
        order.updated_at = now
        await settle_final_amount(session, order, now, overdraft_cents)
        await session.flush()
        weighed = Weighed(
            line=_weighing_line(line, order, line.product, order.member),
            order_id=order.id,
            order_total_cents=order.total_cents,
            order_final=order_is_final(order),
            before_cents=before,
        )
        if weighed.order_final and receipt is not None and order.member.reachable:
            await add_messages(
                session, weighed.receipt_key, Kind.FINAL_RECEIPT, receipt(order), cycle_id=cycle.id
            )
        return weighed


# -- reading "poulet Jeanne 1,82" ---------------------------------------------------------------

_WEIGHT = re.compile(
    r"(?<![\d.,])(?P<number>-?\d+(?:[.,]\d{1,3})?)\s*(?P<unit>kg|kgs|kilos?|kilogrammes?|g|gr|grammes?)?\s*$"
)
_ORDER_NUMBER = re.compile(r"^(?:n°|no|#)?(?P<id>\d+)$")


def read_weight(text: str) -> Decimal | None:
    """A weight typed alone: "1,82", "1.82 kg", "1820 g" → kilos; None if it is not one."""
    match = _WEIGHT.fullmatch(fold(text).strip())
    return None if match is None else _kilos(match)


def _kilos(match: re.Match[str]) -> Decimal | None:
    try:
        value = Decimal(match["number"].replace(",", "."))
    except InvalidOperation:
        return None
    if (match["unit"] or "").startswith("g"):
        value = value / 1000
    return value


def _matches(word: str, names: list[str]) -> bool:
    return any(name == word or (len(word) >= 3 and name.startswith(word)) for name in names)


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9°#]+", fold(text)) if w]


@dataclass(frozen=True)
class WeighingRequest:
    """One line of a weighing message: the weight read, and the lines it may mean (one when it
    is clear; several when the words fit more than one order; none when they fit nothing)."""

    text: str
    weight_kg: Decimal
    candidates: tuple[WeighingLine, ...]


def read_weighing_message(text: str, lines: list[WeighingLine]) -> list[WeighingRequest] | None:
    """Read a message of weights, one a line ("poulet Jeanne 1,82", "poulet 42 1,9 kg"): a
    product's name (a word of it is enough), the consumer's name or the order's number, then the
    weight. None when the message is not one: no line ends with a weight after words that name
    one of ``lines``' products and someone."""
    requests: list[WeighingRequest] = []
    understood = False
    for raw in text.splitlines():
        if not raw.strip():
            continue
        folded = fold(raw).strip()
        match = _WEIGHT.search(folded)
        if match is None or match.start() == 0:
            return None
        weight = _kilos(match)
        words = _words(folded[: match.start()])
        if weight is None or not words:
            return None
        product_hits = [
            w for w in lines if any(_matches(word, _words(w.product_name)) for word in words)
        ]
        if not product_hits:
            return None
        chosen = []
        for candidate in product_hits:
            product_words = _words(candidate.product_name)
            rest = [word for word in words if not _matches(word, product_words)]
            if not rest:
                continue  # "poulet fermier 3" names no one: a stock message, not a weight
            understood = True
            person = _words(candidate.member_name)
            if all(
                _matches(word, person)
                or (
                    (m := _ORDER_NUMBER.match(word)) is not None
                    and int(m["id"]) == candidate.order_id
                )
                for word in rest
            ):
                chosen.append(candidate)
        requests.append(WeighingRequest(raw.strip(), weight, tuple(chosen)))
    return requests if requests and understood else None


# -- the guided flow: one line at a time ---------------------------------------------------------


def next_to_weigh(lines: list[WeighingLine], after_line_id: int | None) -> WeighingLine | None:
    """The first line still to weigh after ``after_line_id`` in ``lines``' order (from the start
    when None or not among them); None once none is left after it."""
    ids = [w.line_id for w in lines]
    start = ids.index(after_line_id) + 1 if after_line_id in ids else 0
    return next((w for w in lines[start:] if w.weight_kg is None), None)


WEIGHING = "weighing"
"""What the member is awaited to type (``models.members.await_input``) in the guided flow: the
weight of ``[line id, point id]`` (point 0: every point's lines)."""


def awaited_line(member: Member) -> tuple[int, int | None] | None:
    """The line whose weight the guided flow awaits from ``member``, and the point it keeps to
    (None: not weighing)."""
    value = awaited(member, WEIGHING)
    if not isinstance(value, list) or len(value) != 2:
        return None
    line_id, point_id = value
    return int(line_id), (int(point_id) or None)


async def set_weighing(
    session: AsyncSession, member: Member, line_id: int | None, point_id: int | None = None
) -> None:
    """Make the guided flow await ``line_id``'s weight from ``member`` (None: end the flow);
    ``point_id`` keeps it to one pickup point. Commits."""
    if line_id is None:
        await stop_awaiting(session, member, WEIGHING)
    else:
        await await_input(session, member, WEIGHING, [line_id, point_id or 0])
