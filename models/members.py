"""Member operations: registration on first contact, locale, pickup point, roles."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from models import catalog_cache
from models.member import Member
from models.unit_of_work import unit_of_work


def is_admin(member: Member, admin_ids: Collection[int]) -> bool:
    """Whether ``member`` is an admin: the admin role, or a Telegram id among ``ADMIN_IDS``."""
    return member.is_admin or member.telegram_id in admin_ids


def admin_condition(admin_ids: Collection[int]) -> ColumnElement[bool]:
    """The rule of :func:`is_admin` as a condition on ``Member`` rows, for a query."""
    return Member.is_admin.is_(True) | Member.telegram_id.in_(sorted(admin_ids))


@cache
def _member_query() -> Select[Member, int]:
    """The member of ``:telegram_id`` with their point and farm, and the network's catalog
    version: built once (every update runs it), the id bound at each execution."""
    return (
        select(Member, catalog_cache.version_column())
        .where(Member.telegram_id == bindparam("telegram_id"))
        .options(joinedload(Member.pickup_point), joinedload(Member.producer))
    )


async def _find(session: AsyncSession, telegram_id: int) -> Member | None:
    """The member, and with it (same statement) the network's catalog version, which the
    session remembers (:mod:`models.catalog_cache`)."""
    row = (await session.execute(_member_query(), {"telegram_id": telegram_id})).first()
    if row is None:
        return None
    member, version = row
    catalog_cache.remember_version(session, version)
    return member


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
    is new. Names are refreshed when Telegram reports a change; a member who writes again is
    reachable again. Reads only, unless something must be written (then one unit of work)."""
    first_name = first_name or "?"
    member = await _find(session, telegram_id)
    if (
        member is not None
        and member.reachable
        and (
            member.first_name,
            member.last_name,
            member.username,
        )
        == (first_name, last_name, username)
    ):
        return member, False
    try:
        async with unit_of_work(session):
            member = await _find(session, telegram_id)
            new = member is None
            if member is None:
                member = Member(
                    telegram_id=telegram_id,
                    locale=locale,
                    is_consumer=True,
                    is_admin=False,
                    notifications_off=[],
                    joined_points=[],
                    pickup_point=None,
                    producer=None,
                )
                session.add(member)
            member.first_name, member.last_name, member.username = first_name, last_name, username
            member.reachable = True  # a member who writes to the bot has unblocked it
    except IntegrityError:
        # The same person's other update registered them a moment ago.
        member, new = await _find(session, telegram_id), False
        if member is None:
            raise
    return member, new


async def set_reachable(session: AsyncSession, member: Member, reachable: bool) -> Member:
    """Store whether the bot can write to ``member`` (False once they blocked it) and commit;
    the member is returned."""
    async with unit_of_work(session):
        member.reachable = reachable
    return member


async def set_locale(session: AsyncSession, member: Member, locale: str) -> Member:
    """Store ``locale`` as the member's language and commit; the member is returned."""
    async with unit_of_work(session):
        member.locale = locale
    return member


def awaited(member: Member, key: str) -> Any:
    """What the bot waits for ``member`` to type under ``key`` (None: nothing)."""
    return (member.awaiting or {}).get(key)


async def await_input(session: AsyncSession, member: Member, key: str, value: Any) -> None:
    """Remember that the member's next text is for ``key`` (with ``value``: JSON), in the
    database, so that whichever worker receives that text reads it. Commits."""
    if awaited(member, key) == value:
        return
    async with unit_of_work(session):
        member.awaiting = {**(member.awaiting or {}), key: value}


async def stop_awaiting(session: AsyncSession, member: Member, key: str) -> None:
    """The member's next text is no longer for ``key``. Commits only when something changes
    (most updates pass here with nothing awaited: they write nothing)."""
    if key not in (member.awaiting or {}):
        return
    async with unit_of_work(session):
        member.awaiting = {k: v for k, v in (member.awaiting or {}).items() if k != key} or None


PHONE_CHARACTERS = frozenset("0123456789")


def normalize_phone(text: str) -> str | None:
    """A phone number as Telegram's contact gives it ("33612345678", "+33 6 12…") in one form,
    "+33612345678"; None for anything that is not 6 to 20 digits with an optional ``+``."""
    compact = "".join(text.split()).replace("-", "").replace(".", "")
    digits = compact.removeprefix("+")
    if not digits or not set(digits) <= PHONE_CHARACTERS or not 6 <= len(digits) <= 20:
        return None
    return "+" + digits


async def set_phone(session: AsyncSession, member: Member, phone: str) -> Member:
    """Store the phone number the member shared (already normalised). Commits."""
    async with unit_of_work(session):
        member.phone = phone
    return member
