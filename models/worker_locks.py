"""Work that one worker process does at a time, among every worker on one PostgreSQL database.

PostgreSQL's advisory locks, held by a connection for as long as the work lasts: the scheduler's
pass (:data:`SCHEDULER`) and the sending of one broadcast (:data:`BROADCAST`, keyed by its id).
A worker that dies loses its connection, and PostgreSQL frees its locks at once: another worker
takes the work over, with nothing to wait for and no lease to lapse. On SQLite there is one
process: every lock is granted (the process's own ``asyncio`` locks serialise its work).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

SCHEDULER = 1
"""The scheduler's pass of one network (key: its id): the week's steps, one worker after the other."""
BROADCAST = 2
"""One broadcast being sent (key: its id)."""


@contextlib.asynccontextmanager
async def exclusive(
    engine: AsyncEngine | None, namespace: int, key: int = 0, *, wait: bool = True
) -> AsyncIterator[bool]:
    """Hold the lock ``(namespace, key)`` for the block; yields whether it is held (without
    ``wait``, False at once when another worker has it). No transaction stays open meanwhile:
    the lock belongs to the connection, kept aside from the pool for the block."""
    if engine is None or engine.dialect.name != "postgresql":
        yield True
        return
    params = {"namespace": namespace, "key": key}
    async with engine.connect() as connection:
        if wait:
            await connection.execute(text("SELECT pg_advisory_lock(:namespace, :key)"), params)
            held = True
        else:
            held = bool(
                await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:namespace, :key)"), params
                )
            )
        await connection.commit()
        try:
            yield held
        finally:
            if held:
                try:
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:namespace, :key)"), params
                    )
                    await connection.commit()
                except BaseException:
                    # Never give a connection holding the lock back to the pool: closing it
                    # frees the lock.
                    await connection.invalidate()
                    raise


async def taken(engine: AsyncEngine | None, namespace: int, key: int = 0) -> bool:
    """Whether a worker (this process included) holds ``(namespace, key)`` now; always False
    on SQLite."""
    async with exclusive(engine, namespace, key, wait=False) as held:
        return not held if engine is not None and engine.dialect.name == "postgresql" else False
