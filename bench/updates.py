"""The updates benchmark: simulated consumers ordering through the real bot, beside an echo bot.

Each simulated consumer runs one whole ordering session through the in-process sandbox —
``/start``, ``/catalogue``, a category, three products added (one with ➕ first), ``/panier``,
"Confirmer la commande" — with ``options.concurrency`` sessions in flight at once. On the same
sandbox, in the same process, a bare python-telegram-bot application that answers every update
with one message (to a text) or one edit (to a press) runs sessions of the same shape: the
framework's floor.

Figures: ``bot_per_s`` and ``echo_per_s`` (updates handled per second, wall clock),
``ratio`` = echo_per_s / bot_per_s, ``p95_ms`` (95th percentile of the bot's time per update,
from the person's tap until every reply is recorded) and ``users``. Both applications run
without PTB's rate limiter (as in the tests): the sandbox is not strict here, and the limiter
would measure Telegram's 30 messages per second, not the bot.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bench.common import (
    BenchResult,
    Options,
    bench_settings,
    fresh_database,
    peak_rss_mb,
    percentile,
    ratio,
)
from bench.network import PRODUCT_MARK, Network, build_network
from bot.db import sessionmaker
from bot.sandbox import MessageRecord, Sandbox, SandboxUser

log = logging.getLogger(__name__)

KEYS = ("bot_per_s", "echo_per_s", "ratio", "p95_ms", "users")
WAITING = "waiting for the consumer journey"


@dataclass(frozen=True)
class Step:
    """One gesture of the session: send ``text``, or press the button matching ``pattern``
    (a regex, case-insensitive; ``{category}`` and ``{product}`` pick by the user's index)."""

    name: str
    send: str | None = None
    pattern: str | None = None
    pick: int = 0


CONSUMER_SESSION: tuple[Step, ...] = (
    Step("start", send="/start"),
    Step("catalog", send="/catalogue"),
    Step("category", pattern="{category}"),
    Step("product 1", pattern="{product}", pick=0),
    Step("add", pattern=r"^\W*(ajouter|add)\b"),
    Step("back", pattern=r"retour|back"),
    Step("product 2", pattern="{product}", pick=1),
    Step("more", pattern="➕"),
    Step("add", pattern=r"^\W*(ajouter|add)\b"),
    Step("back", pattern=r"retour|back"),
    Step("product 3", pattern="{product}", pick=2),
    Step("add", pattern=r"^\W*(ajouter|add)\b"),
    Step("basket", send="/panier"),
    Step("confirm", pattern=r"confirmer la commande|confirm the order"),
)


class StepMissing(Exception):
    """The bot did not offer what the session needed (a feature not there yet, or changed)."""

    def __init__(self, step: Step, message: MessageRecord | None) -> None:
        body = (message.body or "")[:80].replace("\n", " ") if message else "no message"
        buttons = [b for row in message.buttons for b in row][:8] if message else []
        super().__init__(
            f"step {step.name!r}: no button like {step.pattern!r} in {body!r} {buttons}"
        )
        self.step = step


@dataclass
class Run:
    """What a batch of sessions measured."""

    updates: int = 0
    seconds: float = 0.0
    sessions: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float | None:
        """Updates handled per second of wall clock."""
        return round(self.updates / self.seconds, 1) if self.seconds and self.updates else None


def newest_keyboard(user: SandboxUser) -> MessageRecord | None:
    """The newest message in ``user``'s chat with buttons under it (None: there is none)."""
    for message in reversed(user.messages):
        if message.reply_markup and not message.deleted:
            return message
    return None


def _buttons(message: MessageRecord | None) -> list[dict[str, Any]]:
    if message is None or not message.reply_markup:
        return []
    return [b for row in message.reply_markup.get("inline_keyboard", []) for b in row]


def _choose(
    step: Step, message: MessageRecord | None, index: int, network: Network
) -> dict[str, Any]:
    buttons = [b for b in _buttons(message) if "callback_data" in b]
    if step.pattern == "{category}":
        found = [b for b in buttons if b["text"].startswith(network.categories)]
    elif step.pattern == "{product}":
        found = [b for b in buttons if PRODUCT_MARK in b["text"]]
    else:
        assert step.pattern is not None
        regex = re.compile(step.pattern, re.IGNORECASE)
        found = [b for b in buttons if regex.search(b["text"])]
    if not found:
        raise StepMissing(step, message)
    return found[(index + step.pick) % len(found)] if "{" in (step.pattern or "") else found[0]


async def _timed(run: Run, action: Any) -> None:
    started = time.perf_counter()
    await action
    run.latencies.append(time.perf_counter() - started)
    run.updates += 1


async def bot_step(user: SandboxUser, index: int, network: Network, step: Step) -> None:
    """One gesture of consumer ``index``'s session on the real bot; StepMissing if stuck."""
    if step.send is not None:
        await user.send(step.send)
        return
    message = newest_keyboard(user)
    button = _choose(step, message, index, network)
    assert message is not None
    await user.press_data(button["callback_data"], message=message)


async def echo_step(user: SandboxUser, number: int, step: Step) -> None:
    """Gesture number ``number`` of a session on the echo bot: a text per send, a press per
    press (on one of the echo's buttons)."""
    if step.send is not None:
        await user.send(step.send)
        return
    message = newest_keyboard(user)
    buttons = _buttons(message)
    assert message is not None
    assert buttons
    data = buttons[number % len(buttons)]["callback_data"]
    await user.press_data(data, message=message)


async def consumer_session(
    user: SandboxUser, index: int, network: Network, run: Run, steps: Sequence[Step]
) -> None:
    """One consumer's whole ordering session through the real bot; StepMissing if stuck."""
    for step in steps:
        await _timed(run, bot_step(user, index, network, step))


async def echo_session(user: SandboxUser, run: Run, steps: Sequence[Step]) -> None:
    """A session of the same shape on the echo bot: a text per send, a press per press."""
    for number, step in enumerate(steps):
        await _timed(run, echo_step(user, number, step))


def echo_application(sandbox: Sandbox) -> Application[Any, Any, Any, Any, Any, Any]:
    """A bare PTB application answering a text with one message and a press with one edit."""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(f"Bouton {row * 2 + col}", callback_data=f"b:{row * 2 + col}")
                for col in range(2)
            ]
            for row in range(4)
        ]
    )

    async def answer_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Écho", reply_markup=keyboard)

    async def answer_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.edit_message_text(f"Écho {query.id}", reply_markup=keyboard)

    application = sandbox.builder().build()
    application.add_handler(MessageHandler(filters.TEXT, answer_text))
    application.add_handler(CallbackQueryHandler(answer_press))
    return application


