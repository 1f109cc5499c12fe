"""Ordering rules: the basket, stock reservation, confirmation, reorder and history.

One truth about an order, the one the member reads: a basket counts only once confirmed; an
unconfirmed basket is released at the close (the reminders say so). Once confirmed, an order
*stays* confirmed: every later change (more, less, a new line, "same basket") applies at once
and counts at the close, with nothing to confirm again; the basket then reads "Commande n° 42
mise à jour — nouveau total", and the close sends the final receipt. A change that would take
a confirmed order below the network's minimum (but not to nothing) is refused
(:class:`BelowMinimum` with ``confirmed=True``). ``Order.changed_since_confirmed`` only records
that the order was changed after its receipt.

Stock is never oversold: every reservation is one conditional ``UPDATE offer SET ordered =
ordered + :q WHERE ordered + :q <= offered``, so concurrent consumers cannot both take the last
unit, on SQLite and PostgreSQL alike. Every operation first takes a shared lock on its cycle row
(``FOR SHARE`` on PostgreSQL; SQLite transactions are already serialised by ``BEGIN IMMEDIATE``),
and closing takes it exclusively: a basket change lands entirely before the close, or is refused.
Each public function is one unit of work and commits it; on any error it rolls back whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cache

from sqlalchemy import Select, Update, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from models import kitchen
from models.amounts import line_cents
from models.base import Quantity, normalize_quantity
from models.catalog import OfferView
from models.cycle import Cycle, CycleState, Offer
from models.cycles import lock_cycle
from models.errors import (
    AboveMaximum,
    AlreadyConfirmed,
    BelowMinimum,
    CycleClosed,
    EmptyBasket,
    InvalidQuantity,
    MemberBlocked,
    NoPickupPoint,
    SoldOut,
    StaleAction,
)
from models.member import Member
from models.order import CONFIRMED_STATUSES, Order, OrderLine, OrderStatus
from models.payments import hold_for_order
from models.producer import Product
from models.recipe import RecipeIngredient
from models.unit_of_work import unit_of_work

MAX_LINE_QUANTITY = Decimal(999)
LIVE_STATUSES = (OrderStatus.BASKET, OrderStatus.CONFIRMED)
PAST_STATUSES = CONFIRMED_STATUSES


@dataclass(frozen=True)
class Reservation:
    """What a change to the basket gave: ``granted`` may be less than ``requested``."""

    product_id: int
    requested: Decimal
    granted: Decimal
    line_quantity: Decimal
    remaining: Decimal
    order_id: int | None = None
    confirmed: bool = False
    """Whether the change landed in a confirmed order (it counts at once)."""
    total_cents: int = 0
    """The order's total after the change."""
    maximum: Decimal | None = None
    """The product's per-person maximum, when it is what held the change back."""
    view: OfferView | None = field(default=None, compare=False)
    """The product (its producer loaded) and its stock right after the change, to show it
    without reading it again."""

    @property
    def short(self) -> bool:
        """Whether the consumer got less than asked."""
        return self.granted < self.requested


@dataclass(frozen=True)
class RoundedLine:
    """A line of last week's order whose quantity no longer fits this week's step: ``asked``
    (last week's) was rounded down to ``rounded``, a whole number of this week's steps."""

    product_id: int
    asked: Decimal
    rounded: Decimal


@dataclass(frozen=True)
class ReorderReport:
    """What "same basket as last week" did: lines copied, shortened, rounded down to this
    week's step (``rounded``, also in ``copied`` or ``short``), or missing this week."""

    source_order_id: int | None
    copied: list[Reservation] = field(default_factory=list)
    short: list[Reservation] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)  # product ids not offered or sold out
    rounded: list[RoundedLine] = field(default_factory=list)


