"""One domain operation = one unit of work: all of it is written, or none of it."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import DomainError

# Read by the SQLite engine when a transaction begins (see bot/db.py): a transaction that will
# write starts with BEGIN IMMEDIATE, taking the write lock before it reads what it will change;
# read-only transactions stay deferred and never hold other writers back.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)

# SQLite has one writer at a time. Left to itself, a second writer polls the lock with sleeps
# that grow to 100 ms, which collapses throughput under load; so the writers of one process
# queue on an asyncio lock instead, in order, and SQLite's own busy wait only ever arbitrates
# between processes (the bot and a command run beside it).
_writer_locks: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def write_intended() -> bool:
    """Whether the transaction being begun is meant to write."""
    return _write_intent.get()


@contextlib.contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside the block announce that they will write."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def _sqlite_engine(session: AsyncSession) -> Engine | None:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else getattr(bind, "engine", None)
    if engine is not None and engine.dialect.name == "sqlite":
        return engine
    return None


@asynccontextmanager
async def writing(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Within the block, ``session`` writes: on SQLite, after the process's other writers and
    in a transaction that takes the write lock first. The caller commits or rolls back inside."""
    engine = _sqlite_engine(session)
    if engine is None:
        with write_intent():
            yield session
        return
    if session.in_transaction() and not _write_intent.get():
        # A deferred (read) transaction cannot safely become a writer once another connection
        # has written: end it, so the work below begins a fresh, immediate one.
        await session.commit()
    if _write_intent.get():  # already inside a writer (nested unit of work)
        yield session
        return
    lock = _writer_locks.setdefault(engine, asyncio.Lock())
    async with lock:
        with write_intent():
            try:
                yield session
            finally:
                if session.in_transaction():
                    await session.rollback()


@asynccontextmanager
async def unit_of_work(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Run the block in a savepoint and commit it; on any error nothing of it is kept.

    A refusal (:class:`DomainError`) rolls back only the savepoint, so the objects the caller
    already holds (the member, the cycle) stay loaded and usable to answer politely; any other
    error rolls the whole session back.
    """
    async with writing(session):
        try:
            async with session.begin_nested():
                yield session
        except DomainError:
            await session.commit()  # ends the (now empty) transaction and releases its locks
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
