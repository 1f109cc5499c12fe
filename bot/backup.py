"""``desserte backup FILE``: a consistent copy of the SQLite database, even while the bot runs.

SQLite's online backup API copies the database page by page under its own locks, so the copy is
a snapshot of one moment (WAL included) and the bot keeps serving meanwhile. PostgreSQL has its
own tools (``pg_dump``); this command says how instead of pretending.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup cannot be made; ``str()`` says why and what to do."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of an SQLite URL, or None for another database (or an in-memory one)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def backup(database_url: str, destination: Path) -> int:
    """Copy the database at ``database_url`` to ``destination``; returns the copy's size.

    Raises :class:`BackupError` for a database this command cannot copy.
    """
    source = sqlite_path(database_url)
    if source is None:
        raise BackupError(
            "PostgreSQL: use pg_dump, e.g. `pg_dump --format=custom --file=desserte.dump "
            "<database>`, and pg_restore to restore it"
        )
    if not source.exists():
        raise BackupError(f"no database at {source}")
    destination = destination.resolve()
    if destination == source.resolve():
        raise BackupError("the copy cannot overwrite the database itself")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".partial")
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
        sqlite3.connect(partial) as dst,
    ):
        src.backup(dst, pages=256)
    partial.replace(destination)  # a reader never sees half a copy
    return destination.stat().st_size
