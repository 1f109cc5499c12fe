"""Producers joining the bot: an admin's single-use invitation link links a person to a farm."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import StaleAction
from models.member import Member
from models.producer import Producer
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


async def accept_invitation(session: AsyncSession, member: Member, code: str) -> Producer:
    """Link ``member`` to the producer whose invitation code is ``code`` (with or without the
    ``f-`` prefix) and use the code up. Raises :class:`StaleAction` for an unknown or used code.
    Commits."""
    if code.startswith(INVITE_PREFIX):
        code = code[len(INVITE_PREFIX) :]
    if not code:
        raise StaleAction(code=code)
    async with unit_of_work(session):
        producer = await session.scalar(
            select(Producer).where(Producer.invite_code == code).with_for_update()
        )
        if producer is None:
            raise StaleAction(code=code)
        producer.invite_code = None  # single use
        member.producer_id = producer.id
        member.producer = producer
    return producer


async def producer_members(session: AsyncSession, producer_id: int) -> list[Member]:
    """The people linked to the producer who can still be reached."""
    rows = await session.scalars(
        select(Member)
        .where(Member.producer_id == producer_id, Member.reachable.is_(True))
        .order_by(Member.id)
    )
    return list(rows)
