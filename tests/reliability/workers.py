"""The workers' proof harness: ``desserte run`` processes in webhook mode behind the sandbox.

The sandbox (in the test's process, served over HTTP as ``desserte sandbox`` serves it) is both
Telegram and the reverse proxy: it spreads each bot's updates over the workers' ports in turn,
with the secret header, passing an update on to the next worker when one does not answer. Every
worker is a real ``python -m bot.cli run --port N`` process on one PostgreSQL database of its
own (created fresh, migrated with Alembic, seeded with ``bench.network``'s bulk writes).

One :class:`ServedNetwork` per network (a bot token, its members, its seeded cycle): the checks
take one and say what they found about it, so a second network (a second token and its people)
is one more item in :attr:`Harness.networks`.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.network import Network, build_network
from bot.db import create_engine, sessionmaker
from bot.migrate import upgrade_async
from bot.sandbox import MessageRecord, Sandbox, SandboxUser
from bot.sandbox.core import SentCall
from bot.sandbox.http_server import SandboxHttpServer
from bot.sandbox.hub import SandboxHub
from bot.settings import Settings
from models import OutboxMessage

ROOT = Path(__file__).resolve().parents[2]
HOOK_PATH = "/tg-harness-3f9c1e7a"
SECRET = "harness-secret-0123456789"
RESEND_MARK = "🔁"
START_TIMEOUT = 40.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(condition: Callable[[], bool | Awaitable[bool]], limit: float, what: str) -> None:
    """Wait until ``condition()`` holds; AssertionError naming ``what`` after ``limit`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not in {limit:.0f} s: {what}")
        # Not too often: this loop also serves the sandbox, whose clock measures the pace.
        await asyncio.sleep(0.25)


async def fresh_database(base_url: str, suffix: str) -> str:
    """A new, empty PostgreSQL database beside ``base_url``'s (dropped first if it exists);
    returns its URL."""
    url = make_url(base_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url.set(database="postgres").render_as_string(hide_password=False))
    try:
        async with admin.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@dataclass
class Worker:
    """One ``desserte run`` process in webhook mode on ``port``; its output in ``log``."""

    name: str
    port: int
    environment: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where the reverse proxy reaches it."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process."""
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--port", str(self.port)],
                cwd=self.log.parent,
                env=self.environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process is not None and self.process.poll() is None

    async def healthy(self) -> bool:
        """Whether it answers ``GET /healthz``."""
        try:
            async with httpx.AsyncClient(timeout=1) as client:
                return (await client.get(f"{self.url}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: the process dies at once, whatever it was doing."""
        if self.process is not None and self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop within 10 s."""
        if self.process is None or not self.alive:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        """What it printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class ServedNetwork:
    """One network on the harness: its bot (token, sandbox), its seeded data and its people."""

    token: str
    bot: Sandbox
    data: Network
    consumers: list[SandboxUser]
    admin: SandboxUser

    @property
    def bot_id(self) -> int:
        """The bot's id (the number before the token's colon)."""
        return int(self.token.split(":", 1)[0])


@dataclass
class Harness:
    """The sandbox, the database, the networks and the workers of one proof run."""

    database_url: str
    folder: Path
    hub: SandboxHub
    server: SandboxHttpServer
    networks: list[ServedNetwork] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    async def add_network(self, token: str, consumers: int) -> ServedNetwork:
        """Seed a network (an open cycle, ``consumers`` with a confirmed order each, an admin)
        and make its people on the bot of ``token``."""
        engine = create_engine(self.database_url)
        try:
            data = await build_network(engine, consumers, with_orders=True)
        finally:
            await engine.dispose()
        bot = self.hub.bot(int(token.split(":", 1)[0]))
        people = [
            bot.user(f"Conso{k + 1}", language="fr", user_id=telegram_id)
            for k, telegram_id in enumerate(data.consumer_telegram_ids)
        ]
        admin = bot.user("Admin", language="fr", user_id=data.admin_telegram_id)
        network = ServedNetwork(token, bot, data, people, admin)
        self.networks.append(network)
        return network

    def start_workers(self, count: int, **settings: str) -> list[Worker]:
        """Start ``count`` workers of the first network's bot, behind the sandbox as proxy."""
        network = self.networks[0]
        settings_names = {name.upper() for name in Settings.model_fields}
        inherited = {k: v for k, v in os.environ.items() if k not in settings_names}
        for n in range(count):
            environment = {
                **inherited,
                "PYTHONPATH": str(ROOT),
                "DATABASE_URL": self.database_url,
                "TELEGRAM_BOT_TOKEN": network.token,
                "TELEGRAM_API_URL": self.server.url,
                "WEBHOOK_URL": f"https://bot.example.org{HOOK_PATH}",
                "WEBHOOK_SECRET": SECRET,
                "ADMIN_IDS": str(network.data.admin_telegram_id),
                **settings,
            }
            worker = Worker(f"w{n + 1}", free_port(), environment, self.folder / f"w{n + 1}.log")
            worker.start()
            self.workers.append(worker)
        network.bot.upstreams = [w.url for w in self.workers]
        return self.workers

    async def wait_ready(self) -> None:
        """Every worker answers its health check and the bot's webhook is set."""
        for worker in self.workers:
            await until(lambda w=worker: _healthy_or_dead(w), START_TIMEOUT, f"{worker.name} up")
            assert worker.alive, worker.output()
        for network in self.networks:
            await until(
                lambda n=network: bool(n.bot.webhook.get("url")), START_TIMEOUT, "webhook set"
            )

    def worker_of_last_update(self, network: ServedNetwork) -> Worker:
        """The worker that took the bot's latest update (the one that answered it)."""
        post = next(p for p in reversed(network.bot.webhook_posts) if p.status == 200)
        return next(w for w in self.workers if post.url.startswith(w.url))

    def stop(self) -> None:
        """Stop every worker still running."""
        for worker in self.workers:
            worker.stop()


async def _healthy_or_dead(worker: Worker) -> bool:
    return not worker.alive or await worker.healthy()


async def open_harness(folder: Path, base_url: str) -> Harness:
    """A fresh database (migrated to head) beside ``base_url``'s and a sandbox server."""
    url = await fresh_database(base_url, "workers_proof")
    await upgrade_async(url)
    hub = SandboxHub()
    server = SandboxHttpServer(hub)
    await server.start()
    return Harness(url, folder, hub, server)


async def close_harness(harness: Harness) -> None:
    """Stop the workers and the sandbox server."""
    await asyncio.to_thread(harness.stop)
    await harness.server.stop()


# -- acting as the admin -----------------------------------------------------------------------


def button(person: SandboxUser, pattern: str) -> tuple[MessageRecord, str]:
    """The newest message of ``person`` with a button whose text matches ``pattern``, and the
    button's data (AssertionError if the newest keyboard has none)."""
    regex = re.compile(pattern, re.IGNORECASE)
    for message in reversed(person.messages):
        if message.reply_markup and not message.deleted:
            for row in message.reply_markup.get("inline_keyboard", []):
                for item in row:
                    if regex.search(item["text"]) and "callback_data" in item:
                        return message, item["callback_data"]
    raise AssertionError(f"no button like {pattern!r} for {person.first_name}")


async def has_button(person: SandboxUser, pattern: str) -> bool:
    """Whether a button like ``pattern`` is shown to ``person``."""
    try:
        button(person, pattern)
    except AssertionError:
        return False
    return True


async def press(person: SandboxUser, pattern: str) -> None:
    """``person`` presses the newest button like ``pattern`` (it must be there within 20 s)."""
    await until(lambda: has_button(person, pattern), 20, f"a button like {pattern!r}")
    message, data = button(person, pattern)
    await person.press_data(data, message=message)


# -- what the checks read ----------------------------------------------------------------------


def texts_since(person: SandboxUser, start: int) -> list[str]:
    """The bodies of the bot's messages to ``person`` from the ``start``-th on."""
    return [m.body or "" for m in person.messages[start:]]


def highest_pace(moments: Sequence[float], window: float = 1.0) -> int:
    """The most messages sent within any ``window`` seconds (a sliding window)."""
    ordered = sorted(moments)
    best = 0
    for i, moment in enumerate(ordered):
        best = max(best, bisect.bisect_left(ordered, moment + window) - i)
    return best


def densest_second(sent: Sequence[SentCall]) -> list[str]:
    """The messages of the busiest second, as ``+ms method chat``: what a failed pace shows."""
    ordered = sorted(sent, key=lambda call: call.at)
    moments = [call.at for call in ordered]
    best, start = 0, 0
    for i, moment in enumerate(moments):
        count = bisect.bisect_left(moments, moment + 1.0) - i
        if count > best:
            best, start = count, i
    first = moments[start] if moments else 0.0
    return [
        f"+{(c.at - first) * 1000:.0f} ms {c.method} {c.chat_id}"
        for c in ordered[start : start + best]
    ]


async def outbox_states(engine: AsyncEngine, kind: str) -> dict[str, int]:
    """How many outbox rows of ``kind`` are in each state."""
    async with sessionmaker(engine)() as session:
        rows = await session.execute(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.kind == kind)
            .group_by(OutboxMessage.state)
        )
        return {str(state.value if hasattr(state, "value") else state): n for state, n in rows}
