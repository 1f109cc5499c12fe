"""SQLite's planner gets the tables' statistics, so a week's statements do not walk the whole
history: checked on the plans SQLite makes for the statements the weighing, a price change and
the cycle's report run, before and after the refresh, on a connection opened before it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.history import READS, run_read
from bench.network import add_history, build_network
from handlers import cycle_run
from models.query_statistics import refresh_query_statistics
from tests.factories import make_network

pytestmark = pytest.mark.database

WEEKS = 4
"""Weeks of history copied before the open one."""


def _sqlite_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's autovacuum keeps its own statistics")


async def _plans(engine: AsyncEngine, cycle_id: int) -> dict[str, list[str]]:
    """Each read's (:data:`bench.history.READS`) statements that read the order lines, as SQLite plans them on one
    connection of the engine's pool: the plan's steps, outer loop first."""
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if "order_line" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    plans: dict[str, list[str]] = {}
    for name, read in READS.items():
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", seen)
        try:
            await run_read(engine, cycle_id, read)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", seen)
        assert statements, name
        async with engine.connect() as connection:
            for statement, parameters in statements:
                # Run first, as the bot does: a statement run checks the schema is the one
                # the connection holds (a plan alone is made on the one it holds).
                await connection.exec_driver_sql(statement, parameters)
                rows = await connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters
                )
                plans[f"{name}: {statement[:60]!r}"] = [row[3] for row in rows]
    return plans


def _walking_history(plans: dict[str, list[str]]) -> dict[str, list[str]]:
    """The plans that go through every line the network has (its index, or no index)."""
    return {
        name: steps
        for name, steps in plans.items()
        if any("ix_order_line_network_id" in s or s.startswith("SCAN order_line") for s in steps)
    }


async def test_a_weeks_statements_start_from_its_orders_once_analysed(engine, session):
    _sqlite_only(engine)
    network = await build_network(engine, 30, with_orders=True)
    await add_history(engine, network.cycle_id, WEEKS)

    before = await _plans(engine, network.cycle_id)
    assert _walking_history(before), before  # what the refresh is for: without it, they do

    assert await refresh_query_statistics(session) is True
    after = await _plans(engine, network.cycle_id)
    assert _walking_history(after) == {}, after
    assert after.keys() == before.keys()


async def test_a_connection_opened_before_the_refresh_plans_with_it(engine, session):
    """A connection loads the statistics with the schema: one opened before a refresh, while
    the statistics said the network's lines were few, must plan with the new ones."""
    _sqlite_only(engine)
    network = await build_network(engine, 30, with_orders=True)
    await add_history(engine, network.cycle_id, WEEKS)
    assert await refresh_query_statistics(session) is True
    async with engine.begin() as connection:  # statistics that no longer fit the tables
        await connection.exec_driver_sql(
            "UPDATE sqlite_stat1 SET stat = '1000000 1' WHERE idx = 'ix_order_line_network_id'"
        )
    await engine.dispose()  # the pool's connections open with them
    async with engine.connect() as early:
        held = await _plans(engine, network.cycle_id)  # a second connection, back in the pool
        assert _walking_history(held)
        assert await refresh_query_statistics(session) is True
        await early.exec_driver_sql("SELECT 1")  # the one in use when it ran
    assert _walking_history(await _plans(engine, network.cycle_id)) == {}


async def test_the_close_refreshes_the_statistics(app, engine, session, clock):
    """The week's lines join the history at the close: the bot's close analyses the tables."""
    _sqlite_only(engine)
    network = await make_network(session, clock())
    analysed: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.strip().upper() == "ANALYZE":
            analysed.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        await cycle_run.close_and_dispatch(app, network["cycle"].id)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert analysed == ["ANALYZE"]
