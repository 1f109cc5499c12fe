"""One domain operation = one unit of work: all of it is written, or none of it."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import DomainError

# Read by the SQLite engine when a transaction begins (see bot/db.py): a transaction that will
# write starts with BEGIN IMMEDIATE, taking the write lock before it reads what it will change;
# read-only transactions stay deferred and never hold other writers back.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


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


async def _end_read_transaction(session: AsyncSession) -> None:
    # On SQLite a deferred (read) transaction cannot safely become a writer once another
    # connection has written: end it, so the unit of work begins a fresh, immediate one.
    if session.in_transaction() and not _write_intent.get():
        bind = session.get_bind()
        if bind.dialect.name == "sqlite":
            await session.commit()


@asynccontextmanager
async def unit_of_work(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Run the block in a savepoint and commit it; on any error nothing of it is kept.

    A refusal (:class:`DomainError`) rolls back only the savepoint, so the objects the caller
    already holds (the member, the cycle) stay loaded and usable to answer politely; any other
    error rolls the whole session back.
    """
    await _end_read_transaction(session)
    with write_intent():
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
