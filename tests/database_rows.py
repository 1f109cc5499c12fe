"""A PostgreSQL test database's rows put back as they were, in the caller's transaction: every
table emptied by ``DELETE`` (not ``TRUNCATE``: a test leaves a few rows, and a ``TRUNCATE`` of
every table makes each table's and index's files anew), the rows given inserted again, the
sequences set back. The tests' fresh database (``tests/conftest.py``) and the killed tests'
copies (``tests/reliability/test_killed_statements.py``) both start so."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from models import Base

Saved = tuple[dict[str, list[dict[str, Any]]], dict[str, tuple[int | None, bool]]]
"""A database's rows by table, and its sequences' values (``(last value, called)``; ``None``:
never used)."""


async def sequences(connection: AsyncConnection) -> dict[str, tuple[int | None, bool]]:
    """Every sequence's value, as :data:`Saved` holds them."""
    return {
        name: (last, last is not None)
        for name, last in await connection.execute(
            text("SELECT sequencename, last_value FROM pg_sequences")
        )
    }


async def put_back(connection: AsyncConnection, saved: Saved) -> None:
    """The database as ``saved`` holds it: its tables' rows (a table it does not name is left
    empty) and its sequences' values."""
    rows, values = saved
    tables = Base.metadata.sorted_tables
    for table in reversed(tables):  # a row before what it refers to
        await connection.execute(table.delete())
    for table in tables:
        if rows.get(table.name):
            await connection.execute(table.insert(), rows[table.name])
    for name, (last, called) in values.items():
        await connection.execute(
            text("SELECT setval(:name, :value, :called)"),
            {"name": name, "value": last or 1, "called": called},
        )
