"""Database migrations (Alembic) run from Python: ``upgrade(url)`` brings a database to head.

The revisions are the repository's ``migrations/``, shipped as ``bot/migrations/`` in the wheel
(:func:`handlers.package_data.shipped_dir`). ``alembic.ini`` is the ``alembic`` command's
configuration in a checkout (writing revisions); running them needs only the folder.
"""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

from handlers.package_data import shipped_dir


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration for ``database_url``: the shipped revisions, no logging setup."""
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("bot", "migrations")))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at ``database_url`` to ``revision`` (synchronous; not in a loop)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """:func:`upgrade` from inside a running event loop (Alembic's env.py runs its own loop)."""
    await asyncio.to_thread(upgrade, database_url, revision)
