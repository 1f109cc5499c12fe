"""SQLite's connection runs a call in the loop's thread only while its own thread is idle.

``bot.db.InlineSqliteConnection`` runs reads inline and hands what may wait on a lock to the
connection's thread. A statement whose caller gave up (a cancelled task, a killed process) still
runs on that thread; a call made meanwhile must queue behind it, never run beside it: sqlite3's
connection used by two threads at once crashed the process when it was closed under a running
statement. And closing ends a transaction a cancelled read left open.
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


async def test_closing_with_a_read_left_unfinished_frees_the_write_lock(tmp_path: Path) -> None:
    """A transaction's read whose caller was cancelled before reading it all: closing the
    connection must end the transaction. sqlite3 closing a connection whose cursor still holds
    a statement leaves it open, write lock and all, until that cursor is freed: every other
    writer then waits out the busy timeout and fails with "database is locked"."""
    path = tmp_path / "unfinished.sqlite"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE basket (id INTEGER)")
    setup.executemany("INSERT INTO basket VALUES (?)", [(n,) for n in range(100)])
    setup.close()
    connection = InlineSqliteConnection(
        lambda: sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False),
        64,
    )
    await connection
    await connection.execute("BEGIN IMMEDIATE")
    await connection.execute("INSERT INTO basket VALUES (1000)")
    unfinished = await connection.execute("SELECT id FROM basket")
    assert await unfinished.fetchone() == (0,)  # one row read of 101: the statement stays open
    await connection.close()
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # "database is locked" while the closed one holds it
        assert other.execute("SELECT count(*) FROM basket").fetchone() == (100,)  # undone
        other.execute("ROLLBACK")
    finally:
        other.close()
        del unfinished
