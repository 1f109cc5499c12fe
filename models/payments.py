"""Payment rules: what an order owes, the prepaid balance, payments at pickup and online.

Money is in integer cents. Three ways to pay, as the network chooses (``PAYMENT_MODE``):

- **at pickup**: the check-in records what the consumer paid and how (:func:`pay_at_pickup`);
- **prepaid balance**: the admin credits a member when money arrives (:func:`credit_balance`);
  a confirmed order *holds* its total on the balance while the cycle is open
  (:func:`hold_for_order`: one conditional ``UPDATE balance SET held_cents = held_cents + :d
  WHERE cents - held_cents - :d >= -:overdraft``, so racing changes never take a balance past
  its overdraft), and the close debits what is held (:func:`debit_held_orders`);
- **online** through Telegram Payments: an invoice per order whose payload names the order and
  the amount (:func:`invoice_payload`), checked again before the payment
  (:func:`check_checkout`), recorded once per Telegram charge (:func:`record_online_payment`).

Whatever the mode, an order that received more than its total (a shortage after it was paid)
gives the difference back to the member's balance (:func:`order_total_changed`). Invariants:
``Balance.cents`` is the sum of the member's movements, ``Balance.held_cents`` the sum of their
orders' ``held_cents``, ``Order.paid_cents`` the sum of the order's payments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.amounts import order_is_final
from models.base import UTCDateTime
from models.cycle import Cycle, CycleState
from models.errors import (
    AmountChanged,
    BalanceTooLow,
    InvalidAmount,
    NothingToPay,
    StaleAction,
)
from models.member import Member
from models.network import network_of
from models.order import CONFIRMED_STATUSES, Order, OrderStatus
from models.payment import (
    COUNTER_METHODS,
    Balance,
    BalanceMovement,
    MovementKind,
    Payment,
    PaymentMethod,
    PaymentMode,
)
from models.text import fold
from models.unit_of_work import unit_of_work

OWING_STATUSES = CONFIRMED_STATUSES
"""Orders of a closed cycle that are owed: confirmed (collected or not)."""
MAX_CREDIT_CENTS = 10_000_00
"""The largest single credit an admin may record (10 000 €): a typo guard."""
_PAYLOAD = re.compile(r"^order:(\d{1,12}):(\d{1,9})$")


@dataclass(frozen=True)
class PaymentTerms:
    """How the network's members pay: the mode, the balance's overdraft, Telegram's provider
    token and currency (the ``PAYMENT_*`` settings)."""

    mode: PaymentMode = PaymentMode.AT_PICKUP
    overdraft_cents: int = 0
    provider_token: str | None = None
    currency: str = "EUR"

    @property
    def order_overdraft(self) -> int | None:
        """What ordering passes as ``overdraft_cents``: set only when orders are paid from the
        balance."""
        return self.overdraft_cents if self.mode == PaymentMode.BALANCE else None


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


async def _ensure_balance(session: AsyncSession, member_id: int) -> None:
    """The member's balance row exists (created at 0; a racing creation is harmless)."""
    await session.execute(
        _insert(session, Balance)
        # A Core INSERT is not stamped by the session: the network is said here.
        .values(network_id=network_of(session), member_id=member_id, cents=0, held_cents=0)
        .on_conflict_do_nothing(index_elements=["member_id"])
    )


async def _move(
    session: AsyncSession,
    member_id: int,
    amount: int,
    kind: MovementKind,
    now: datetime,
    *,
    method: PaymentMethod | None = None,
    note: str | None = None,
    order_id: int | None = None,
    recorded_by_id: int | None = None,
) -> None:
    """Add a movement and apply it to the balance, in the caller's unit of work."""
    await _ensure_balance(session, member_id)
    await session.execute(
        update(Balance)
        .where(Balance.member_id == member_id)
        .values(cents=Balance.cents + amount)
        .execution_options(synchronize_session=False)
    )
    session.add(
        BalanceMovement(
            member_id=member_id,
            amount_cents=amount,
            kind=kind,
            method=method,
            note=note,
            order_id=order_id,
            recorded_by_id=recorded_by_id,
            created_at=now,
        )
    )


# -- prepaid balance: hold, debit, credit -----------------------------------------------------


