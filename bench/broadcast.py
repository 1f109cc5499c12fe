"""The broadcast benchmark: an admin broadcasts to every consumer through the real bot, on a
sandbox enforcing Telegram's limits (30 messages per second overall, 1 per second per chat).

The admin goes through ``/diffusion`` as a person would (text, "Tous les consommateurs",
"Envoyer"); the clock runs from the press on "Envoyer" until every delivery is settled.
Figures: ``seconds``, ``floor_seconds`` (= recipients / 30: Telegram's limit, the best any bot
can do), ``ratio`` (= seconds / floor_seconds), ``recipients``, ``delivered`` (recipients whose
chat holds the message), ``duplicates`` (extra copies received) and ``http_429`` (answers
"Too Many Requests" the sandbox gave during the broadcast).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import time
from typing import Any

from bench.common import BenchResult, Options, bench_settings, empty, fresh_database, ratio
from bench.network import build_network
from bot.sandbox import MessageRecord, Sandbox, SandboxUser

log = logging.getLogger(__name__)

KEYS = ("seconds", "floor_seconds", "ratio", "recipients", "delivered", "duplicates", "http_429")
TELEGRAM_RATE = 30.0
TELEGRAM_LATENCY_S = 0.1
"""Seconds each Bot API call takes to come back, as from a server to Telegram's (50–150 ms)."""
MARKER = "Bench-diffusion-7f3a"
WAITING = "waiting for the broadcast feature"
READING_S = 2.1
"""Seconds the admin reads the preview before pressing "Envoyer" (outside the timing)."""


class Stuck(Exception):
    """The admin's conversation did not offer the expected button or answer."""


def _press_target(user: SandboxUser, pattern: str) -> tuple[MessageRecord, str]:
    regex = re.compile(pattern, re.IGNORECASE)
    for message in reversed(user.messages):
        if message.reply_markup and not message.deleted:
            for row in message.reply_markup.get("inline_keyboard", []):
                for button in row:
                    if regex.search(button["text"]) and "callback_data" in button:
                        return message, button["callback_data"]
            body = (message.body or "")[:70].replace("\n", " ")
            raise Stuck(f"no button like {pattern!r} under {body!r}: {message.buttons}")
    raise Stuck(f"no keyboard where {pattern!r} was expected")


async def _settled(app: Any, module: Any) -> None:
    """Return once no broadcast is being sent: ``wait_for_broadcasts`` when the handler module
    has it, else poll for broadcasts still ``sending``. Bound it with ``asyncio.timeout``."""
    waiter = getattr(module, "wait_for_broadcasts", None)
    if waiter is not None:
        await waiter(app)
        return
    from models.broadcasts import interrupted_broadcasts

    sessions = app.bot_data["services"].sessions
    while True:
        async with sessions() as session:
            if not await interrupted_broadcasts(session):
                return
        await asyncio.sleep(0.05)


async def run(options: Options) -> BenchResult:
    """Broadcast to every consumer and count what arrived; nulls while the feature is missing."""
    try:
        module = importlib.import_module("handlers.broadcast_sending")
        importlib.import_module("models.broadcasts")
    except ImportError as exc:
        return empty("broadcast", KEYS, "waiting", f"{WAITING} ({exc})")
    from bot.app import build_application, start_application, stop_application

    sandbox = Sandbox(strict_limits=True, latency=TELEGRAM_LATENCY_S)
    recipients = options.consumers
    floor = recipients / TELEGRAM_RATE
    url, engine = await fresh_database(options, "broadcast")
    try:
        network = await build_network(engine, recipients)
        people = [
            sandbox.user(f"Conso{i + 1}", language="fr", user_id=tid)
            for i, tid in enumerate(network.consumer_telegram_ids)
        ]
        admin = sandbox.user("Admin", language="fr", user_id=network.admin_telegram_id)
        app = build_application(
            bench_settings(url, [network.admin_telegram_id]),
            request=sandbox.request(),
            engine=engine,
        )
        await start_application(app)
        sandbox.attach(app)
        try:
            await admin.send("/diffusion")
            await admin.send(f"{MARKER} : la distribution de jeudi est avancée à 16 h.")
            message, data = _press_target(admin, r"tous les consommateurs|all consumers")
            await admin.press_data(data, message=message)
            message, data = _press_target(admin, r"envoyer|send")
            # A person reads the preview before sending it, as the broadcast tests do: the
            # benchmark's admin, answering in microseconds, had made four messages and edits in
            # the admin's chat within a second, and Telegram's limit of about one a second per
            # chat (edits included, burst 3) answered the "Envoyer" edit with a 429, whose
            # retry the broadcast's start waited for.
            await asyncio.sleep(READING_S)
            sandbox.stats.reset()
            started = time.perf_counter()
            await admin.press_data(data, message=message)
            async with asyncio.timeout(3 * floor + 60):
                await _settled(app, module)
            seconds = time.perf_counter() - started
            too_many = sandbox.stats.too_many_requests
        except Stuck as exc:
            return empty("broadcast", KEYS, "waiting", f"{WAITING}: {exc}")
        finally:
            sandbox.detach()
            await stop_application(app)
    finally:
        await engine.dispose()
    copies = [sum(MARKER in (m.body or "") for m in person.messages) for person in people]
    delivered = sum(1 for n in copies if n >= 1)
    duplicates = sum(n - 1 for n in copies if n > 1)
    return BenchResult(
        name="broadcast",
        figures={
            "seconds": round(seconds, 3),
            "floor_seconds": round(floor, 3),
            "ratio": ratio(seconds, floor),
            "recipients": recipients,
            "delivered": delivered,
            "duplicates": duplicates,
            "http_429": too_many,
        },
        note=f"strict sandbox limits ({TELEGRAM_RATE:.0f}/s overall), production rate limiter",
    )
