"""1,000 people who send /catalogue at the same moment all get the catalog, with the production
rate limiter and a small connection pool: no update holds a database connection while it waits
to send."""

from __future__ import annotations

import asyncio
import time

from bot.db import create_engine
from bot.rate_limiter import ChatRateLimiter
from tests.admin_support import make_members, running_app
from tests.factories import make_network

PEOPLE = 1_000
# Long enough for the work of the updates queued ahead (a loaded 2-core machine handles about
# a hundred a second), far shorter than 1,000 sends of 0.2 s through 5 held connections (40 s).
POOL_TIMEOUT = 25


async def test_1000_simultaneous_catalogues_get_1000_answers(engine, session, sandbox, clock):
    from bot.settings import load_settings

    network = await make_network(session, clock())
    pairs = await make_members(session, sandbox, PEOPLE, pickup=network["central"])
    small = create_engine(
        engine.url.render_as_string(hide_password=False),
        pool_size=5,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT,
    )
    settings = load_settings(
        _env_file=None,
        database_url=small.url.render_as_string(hide_password=False),
        telegram_bot_token=None,
    )
    # Telegram's per-chat and burst rules as in production; the overall pace raised so that
    # 1,000 answers take seconds, not the 33 s of 30 a second.
    pace = ChatRateLimiter(overall_per_second=400, max_retries=3)
    # Telegram answers in a fifth of a second, as over a real network.
    sandbox.faults.inject("sendMessage", "stall", times=None, stall_seconds=0.2)
    held: list[int] = []
    try:
        async with running_app(settings, small, sandbox, clock, rate_limiter=pace):
            pool = small.sync_engine.pool

            async def watch() -> None:
                while True:
                    held.append(pool.checkedout())
                    await asyncio.sleep(0.01)

            watcher = asyncio.create_task(watch())
            started = time.monotonic()
            await asyncio.gather(*(user.send("/catalogue") for user, _member in pairs))
            elapsed = time.monotonic() - started
            watcher.cancel()
    finally:
        await small.dispose()
    answered = [
        user for user, _m in pairs if user.messages and "Légumes" in str(user.last_message.buttons)
    ]
    assert len(answered) == PEOPLE
    assert sandbox.stats.statuses.get(429, 0) == 0
    assert max(held) <= 5
    assert elapsed < 40