async def hold_for_order(session: AsyncSession, order: Order, overdraft_cents: int | None) -> None:
    """Make a confirmed order hold its total on the member's balance (``overdraft_cents`` set:
    the network pays from balances), or release what it holds beyond what it needs. Inside the
    caller's unit of work; raises :class:`BalanceTooLow` (nothing held) when the balance with
    its overdraft cannot cover the order."""
    paying = overdraft_cents is not None and order.status == OrderStatus.CONFIRMED
    target = order.total_cents if paying else 0
    delta = target - order.held_cents
    if delta == 0:
        return
    if delta > 0:
        assert overdraft_cents is not None
        await _ensure_balance(session, order.member_id)
        held = await session.execute(
            update(Balance)
            .where(
                Balance.member_id == order.member_id,
                Balance.cents - Balance.held_cents - delta >= -overdraft_cents,
            )
            .values(held_cents=Balance.held_cents + delta)
            .returning(Balance.id)
            .execution_options(synchronize_session=False)
        )
        if held.first() is None:
            cents, already = (
                await session.execute(
                    select(Balance.cents, Balance.held_cents).where(
                        Balance.member_id == order.member_id
                    )
                )
            ).one()
            raise BalanceTooLow(
                balance=int(cents),
                overdraft=overdraft_cents,
                needed=target,
                available=max(int(cents) + overdraft_cents - int(already) + order.held_cents, 0),
            )
    else:
        await session.execute(
            update(Balance)
            .where(Balance.member_id == order.member_id)
            .values(held_cents=Balance.held_cents + delta)
            .execution_options(synchronize_session=False)
        )
    order.held_cents = target


async def debit_held_orders(session: AsyncSession, cycle_id: int, now: datetime) -> int:
    """At the close: every confirmed order of the cycle that holds money on a balance is debited
    its total (a debit movement, a payment from the balance), in the caller's unit of work.
    A handful of set-based statements whatever the number of orders; returns how many."""
    held = (Order.cycle_id == cycle_id, Order.status == OrderStatus.CONFIRMED, Order.held_cents > 0)
    count = int(await session.scalar(select(func.count(Order.id)).where(*held)) or 0)
    if not count:
        return 0
    moment = literal(now, UTCDateTime())
    await session.execute(
        _insert(session, BalanceMovement).from_select(
            ["network_id", "member_id", "amount_cents", "kind", "order_id", "created_at"],
            select(
                Order.network_id,
                Order.member_id,
                -Order.total_cents,
                literal(MovementKind.DEBIT.value),
                Order.id,
                moment,
            ).where(*held),
        )
    )
    await session.execute(
        _insert(session, Payment).from_select(
            ["network_id", "order_id", "amount_cents", "method", "recorded_at"],
            select(
                Order.network_id,
                Order.id,
                Order.total_cents,
                literal(PaymentMethod.BALANCE.value),
                moment,
            ).where(*held),
        )
    )
    per_member = (
        select(func.sum(Order.total_cents))
        .where(*held, Order.member_id == Balance.member_id)
        .scalar_subquery()
    )
    held_per_member = (
        select(func.sum(Order.held_cents))
        .where(*held, Order.member_id == Balance.member_id)
        .scalar_subquery()
    )
    await session.execute(
        update(Balance)
        .where(Balance.member_id.in_(select(Order.member_id).where(*held)))
        .values(cents=Balance.cents - per_member, held_cents=Balance.held_cents - held_per_member)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Order)
        .where(*held)
        .values(paid_cents=Order.paid_cents + Order.total_cents, held_cents=0)
        .execution_options(synchronize_session=False)
    )
    return count


async def credit_balance(
    session: AsyncSession,
    member_id: int,
    amount_cents: int,
    method: PaymentMethod,
    note: str | None,
    admin: Member,
    now: datetime,
) -> int:
    """Record money a member sent for their balance (a transfer, cash, a cheque), with the
    admin's note; returns the new balance. Commits. An amount not above 0, or above
    :data:`MAX_CREDIT_CENTS`, answers :class:`InvalidAmount`."""
    if not 0 < amount_cents <= MAX_CREDIT_CENTS:
        raise InvalidAmount(amount=amount_cents, maximum=MAX_CREDIT_CENTS)
    async with unit_of_work(session):
        if await session.get(Member, member_id) is None:
            raise StaleAction(member_id=member_id)
        await _move(
            session,
            member_id,
            amount_cents,
            MovementKind.CREDIT,
            now,
            method=method,
            note=(note or "").strip()[:200] or None,
            recorded_by_id=admin.id,
        )
        cents = await session.scalar(select(Balance.cents).where(Balance.member_id == member_id))
    return int(cents or 0)


