"""The query planner's statistics, which SQLite keeps only when asked (``ANALYZE``).

Without them SQLite takes every index as equally selective. A statement joining the order
lines to their orders and filtered on the order's cycle (the weighing, a price change's count
of the lines it touches, the cycle's report) then starts from the lines' network index: it
walks every line the network ever had, so it slows down week after week (20 weeks of history:
2 ms became 45 ms; ``bench/README.md``). With the tables' statistics it starts from the
cycle's orders. PostgreSQL keeps its own (autovacuum analyses the tables as they grow).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models.unit_of_work import writing

_refreshes = 0
"""How many times this process refreshed the statistics: a connection opened before the last
refresh plans without them (``bot.db`` opens it again at its next checkout)."""


def statistics_generation() -> int:
    """The number of the statistics' last refresh in this process; a connection opened at an
    older one plans with old statistics."""
    return _refreshes


async def refresh_query_statistics(session: AsyncSession) -> bool:
    """Give SQLite's planner the tables' statistics as they are now, for every connection of
    the session's engine; True when it did, False on PostgreSQL (nothing to do). Commits.

    ``ANALYZE`` reads each index once (0.1 s at 20 weeks of a full network). A SQLite
    connection loads the statistics when it opens and not after (a later ``ANALYZE`` by another
    connection does not reach it), so the refresh moves :func:`statistics_generation` on and
    ``bot.db`` opens each older connection again when it is next taken from the pool.
    """
    global _refreshes
    engine = session.bind
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "sqlite":
        return False
    async with writing(session):
        await session.execute(text("ANALYZE"))
        await session.commit()
    _refreshes += 1
    return True
