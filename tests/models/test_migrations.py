"""Alembic: an empty database upgraded to head matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import drop_schema
from bot.migrate import upgrade_async
from models import Base
from tests.conftest import USE_POSTGRES


async def test_upgrade_to_head_matches_models(engine: AsyncEngine):
    await drop_schema(engine)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    url = engine.url.render_as_string(hide_password=False)
    await upgrade_async(url)

    def diff(sync_connection):
        context = MigrationContext.configure(
            sync_connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []
    if USE_POSTGRES:
        # Leave the shared PostgreSQL database as the other tests expect it.
        await drop_schema(engine)
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        from tests import conftest

        conftest._pg_schema_ready = False