async def order_total_changed(session: AsyncSession, order: Order, now: datetime) -> int:
    """After an order's total went down (a shortage): what it holds on the balance follows, and
    what it received beyond its total goes back to the member's balance (a refund movement and a
    negative payment). Inside the caller's unit of work; returns the cents refunded."""
    if order.held_cents > order.total_cents:
        await session.execute(
            update(Balance)
            .where(Balance.member_id == order.member_id)
            .values(held_cents=Balance.held_cents - (order.held_cents - order.total_cents))
            .execution_options(synchronize_session=False)
        )
        order.held_cents = order.total_cents
    excess = order.paid_cents - order.total_cents
    if excess <= 0:
        return 0
    await _move(session, order.member_id, excess, MovementKind.REFUND, now, order_id=order.id)
    session.add(
        Payment(
            order_id=order.id, amount_cents=-excess, method=PaymentMethod.REFUND, recorded_at=now
        )
    )
    order.paid_cents -= excess
    return excess


async def settle_final_amount(
    session: AsyncSession, order: Order, now: datetime, overdraft_cents: int | None
) -> int:
    """After weighing changed an order's amount once its cycle closed: less than was paid goes
    back to the balance (:func:`order_total_changed`); more, for an order the close paid from
    the balance (``overdraft_cents`` set: the balance mode), is debited from the balance as far
    as its overdraft allows, the rest left to pay at pickup. Inside the caller's unit of work;
    returns the cents debited (negative: refunded)."""
    refunded = await order_total_changed(session, order, now)
    owed = order.total_cents - order.paid_cents
    if refunded or owed <= 0 or overdraft_cents is None:
        return -refunded
    from_balance = await session.scalar(
        select(func.count(Payment.id)).where(
            Payment.order_id == order.id, Payment.method == PaymentMethod.BALANCE
        )
    )
    if not from_balance:
        return 0
    row = (
        await session.execute(
            select(Balance.cents, Balance.held_cents)
            .where(Balance.member_id == order.member_id)
            .with_for_update()
        )
    ).first()
    room = 0 if row is None else int(row[0]) - int(row[1]) + overdraft_cents
    debit = min(owed, max(room, 0))
    if debit <= 0:
        return 0
    await _move(session, order.member_id, -debit, MovementKind.DEBIT, now, order_id=order.id)
    session.add(
        Payment(
            order_id=order.id, amount_cents=debit, method=PaymentMethod.BALANCE, recorded_at=now
        )
    )
    order.paid_cents += debit
    return debit


@dataclass(frozen=True)
class BalanceView:
    """A member's balance: what it holds, what open orders hold of it, its latest movements."""

    cents: int
    held_cents: int
    movements: tuple[BalanceMovement, ...]

    @property
    def available_cents(self) -> int:
        """What new orders may still use (before any overdraft)."""
        return self.cents - self.held_cents


async def balance_of(session: AsyncSession, member_id: int, limit: int = 15) -> BalanceView:
    """The member's balance and its ``limit`` latest movements, newest first."""
    row = (
        await session.execute(
            select(Balance.cents, Balance.held_cents).where(Balance.member_id == member_id)
        )
    ).first()
    movements = await session.scalars(
        select(BalanceMovement)
        .where(BalanceMovement.member_id == member_id)
        .order_by(BalanceMovement.created_at.desc(), BalanceMovement.id.desc())
        .limit(limit)
    )
    result = BalanceView(
        cents=int(row[0]) if row else 0,
        held_cents=int(row[1]) if row else 0,
        movements=tuple(movements),
    )
    await session.commit()
    return result


async def find_members(session: AsyncSession, query: str, limit: int = 10) -> list[Member]:
    """The members ``query`` names: a Telegram id, or words every one of which is in their
    name (accents and case aside), by name."""
    query = query.strip()
    if query.lstrip("-").isdigit():
        found = await session.scalar(select(Member).where(Member.telegram_id == int(query)))
        return [found] if found is not None else []
    words = fold(query).split()
    if not words:
        return []
    members = await session.scalars(select(Member).order_by(Member.first_name, Member.id))
    matching = [m for m in members if all(w in fold(m.display_name) for w in words)]
    return matching[:limit]


