"""Alembic environment (async): migrates the database named by DATABASE_URL or the caller."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from bot.db import create_engine
from models import Base

config = context.config
if config.config_file_name is not None:  # the alembic command, with alembic.ini
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from bot.settings import load_settings

        url = load_settings().database_url
    return str(url)


def run_migrations_offline() -> None:
    """Emit the SQL of the migrations without a database connection."""
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        await connection.run_sync(_run)
        return
    # SQLite: the batch operations rebuild a table by copy, drop and rename, which its foreign
    # keys would refuse for a table other rows point at; they are off during the migration and
    # checked whole at its end.
    engine = create_engine(_url(), foreign_keys=False)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        if conn.dialect.name == "sqlite":
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
