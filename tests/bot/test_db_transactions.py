"""Reads open no transaction; anything else in the same transaction still gets one whole.

``bot.db`` lets a transaction not meant to write send its plain reads on their own (no
``BEGIN``, no ``COMMIT``) and begin for real at its first other statement. These tests hold
what that must not change: a write, a savepoint or a row lock outside a unit of work is still
one transaction, rolled back whole or holding its lock to the end; and what it changes on
SQLite, on purpose: each read sees the database as it is when it runs, as on PostgreSQL.
"""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import only_reads
from models.network import DEFAULT_NETWORK_ID, Network
from models.unit_of_work import write_intent

NAME = select(Network.name).where(Network.id == DEFAULT_NETWORK_ID)


def _rename(name: str):  # type: ignore[no-untyped-def]
    return update(Network).where(Network.id == DEFAULT_NETWORK_ID).values(name=name)


async def _name_now(sessions: async_sessionmaker[AsyncSession]) -> str | None:
    async with sessions() as other:
        return await other.scalar(NAME)


@pytest.mark.parametrize(
    ("statement", "plain"),
    [
        ("SELECT member.id FROM member WHERE member.id = $1", True),
        ("  (SELECT 1) UNION (SELECT 2)", True),
        ("select offer.id from offer", True),
        ("SELECT cycle.id FROM cycle WHERE cycle.id = ? FOR UPDATE", False),
        ("SELECT cycle.id FROM cycle FOR SHARE", False),
        ('SELECT "order".id FROM "order" FOR NO KEY UPDATE OF "order"', False),
        ("SELECT offer.id FROM offer FOR KEY SHARE", False),
        ("SELECT pg_advisory_lock(1, 2)", True),
        ("INSERT INTO member (telegram_id) VALUES (?)", False),
        ("UPDATE offer SET ordered = ordered + ?", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("WITH moved AS (UPDATE offer SET ordered = 0 RETURNING id) SELECT id FROM moved", False),
        ("CREATE TABLE t (id integer)", False),
    ],
)
def test_only_plain_reads_go_without_a_transaction(statement: str, plain: bool) -> None:
    assert only_reads(statement) is plain


async def test_each_read_sees_what_was_committed_before_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Two reads of one session with another's commit between them: the second sees it, on
    SQLite as on PostgreSQL (a read transaction on SQLite used to keep its first snapshot)."""
    async with sessions() as reader:
        assert await reader.scalar(NAME) is None
        async with sessions() as writer:
            await writer.execute(_rename("La Desserte Locale"))
            await writer.commit()
        assert await reader.scalar(NAME) == "La Desserte Locale"


async def test_a_write_after_reads_is_still_rolled_back_whole(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A session that read, then wrote outside any unit of work, and was rolled back (what
    ``serve_update`` does with what a handler left uncommitted) kept nothing of it."""
    async with sessions() as session:
        await session.scalar(NAME)
        await session.execute(_rename("écrit à moitié"))
        await session.execute(_rename("écrit en entier"))
        assert await session.scalar(NAME) == "écrit en entier"  # its own write, seen
        assert await _name_now(sessions) is None  # nobody else's yet
        await session.rollback()
    assert await _name_now(sessions) is None


async def test_a_savepoint_after_reads_belongs_to_a_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await session.scalar(NAME)
        async with session.begin_nested():
            await session.execute(_rename("dans un point de sauvegarde"))
        assert await _name_now(sessions) is None
        await session.rollback()
    assert await _name_now(sessions) is None


async def test_the_transaction_after_a_rollback_reads_on_its_own_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A connection that began a transaction for a write goes back to reading on its own once
    the transaction ended: the next write, again, is not committed by itself."""
    async with sessions() as session:
        await session.scalar(NAME)
        await session.execute(_rename("premier"))
        await session.rollback()
        await session.scalar(NAME)
        await session.execute(_rename("second"))
        await session.rollback()
    assert await _name_now(sessions) is None


async def test_a_locking_read_holds_its_lock_to_the_end(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """``FOR UPDATE`` after plain reads locks the row until the transaction ends: another
    session asking for it without waiting is refused meanwhile (PostgreSQL: SQLite locks the
    whole database, on writes only)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    async with sessions() as holder:
        await holder.scalar(NAME)
        await holder.scalar(NAME.with_for_update())
        async with sessions() as other:
            with pytest.raises(DBAPIError, match="lock"):
                await other.scalar(NAME.with_for_update(nowait=True))
        await holder.rollback()
    async with sessions() as other:
        assert await other.scalar(NAME.with_for_update(nowait=True)) is None


async def test_reads_begin_no_transaction_and_writers_do(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """On PostgreSQL, ``now()`` is the start of the current transaction: two reads of one
    session give two instants (each is a transaction of its own), while in a transaction meant
    to write they give one."""
    if engine.dialect.name != "postgresql":
        pytest.skip("read through PostgreSQL's clock")
    now = select(func.now())
    async with sessions() as session:
        assert await session.scalar(now) != await session.scalar(now)
    with write_intent():
        async with sessions() as session:
            assert await session.scalar(now) == await session.scalar(now)
            await session.rollback()


@pytest.mark.parametrize("meant_to_write", [False, True])
async def test_a_transaction_whose_connection_was_lost_rolls_back_and_frees_the_database(
    sessions: async_sessionmaker[AsyncSession], meant_to_write: bool
) -> None:
    """A statement interrupted (a cancelled task, a killed worker) invalidates its connection;
    the rollback that follows still ends the transaction, and the next writer writes. It used
    to raise from the end-of-transaction hook and leave the write lock held on SQLite."""
    intent = write_intent() if meant_to_write else contextlib.nullcontext()
    with intent:
        async with sessions() as session:
            await session.scalar(NAME)
            await session.execute(_rename("à moitié"))
            connection = await session.connection()
            await connection.invalidate()
            await session.rollback()
    with write_intent():
        async with sessions() as writer:
            await writer.execute(_rename("écrit ensuite"))
            await writer.commit()
    assert await _name_now(sessions) == "écrit ensuite"
