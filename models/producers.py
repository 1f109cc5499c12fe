"""Producers joining the bot: an admin's single-use invitation link links a person to a farm."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import StaleAction
from models.member import Member
from models.producer import Producer
from models.text import as_invitation_code
from models.unit_of_work import unit_of_work

INVITE_PREFIX = "f-"


async def producer_by_slug(session: AsyncSession, slug: str) -> Producer | None:
    """The producer with this slug (case-insensitive), if any."""
    result: Producer | None = await session.scalar(
        select(Producer).where(Producer.slug == slug.strip().lower())
    )
    return result


async def all_producers(session: AsyncSession) -> list[Producer]:
    """Every producer, by name."""
    return list(await session.scalars(select(Producer).order_by(Producer.name)))


async def invitation_code(session: AsyncSession, producer: Producer) -> str:
    """The producer's current invitation code, created when there is none. Commits.

    A code is used once: accepting it clears it, so the next invitation gets a new one.
    """
    async with unit_of_work(session):
        if producer.invite_code is None:
            producer.invite_code = secrets.token_hex(8)
    assert producer.invite_code is not None
    return producer.invite_code


@dataclass(frozen=True)
class Joined:
    """An accepted invitation: the farm the member is now linked to, and the farm they left
    when that farm has nobody linked any more (``left_alone``: nobody receives its orders)."""

    producer: Producer
    left_alone: Producer | None = None


def _bare(code: str) -> str:
    """The code without its ``f-`` prefix; "" when it cannot be a code at all."""
    bare = code[len(INVITE_PREFIX) :] if code.startswith(INVITE_PREFIX) else code
    return as_invitation_code(bare) or ""


async def invited_to(session: AsyncSession, code: str) -> Producer | None:
    """The producer whose invitation code is ``code`` (with or without the ``f-`` prefix), if
    the code is still valid; the code is not used up. Reads only."""
    code = _bare(code)
    producer: Producer | None = (
        await session.scalar(select(Producer).where(Producer.invite_code == code)) if code else None
    )
    await session.commit()
    return producer


async def accept_invitation(session: AsyncSession, member: Member, code: str) -> Joined:
    """Link ``member`` to the producer whose invitation code is ``code`` (with or without the
    ``f-`` prefix) and use the code up; a member linked to another farm leaves it (the caller
    asks them first). Raises :class:`StaleAction` for an unknown or used code. Commits."""
    code = _bare(code)
    if not code:
        raise StaleAction(code=code)
    async with unit_of_work(session):
        producer = await session.scalar(
            select(Producer).where(Producer.invite_code == code).with_for_update()
        )
        if producer is None:
            raise StaleAction(code=code)
        former_id = member.producer_id
        producer.invite_code = None  # single use
        member.producer_id = producer.id
        member.producer = producer
        left_alone = None
        if former_id is not None and former_id != producer.id:
            await session.flush()
            if not await _linked_count(session, former_id):
                left_alone = await session.get(Producer, former_id)
    return Joined(producer, left_alone)


async def _linked_count(session: AsyncSession, producer_id: int) -> int:
    count = await session.scalar(
        select(func.count(Member.id)).where(
            Member.producer_id == producer_id, Member.reachable.is_(True)
        )
    )
    return int(count or 0)


async def producer_members(
    session: AsyncSession, producer_id: int, *, reachable_only: bool = True
) -> list[Member]:
    """The people linked to the producer (only those who can still be reached, unless
    ``reachable_only`` is False)."""
    query = select(Member).where(Member.producer_id == producer_id).order_by(Member.id)
    if reachable_only:
        query = query.where(Member.reachable.is_(True))
    return list(await session.scalars(query))
