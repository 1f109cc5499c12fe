"""Shared fixtures: a fresh database per test (SQLite by default, PostgreSQL when
``DATABASE_URL`` names one), the application factory and the sandbox.

PostgreSQL tests: set ``DATABASE_URL=postgresql+asyncpg://…`` and run ``pytest -m database``.
Without a reachable server they skip with the reason, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import add_default_network, create_engine, create_schema, drop_schema, sessionmaker
from tests.database_rows import put_back, sequences

POSTGRES_URL = os.environ.get("DATABASE_URL", "")
USE_POSTGRES = POSTGRES_URL.startswith("postgresql")
_pg_schema_ready = False
_sqlite_template: Path | None = None
"""An empty SQLite database with the schema, made once per run: each test gets a copy."""


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL ' + POSTGRES_URL if USE_POSTGRES else 'SQLite (per-test file)'}"


async def _postgres_engine() -> AsyncEngine:
    global _pg_schema_ready
    engine = create_engine(POSTGRES_URL)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (OSError, Exception) as exc:
        await engine.dispose()
        reason = f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    if not _pg_schema_ready:
        await _commits_unflushed(engine)
        await drop_schema(engine)
        await create_schema(engine)
        _pg_schema_ready = True
    else:
        await _emptied(engine)
    return engine


async def _commits_unflushed(engine: AsyncEngine) -> None:
    """The test database's later connections commit without waiting for the WAL to reach the
    disk (``synchronous_commit = off``): what a commit makes visible, and when, is unchanged —
    only a crash of the server itself could lose the last commits, which no test does. The
    database tests commit thousands of times: about a seventh of their time was that wait.
    Kept when the role may not set it (the tests then only run slower)."""
    await _alter_test_database(engine, "SET synchronous_commit = off")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The test database's commits wait for the disk again (see :func:`_commits_unflushed`)."""
    if _pg_schema_ready:
        asyncio.run(_alter_test_database(create_engine(POSTGRES_URL), "RESET synchronous_commit"))


async def _alter_test_database(engine: AsyncEngine, change: str) -> None:
    """``ALTER DATABASE`` (the one ``engine`` is on) ``change``, for the connections made from
    now on; a warning when it cannot be done (a speed-up only). Disposes of ``engine``."""
    try:
        async with engine.connect() as connection:
            await connection.execute(
                text(
                    "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I "
                    + change.replace("'", "''")
                    + "', current_database()); END $$"
                )
            )
            await connection.commit()
    except Exception as exc:
        warnings.warn(f"ALTER DATABASE … {change}: not done: {exc}", stacklevel=1)
    finally:
        await engine.dispose()  # the connections made from now on read the setting


async def _emptied(engine: AsyncEngine) -> None:
    """The PostgreSQL test database as :func:`create_schema` leaves it: every table emptied,
    every sequence back at its start (:func:`tests.database_rows.put_back`: about 15 ms a test,
    where a ``TRUNCATE`` of every table took about 95), the default network written again."""
    async with engine.begin() as connection:
        unused = dict.fromkeys(await sequences(connection), (None, False))
        await put_back(connection, ({}, unused))
        await add_default_network(connection)


def _whole(database: Path) -> Path:
    """``database``, once nothing of it is left outside its file (a copy of the file alone is
    then the whole database)."""
    if any(database.with_name(database.name + end).exists() for end in ("-wal", "-journal")):
        raise RuntimeError(f"{database} is not whole in its file")
    return database


async def _sqlite_engine(tmp_path: Path, base: Path) -> AsyncEngine:
    """A copy of the run's empty SQLite database (the schema made once: ``create_all`` took
    about 65 ms a test)."""
    global _sqlite_template
    if _sqlite_template is None:
        template = base / "schema-template.sqlite3"
        made = create_engine(f"sqlite+aiosqlite:///{template}")
        try:
            await create_schema(made)
        finally:
            await made.dispose()  # the last connection closed: the file holds everything
        _sqlite_template = _whole(template)
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    return create_engine(f"sqlite+aiosqlite:///{path}")


@pytest.fixture
async def engine(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """A database with the schema, empty, private to this test."""
    if USE_POSTGRES:
        db = await _postgres_engine()
    else:
        db = await _sqlite_engine(tmp_path, tmp_path_factory.getbasetemp())
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory on the test database."""
    return sessionmaker(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session on the test database."""
    async with sessions() as db_session:
        yield db_session


class Clock:
    """A simulated clock the app and the tests share; ``advance`` moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A simulated clock set to Saturday 5 December 2026, 10:00 in Paris."""
    return Clock(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that touches the database is marked ``database`` (CI reruns them on PG)."""
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)


ADMIN_TELEGRAM_ID = 900_001


@pytest.fixture
def settings(engine: AsyncEngine):
    """Settings for the test application (one admin; no .env file read)."""
    from bot.settings import load_settings

    return load_settings(
        _env_file=None,
        database_url=str(engine.url.render_as_string(hide_password=False)),
        admin_ids=str(ADMIN_TELEGRAM_ID),
        telegram_bot_token=None,
    )


@pytest.fixture
def sandbox():
    """A fresh sandbox Telegram."""
    from bot.sandbox import Sandbox

    return Sandbox()


@pytest.fixture
async def app(settings, engine: AsyncEngine, sandbox, clock: Clock) -> AsyncIterator[object]:
    """The real application, wired to the sandbox and the test database, started."""
    from tests.admin_support import running_app

    async with running_app(settings, engine, sandbox, clock, rate_limiter=False) as application:
        yield application
