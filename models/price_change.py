"""Price changes by message: "tomates 5,80 le kilo", previewed, confirmed, in the audit trail.

A producer's message becomes a :class:`PriceChange` row (pending) whose preview says when it
applies: at once when nothing is ordered at the old price yet in the open cycle, else from the
next cycle (``scheduled``, applied by :func:`apply_due_prices` once that cycle is closed). Every
row keeps the old and new price, who asked and when: the price's audit trail.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import Enum, ForeignKey, Integer, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.cycle import Cycle, CycleState
from models.cycles import open_cycle
from models.errors import StaleAction
from models.member import Member
from models.network import NetworkScoped
from models.order import Order, OrderLine
from models.producer import Product
from models.stock import catalog_items
from models.stock_parser import StockParser
from models.text import fold_with_offsets
from models.unit_of_work import unit_of_work

MAX_PRICE_CENTS = 1_000_000
"""The highest price per sale unit a message may set (10 000 €); above it is refused."""


class PriceChangeStatus(enum.StrEnum):
    """pending (preview shown) → applied, or scheduled (from the next cycle) → applied; or
    cancelled."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    APPLIED = "applied"
    CANCELLED = "cancelled"


class PriceChange(NetworkScoped, Base):
    """One product's price changed by a producer's message: old → new, and when it applied."""

    __tablename__ = "price_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"))
    """The cycle open when it was asked (a scheduled change applies once it is closed)."""
    text: Mapped[str] = mapped_column(Text)
    old_price_cents: Mapped[int] = mapped_column(Integer)
    new_price_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[PriceChangeStatus] = mapped_column(
        Enum(PriceChangeStatus, native_enum=False, length=16, values_callable=enum_values),
        default=PriceChangeStatus.PENDING,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# "tomates 5,80 le kilo", "prix des radis : 1,60 € la botte", "miel 7€", "eggs 3.10 per box"
_PRICE = re.compile(
    r"^\W*(?:(?:nouveau\s+)?prix\s+(?:des?\s+|du\s+|de\s+la\s+|d'\s*)?)?(?P<name>[^\d]+?)\W*"
    r"(?:a\s+)?(?P<amount>\d+(?:[.,]\d{1,2})?)(?![\w.,])\s*(?P<euro>€|euros?\b|eur\b)?"
    r"(?:(?:\s+(?:le|la|les|par|the|per|a)\s+|\s*(?:l'|/)\s*)(?P<unit>[a-z]+))?\W*$"
)
_PER_KG = {"kilo", "kilos", "kg", "kilogramme"}
_PER_LITRE = {"litre", "litres", "l"}
_MASS = {"g": Decimal("0.001"), "kg": Decimal(1)}
_VOLUME = {"ml": Decimal("0.001"), "cl": Decimal("0.01"), "l": Decimal(1)}


@dataclass(frozen=True)
class PriceRequest:
    """What a price message says: the product name as written, the amount in cents and the
    unit it is per ("kg", "l", or None: per sale unit)."""

    name: str
    cents: int
    per: str | None


def read_price(text: str) -> PriceRequest | None:
    """A price message ("tomates 5,80 le kilo", "prix radis 1,60 €") or None: a number with a
    euro sign, a "le/la <unit>" after it, or "prix" before the name."""
    folded, _offsets = fold_with_offsets(text.strip())
    found = _PRICE.match(folded)
    if found is None:
        return None
    unit = found.group("unit")
    priced = found.group("euro") or unit or folded.lstrip().startswith(("prix", "nouveau prix"))
    if not priced:
        return None
    try:
        amount = Decimal(found.group("amount").replace(",", "."))
    except InvalidOperation:
        return None
    per = "kg" if unit in _PER_KG else "l" if unit in _PER_LITRE else None
    cents = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return PriceRequest(found.group("name").strip(), cents, per)


def price_per_sale_unit(product: Product, request: PriceRequest) -> int | None:
    """The request's price for one sale unit of ``product`` (5,80 € the kg of a 250 g
    barquette: 1,45 €), or None when its unit does not convert (a kg price of a bunch)."""
    if request.per is None:
        return request.cents
    table = _MASS if request.per == "kg" else _VOLUME
    factor = table.get(product.unit_measure)
    if factor is None:
        return None
    per_unit = Decimal(request.cents) * product.unit_amount * factor
    return int(per_unit.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PricePreview:
    """A pending price change: old → new, and whether it would apply now (nothing ordered at
    the old price in the open cycle: ``ordered_lines`` 0) or from the next cycle."""

    change_id: int
    product: Product
    old_cents: int
    new_cents: int
    request: PriceRequest
    cycle: Cycle | None
    ordered_lines: int

    @property
    def at_once(self) -> bool:
        """Whether confirming applies the price at once."""
        return self.ordered_lines == 0


class PriceRefused(Exception):
    """A price the message cannot set: ``reason`` is ``unknown`` (no such product; ``names``
    the candidates when several fit), ``unit`` (the unit does not convert) or ``bounds``."""

    def __init__(self, reason: str, names: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.names = names


async def _lines_at(session: AsyncSession, cycle: Cycle | None, product_id: int) -> int:
    """How many order lines of the open ``cycle`` hold the product (at its current price)."""
    if cycle is None:
        return 0
    rows = await session.scalars(
        select(OrderLine.id)
        .join(Order, OrderLine.order_id == Order.id)
        .where(Order.cycle_id == cycle.id, OrderLine.product_id == product_id)
    )
    return len(list(rows))


async def read_price_message(
    session: AsyncSession, member: Member, products: list[Product], text: str, now: datetime
) -> PricePreview | None:
    """A pending price change for ``text`` when it is a price message naming one of
    ``products`` (the member's farm's); None when it is no price message. Raises
    :class:`PriceRefused` for a price message that cannot be applied. Commits."""
    request = read_price(text)
    if request is None or member.producer_id is None:
        return None
    result = StockParser(catalog_items(products)).parse(f"{request.name} 1")
    by_sku = {p.sku: p for p in products}
    if len(result.updates) == 1 and not result.ambiguous:
        product = by_sku[result.updates[0].sku]
    elif result.ambiguous:
        names = tuple(by_sku[sku].name for sku in result.ambiguous[0].candidates)
        raise PriceRefused("unknown", names)
    else:
        raise PriceRefused("unknown")
    cents = price_per_sale_unit(product, request)
    if cents is None:
        raise PriceRefused("unit", (product.name,))
    if not 0 < cents <= MAX_PRICE_CENTS:
        raise PriceRefused("bounds", (product.name,))
    cycle = await open_cycle(session)
    async with unit_of_work(session):
        change = PriceChange(
            producer_id=member.producer_id,
            product_id=product.id,
            member_id=member.id,
            cycle_id=cycle.id if cycle else None,
            text=text,
            old_price_cents=product.price_cents,
            new_price_cents=cents,
            status=PriceChangeStatus.PENDING,
            created_at=now,
        )
        session.add(change)
        await session.flush()
    ordered = await _lines_at(session, cycle, product.id)
    return PricePreview(change.id, product, product.price_cents, cents, request, cycle, ordered)


async def _pending(session: AsyncSession, member: Member, change_id: int) -> PriceChange:
    return await _farms_change(session, member, change_id, {PriceChangeStatus.PENDING})


async def _farms_change(
    session: AsyncSession, member: Member, change_id: int, statuses: set[PriceChangeStatus]
) -> PriceChange:
    """The member's farm's price change ``change_id`` in one of ``statuses``, read afresh;
    anything else is :class:`StaleAction`."""
    change = await session.get(PriceChange, change_id, populate_existing=True)
    if (
        change is None
        or member.producer_id is None
        or change.producer_id != member.producer_id
        or change.status not in statuses
    ):
        raise StaleAction(change_id=change_id)
    return change


async def confirm_price(
    session: AsyncSession, member: Member, change_id: int, now: datetime
) -> PriceChange:
    """Confirmed: the price applies at once when nothing is ordered at the old price in the
    open cycle (status applied), else from the next cycle (scheduled). Commits."""
    change = await _pending(session, member, change_id)
    async with unit_of_work(session):
        product = await session.get(Product, change.product_id, with_for_update=True)
        if product is None:
            raise StaleAction(change_id=change_id)
        cycle = await open_cycle(session)
        if await _lines_at(session, cycle, product.id):
            change.status = PriceChangeStatus.SCHEDULED
            change.cycle_id = cycle.id if cycle else None
        else:
            change.old_price_cents = product.price_cents
            product.price_cents = change.new_price_cents
            change.status = PriceChangeStatus.APPLIED
            change.applied_at = now
    return change


async def confirmed_price(session: AsyncSession, member: Member, change_id: int) -> PriceChange:
    """The farm's price change ``change_id`` once confirmed (applied, or scheduled for the next
    cycle), for a second press on its "Confirmer": a double tap, or the next press after the
    process died once it was committed. Raises :class:`StaleAction` unless it is this farm's
    and confirmed."""
    return await _farms_change(
        session, member, change_id, {PriceChangeStatus.APPLIED, PriceChangeStatus.SCHEDULED}
    )


async def cancel_price(session: AsyncSession, member: Member, change_id: int) -> None:
    """Dropped: the price stays. Commits."""
    change = await _pending(session, member, change_id)
    async with unit_of_work(session):
        change.status = PriceChangeStatus.CANCELLED


async def apply_due_prices(session: AsyncSession, now: datetime) -> list[PriceChange]:
    """Apply the scheduled price changes whose cycle is no longer open (oldest first; the
    newest of a product wins). Commits; the caller gets what it applied."""
    async with unit_of_work(session):
        rows = list(
            await session.scalars(
                select(PriceChange)
                .join(Cycle, PriceChange.cycle_id == Cycle.id)
                .where(
                    PriceChange.status == PriceChangeStatus.SCHEDULED,
                    Cycle.state != CycleState.OPEN,
                )
                .order_by(PriceChange.created_at, PriceChange.id)
            )
        )
        for change in rows:
            product = await session.get(Product, change.product_id)
            if product is None:
                continue
            change.old_price_cents = product.price_cents
            product.price_cents = change.new_price_cents
            change.status = PriceChangeStatus.APPLIED
            change.applied_at = now
    return rows
