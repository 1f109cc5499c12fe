"""SQLite's connection runs a call in the loop's thread only while its own thread is idle.

``bot.db.InlineSqliteConnection`` runs reads inline and hands what may wait on a lock to the
connection's thread. A statement whose caller gave up (a cancelled task, a killed process) still
runs on that thread; a call made meanwhile must queue behind it, never run beside it: sqlite3's
connection used by two threads at once crashed the process when it was closed under a running
statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from bot.db import InlineSqliteConnection


async def _a_given_up_insert(path: Path) -> tuple[sqlite3.Connection, InlineSqliteConnection]:
    """Another connection holding the write lock, and the connection under test whose insert
    waits on it, on the connection's thread, its caller having given up."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE basket (id INTEGER)")
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held by another connection
    connection = InlineSqliteConnection(
        lambda: sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False),
        64,
    )
    await connection
    insert = asyncio.create_task(connection.execute("INSERT INTO basket VALUES (1)"))
    await asyncio.sleep(0.2)
    insert.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await insert
    return holder, connection


async def test_a_call_waits_for_the_statement_its_thread_still_runs(tmp_path: Path) -> None:
    holder, connection = await _a_given_up_insert(tmp_path / "inline.sqlite")
    try:
        # A read now must not run in the loop's thread beside the insert: it waits for it.
        read = asyncio.create_task(connection.execute_fetchall("SELECT count(*) FROM basket"))
        await asyncio.sleep(0.2)
        assert not read.done()
        holder.execute("COMMIT")
        assert list(await asyncio.wait_for(read, 5)) == [(1,)]
        # Once the thread is idle again, reads run inline as before.
        assert connection._handed == connection._finished
        assert list(await connection.execute_fetchall("SELECT id FROM basket")) == [(1,)]
        assert connection._handed == connection._finished
    finally:
        await connection.close()
        holder.close()


async def test_closing_waits_for_the_statement_its_thread_still_runs(tmp_path: Path) -> None:
    holder, connection = await _a_given_up_insert(tmp_path / "close.sqlite")
    closing = asyncio.create_task(connection.close())
    await asyncio.sleep(0.2)
    assert not closing.done()  # closing under the running insert would crash the process
    holder.execute("COMMIT")
    await asyncio.wait_for(closing, 5)
    assert holder.execute("SELECT count(*) FROM basket").fetchall() == [(1,)]
    holder.close()
