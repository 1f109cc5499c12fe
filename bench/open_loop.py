"""The open-loop updates benchmark: updates arrive at a fixed rate, as real traffic does.

In the closed-loop benchmark (:mod:`bench.updates`) a simulated person taps again as soon as the
bot answered, so a slow bot is simply sent less. Here arrivals follow a Poisson schedule at a
given rate, independent of the replies: each arrival is the next gesture of a consumer whose
previous update was answered, or the first gesture of a new consumer when none is waiting. The
latency of an update runs from its *scheduled* arrival to its last reply, so a bot (or a
scheduler) that falls behind shows it.

The rate steps from the real peak (``PEAK_RATE``: about 10 updates/s for 1,800 consumers the
evening before the close) along 1-2-5 steps until the p95 passes ``GOAL_MS`` or updates queue
up, then twice more between the last rate that held and the first that did not. The bot and
the echo floor (:func:`bench.updates.echo_application`, on a sandbox of its own) run the same
ladder, level by level in turn, in one process, so both see the same noise.

Figures: ``bot_capacity_per_s`` and ``echo_capacity_per_s`` (the highest rate whose p95 ≤
``GOAL_MS`` without a queue), ``capacity_ratio`` = echo's / the bot's, the bot's p95 at the
real peak and its p50/p95/p99 at ten times the real peak. Every level is kept in ``extra``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.common import BenchResult, Options, bench_settings, empty, fresh_database, percentile
from bench.network import Network, add_consumers, build_network
from bench.updates import (
    CONSUMER_SESSION,
    StepMissing,
    bot_step,
    echo_application,
    echo_step,
    journey_missing,
)
from bot.sandbox import Sandbox, SandboxUser

log = logging.getLogger(__name__)

KEYS = (
    "bot_capacity_per_s",
    "echo_capacity_per_s",
    "capacity_ratio",
    "p95_ms_at_peak",
    "p50_ms_10x",
    "p95_ms_10x",
    "p99_ms_10x",
)
PEAK_RATE = 10.0
"""Updates per second at the real peak: 1,800 consumers the evening before the close."""
GOAL_MS = 50.0
LADDER = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
BELOW_PEAK = (5, 2, 1)
"""Tried in turn when even the real peak does not hold (a loaded machine), so that the
capacity is still a number."""
REFINEMENTS = 2
DRAIN_MS = 4 * GOAL_MS
"""A level queues up when its last answers come more than this long after its last arrival."""
WARM_UP_SESSIONS = 3
SEED = 11

Gesture = Callable[[SandboxUser, int], Awaitable[None]]
"""Perform gesture number ``k`` of a session for this user."""


@dataclass
class Level:
    """One rate's measurements."""

    rate: float
    offered: int = 0
    answered: int = 0
    backlog: int = 0
    """Updates still unanswered at the last arrival."""
    drain_ms: float = 0.0
    """From the last arrival until every answer."""
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def ms(self, share: float) -> float | None:
        """The ``share`` percentile of the latencies, in ms (2 decimals)."""
        value = percentile(self.latencies, share)
        return None if value is None else round(value * 1000, 2)

    @property
    def held(self) -> bool:
        """p95 within the goal, no queue, nothing failed."""
        p95 = self.ms(0.95)
        return (
            not self.failures and p95 is not None and p95 <= GOAL_MS and self.drain_ms <= DRAIN_MS
        )

    def to_json(self) -> dict[str, Any]:
        """The level as reported in ``extra``."""
        return {
            "rate": self.rate,
            "updates": self.answered,
            "p50_ms": self.ms(0.50),
            "p95_ms": self.ms(0.95),
            "p99_ms": self.ms(0.99),
            "backlog": self.backlog,
            "drain_ms": self.drain_ms,
            "held": self.held,
        }


class Side:
    """One application under the ladder: where its users come from and how they act."""

    def __init__(
        self,
        name: str,
        new_user: Callable[[], Awaitable[SandboxUser]],
        gesture: Callable[[SandboxUser, int, int], Awaitable[None]],
    ) -> None:
        self.name = name
        self.new_user = new_user
        self.gesture = gesture
        self.sessions = 0
        self.levels: list[Level] = []

    def capacity(self) -> float | None:
        """The highest rate that held, provided every lower rate held too."""
        best = None
        for level in sorted(self.levels, key=lambda lv: lv.rate):
            if not level.held:
                break
            best = level.rate
        return best

    def at(self, rate: float) -> Level | None:
        """The level measured at ``rate``, if any."""
        return next((lv for lv in self.levels if lv.rate == rate), None)


