"""``desserte backup FILE`` and ``desserte restore FILE`` for the SQLite database.

SQLite's online backup API copies the database page by page under its own locks, so the copy is
a snapshot of one moment (WAL included) and the bot keeps serving meanwhile. A copy never lands
on one of the files SQLite uses for the live database (the database, its ``-wal``, ``-shm`` and
``-journal`` files): overwriting the write-ahead log would lose or corrupt what it holds.

Restoring checks the copy first (``PRAGMA integrity_check``, and that it is a desserte database
at the newest schema), keeps the current database next to it as ``NAME.before-restore-STAMP``,
then writes the copy into the live database through the same backup API, so a bot still
connected sees one consistent database. PostgreSQL has its own tools (``pg_dump``,
``pg_restore``); these commands say how instead of pretending.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from handlers.i18n import _


class BackupError(Exception):
    """The backup or the restore cannot be made; ``str()`` says why and what to do."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of an SQLite URL, or None for another database (or an in-memory one)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _live_database(database_url: str) -> Path:
    source = sqlite_path(database_url)
    if source is None:
        raise BackupError(
            _(
                "PostgreSQL : utilisez pg_dump, par exemple `pg_dump --format=custom "
                "--file=desserte.dump <base>`, et pg_restore pour la restaurer"
            )
        )
    if not source.exists():
        raise BackupError(_("pas de base de données à {path}").format(path=source))
    return source.resolve()


def is_live_file(database: Path, path: Path) -> bool:
    """Whether ``path`` is the live database or one of the files SQLite keeps beside it
    (``-wal``, ``-shm``, ``-journal``, a super-journal ``-mj…``)."""
    path = path.resolve()
    return path.parent == database.parent and (
        path.name == database.name or path.name.startswith(database.name + "-")
    )


def backup(database_url: str, destination: Path) -> int:
    """Copy the database at ``database_url`` to ``destination``; returns the copy's size.

    Raises :class:`BackupError` for a database this command cannot copy, or a destination that
    is one of the live database's own files.
    """
    source = _live_database(database_url)
    destination = destination.resolve()
    if is_live_file(source, destination):
        raise BackupError(
            _("{path} est un fichier de la base en service : choisissez un autre nom").format(
                path=destination
            )
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".partial")
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
        sqlite3.connect(partial) as dst,
    ):
        src.backup(dst, pages=256)
    partial.replace(destination)  # a reader never sees half a copy
    return destination.stat().st_size


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from bot.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def check_copy(copy: Path) -> None:
    """Raise :class:`BackupError` unless ``copy`` is a sound desserte database at the newest
    schema (``PRAGMA integrity_check`` says ``ok``, ``alembic_version`` names the head)."""
    if not copy.is_file():
        raise BackupError(_("pas de fichier à {path}").format(path=copy))
    try:
        with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as db:
            verdict = [row[0] for row in db.execute("PRAGMA integrity_check")]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            versions = (
                [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
                if "alembic_version" in tables
                else []
            )
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            _("{path} n’est pas une base SQLite lisible ({error})").format(path=copy, error=exc)
        ) from None
    if verdict != ["ok"]:
        raise BackupError(
            _("{path} est abîmée : {verdict}").format(path=copy, verdict="; ".join(verdict[:3]))
        )
    if not {"alembic_version", "product", "member", "cycle"} <= tables:
        raise BackupError(_("{path} n’est pas une base desserte").format(path=copy))
    head = _head_revision()
    if versions != [head]:
        raise BackupError(
            _(
                "{path} est au schéma {found}, pas au plus récent ({head}) : lancez "
                "`DATABASE_URL=sqlite+aiosqlite:///{path} desserte migrate` d’abord"
            ).format(path=copy, found=", ".join(versions) or "?", head=head)
        )


def restore(database_url: str, copy: Path, *, now: datetime | None = None) -> Path:
    """Replace the database at ``database_url`` with ``copy``, after checking it; returns where
    the previous database was kept (next to it, ``NAME.before-restore-YYYYmmdd-HHMMSS``).

    Raises :class:`BackupError`, having changed nothing, for a copy that is not a sound desserte
    database at the newest schema, or that is one of the live database's own files.
    """
    database = _live_database(database_url)
    copy = copy.resolve()
    if is_live_file(database, copy):
        raise BackupError(
            _("{path} est un fichier de la base en service, pas une copie").format(path=copy)
        )
    check_copy(copy)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    kept = database.with_name(f"{database.name}.before-restore-{stamp}")
    backup(database_url, kept)
    with (
        sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as src,
        sqlite3.connect(database, timeout=30) as dst,
    ):
        src.backup(dst, pages=256)
    return kept