def forget_chat(user: SandboxUser) -> None:
    """Drop a finished session's transcript from the sandbox (:meth:`SandboxUser.forget`).

    Telegram keeps chat histories, not the bot: the memory figure must measure the bot, and
    1,800 × 14 recorded messages with every edit's earlier states would swamp it.
    """
    user.forget()


async def _sessions(
    users: Sequence[SandboxUser], concurrency: int, budget_s: float | None, session: Any
) -> tuple[float, int, list[str]]:
    """Run ``session(user, index)`` for every user, ``concurrency`` at once, none starting after
    ``budget_s``; returns the wall time, how many sessions ran and the failures (one line each)."""
    gate = asyncio.Semaphore(concurrency)
    failures: list[str] = []
    ran = 0
    started = time.perf_counter()
    deadline = None if budget_s is None else started + budget_s

    async def one(index: int, user: SandboxUser) -> None:
        nonlocal ran
        async with gate:
            if deadline is not None and time.perf_counter() > deadline:
                return
            ran += 1
            try:
                await session(user, index)
                forget_chat(user)
            except StepMissing as exc:
                failures.append(str(exc))
            except Exception as exc:  # one broken session must not hide the others' figures
                log.exception("session of %s failed", user)
                failures.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(one(i, u) for i, u in enumerate(users)))
    return time.perf_counter() - started, ran, failures


async def journey_missing(sandbox: Sandbox, network: Network) -> str | None:
    """Why the consumer journey cannot be benchmarked yet (None when ``/catalogue`` answers
    with category buttons)."""
    probe = sandbox.user("Sonde", language="fr", user_id=network.admin_telegram_id - 1)
    await probe.send("/catalogue")
    message = probe.messages[-1] if probe.messages else None
    labels = [b["text"] for b in _buttons(message)]
    if any(label.startswith(network.categories) for label in labels):
        return None
    said = (message.body or "")[:70].replace("\n", " ") if message else "nothing"
    return f"{WAITING} (/catalogue answered {said!r}, no category button)"


