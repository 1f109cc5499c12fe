"""Member operations: registration on first contact, locale, pickup point, roles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.member import Member
from models.unit_of_work import unit_of_work


async def get_or_register(
    session: AsyncSession,
    *,
    telegram_id: int,
    first_name: str,
    last_name: str | None,
    username: str | None,
    locale: str,
) -> tuple[Member, bool]:
    """The member for ``telegram_id`` (created with ``locale`` on first contact), and whether it
    is new. Names are refreshed when Telegram reports a change. Flushes; the caller commits."""
    member = await session.scalar(
        select(Member)
        .where(Member.telegram_id == telegram_id)
        .options(selectinload(Member.pickup_point), selectinload(Member.producer))
    )
    if member is None:
        member = Member(
            telegram_id=telegram_id,
            first_name=first_name or "?",
            last_name=last_name,
            username=username,
            locale=locale,
            is_consumer=True,
            is_admin=False,
            reachable=True,
            notifications_off=[],
            pickup_point=None,
            producer=None,
        )
        session.add(member)
        await session.flush()
        return member, True
    if (member.first_name, member.last_name, member.username) != (first_name, last_name, username):
        member.first_name, member.last_name, member.username = (
            first_name or "?",
            last_name,
            username,
        )
    if not member.reachable:
        # A member who writes to the bot has unblocked it.
        member.reachable = True
    return member, False


async def set_locale(session: AsyncSession, member: Member, locale: str) -> Member:
    """Store ``locale`` as the member's language and commit; the member is returned."""
    async with unit_of_work(session):
        member.locale = locale
    return member