# -- at pickup --------------------------------------------------------------------------------


async def lock_pickup_order(session: AsyncSession, order_id: int) -> Order:
    """The order on a pickup list, locked for the check-in (row lock, fresh values), while its
    cycle is being picked up (closed); :class:`StaleAction` otherwise."""
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None or order.status not in OWING_STATUSES:
        raise StaleAction(order_id=order_id)
    cycle = await session.get(Cycle, order.cycle_id, populate_existing=True)
    if cycle is None or cycle.state != CycleState.CLOSED:
        raise StaleAction(order_id=order_id)
    return order


async def pay_at_pickup(
    session: AsyncSession, order_id: int, method: PaymentMethod, admin: Member, now: datetime
) -> tuple[Order, int]:
    """The consumer paid what the order owes by ``method`` (cash, cheque, card) and took it:
    the payment and the collection are recorded together. Returns the order and the cents
    received (0 when nothing was owed). Commits; :class:`StaleAction` once the pickup is over."""
    if method not in COUNTER_METHODS:
        raise StaleAction(order_id=order_id, method=method.value)
    async with unit_of_work(session):
        order = await lock_pickup_order(session, order_id)
        amount = order.to_pay_cents
        if amount > 0:
            session.add(
                Payment(
                    order_id=order.id,
                    amount_cents=amount,
                    method=method,
                    recorded_by_id=admin.id,
                    recorded_at=now,
                )
            )
            order.paid_cents += amount
        order.status = OrderStatus.COLLECTED
        order.updated_at = now
    return order, amount


async def cancel_counter_payments(
    session: AsyncSession, order: Order, admin: Member | None, now: datetime
) -> int:
    """An order marked back to "not collected": what the check-in recorded as paid at the
    counter is taken back (negative payments, per method), in the caller's unit of work.
    Returns the cents taken back."""
    rows = (
        await session.execute(
            select(Payment.method, func.sum(Payment.amount_cents))
            .where(Payment.order_id == order.id, Payment.method.in_(COUNTER_METHODS))
            .group_by(Payment.method)
        )
    ).all()
    taken = 0
    for method, cents in rows:
        if cents and int(cents) > 0:
            session.add(
                Payment(
                    order_id=order.id,
                    amount_cents=-int(cents),
                    method=method,
                    recorded_by_id=None if admin is None else admin.id,
                    recorded_at=now,
                )
            )
            taken += int(cents)
    order.paid_cents -= taken
    return taken


@dataclass(frozen=True)
class UnpaidOrder:
    """An order of a closed cycle that still owes money."""

    order_id: int
    cycle_id: int
    pickup_starts_at: datetime
    member_id: int
    member_name: str
    to_pay_cents: int
    status: OrderStatus


async def unpaid_orders(
    session: AsyncSession, *, cycle_id: int | None = None, member_id: int | None = None
) -> list[UnpaidOrder]:
    """The orders of closed (or delivered) cycles that owe money, newest cycle first, then by
    name; of one cycle or one member when given."""
    query = (
        select(Order, Cycle.pickup_starts_at, Member)
        .join(Cycle, Order.cycle_id == Cycle.id)
        .join(Member, Order.member_id == Member.id)
        .where(
            Order.status.in_(OWING_STATUSES),
            Cycle.state.in_((CycleState.CLOSED, CycleState.DELIVERED)),
            Order.total_cents > Order.paid_cents,
        )
        .execution_options(populate_existing=True)
    )
    if cycle_id is not None:
        query = query.where(Order.cycle_id == cycle_id)
    if member_id is not None:
        query = query.where(Order.member_id == member_id)
    rows = (await session.execute(query)).all()
    await session.commit()
    found = [
        UnpaidOrder(
            order.id,
            order.cycle_id,
            starts,
            member.id,
            member.display_name,
            order.to_pay_cents,
            order.status,
        )
        for order, starts, member in rows
    ]
    found.sort(key=lambda u: (-u.pickup_starts_at.timestamp(), fold(u.member_name), u.order_id))
    return found


# -- online, through Telegram Payments --------------------------------------------------------


