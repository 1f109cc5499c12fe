"""Pickup points for consumers: which ones they may choose, joining a company one, choosing."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.cycle import Cycle, CycleState
from models.errors import StaleAction
from models.member import Member
from models.order import Order, OrderStatus
from models.pickup_point import PickupPoint
from models.text import as_invitation_code
from models.unit_of_work import unit_of_work


async def active_points(session: AsyncSession) -> list[PickupPoint]:
    """Every active pickup point (public and company ones): public ones first, each group by
    name."""
    points = list(
        await session.scalars(
            select(PickupPoint)
            .where(PickupPoint.active.is_(True))
            .order_by(PickupPoint.is_public.desc(), PickupPoint.name)
        )
    )
    await session.commit()
    return points


async def points_for(session: AsyncSession, member: Member) -> list[PickupPoint]:
    """The points ``member`` may choose: the public ones and the company ones they joined."""
    joined = list(member.joined_points or [])
    query = select(PickupPoint).where(PickupPoint.active.is_(True))
    if joined:
        query = query.where(or_(PickupPoint.is_public.is_(True), PickupPoint.id.in_(joined)))
    else:
        query = query.where(PickupPoint.is_public.is_(True))
    points = await session.scalars(query.order_by(PickupPoint.is_public, PickupPoint.name))
    return list(points)


async def choose_point(session: AsyncSession, member: Member, point_id: int) -> PickupPoint:
    """Make ``point_id`` the member's pickup point (also for this cycle's basket); commits.

    A company point the member never joined answers :class:`StaleAction`, as if it did not exist.
    """
    async with unit_of_work(session):
        point = await session.get(PickupPoint, point_id)
        allowed = (
            point is not None
            and point.active
            and (point.is_public or point.id in (member.joined_points or []))
        )
        if not allowed or point is None:
            raise StaleAction(point_id=point_id)
        member.pickup_point_id = point.id
        member.pickup_point = point
        live = await session.scalars(
            select(Order).where(
                Order.member_id == member.id,
                Order.status.in_((OrderStatus.BASKET, OrderStatus.CONFIRMED)),
            )
        )
        for order in live:
            cycle = await session.get(Cycle, order.cycle_id)
            if cycle is not None and cycle.state == CycleState.OPEN:
                order.pickup_point_id = point.id
    return point


async def join_by_invitation(
    session: AsyncSession, member: Member, code: str
) -> PickupPoint | None:
    """Join the company point whose invitation code is ``code`` and choose it; commits.

    Returns None when no active point has that code (an old or mistyped link).
    """
    if as_invitation_code(code) is None:
        return None
    point = await session.scalar(
        select(PickupPoint).where(PickupPoint.invite_code == code, PickupPoint.active.is_(True))
    )
    if point is None:
        return None
    async with unit_of_work(session):
        if point.id not in (member.joined_points or []):
            member.joined_points = [*(member.joined_points or []), point.id]
    return await choose_point(session, member, point.id)