async def run_level(side: Side, rate: float, window_s: float, minimum: int) -> Level:
    """Offer ``side`` updates at ``rate`` per second (Poisson arrivals) for ``window_s`` seconds
    (at least ``minimum`` updates), then wait for every answer."""
    level = Level(rate=rate)
    count = max(minimum, math.ceil(rate * window_s))
    rng = random.Random(SEED + int(rate))
    ready: deque[tuple[SandboxUser, int, int]] = deque()
    pending: set[asyncio.Task[None]] = set()
    steps = len(CONSUMER_SESSION)

    async def one(user: SandboxUser, index: int, number: int, due: float) -> None:
        try:
            await side.gesture(user, index, number)
        except StepMissing as exc:
            level.failures.append(str(exc))
            user.forget()
            return
        except Exception as exc:  # one broken gesture must not hide the others' figures
            log.exception("%s: update of %s failed", side.name, user)
            level.failures.append(f"{type(exc).__name__}: {exc}")
            user.forget()
            return
        level.latencies.append(time.perf_counter() - due)
        level.answered += 1
        if number + 1 < steps:
            ready.append((user, index, number + 1))
        else:
            user.forget()

    due = time.perf_counter()
    for _ in range(count):
        due += rng.expovariate(rate)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if ready:
            user, index, number = ready.popleft()
        else:
            user, index, number = await side.new_user(), side.sessions, 0
            side.sessions += 1
        task = asyncio.create_task(one(user, index, number, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
        level.offered += 1
    level.backlog = len(pending)
    if pending:
        await asyncio.gather(*pending)
    level.drain_ms = round(max(0.0, time.perf_counter() - due) * 1000, 2)
    for user, _index, _number in ready:
        user.forget()
    side.levels.append(level)
    return level


async def warm_up(side: Side) -> None:
    """A few whole sessions one at a time, unmeasured (first renders, statement caches)."""
    for _ in range(WARM_UP_SESSIONS):
        user, index = await side.new_user(), side.sessions
        side.sessions += 1
        for number in range(len(CONSUMER_SESSION)):
            await side.gesture(user, index, number)
        user.forget()


async def ladder(sides: list[Side], window_s: float, minimum: int) -> None:
    """Step every side up :data:`LADDER` until it fails, in turn level by level (down
    :data:`BELOW_PEAK` if even the first fails); then refine each side's capacity between the
    last rate that held and the first that did not."""
    running = list(sides)
    for rate in LADDER:
        for side in list(running):
            level = await run_level(side, float(rate), window_s, minimum)
            if not level.held:
                running.remove(side)
        if not running:
            break
    for side in sides:
        for rate in BELOW_PEAK:
            if side.capacity() is not None:
                break
            await run_level(side, float(rate), window_s, minimum)
    for _ in range(REFINEMENTS):
        for side in sides:
            held = side.capacity()
            failed = [lv.rate for lv in side.levels if not lv.held and (held or 0) < lv.rate]
            if held is None or not failed:
                continue
            middle = float(round(math.sqrt(held * min(failed))))
            if held < middle < min(failed) and side.at(middle) is None:
                await run_level(side, middle, window_s, minimum)


def _window(options: Options) -> tuple[float, int]:
    """Seconds per level and the fewest updates per level, for this scale."""
    if options.scale < 0.05:  # the smoke test: it runs, that is all
        return 0.25, 10
    if options.scale < 1:
        return 1.5, 40
    return 5.0, 100


async def run(options: Options) -> BenchResult:
    """The echo floor and the real bot under the same open-loop ladder, in one process."""
    from bot.app import build_application, start_application, stop_application

    window_s, minimum = _window(options)
    url, engine = await fresh_database(options, "open_loop")
    try:
        network = await build_network(engine, options.consumers)
        echo_sandbox, bot_sandbox = Sandbox(), Sandbox()
        echo_app = echo_application(echo_sandbox)
        app = build_application(
            bench_settings(url, [network.admin_telegram_id]),
            request=bot_sandbox.request(),
            engine=engine,
            rate_limiter=False,
        )
        async with echo_app:
            echo_sandbox.attach(echo_app)
            await start_application(app)
            try:
                bot_sandbox.attach(app)
                missing = await journey_missing(bot_sandbox, network)
                if missing is not None:
                    return empty("open_loop", KEYS, "waiting", missing)
                echo, bot = _sides(echo_sandbox, bot_sandbox, engine, network)
                await warm_up(echo)
                await warm_up(bot)
                await ladder([echo, bot], window_s, minimum)
                if bot.at(PEAK_RATE * 10) is None:  # the goal's rate, even past saturation
                    await run_level(bot, PEAK_RATE * 10, window_s, minimum)
            finally:
                bot_sandbox.detach()
                echo_sandbox.detach()
                await stop_application(app)
    finally:
        await engine.dispose()
    return _result(echo, bot, window_s)


def _sides(
    echo_sandbox: Sandbox, bot_sandbox: Sandbox, engine: Any, network: Network
) -> tuple[Side, Side]:
    """The echo side (new sandbox users on demand) and the bot side (registered consumers,
    written in batches outside the measured gestures' own time)."""
    echo_count = 0
    unused: deque[int] = deque(network.consumer_telegram_ids)

    async def new_echo_user() -> SandboxUser:
        nonlocal echo_count
        echo_count += 1
        return echo_sandbox.user(f"Écho{echo_count}", language="fr")

    async def new_consumer() -> SandboxUser:
        if not unused:
            unused.extend(await add_consumers(engine, network, 200))
        tid = unused.popleft()
        # The name the network registered (``Conso<n>``): /start then has nothing to write.
        name = f"Conso{network.consumer_telegram_ids.index(tid) + 1}"
        return bot_sandbox.user(name, language="fr", user_id=tid)

    async def echo_gesture(user: SandboxUser, _index: int, number: int) -> None:
        await echo_step(user, number, CONSUMER_SESSION[number])

    async def bot_gesture(user: SandboxUser, index: int, number: int) -> None:
        await bot_step(user, index, network, CONSUMER_SESSION[number])

    return Side("echo", new_echo_user, echo_gesture), Side("bot", new_consumer, bot_gesture)


def _result(echo: Side, bot: Side, window_s: float) -> BenchResult:
    bot_capacity, echo_capacity = bot.capacity(), echo.capacity()
    peak, tenfold = bot.at(PEAK_RATE), bot.at(PEAK_RATE * 10)
    failures = [f for side in (echo, bot) for lv in side.levels for f in lv.failures]
    lines = [
        f"{side.name}: "
        + ", ".join(
            f"{lv.rate:g}/s {lv.ms(0.5)}/{lv.ms(0.95)}/{lv.ms(0.99)} ms" + ("" if lv.held else " ✗")
            for lv in sorted(side.levels, key=lambda lv: lv.rate)
        )
        for side in (echo, bot)
    ]
    note = f"Poisson arrivals, {window_s:g} s per rate; p50/p95/p99 per rate: " + " | ".join(lines)
    if failures:
        note += f"; {len(failures)} updates failed, first: {failures[0]}"
    return BenchResult(
        name="open_loop",
        figures={
            "bot_capacity_per_s": bot_capacity,
            "echo_capacity_per_s": echo_capacity,
            "capacity_ratio": (
                round(echo_capacity / bot_capacity, 2) if echo_capacity and bot_capacity else None
            ),
            "p95_ms_at_peak": peak.ms(0.95) if peak else None,
            "p50_ms_10x": tenfold.ms(0.50) if tenfold else None,
            "p95_ms_10x": tenfold.ms(0.95) if tenfold else None,
            "p99_ms_10x": tenfold.ms(0.99) if tenfold else None,
        },
        status="failed" if failures else "ok",
        note=note,
        extra={
            "echo_levels": [lv.to_json() for lv in echo.levels],
            "bot_levels": [lv.to_json() for lv in bot.levels],
            "bot_sessions": bot.sessions,
        },
    )
