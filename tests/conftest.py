"""Shared fixtures: a fresh database per test (SQLite by default, PostgreSQL when
``DATABASE_URL`` names one), the application factory and the sandbox.

PostgreSQL tests: set ``DATABASE_URL=postgresql+asyncpg://…`` and run ``pytest -m database``.
Without a reachable server they skip with the reason, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import add_default_network, create_engine, create_schema, drop_schema, sessionmaker
from models import Base

POSTGRES_URL = os.environ.get("DATABASE_URL", "")
USE_POSTGRES = POSTGRES_URL.startswith("postgresql")
_pg_schema_ready = False


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
        await drop_schema(engine)
        await create_schema(engine)
        _pg_schema_ready = True
    else:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            await add_default_network(connection)
    return engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A database with the schema, empty, private to this test."""
    if USE_POSTGRES:
        db = await _postgres_engine()
    else:
        db = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}")
        await create_schema(db)
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
