"""Database engine and sessions for SQLite (embedded default) and PostgreSQL.

``create_engine(url)`` gives an ``AsyncEngine`` tuned for the dialect; ``sessionmaker(engine)``
gives the factory handlers and jobs open one session from, per update or job.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
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

log = logging.getLogger(__name__)

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
    export) holds the loop while it runs.

    A call runs inline only while the connection's thread has nothing left to do: a statement
    handed to it and given up by its caller (a cancelled task, a killed process) still runs
    there, and sqlite3's connection must never be used by two threads at once (closing it
    under a running statement crashes the process). Until that statement ends, the next calls
    queue behind it on the thread, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handed = 0
        """Calls handed to the connection's thread (counted by the loop's thread only)."""
        self._finished = 0
        """Calls the connection's thread has finished (counted by that thread only)."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        statement = bool(args) and isinstance(args[0], str)
        if self._handed != self._finished or (statement and not _never_waits(args[0])):
            return await self._hand_off(fn, *args, **kwargs)
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        result = fn(*args, **kwargs)
        if statement:
            # Let the loop run what is ready after each statement, as the hand-off did: a
            # burst of updates takes turns statement by statement, and the timers of the calls
            # to Telegram in flight (their timeouts) are not starved by one update's reads.
            await asyncio.sleep(0)
        return result

    async def close(self) -> None:
        """Roll back the transaction left open, if any, then close (aiosqlite's ``close``).

        sqlite3 closing a connection whose cursor still holds a statement (a read its caller,
        cancelled, never finished) leaves it a "zombie" that keeps its transaction, and SQLite's
        write lock, until that cursor is freed: every other writer then waits out the busy
        timeout and fails with "database is locked". A rollback ends the transaction and aborts
        the statement; what it had written is undone, as closing would have done."""
        if self._running and self._connection is not None:
            await self._execute(self._end_transaction)
        await super().close()

    def stop(self) -> asyncio.Future[Any] | None:
        """aiosqlite's ``stop`` (the connection closed on its thread, when it could not be closed
        from the loop), the open transaction rolled back first as :meth:`close` does."""
        if self._running and self._connection is not None:
            self._tx.put_nowait((None, self._end_transaction))
        return super().stop()

    def _end_transaction(self) -> None:
        connection = self._connection
        if connection is None or not connection.in_transaction:
            return
        try:
            connection.rollback()
        except sqlite3.Error:  # the close that follows ends it all the same, or says why
            log.warning("could not roll back an SQLite connection before closing it", exc_info=True)

    async def _hand_off(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` run on the connection's thread; what it returns."""
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")

        def counted() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self._finished += 1

        self._handed += 1
        return await super()._execute(counted)  # type: ignore[no-untyped-call]


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


_LOCKING_READ = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b", re.I)
_READING = "desserte_reading_without_transaction"
"""Key of a pooled connection's ``info``, present while its transaction has sent plain reads
only, each committed by the database on its own (see :func:`_reads_open_no_transaction`)."""


@functools.lru_cache(maxsize=1024)
def only_reads(statement: str) -> bool:
    """Whether ``statement`` is a plain read: a ``SELECT`` that locks no row (no ``FOR UPDATE``,
    ``FOR SHARE``…). Anything else (a write, a savepoint, a lock, DDL) needs a transaction."""
    head = statement.lstrip(" \t\r\n(")[:6].upper()
    return head == "SELECT" and _LOCKING_READ.search(statement) is None


def _reads_open_no_transaction(
    engine: AsyncEngine,
    *,
    read: Callable[[Any], bool],
    begin: Callable[[Any], None],
    end: Callable[[Any], None],
) -> None:
    """A transaction not meant to write (:func:`models.unit_of_work.write_intended`) opens none
    in the database while it only reads: its plain reads (:func:`only_reads`) each run on their
    own, and the transaction really begins just before its first other statement, from which
    point it is a transaction like any other. One that is meant to write begins as before.

    Each statement of a read then sees the database as it is when it runs: what PostgreSQL's
    READ COMMITTED already gave within a transaction, and SQLite now gives too (a plain read
    holds no lock to the end). It saves the ``BEGIN`` and the ``COMMIT`` of every read: on
    PostgreSQL, two network round trips of the three of an update's member lookup.

    ``read(dbapi_connection)`` lets the driver's connection run statements on their own (False
    when it cannot: left as it is); ``begin`` puts it back as it was, its transaction beginning
    now; ``end`` puts back one that only read."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if write_intended():
            return
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and read(dbapi_connection):
            connection.info[_READING] = True

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before_statement(
        connection: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        if _READING not in connection.info:
            return
        streams = context is not None and context.execution_options.get("stream_results")
        if only_reads(statement) and not streams:
            return
        # From here on a transaction like any other: nothing is left to set back at its end.
        del connection.info[_READING]
        begin(connection.connection.dbapi_connection)

    def _on_end(connection: Any) -> None:
        if connection.invalidated:
            # Its driver connection is gone (a statement interrupted, a lost server): no
            # reading to set back, and its info would raise instead of ending the rollback,
            # leaving the transaction open. The record's info is cleared at check-in.
            return
        if connection.info.pop(_READING, None) is not None:
            dbapi_connection = connection.connection.dbapi_connection
            if dbapi_connection is not None:
                end(dbapi_connection)

    event.listen(sync_engine, "commit", _on_end)
    event.listen(sync_engine, "rollback", _on_end)

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        # A connection back in the pool with its transaction unended (closed on an error,
        # invalidated) is set back too.
        if record.info.pop(_READING, None) is not None and dbapi_connection is not None:
            end(dbapi_connection)


def _postgresql_reads(engine: AsyncEngine) -> None:
    """asyncpg through SQLAlchemy's adapter: reads in its autocommit mode, in which the adapter
    sends no ``BEGIN``; leaving that mode makes it send one before the next statement. A
    connection its user set to ``AUTOCOMMIT`` is left as it is."""

    def read(dbapi_connection: Any) -> bool:
        if dbapi_connection.autocommit:
            return False
        dbapi_connection.autocommit = True
        return True

    def transactional(dbapi_connection: Any) -> None:
        dbapi_connection.autocommit = False

    _reads_open_no_transaction(engine, read=read, begin=transactional, end=transactional)


def _sqlite_reads(engine: AsyncEngine) -> None:
    """SQLite, whose driver is left in autocommit (``create_engine`` emits every ``BEGIN``):
    a read emits none; its first other statement emits a deferred one, as a read transaction's
    ``BEGIN`` was."""

    def begin(dbapi_connection: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN")
        finally:
            cursor.close()

    _reads_open_no_transaction(engine, read=lambda _c: True, begin=begin, end=lambda _c: None)


def create_engine(url: str, *, foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``; on SQLite, foreign keys on, WAL, and write-safe transactions;
    on both, reads that open no transaction (:func:`_reads_open_no_transaction`).

    On SQLite, a transaction that will write (``models.unit_of_work``) starts with
    ``BEGIN IMMEDIATE``: it takes the write lock before reading what it changes, so a stock
    reservation is never overtaken halfway nor fails with "database is locked"; other writers
    wait up to ``SQLITE_BUSY_TIMEOUT_MS``. Reads run beside the writer (WAL), each on its own;
    a transaction not meant to write that writes all the same begins, deferred, at its first
    write. ``foreign_keys=False`` leaves SQLite's foreign keys off: the migrations rebuild
    tables (copy, drop, rename), which a referenced table would refuse.
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
            if write_intended():
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        _sqlite_reads(engine)
    elif parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "asyncpg":
        _postgresql_reads(engine)
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
