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

_REFRESH_MARK = "query_statistics_refresh"
"""A table made and dropped with each refresh: the schema change that makes every connection
read the schema, and the statistics with it, again."""


async def refresh_query_statistics(session: AsyncSession) -> bool:
    """Give SQLite's planner the tables' statistics as they are now, for every connection to
    the database; True when it did, False on PostgreSQL (nothing to do). Commits.

    ``ANALYZE`` reads each index once (0.1 s at 20 weeks of a full network). A SQLite
    connection loads the statistics with the schema, and a later ``ANALYZE`` by another
    connection does not reach it (a connection opened before kept a 54 ms plan where a fresh
    one took 6 ms); a change of the schema does: each connection, in any process, reads the
    schema again before its next statement, and prepares its cached statements again. So the
    same transaction makes a table and drops it.
    """
    engine = session.bind
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "sqlite":
        return False
    async with writing(session):
        await session.execute(text("ANALYZE"))
        await session.execute(text(f"CREATE TABLE IF NOT EXISTS {_REFRESH_MARK} (x INTEGER)"))
        await session.execute(text(f"DROP TABLE {_REFRESH_MARK}"))
        await session.commit()
    return True