def invoice_payload(order_id: int, amount_cents: int) -> str:
    """What an invoice carries (Telegram: 1-128 bytes): the order and the amount it asks."""
    return f"order:{order_id}:{amount_cents}"


def read_payload(payload: str) -> tuple[int, int] | None:
    """(order id, amount) from an invoice payload, or None if it is not one of ours."""
    match = _PAYLOAD.match(payload)
    return None if match is None else (int(match[1]), int(match[2]))


async def orders_to_pay_online(session: AsyncSession, member: Member) -> list[Order]:
    """The member's orders of closed cycles whose amount is final (every weighed line weighed)
    and that still owe money, oldest first (one invoice each)."""
    orders = await session.scalars(
        select(Order)
        .join(Cycle, Order.cycle_id == Cycle.id)
        .where(
            Order.member_id == member.id,
            Order.status.in_(OWING_STATUSES),
            Cycle.state.in_((CycleState.CLOSED, CycleState.DELIVERED)),
            Order.total_cents > Order.paid_cents,
        )
        .order_by(Cycle.opens_at, Order.id)
        .options(selectinload(Order.lines))
        .execution_options(populate_existing=True)
    )
    found = [order for order in orders if order_is_final(order)]
    await session.commit()
    return found


async def check_checkout(
    session: AsyncSession, telegram_id: int, payload: str, currency: str, total_amount: int
) -> Order:
    """Before Telegram takes the money: the invoice's order, if it is the payer's, still owes
    exactly ``total_amount`` and is in ``currency``'s smallest units (checked by the caller).
    Otherwise :class:`StaleAction` (not ours), :class:`NothingToPay` (paid already) or
    :class:`AmountChanged` (what it owes now, ``to_pay``). Reads only."""
    read = read_payload(payload)
    if read is None:
        raise StaleAction(payload=payload)
    order_id, asked = read
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines))
        .execution_options(populate_existing=True)
    )
    owner = None if order is None else await session.get(Member, order.member_id)
    await session.commit()
    if order is None or owner is None or owner.telegram_id != telegram_id:
        raise StaleAction(order_id=order_id)
    if not order_is_final(order):  # a weighed product not weighed yet: no amount to pay
        raise StaleAction(order_id=order_id)
    if order.status not in OWING_STATUSES or order.to_pay_cents == 0:
        raise NothingToPay(order_id=order_id)
    if order.to_pay_cents != asked or total_amount != asked:
        raise AmountChanged(order_id=order_id, to_pay=order.to_pay_cents, asked=total_amount)
    return order


@dataclass(frozen=True)
class OnlinePayment:
    """What a ``successful_payment`` did: the order, the cents recorded (0: this charge was
    already recorded), and what went to the balance beyond what the order owed."""

    order_id: int
    recorded_cents: int
    refunded_cents: int = 0


async def record_online_payment(
    session: AsyncSession,
    payload: str,
    total_amount: int,
    telegram_charge_id: str,
    provider_charge_id: str | None,
    now: datetime,
) -> OnlinePayment:
    """Record a Telegram payment exactly once per ``telegram_charge_id`` (a repeated update
    records nothing: one ``INSERT … ON CONFLICT DO NOTHING``); money beyond what the order owed
    goes to the member's balance. Commits; :class:`StaleAction` for a payload not ours."""
    read = read_payload(payload)
    if read is None:
        raise StaleAction(payload=payload)
    order_id = read[0]
    async with unit_of_work(session):
        order = await session.scalar(
            select(Order)
            .where(Order.id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if order is None:
            raise StaleAction(order_id=order_id)
        inserted = await session.execute(
            _insert(session, Payment)
            .values(
                network_id=order.network_id,
                order_id=order.id,
                amount_cents=total_amount,
                method=PaymentMethod.ONLINE.value,
                telegram_charge_id=telegram_charge_id,
                provider_charge_id=provider_charge_id,
                recorded_at=now,
            )
            .on_conflict_do_nothing(index_elements=["telegram_charge_id"])
            .returning(Payment.id)
        )
        if inserted.first() is None:
            return OnlinePayment(order.id, 0)
        order.paid_cents += total_amount
        refunded = await order_total_changed(session, order, now)
    return OnlinePayment(order.id, total_amount, refunded)


def total_of(orders: Sequence[UnpaidOrder]) -> int:
    """What ``orders`` owe together, in cents."""
    return sum(order.to_pay_cents for order in orders)
