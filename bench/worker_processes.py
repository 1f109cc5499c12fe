"""workers: real ``desserte run`` workers in webhook mode on PostgreSQL, 1 then 2 of them.

For each number of workers, on a fresh database: the benchmarks' network (``bench.network``:
40 × 15 products, an open cycle, the consumers), the workers behind the sandbox acting as the
reverse proxy (round-robin), then every consumer's ordering session of ``bench.updates`` (14
updates, 20 sessions at once) through the webhook, and a broadcast to every consumer. Figures:
updates handled per second, the 95th percentile of one update (from the webhook's POST to the
bot's answer in the chat), and the broadcast's seconds from "Envoyer" until every copy is
settled (the shared sending budget: 25 messages a second among the workers).

One network; ``bench/networks.py`` measures many networks in one process.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.common import BenchResult, Options, empty, percentile
from bench.network import Network, build_network
from bench.updates import CONSUMER_SESSION, Run, StepMissing, bot_step
from bench.workers import fresh_database, start_workers, until, wait_healthy, worker_environment
from bot.db import create_engine, sessionmaker
from bot.migrate import upgrade_async
from bot.rate_limiter import SHARED_RATE
from bot.sandbox import SandboxUser
from bot.sandbox.http_server import SandboxHttpServer
from bot.sandbox.hub import SandboxHub
from models import CycleEvent, OutboxMessage
from models.outbox import Kind, OutboxState

log = logging.getLogger(__name__)

KEYS = (
    "consumers",
    "updates_per_s_1w",
    "p95_ms_1w",
    "broadcast_s_1w",
    "updates_per_s_2w",
    "p95_ms_2w",
    "broadcast_s_2w",
)
TOKEN = "7101:BENCHnetworkstoken"
WORKER_COUNTS = (1, 2)
MARKER = "Diffusion du banc"


async def _answered(user: SandboxUser, before: dict[int, int]) -> None:
    """Wait until the bot put a new message in ``user``'s chat or changed one."""
    # A poll, not an event: the chat changes in the sandbox's HTTP handler, not here.
    while all(before.get(m.message_id) == m.edits for m in user.messages) and len(  # noqa: ASYNC110
        user.messages
    ) == len(before):
        await asyncio.sleep(0.002)


async def _sessions(
    users: list[SandboxUser], network: Network, options: Options
) -> tuple[Run, float]:
    run = Run()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(users)):
        queue.put_nowait(index)
    started = time.perf_counter()
    deadline = started + options.budget_s if options.budget_s else None

    async def consumer() -> None:
        while not queue.empty():
            if deadline is not None and time.perf_counter() > deadline:
                return
            index = queue.get_nowait()
            user = users[index]
            try:
                for step in CONSUMER_SESSION:
                    before = {m.message_id: m.edits for m in user.messages}
                    begun = time.perf_counter()
                    await bot_step(user, index, network, step)
                    await asyncio.wait_for(_answered(user, before), 15)
                    # The answer may come in two calls (a pop-up, then the edit): let it settle.
                    await asyncio.sleep(0.02)
                    run.latencies.append(time.perf_counter() - begun - 0.02)
                    run.updates += 1
                run.sessions += 1
            except (StepMissing, TimeoutError) as exc:
                run.failures.append(str(exc))

    await asyncio.gather(*(consumer() for _ in range(options.concurrency)))
    run.seconds = time.perf_counter() - started
    return run, run.seconds


async def _broadcast(admin: SandboxUser, engine_url: str, recipients: int) -> float | None:
    """The admin broadcasts to every consumer; seconds until every copy is settled."""
    engine = create_engine(engine_url)
    try:
        await admin.send("/diffusion")
        await until(
            lambda: any("Nouvelle diffusion" in (m.body or "") for m in admin.messages[-1:]),
            20,
            "asked for the text",
        )
        await admin.send(f"{MARKER} : la distribution de jeudi est avancée à 16 h.")
        for pattern in ("Tous les consommateurs", "Envoyer à"):

            async def offered(pattern: str = pattern) -> bool:
                return any(
                    pattern in b for m in admin.messages[-1:] for row in m.buttons for b in row
                )

            await until(offered, 20, pattern)
            started = time.perf_counter()
            await admin.press(pattern)

        async def settled() -> bool:
            async with sessionmaker(engine)() as session:
                done = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.kind == Kind.BROADCAST,
                        OutboxMessage.state.not_in([OutboxState.PENDING, OutboxState.SENDING]),
                    )
                )
            return int(done or 0) >= recipients

        await until(settled, recipients / 10 + 60, "the broadcast settled")
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def _one(options: Options, workers: int, folder: Path) -> dict[str, float | None]:
    assert options.database_url is not None
    url = await fresh_database(options.database_url, f"workers_{workers}w")
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        network = await build_network(engine, options.consumers)
        async with sessionmaker(engine)() as session:  # the opening was announced already
            await session.execute(
                insert(CycleEvent),
                [
                    {"cycle_id": network.cycle_id, "kind": kind}
                    for kind in ("producer_prompts", "open_announced")
                ],
            )
            await session.commit()
    finally:
        await engine.dispose()
    hub = SandboxHub([TOKEN])
    server = SandboxHttpServer(hub)
    await server.start()
    bot = hub.bot(int(TOKEN.split(":")[0]))
    users = [
        bot.user(f"Conso{k + 1}", language="fr", user_id=tid)
        for k, tid in enumerate(network.consumer_telegram_ids)
    ]
    admin = bot.user("Admin", language="fr", user_id=network.admin_telegram_id)
    environment = worker_environment(url, TOKEN, server.url, str(network.admin_telegram_id))
    running = start_workers(workers, environment, folder)
    bot.upstreams = [w.url for w in running]
    try:
        await wait_healthy(running)
        await until(lambda: bool(bot.webhook.get("url")), 40, "webhook set")
        run, _seconds = await _sessions(users, network, options)
        if run.failures:
            log.warning("%d sessions failed: %s", len(run.failures), run.failures[0])
        seconds = await _broadcast(admin, url, len(users))
    finally:
        for worker in running:
            await asyncio.to_thread(worker.stop)
        await server.stop()
    p95 = percentile(run.latencies, 0.95)
    return {
        "updates_per_s": run.per_second,
        "p95_ms": None if p95 is None else round(p95 * 1000, 1),
        "broadcast_s": None if seconds is None else round(seconds, 2),
    }


async def run(options: Options) -> BenchResult:
    """1 and 2 workers on PostgreSQL, one network; nulls on SQLite (one process only)."""
    if not options.database_url or not options.database_url.startswith("postgresql"):
        return empty("workers", KEYS, "waiting", "needs --database postgresql+asyncpg://…")
    figures: dict[str, float | int | None] = {"consumers": options.consumers}
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as folder:
        for workers in WORKER_COUNTS:
            measured = await _one(options, workers, Path(folder))
            for key, value in measured.items():
                figures[f"{key}_{workers}w"] = value
    return BenchResult(
        name="workers",
        figures=figures,
        note=(
            "real desserte run workers behind the sandbox as proxy, one network; "
            f"broadcast paced at {SHARED_RATE:g}/s shared"
        ),
    )