def line_total(quantity: Decimal, unit_price_cents: int) -> int:
    """A line's amount in cents, rounded half up."""
    return int((quantity * unit_price_cents).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def floor_to_step(quantity: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of ``step`` that is not above ``quantity``."""
    if step <= 0:
        return quantity
    return normalize_quantity((quantity / step).to_integral_value(rounding=ROUND_DOWN) * step)


def check_quantity(quantity: Decimal, step: Decimal) -> Decimal:
    """``quantity`` if it is a sensible amount to order of a product sold by ``step``."""
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_LINE_QUANTITY:
        raise InvalidQuantity(quantity=quantity, maximum=MAX_LINE_QUANTITY)
    if floor_to_step(quantity, step) != quantity:
        raise InvalidQuantity(quantity=quantity, step=step)
    return normalize_quantity(quantity)


async def lock_open_cycle(session: AsyncSession, cycle_id: int) -> Cycle:
    """The cycle, share-locked against a concurrent close; :class:`CycleClosed` if not open."""
    cycle = await lock_cycle(session, cycle_id, shared=True)
    if cycle.state != CycleState.OPEN:
        raise CycleClosed(cycle_id=cycle_id, state=cycle.state.value)
    return cycle


async def _order_for(
    session: AsyncSession, member: Member, cycle: Cycle, create: bool
) -> Order | None:
    keys = {"member_id": member.id, "cycle_id": cycle.id}
    order = await session.scalar(_locked_order_query(), keys)
    if order is not None or not create:
        return order
    try:
        async with session.begin_nested():
            order = Order(
                member_id=member.id,
                cycle_id=cycle.id,
                pickup_point_id=member.pickup_point_id,
                status=OrderStatus.BASKET,
                total_cents=0,
                lines=[],
            )
            session.add(order)
    except IntegrityError:
        # The same member's other tap created it a moment ago: use that one.
        order = None
    if order is None:
        order = await session.scalar(_locked_order_query(), keys)
    assert order is not None
    return order


@cache
def _locked_order_query() -> Select[Order]:
    """The order of ``:member_id`` in ``:cycle_id`` with its lines, locked: built once."""
    return (
        select(Order)
        .where(Order.member_id == bindparam("member_id"), Order.cycle_id == bindparam("cycle_id"))
        .options(selectinload(Order.lines))
        .with_for_update(of=Order)
        # The session may hold the order and its lines as an earlier read saw them (the handler
        # showed the basket first): read them afresh under the lock, or two quick taps would
        # both start from the same old quantity and one would be lost.
        .execution_options(populate_existing=True)
    )


async def _offer(session: AsyncSession, cycle: Cycle, product_id: int) -> tuple[Offer, bool]:
    """The product's offer in the cycle (with its product and producer), and whether the
    product is a dish (it has a recipe), read in the same statement."""
    row = (
        await session.execute(_offer_query(), {"cycle_id": cycle.id, "product_id": product_id})
    ).first()
    if row is None or not row[0].product.active:
        raise StaleAction(product_id=product_id)
    return row[0], bool(row[1])


@cache
def _offer_query() -> Select[Offer, bool]:
    """:func:`_offer`'s statement (``:cycle_id``, ``:product_id``), built once."""
    is_dish = (
        select(RecipeIngredient.dish_id)
        .where(RecipeIngredient.dish_id == Offer.product_id)
        .exists()
    )
    return (
        select(Offer, is_dish)
        .where(Offer.cycle_id == bindparam("cycle_id"), Offer.product_id == bindparam("product_id"))
        .options(joinedload(Offer.product).joinedload(Product.producer))
    )


async def _recipe(session: AsyncSession, product_id: int, is_dish: bool) -> kitchen.Recipe:
    """The product's recipe (no statement when :func:`_offer` found it is no dish)."""
    return await kitchen.recipe(session, product_id) if is_dish else ()


Stock = tuple[Decimal, Decimal]
"""An offer's (offered, ordered), as the database holds them."""


async def _reserve(
    session: AsyncSession,
    offer: Offer,
    wanted: Decimal,
    held: Decimal = Decimal(0),
    dish: kitchen.Recipe | None = None,
) -> tuple[Decimal, Stock | None, Decimal | None]:
    """Reserve up to ``wanted`` of ``offer`` atomically, for a member who holds ``held`` of it.

    One conditional update holds both limits: what is left (``ordered + q <= offered``) and the
    product's per-person maximum (``held + q <= max_per_person``, read in the same statement), so
    neither a racing consumer nor a maximum lowered meanwhile is passed. A dish reserves its
    ingredients in the same conditional update (``models.kitchen``); its per-person maximum is
    held by the allowance read here. Returns what was reserved (maybe 0), the offer's stock
    right after it (``UPDATE … RETURNING``; None when nothing was reserved), and the maximum
    when it is what held the reservation back (else None). ``dish``: the product's recipe when
    the caller already read it in this transaction."""
    step = offer.product.step
    maximum = offer.product.max_per_person
    if dish is None:
        dish = await kitchen.recipe(session, offer.product_id)
    amount, capped = _allowance(wanted, held, maximum, step)
    for _attempt in range(5):
        if amount <= 0:
            return Decimal(0), None, maximum if capped else None
        if dish:
            stock = await kitchen.move_dish(session, offer, dish, held, held + amount)
            if stock is not None:
                return amount, stock, maximum if capped else None
        else:
            reserved = await session.execute(
                _reserve_statement(),
                {"offer_id": offer.id, "amount": amount, "holding": held + amount},
            )
            row = reserved.first()
            if row is not None:
                return amount, (row.offered, row.ordered), maximum if capped else None
        # Someone took some meanwhile (or the maximum changed): what is allowed now, in steps.
        fresh = await session.execute(_stock_and_maximum_query(), {"offer_id": offer.id})
        offered, ordered, maximum = fresh.one()
        allowed, capped = _allowance(wanted, held, maximum, step)
        room = offered - ordered
        if dish:
            limits = await kitchen.dish_limits(session, offer.cycle_id, [offer.product_id])
            room = min(room, limits.get(offer.product_id, Decimal(0)))
        smaller = min(allowed, floor_to_step(room, step))
        # A dish's draws round up: what the division allows may still miss by a thousandth,
        # so a dish tries one step less; a plain product tries what is left now.
        amount = amount - step if dish and smaller >= amount else smaller
    return Decimal(0), None, None


@cache
def _reserve_statement() -> Update:
    """Take ``:amount`` of offer ``:offer_id`` if that much is left and the member would then
    hold (``:holding``) no more than the product's maximum; returns the stock after. Built
    once."""
    cap = select(Product.max_per_person).where(Product.id == Offer.product_id).scalar_subquery()
    amount = bindparam("amount", type_=Quantity())
    return (
        update(Offer)
        .where(
            Offer.id == bindparam("offer_id"),
            Offer.ordered + amount <= Offer.offered,
            or_(cap.is_(None), bindparam("holding", type_=Quantity()) <= cap),
        )
        .values(ordered=Offer.ordered + amount)
        .returning(Offer.offered, Offer.ordered)
        .execution_options(synchronize_session=False)
    )


@cache
def _stock_and_maximum_query() -> Select[Decimal, Decimal, Decimal | None]:
    """Offer ``:offer_id``'s stock and its product's per-person maximum, built once."""
    return (
        select(Offer.offered, Offer.ordered, Product.max_per_person)
        .join(Product, Product.id == Offer.product_id)
        .where(Offer.id == bindparam("offer_id"))
    )


def _allowance(
    wanted: Decimal, held: Decimal, maximum: Decimal | None, step: Decimal
) -> tuple[Decimal, bool]:
    """``wanted`` cut to what the per-person ``maximum`` still allows a member holding ``held``
    (in whole steps), and whether the maximum cut it."""
    if maximum is None:
        return wanted, False
    room = max(Decimal(0), floor_to_step(maximum - held, step))
    return (room, True) if room < wanted else (wanted, False)


async def _release(
    session: AsyncSession,
    offer: Offer,
    amount: Decimal,
    held: Decimal,
    dish: kitchen.Recipe | None = None,
) -> Stock | None:
    """Give ``amount`` of the ``held`` a line holds back to the offer (a dish gives its
    ingredients back too); returns the offer's stock after it (None for 0). ``dish``: the
    product's recipe when the caller already read it in this transaction."""
    if amount <= 0:
        return None
    if dish is None:
        dish = await kitchen.recipe(session, offer.product_id)
    if dish:
        return await kitchen.move_dish(session, offer, dish, held, held - amount)
    released = await session.execute(
        update(Offer)
        .where(Offer.id == offer.id)
        .values(ordered=Offer.ordered - amount)
        .returning(Offer.offered, Offer.ordered)
        .execution_options(synchronize_session=False)
    )
    row = released.first()
    return None if row is None else (row.offered, row.ordered)


def _retotal(order: Order, now: datetime) -> None:
    order.total_cents = sum(line.total_cents for line in order.lines)
    order.updated_at = now
    if order.status == OrderStatus.CONFIRMED:
        order.changed_since_confirmed = True


async def _stock(session: AsyncSession, offer_id: int) -> Stock:
    row = (
        await session.execute(select(Offer.offered, Offer.ordered).where(Offer.id == offer_id))
    ).one()
    return row[0], row[1]


async def set_quantity(
    session: AsyncSession,
    member: Member,
    cycle_id: int,
    product_id: int,
    quantity: Decimal,
    now: datetime,
    *,
    minimum_cents: int = 0,
    overdraft_cents: int | None = None,
) -> Reservation:
    """Make the member's basket hold ``quantity`` of the product (0 removes the line).

    More than is left gives what is left (``Reservation.short``); nothing left raises
    :class:`SoldOut`. A confirmed order stays confirmed, and may not go below
    ``minimum_cents`` unless it is emptied (:class:`BelowMinimum`). With ``overdraft_cents``
    (members pay from their balance, which may go that far below zero) a confirmed order's new
    total must fit the balance (:class:`~models.errors.BalanceTooLow`). Commits; refuses with
    :class:`CycleClosed` once the cycle is closed.
    """
    return await _change(
        session,
        member,
        cycle_id,
        product_id,
        now,
        target=quantity,
        minimum_cents=minimum_cents,
        overdraft_cents=overdraft_cents,
    )


async def add_to_basket(
    session: AsyncSession,
    member: Member,
    cycle_id: int,
    product_id: int,
    quantity: Decimal,
    now: datetime,
    *,
    overdraft_cents: int | None = None,
) -> Reservation:
    """Add ``quantity`` of a product to the member's basket, on top of what it holds.

    Same rules as :func:`set_quantity`; two quick taps add twice, never lose one.
    """
    return await _change(
        session, member, cycle_id, product_id, now, delta=quantity, overdraft_cents=overdraft_cents
    )


async def _change(
    session: AsyncSession,
    member: Member,
    cycle_id: int,
    product_id: int,
    now: datetime,
    *,
    target: Decimal | None = None,
    delta: Decimal | None = None,
    minimum_cents: int = 0,
    overdraft_cents: int | None = None,
) -> Reservation:
    async with unit_of_work(session):
        cycle = await lock_open_cycle(session, cycle_id)
        offer, is_dish = await _offer(session, cycle, product_id)
        step = offer.product.step
        if delta is not None:
            check_quantity(delta, step)
        elif target is not None and target != 0:
            check_quantity(target, step)
        order = await _order_for(session, member, cycle, create=(target or delta or 0) > 0)
        await _refuse_blocked(session, member)
        line = None
        if order is not None:
            line = next((ln for ln in order.lines if ln.product_id == product_id), None)
        current = line.quantity if line is not None else Decimal(0)
        quantity = current + delta if delta is not None else (target or Decimal(0))
        if quantity > MAX_LINE_QUANTITY:
            raise InvalidQuantity(quantity=quantity, maximum=MAX_LINE_QUANTITY)
        granted, maximum = Decimal(0), None
        # Read once: what the change moves and how the card is drawn after it (a product with
        # no recipe is no dish, and needs no limit nor ingredients read).
        dish = await _recipe(session, product_id, is_dish)
        if quantity > current:
            granted, left, maximum = await _reserve(
                session, offer, quantity - current, current, dish
            )
            if granted == 0 and maximum is not None:
                raise AboveMaximum(
                    product_id=product_id,
                    maximum=maximum,
                    held=current,
                    sale_unit=offer.product.sale_unit,
                )
            if granted == 0:
                raise SoldOut(product_id=product_id, line_quantity=current)
            new_quantity = current + granted
        else:
            left = await _release(session, offer, current - quantity, current, dish)
            new_quantity = quantity
        if order is not None:
            _put_line(order, offer, line, new_quantity)
            _retotal(order, now)
            _check_still_above_minimum(order, minimum_cents)
            await hold_for_order(session, order, overdraft_cents)
        offered, ordered = left if left is not None else await _stock(session, offer.id)
        limits = await kitchen.dish_limits(session, cycle.id, [product_id]) if dish else {}
        names = await kitchen.ingredients_of(session, limits)
    view = OfferView(
        product=offer.product,
        offered=offered,
        ordered=ordered,
        limit=limits.get(product_id),
        ingredients=names.get(product_id, ()),
    )
    requested = quantity - current if quantity > current else Decimal(0)
    return Reservation(
        product_id=product_id,
        requested=normalize_quantity(requested),
        granted=normalize_quantity(granted),
        line_quantity=normalize_quantity(new_quantity),
        remaining=normalize_quantity(view.remaining),
        maximum=maximum,
        view=view,
        order_id=None if order is None else order.id,
        confirmed=order is not None and order.status == OrderStatus.CONFIRMED,
        total_cents=0 if order is None else order.total_cents,
    )


async def _refuse_blocked(session: AsyncSession, member: Member) -> None:
    """:class:`MemberBlocked` if an admin blocked the member (read afresh: the member may have
    been blocked since the update began; read after the order's lock, which blocking takes too)."""
    blocked = await session.scalar(_blocked_query(), {"member_id": member.id})
    if blocked is not None:
        raise MemberBlocked(member_id=member.id)


@cache
def _blocked_query() -> Select[datetime | None]:
    """When member ``:member_id`` was blocked (None: not blocked), built once."""
    return select(Member.blocked_at).where(Member.id == bindparam("member_id"))


def _check_still_above_minimum(order: Order, minimum_cents: int) -> None:
    """Refuse (rolling back) a change that leaves a confirmed order below the minimum."""
    if order.status == OrderStatus.CONFIRMED and 0 < order.total_cents < minimum_cents:
        raise BelowMinimum(total=order.total_cents, minimum=minimum_cents, confirmed=True)


def _put_line(order: Order, offer: Offer, line: OrderLine | None, quantity: Decimal) -> None:
    """Make ``order`` hold ``quantity`` of the offer's product (``line``: its line, if any)."""
    if quantity == 0 and line is not None:
        order.lines.remove(line)
    elif line is None and quantity > 0:
        product = offer.product
        new_line = OrderLine(
            product_id=offer.product_id,
            quantity=quantity,
            unit_price_cents=product.price_cents,
            price_per_kg_cents=product.price_per_kg_cents,
            estimated_kg=product.estimated_kg,
        )
        new_line.total_cents = line_cents(new_line)
        order.lines.append(new_line)
    elif line is not None:
        line.quantity = quantity
        line.total_cents = line_cents(line)


async def line_quantity(
    session: AsyncSession, member: Member, cycle_id: int, product_id: int
) -> Decimal:
    """How much of the product is in the member's basket for this cycle (0 if none)."""
    value = await session.scalar(
        _line_quantity_query(),
        {"member_id": member.id, "cycle_id": cycle_id, "product_id": product_id},
    )
    return value if value is not None else Decimal(0)


@cache
def _line_quantity_query() -> Select[Decimal]:
    """:func:`line_quantity`'s statement, built once."""
    return (
        select(OrderLine.quantity)
        .join(Order)
        .where(
            Order.member_id == bindparam("member_id"),
            Order.cycle_id == bindparam("cycle_id"),
            OrderLine.product_id == bindparam("product_id"),
        )
    )


async def empty_basket(session: AsyncSession, member: Member, cycle_id: int, now: datetime) -> int:
    """Remove every line of the member's basket (stock goes back); returns how many. Commits."""
    async with unit_of_work(session):
        cycle = await lock_open_cycle(session, cycle_id)
        order = await _order_for(session, member, cycle, create=False)
        if order is None or not order.lines:
            return 0
        count = len(order.lines)
        offers = {
            offer.product_id: offer
            for offer in await session.scalars(
                select(Offer).where(Offer.cycle_id == cycle.id).options(joinedload(Offer.product))
            )
        }
        for line in list(order.lines):
            await _release(session, offers[line.product_id], line.quantity, line.quantity)
            order.lines.remove(line)
        _retotal(order, now)
        await hold_for_order(session, order, None)  # nothing left to hold
    return count


async def confirm_order(
    session: AsyncSession,
    member: Member,
    cycle_id: int,
    now: datetime,
    minimum_cents: int = 0,
    *,
    refuse_unchanged: bool = False,
    overdraft_cents: int | None = None,
) -> Order:
    """Turn the basket into an order (or confirm the changes of one); returns it with its lines.

    Refuses an empty basket, one below ``minimum_cents`` and a member without a pickup point;
    with ``refuse_unchanged``, also an order already confirmed as it stands
    (:class:`AlreadyConfirmed`: a second tap, even a simultaneous one, confirms nothing).
    With ``overdraft_cents`` the order holds its total on the member's balance, or is refused
    (:class:`~models.errors.BalanceTooLow`). Commits.
    """
    async with unit_of_work(session):
        cycle = await lock_open_cycle(session, cycle_id)
        order = await _order_for(session, member, cycle, create=False)
        await _refuse_blocked(session, member)
        if order is None or not order.lines:
            raise EmptyBasket()
        if (
            refuse_unchanged
            and order.status == OrderStatus.CONFIRMED
            and not order.changed_since_confirmed
        ):
            raise AlreadyConfirmed(order_id=order.id)
        if order.total_cents < minimum_cents:
            raise BelowMinimum(total=order.total_cents, minimum=minimum_cents)
        pickup_point_id = member.pickup_point_id or order.pickup_point_id
        if pickup_point_id is None:
            raise NoPickupPoint()
        order.pickup_point_id = pickup_point_id
        order.status = OrderStatus.CONFIRMED
        # The first confirmation keeps its place in line (shortages are shared out
        # first-confirmed first-served); later changes do not move it back.
        order.confirmed_at = order.confirmed_at or now
        order.changed_since_confirmed = False
        order.updated_at = now
        order.receipt_sent_at = None  # this confirmation's receipt is still to be sent
        await hold_for_order(session, order, overdraft_cents)
    return await load_order(session, order.id)


async def claim_receipt(session: AsyncSession, order_id: int, now: datetime) -> bool:
    """Whether the caller is the one to send the receipt of the order's latest confirmation:
    True once per confirmation, to whichever asks first (the press that confirmed, or the next
    press when the process died before the receipt went out); recorded and committed before the
    receipt is sent, so that no two presses send it. False for an order not confirmed."""
    async with unit_of_work(session):
        result = await session.execute(
            update(Order)
            .where(
                Order.id == order_id,
                Order.status == OrderStatus.CONFIRMED,
                Order.receipt_sent_at.is_(None),
            )
            .values(receipt_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def load_order(session: AsyncSession, order_id: int) -> Order:
    """The order with its lines, their products and producers, its pickup point and cycle."""
    order = await session.scalar(_order_query(), {"order_id": order_id})
    if order is None:
        raise StaleAction(order_id=order_id)
    return order


def _with_everything(query: Select[Order]) -> Select[Order]:
    """``query`` loading what showing an order needs, in two statements."""
    return query.options(
        selectinload(Order.lines).joinedload(OrderLine.product).joinedload(Product.producer),
        joinedload(Order.pickup_point),
        joinedload(Order.cycle),
    ).execution_options(populate_existing=True)


async def current_basket(session: AsyncSession, member: Member, cycle_id: int) -> Order | None:
    """The member's basket or order in this cycle with everything needed to show it."""
    order: Order | None = await session.scalar(
        _basket_query(), {"member_id": member.id, "cycle_id": cycle_id}
    )
    return order


@cache
def _order_query() -> Select[Order]:
    """Order ``:order_id`` with everything showing it needs, built once."""
    return _with_everything(select(Order).where(Order.id == bindparam("order_id")))


@cache
def _basket_query() -> Select[Order]:
    """The live order of ``:member_id`` in ``:cycle_id`` with everything showing it needs,
    built once."""
    return _with_everything(
        select(Order).where(
            Order.member_id == bindparam("member_id"),
            Order.cycle_id == bindparam("cycle_id"),
            Order.status.in_(LIVE_STATUSES),
        )
    )


async def last_order(session: AsyncSession, member: Member, before_cycle: Cycle) -> Order | None:
    """The member's most recent confirmed order from a cycle before ``before_cycle``."""
    order_id = await session.scalar(
        select(Order.id)
        .join(Cycle, Order.cycle_id == Cycle.id)
        .where(
            Order.member_id == member.id,
            Order.status.in_(PAST_STATUSES),
            Cycle.opens_at < before_cycle.opens_at,
        )
        .order_by(Cycle.opens_at.desc())
        .limit(1)
    )
    return None if order_id is None else await load_order(session, order_id)


async def reorder_last(
    session: AsyncSession,
    member: Member,
    cycle_id: int,
    now: datetime,
    *,
    overdraft_cents: int | None = None,
) -> ReorderReport:
    """Copy the member's last confirmed order into this cycle's basket, as far as stock allows,
    in one unit of work: every line that can be added is, or (on a refusal) nothing changes.

    Each line is added on top of what the basket holds. A quantity that no longer fits this
    week's step is rounded down to it (``rounded``); what is not offered, sold out or rounds to
    nothing is listed in ``missing``, what is partly available in ``short``. A line is never
    taken past :data:`MAX_LINE_QUANTITY`. Refuses with :class:`CycleClosed` once the cycle is
    closed, :class:`StaleAction` for an unknown cycle; a confirmed order that the copy would
    take past the balance (``overdraft_cents`` set) changes nothing
    (:class:`~models.errors.BalanceTooLow`).
    """
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None:
        raise StaleAction(cycle_id=cycle_id)
    previous = await last_order(session, member, cycle)
    if previous is None:
        return ReorderReport(source_order_id=None)
    return await _copy_order(session, member, cycle_id, previous, now, overdraft_cents)


async def reorder_order(
    session: AsyncSession,
    member: Member,
    cycle_id: int,
    order_id: int,
    now: datetime,
    *,
    overdraft_cents: int | None = None,
) -> ReorderReport:
    """Copy one of the member's own past orders (``order_id``, from ``/commandes``) into this
    cycle's basket, with the same rules and in one unit of work as :func:`reorder_last`.
    Someone else's order, or this cycle's own, answers :class:`StaleAction`."""
    previous = await order_of_member(session, member, order_id)
    if previous.cycle_id == cycle_id or previous.status not in PAST_STATUSES:
        raise StaleAction(order_id=order_id)
    return await _copy_order(session, member, cycle_id, previous, now, overdraft_cents)


async def _copy_order(
    session: AsyncSession,
    member: Member,
    cycle_id: int,
    previous: Order,
    now: datetime,
    overdraft_cents: int | None = None,
) -> ReorderReport:
    """``previous``'s lines added to this cycle's basket as far as stock allows (one unit)."""
    wanted = [(line.product_id, line.quantity) for line in previous.lines]
    report = ReorderReport(source_order_id=previous.id)
    async with unit_of_work(session):
        cycle = await lock_open_cycle(session, cycle_id)
        await _refuse_blocked(session, member)
        order: Order | None = None
        for product_id, asked in wanted:
            try:
                offer, is_dish = await _offer(session, cycle, product_id)
            except StaleAction:
                report.missing.append(product_id)
                continue
            quantity = floor_to_step(asked, offer.product.step)
            if 0 < quantity != asked:
                report.rounded.append(RoundedLine(product_id, asked, quantity))
            if order is None:
                order = await _order_for(session, member, cycle, create=True)
                assert order is not None
            line = next((ln for ln in order.lines if ln.product_id == product_id), None)
            current = line.quantity if line is not None else Decimal(0)
            room = floor_to_step(MAX_LINE_QUANTITY - current, offer.product.step)
            requested = min(quantity, room)
            granted, left, _maximum = await _reserve(
                session, offer, requested, current, await _recipe(session, product_id, is_dish)
            )
            if granted == 0 or left is None:
                report.missing.append(product_id)
                continue
            _put_line(order, offer, line, current + granted)
            reservation = Reservation(
                product_id=product_id,
                requested=normalize_quantity(quantity),
                granted=normalize_quantity(granted),
                line_quantity=normalize_quantity(current + granted),
                remaining=normalize_quantity(left[0] - left[1]),
            )
            (report.short if reservation.short else report.copied).append(reservation)
        if order is not None:
            _retotal(order, now)
            await hold_for_order(session, order, overdraft_cents)
    return report


async def order_history(session: AsyncSession, member: Member, limit: int = 20) -> list[Order]:
    """The member's orders, newest first, with their pickup point and cycle (not the baskets)."""
    orders = await session.scalars(
        select(Order)
        .join(Cycle, Order.cycle_id == Cycle.id)
        .where(Order.member_id == member.id, Order.status.in_(PAST_STATUSES))
        .options(selectinload(Order.pickup_point), selectinload(Order.cycle))
        .order_by(Cycle.opens_at.desc())
        .limit(limit)
    )
    return list(orders)


async def count_past_orders(session: AsyncSession, member: Member, at_most: int) -> int:
    """How many orders :func:`order_history` lists for the member, counted up to ``at_most``
    (one statement, nothing loaded)."""
    counted = await session.scalar(_past_orders_query(at_most), {"member_id": member.id})
    return int(counted or 0)


@cache
def _past_orders_query(at_most: int) -> Select[int]:
    """:func:`count_past_orders`' statement for ``:member_id``, built once per bound."""
    listed = (
        select(Order.id)
        .join(Cycle, Order.cycle_id == Cycle.id)
        .where(Order.member_id == bindparam("member_id"), Order.status.in_(PAST_STATUSES))
        .limit(at_most)
        .subquery()
    )
    return select(func.count()).select_from(listed)


async def order_of_member(session: AsyncSession, member: Member, order_id: int) -> Order:
    """One of the member's own orders; someone else's answers :class:`StaleAction`."""
    owner = await session.scalar(select(Order.member_id).where(Order.id == order_id))
    if owner != member.id:
        raise StaleAction(order_id=order_id)
    return await load_order(session, order_id)


async def count_lines(session: AsyncSession, order_id: int) -> int:
    """How many lines the order has."""
    return int(
        await session.scalar(select(func.count()).where(OrderLine.order_id == order_id)) or 0
    )
