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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.network import Network, build_network
from bench.workers import (
    Worker,
    fresh_database,
    start_workers,
    until,
    wait_healthy,
    worker_environment,
)
from bot.db import create_engine, sessionmaker
from bot.migrate import upgrade_async
from bot.sandbox import MessageRecord, Sandbox, SandboxUser
from bot.sandbox.core import SentCall
from bot.sandbox.http_server import SandboxHttpServer
from bot.sandbox.hub import SandboxHub
from models import OutboxMessage
from models.network import ALL_NETWORKS, DEFAULT_NETWORK_ID
from models.networks import add_network

RESEND_MARK = "🔁"


@dataclass
class ServedNetwork:
    """One network on the harness: its bot (token, sandbox), its seeded data and its people."""

    token: str
    bot: Sandbox
    data: Network
    consumers: list[SandboxUser]
    admin: SandboxUser
    network_id: int = DEFAULT_NETWORK_ID
    """The network's row (the first one seeded is the default network)."""

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

    async def add_network(
        self, token: str, consumers: int, slug: str | None = None
    ) -> ServedNetwork:
        """Seed a network (an open cycle, ``consumers`` with a confirmed order each, an admin)
        and make its people on the bot of ``token``. The first is the default network (its
        token the workers' ``TELEGRAM_BOT_TOKEN``); another one, ``slug``, is added as
        ``desserte network add`` would, with its own bot."""
        engine = create_engine(self.database_url)
        network_id = DEFAULT_NETWORK_ID
        try:
            if slug is not None:
                async with sessionmaker(engine, ALL_NETWORKS)() as operator:
                    added = await add_network(
                        operator, slug, name=f"Réseau {slug}", bot_token=token
                    )
                    network_id = added.id
            data = await build_network(engine, consumers, with_orders=True, network_id=network_id)
        finally:
            await engine.dispose()
        bot = self.hub.bot(int(token.split(":", 1)[0]))
        people = [
            bot.user(f"Conso{k + 1}", language="fr", user_id=telegram_id)
            for k, telegram_id in enumerate(data.consumer_telegram_ids)
        ]
        admin = bot.user("Admin", language="fr", user_id=data.admin_telegram_id)
        network = ServedNetwork(token, bot, data, people, admin, network_id)
        self.networks.append(network)
        return network

    def start_workers(self, count: int, **settings: str) -> list[Worker]:
        """Start ``count`` workers serving every network (the first one's token as
        ``TELEGRAM_BOT_TOKEN``, the others' from the database), behind the sandbox as proxy."""
        network = self.networks[0]
        environment = worker_environment(
            self.database_url,
            network.token,
            self.server.url,
            str(network.data.admin_telegram_id),
            **settings,
        )
        self.workers += start_workers(count, environment, self.folder, len(self.workers) + 1)
        for served in self.networks:  # one proxy in front of every worker, for every bot
            served.bot.upstreams = [w.url for w in self.workers]
        return self.workers

    async def wait_ready(self) -> None:
        """Every worker answers its health check and the bot's webhook is set."""
        await wait_healthy(self.workers)
        for network in self.networks:
            await until(lambda n=network: bool(n.bot.webhook.get("url")), 40, "webhook set")

    def worker_of_last_update(self, network: ServedNetwork) -> Worker:
        """The worker that took the bot's latest update (the one that answered it)."""
        post = next(p for p in reversed(network.bot.webhook_posts) if p.status == 200)
        return next(w for w in self.workers if post.url.startswith(w.url))

    def stop(self) -> None:
        """Stop every worker still running."""
        for worker in self.workers:
            worker.stop()


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


async def outbox_states(
    engine: AsyncEngine, kind: str, network_id: int = DEFAULT_NETWORK_ID
) -> dict[str, int]:
    """How many outbox rows of ``kind`` network ``network_id`` has in each state."""
    async with sessionmaker(engine, network_id)() as session:
        rows = await session.execute(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.kind == kind)
            .group_by(OutboxMessage.state)
        )
        return {str(state.value if hasattr(state, "value") else state): n for state, n in rows}