async def run(options: Options) -> BenchResult:
    """Echo floor then the real bot, on one sandbox; the bot part waits for the journey."""
    from bot.app import build_application, start_application, stop_application

    sandbox = Sandbox()
    users = options.consumers
    url, engine = await fresh_database(options, "updates")
    try:
        network = await build_network(engine, users)
        echo = Run()
        echo_app = echo_application(sandbox)
        async with echo_app:
            sandbox.attach(echo_app)
            echo_users = [sandbox.user(f"Écho{i}", language="fr") for i in range(users)]
            echo.seconds, echo.sessions, echo.failures = await _sessions(
                echo_users,
                options.concurrency,
                options.budget_s,
                lambda user, _i: echo_session(user, echo, CONSUMER_SESSION),
            )
        sandbox.detach()

        bot = Run()
        app = build_application(
            bench_settings(url, [network.admin_telegram_id]),
            request=sandbox.request(),
            engine=engine,
            rate_limiter=False,
        )
        await start_application(app)
        try:
            sandbox.attach(app)
            missing = await journey_missing(sandbox, network)
            if missing is None:
                consumers = [
                    sandbox.user(f"Conso{i + 1}", language="fr", user_id=tid)
                    for i, tid in enumerate(network.consumer_telegram_ids)
                ]
                bot.seconds, bot.sessions, bot.failures = await _sessions(
                    consumers,
                    options.concurrency,
                    options.budget_s,
                    lambda user, i: consumer_session(user, i, network, bot, CONSUMER_SESSION),
                )
        finally:
            sandbox.detach()
            await stop_application(app)
        confirmed = await _confirmed_orders(engine, network.cycle_id)
    finally:
        await engine.dispose()
    return _result(options, echo, bot, missing, confirmed)


async def _confirmed_orders(engine: Any, cycle_id: int) -> int:
    from models import Order, OrderStatus

    async with sessionmaker(engine)() as session:
        count = await session.scalar(
            select(func.count(Order.id)).where(
                Order.cycle_id == cycle_id, Order.status == OrderStatus.CONFIRMED
            )
        )
    return int(count or 0)


def _result(
    options: Options, echo: Run, bot: Run, missing: str | None, confirmed: int
) -> BenchResult:
    p95 = percentile(bot.latencies, 0.95)
    echo_p95 = percentile(echo.latencies, 0.95)
    extra: dict[str, Any] = {
        "echo_p95_ms": None if echo_p95 is None else round(echo_p95 * 1000, 2),
        "echo_updates": echo.updates,
        "bot_updates": bot.updates,
        "confirmed_orders": confirmed,
        "concurrency": options.concurrency,
        "peak_rss_mb": peak_rss_mb(),
    }
    users = bot.sessions if missing is None else options.consumers
    status, notes = (
        "ok",
        [f"{users} sessions × {len(CONSUMER_SESSION)} updates, {options.concurrency} at once"],
    )
    if users < options.consumers and options.budget_s is not None:
        notes.append(f"stopped starting sessions after {options.budget_s:.0f}s (--quick)")
    if missing is not None:
        status = "waiting"
        notes.append(missing)
    elif bot.failures:
        status = "waiting" if all("step " in f for f in bot.failures) else "failed"
        notes.append(f"{len(bot.failures)} sessions stuck, first: {bot.failures[0]}")
        if status == "waiting":
            notes[-1] = f"{WAITING}: " + notes[-1]
    elif confirmed != users:
        notes.append(f"WARNING: {confirmed} orders confirmed for {users} sessions")
    if echo.failures:
        notes.append(f"echo: {len(echo.failures)} sessions failed, first: {echo.failures[0]}")
    ran = status == "ok"
    return BenchResult(
        name="updates",
        figures={
            "bot_per_s": bot.per_second if ran else None,
            "echo_per_s": echo.per_second,
            "ratio": ratio(echo.per_second, bot.per_second) if ran else None,
            "p95_ms": round(p95 * 1000, 2) if ran and p95 is not None else None,
            "users": users,
        },
        status=status,
        note="; ".join(notes),
        extra=extra,
    )
