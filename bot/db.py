"""Database engine and sessions for SQLite (embedded default) and PostgreSQL.

``create_engine(url)`` gives an ``AsyncEngine`` tuned for the dialect; ``sessionmaker(engine)``
gives the factory handlers and jobs open one session from, per update or job.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite
from sqlalchemy import event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from models import Base
from models.network import (
    DEFAULT_NETWORK_ID,
    DEFAULT_NETWORK_SLUG,
    NETWORK_KEY,
    Network,
)
from models.unit_of_work import write_intended

SQLITE_BUSY_TIMEOUT_MS = 30_000
_NEVER_WAIT = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT")
"""What SQLite runs without waiting on another's lock (WAL: reads never wait; a deferred
``BEGIN`` takes no lock; the ends of a transaction and its savepoints wait on nobody)."""


class InlineSqliteConnection(aiosqlite.Connection):
    """aiosqlite's connection, which runs a call that cannot wait right away in the event
    loop's thread instead of handing it to its own thread and waiting for the answer.

    The hand-off (a queue, a future, waking the loop from another thread) cost as much as the
    statement itself: about half of a short read's time. What may wait on another
    connection's write lock — ``BEGIN IMMEDIATE``, ``INSERT``, ``UPDATE``, ``DELETE``,
    ``PRAGMA`` — still goes to the connection's thread, so a writer waiting on the lock (up to
    ``SQLITE_BUSY_TIMEOUT_MS``) never stops the event loop, and the other updates go on.
    Reads, cursor fetches and the ends of transactions run inline, each statement followed by
    one turn of the loop (what is ready runs, as it did during the hand-off); a long read (an
    export) holds the loop while it runs."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        statement = bool(args) and isinstance(args[0], str)
        if statement and not _never_waits(args[0]):
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        if self._connection is None:
            raise ValueError("Connection closed")
        result = fn(*args, **kwargs)
        if statement:
            # Let the loop run what is ready after each statement, as the hand-off did: a
            # burst of updates takes turns statement by statement, and the timers of the calls
            # to Telegram in flight (their timeouts) are not starved by one update's reads.
            await asyncio.sleep(0)
        return result


def _never_waits(sql: str) -> bool:
    head = sql.lstrip()[:16].upper()
    if head.startswith(("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")):
        return False
    return head.startswith(_NEVER_WAIT)


def _inline_sqlite(url: str) -> Callable[[], Awaitable[InlineSqliteConnection]]:
    """The ``async_creator`` of an engine on ``url`` (SQLite): SQLAlchemy's own connection
    arguments for it, the connection usable from the loop's thread as from its own."""
    parsed = make_url(url)
    args, params = parsed.get_dialect()().create_connect_args(parsed)
    params = {**params, "check_same_thread": False}

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(*args, **params)  # type: ignore[call-overload]
        return connection

    async def creator() -> InlineSqliteConnection:
        connection = InlineSqliteConnection(connector, 64)
        await connection
        return connection

    return creator


def create_engine(url: str, *, foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``; on SQLite, foreign keys on, WAL, and write-safe transactions.

    On SQLite, a transaction that will write (``models.unit_of_work``) starts with
    ``BEGIN IMMEDIATE``: it takes the write lock before reading what it changes, so a stock
    reservation is never overtaken halfway nor fails with "database is locked"; other writers
    wait up to ``SQLITE_BUSY_TIMEOUT_MS``. Read-only transactions stay deferred (WAL lets them
    run beside the writer). ``foreign_keys=False`` leaves SQLite's foreign keys off: the
    migrations rebuild tables (copy, drop, rename), which a referenced table would refuse.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.get_driver_name() == "aiosqlite":
        kwargs.setdefault("async_creator", _inline_sqlite(url))
    engine = _create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intended() else "BEGIN")

    return engine


def sessionmaker(
    engine: AsyncEngine, network_id: int = DEFAULT_NETWORK_ID
) -> async_sessionmaker[AsyncSession]:
    """The session factory of one network (:mod:`models.network`: its sessions see and write
    that network's rows only; ``ALL_NETWORKS`` for the operator's commands). Objects stay
    readable after commit (rendering happens after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, info={NETWORK_KEY: network_id})


async def create_schema(engine: AsyncEngine) -> None:
    """Create every table straight from the models, with the default network (tests and the
    demo; production migrates)."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
        await add_default_network(connection)


async def add_default_network(connection: AsyncConnection) -> None:
    """Write the default network into an empty ``network`` table (it gets id 1)."""
    await connection.execute(insert(Network).values(slug=DEFAULT_NETWORK_SLUG, settings={}))


async def drop_schema(engine: AsyncEngine) -> None:
    """Drop every table the models know."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
