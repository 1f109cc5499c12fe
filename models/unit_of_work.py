"""One domain operation = one unit of work: all of it is written, or none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import DomainError


@asynccontextmanager
async def unit_of_work(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Run the block in a savepoint and commit it; on any error nothing of it is kept.

    A refusal (:class:`DomainError`) rolls back only the savepoint, so the objects the caller
    already holds (the member, the cycle) stay loaded and usable to answer politely; any other
    error rolls the whole session back.
    """
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
