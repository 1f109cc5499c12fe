"""One sending budget per bot, shared by every worker through PostgreSQL (models/send_pace.py)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine, sessionmaker
from models.send_pace import Slot, reserve
from tests.conftest import POSTGRES_URL

INTERVAL = 0.02


async def test_workers_reserving_at_once_get_evenly_spaced_slots(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the shared budget is for workers on PostgreSQL")
    # Three "workers": three engines, each with its own connections.
    workers = [create_engine(POSTGRES_URL) for _ in range(3)]
    try:

        async def slot(worker: AsyncEngine, bot_id: int) -> Slot:
            async with sessionmaker(worker)() as session:
                return await reserve(session, bot_id, INTERVAL)

        slots = await asyncio.gather(
            *(slot(workers[n % 3], 111) for n in range(45)),
            *(slot(workers[n % 3], 222) for n in range(5)),
        )
    finally:
        for worker in workers:
            await worker.dispose()
    alpha = sorted(s.at for s in slots[:45])
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(alpha)]
    # Every slot exactly one interval after the one before, whichever worker reserved it.
    assert min(gaps) >= INTERVAL - 1e-6
    # Reserved faster than the pace allows, they queue: later ones wait.
    assert max(s.wait for s in slots[:45]) >= INTERVAL * 5
    # A second bot has a budget of its own: its first slot is not queued behind the first's.
    assert min(s.wait for s in slots[45:]) < INTERVAL * 10
