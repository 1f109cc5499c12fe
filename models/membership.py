"""Looking after members, for the admins: finding one, their recent orders, their pickup point,
blocking and unblocking them.

A blocked member keeps their account, history and messages; they may not order (every basket
operation refuses with :class:`models.errors.MemberBlocked`), and blocking releases the basket
or order they hold in the open cycle, giving its stock back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from models.cycle import Cycle, CycleState, Offer
from models.cycles import lock_cycle
from models.errors import StaleAction
from models.member import Member
from models.order import Order, OrderStatus
from models.pickup_point import PickupPoint
from models.text import fold
from models.unit_of_work import unit_of_work

MOST_FOUND = 20
"""How many members a search gives at most."""


@dataclass(frozen=True)
class MemberFile:
    """What an admin sees of a member: the member (their pickup point loaded) and their most
    recent orders, newest first (baskets too), each with its cycle and pickup point."""

    member: Member
    orders: list[Order]


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _matches(member: Member, words: list[str], digits: str) -> bool:
    """Whether every word is in the member's names or @username, or the digits in their phone."""
    # "06 12 34 56 78" finds "+33612345678": compare the national part.
    if (
        digits
        and member.phone
        and len(digits) >= 6
        and _digits(member.phone).endswith(digits.lstrip("0"))
    ):
        return True
    names = fold(" ".join(filter(None, (member.first_name, member.last_name, member.username))))
    return bool(words) and all(word in names for word in words)


async def find_members(session: AsyncSession, query: str) -> list[Member]:
    """The members ``query`` finds, by name (accents and case aside), @username, phone number or
    order number ("42", "n° 42"), at most :data:`MOST_FOUND`, by name."""
    text = query.strip()
    digits = _digits(text)
    words = fold(text.replace("@", " ").replace("n°", " ")).split()
    found: dict[int, Member] = {}
    if digits and len(digits) <= 9 and not set(text) - set("0123456789 n°#"):
        owner = await session.scalar(select(Order.member_id).where(Order.id == int(digits)))
        if owner is not None:
            member = await session.get(Member, owner)
            if member is not None:
                found[member.id] = member
    members = await session.scalars(select(Member).order_by(Member.first_name, Member.id))
    for member in members:
        if member.id not in found and _matches(member, words, digits):
            found[member.id] = member
    result = sorted(found.values(), key=lambda m: (fold(m.display_name), m.id))
    await session.commit()
    return result[:MOST_FOUND]


async def member_file(session: AsyncSession, member_id: int, recent: int = 5) -> MemberFile:
    """The member and their ``recent`` latest orders; :class:`StaleAction` for an unknown one."""
    member = await session.scalar(
        select(Member)
        .where(Member.id == member_id)
        .options(joinedload(Member.pickup_point))
        .execution_options(populate_existing=True)
    )
    if member is None:
        raise StaleAction(member_id=member_id)
    orders = await session.scalars(
        select(Order)
        .join(Cycle, Order.cycle_id == Cycle.id)
        .where(Order.member_id == member_id, Order.status != OrderStatus.ABANDONED)
        .options(selectinload(Order.cycle), selectinload(Order.pickup_point))
        .order_by(Cycle.opens_at.desc(), Order.id.desc())
        .limit(recent)
    )
    file = MemberFile(member=member, orders=list(orders))
    await session.commit()
    return file


async def move_member(session: AsyncSession, member_id: int, point_id: int) -> PickupPoint:
    """Make ``point_id`` (any active point, a company one included: the member then counts as
    having joined it) the member's pickup point, also for their order in the open cycle.
    Commits; :class:`StaleAction` for an unknown member or point."""
    async with unit_of_work(session):
        member = await session.get(Member, member_id)
        point = await session.get(PickupPoint, point_id)
        if member is None or point is None or not point.active:
            raise StaleAction(member_id=member_id, point_id=point_id)
        member.pickup_point_id = point.id
        member.pickup_point = point
        if not point.is_public and point.id not in (member.joined_points or []):
            member.joined_points = [*(member.joined_points or []), point.id]
        await session.execute(
            update(Order)
            .where(
                Order.member_id == member.id,
                Order.status.in_((OrderStatus.BASKET, OrderStatus.CONFIRMED)),
                Order.cycle_id.in_(select(Cycle.id).where(Cycle.state == CycleState.OPEN)),
            )
            .values(pickup_point_id=point.id)
            .execution_options(synchronize_session=False)
        )
    return point


async def block_member(session: AsyncSession, member_id: int, now: datetime) -> int:
    """Block the member from ordering and release what they hold in the open cycle (their
    basket or confirmed order is emptied, its stock given back). Returns how many lines were released
    (0 when already blocked). Commits; :class:`StaleAction` for an unknown member."""
    async with unit_of_work(session):
        member = await session.get(Member, member_id, with_for_update=True)
        if member is None:
            raise StaleAction(member_id=member_id)
        if member.blocked_at is not None:
            return 0
        member.blocked_at = now
        released = 0
        open_id = await session.scalar(select(Cycle.id).where(Cycle.state == CycleState.OPEN))
        if open_id is None:
            return 0
        # As every basket operation does: a close waits for this, or this sees it closed.
        cycle = await lock_cycle(session, open_id, shared=True)
        if cycle.state != CycleState.OPEN:
            return 0
        order = await session.scalar(
            select(Order)
            .where(
                Order.member_id == member_id,
                Order.cycle_id == open_id,
                Order.status.in_((OrderStatus.BASKET, OrderStatus.CONFIRMED)),
            )
            .options(selectinload(Order.lines))
            .with_for_update(of=Order)
            .execution_options(populate_existing=True)
        )
        if order is None:
            return 0
        for line in list(order.lines):
            await session.execute(
                update(Offer)
                .where(Offer.cycle_id == open_id, Offer.product_id == line.product_id)
                .values(ordered=Offer.ordered - line.quantity)
                .execution_options(synchronize_session=False)
            )
            order.lines.remove(line)
            released += 1
        # An empty basket again (the close drops it): unblocked, the member starts afresh.
        order.total_cents = 0
        order.status = OrderStatus.BASKET
        order.confirmed_at = None
        order.changed_since_confirmed = False
        order.updated_at = now
    return released


async def unblock_member(session: AsyncSession, member_id: int) -> Member:
    """Let the member order again. Commits; :class:`StaleAction` for an unknown member."""
    async with unit_of_work(session):
        member = await session.get(Member, member_id)
        if member is None:
            raise StaleAction(member_id=member_id)
        member.blocked_at = None
    return member
