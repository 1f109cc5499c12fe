"""What one update costs the bot: SQL statements and CPU milliseconds per kind of update.

Consumers run the updates benchmark's session (:data:`bench.updates.CONSUMER_SESSION`) one
after another, one update at a time, so that nothing else runs while an update is handled.
Statements are counted with a SQLAlchemy ``before_cursor_execute`` listener on the engine (an
``executemany`` counts once); CPU is ``time.process_time()`` around the update (every thread of
the process: the handlers, SQLAlchemy, the driver's thread, PTB and the in-process sandbox).
The echo bot's CPU per update, on a sandbox of its own, is the floor; beside it, ``floor_cpu_ms``
is the bot's own answers without the bot: a bare PTB application making, for each update of the
same sessions, exactly the Bot API calls the bot made for it (its texts, its keyboards; the ids
of the chat, the message and the query its own), with no database and none of our code. What
PTB and the sandbox cost of what the bot says; the rest of ``*_cpu_ms`` is the bot's work.

Kinds, as the issue names them: **read** (``/catalogue`` and a category page), **add** (➕ and
"Ajouter"), **confirm** ("Confirmer la commande"). Figures are medians per update of a kind.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
import warnings
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bench.common import BenchResult, Options, bench_settings, empty, fresh_database
from bench.network import build_network
from bench.updates import (
    CONSUMER_SESSION,
    bot_step,
    echo_application,
    echo_step,
    journey_missing,
    newest_keyboard,
)
from bot.sandbox import Sandbox, SandboxUser

log = logging.getLogger(__name__)

KEYS = (
    "read_sql",
    "add_sql",
    "confirm_sql",
    "read_cpu_ms",
    "add_cpu_ms",
    "confirm_cpu_ms",
    "echo_cpu_ms",
    "floor_cpu_ms",
)
KINDS = {"catalog": "read", "category": "read", "more": "add", "add": "add", "confirm": "confirm"}
"""Session step name → the kind it is reported under (other steps are measured, not reported)."""


def _sessions(options: Options) -> int:
    if options.scale < 0.05:
        return 2
    return 15 if options.scale < 1 else 40


async def run(options: Options) -> BenchResult:
    """Sequential sessions on the bot, then on the echo bot; medians per kind."""
    from bot.app import build_application, start_application, stop_application

    sessions = min(_sessions(options), options.consumers)
    url, engine = await fresh_database(options, "costs")
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    sql: dict[str, list[int]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    echo_cpu: list[float] = []
    said: list[list[Call]] = []
    """Per update of the bot's sessions, in order: the Bot API calls it made."""
    try:
        network = await build_network(engine, options.consumers)
        sandbox = Sandbox()
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
            if missing is not None:
                return empty("costs", KEYS, "waiting", missing)
            event.listen(engine.sync_engine, "before_cursor_execute", count)
            calls = _listen_to_calls(sandbox)
            for index, tid in enumerate(network.consumer_telegram_ids[:sessions]):
                user = sandbox.user(f"Conso{index + 1}", language="fr", user_id=tid)
                for step in CONSUMER_SESSION:
                    calls.clear()
                    before_sql, before_cpu = statements, time.process_time()
                    await bot_step(user, index, network, step)
                    kind = KINDS.get(step.name, step.name)
                    cpu[kind].append(time.process_time() - before_cpu)
                    sql[kind].append(statements - before_sql)
                    said.append(list(calls))
                user.forget()
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        finally:
            sandbox.detach()
            await stop_application(app)

        echo_sandbox = Sandbox()
        echo_app = echo_application(echo_sandbox)
        async with echo_app:
            echo_sandbox.attach(echo_app)
            for index in range(sessions):
                user = echo_sandbox.user(f"Écho{index}", language="fr")
                for number, step in enumerate(CONSUMER_SESSION):
                    before_cpu = time.process_time()
                    await echo_step(user, number, step)
                    echo_cpu.append(time.process_time() - before_cpu)
                user.forget()
            echo_sandbox.detach()
        floor_cpu = await _floor(sessions, said)
    finally:
        await engine.dispose()
    return _result(sessions, sql, cpu, echo_cpu, floor_cpu)


Call = tuple[str, dict[str, Any]]
"""A Bot API call: its method and its JSON parameters."""


def _listen_to_calls(sandbox: Sandbox) -> list[Call]:
    """The list every Bot API call made through ``sandbox`` is appended to (a call with files
    is not kept: the floor replays text, not uploads)."""
    heard: list[Call] = []

    def listen(method: str, params: Mapping[str, Any], files: Mapping[str, Any]) -> None:
        if not files:
            heard.append((method, dict(params)))

    sandbox.before_each_call(listen)
    return heard


_RETURNS: dict[str, type[Message]] = {
    "sendMessage": Message,
    "editMessageText": Message,
    "editMessageReplyMarkup": Message,
}


def _replayed(calls: list[Call], update: Update) -> list[Call]:
    """``calls`` made for ``update``: its chat, its message, its query (a call naming a query
    or a message the update has not is left out, as is the reply's link to a message)."""
    chat = update.effective_chat
    query = update.callback_query
    message = query.message if query is not None else None
    replayed = []
    for method, params in calls:
        params = {key: value for key, value in params.items() if key != "reply_parameters"}
        if "callback_query_id" in params:
            if query is None:
                continue
            params["callback_query_id"] = query.id
        if "message_id" in params:
            if message is None:
                continue
            params["message_id"] = message.message_id
        if "chat_id" in params and chat is not None:
            params["chat_id"] = chat.id
        for key, value in params.items():
            if isinstance(value, str) and value[:1] in "{[":
                params[key] = json.loads(value)
        replayed.append((method, params))
    return replayed


async def _floor(sessions: int, said: list[list[Call]]) -> list[float]:
    """CPU per update of a bare PTB application answering the same sessions with, for each
    update, the calls the bot made for it (``said``, in order)."""
    sandbox = Sandbox()
    upcoming = iter(said)
    current: list[Call] = []

    replayed = 0

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        nonlocal replayed
        for method, params in _replayed(current, update):
            await context.bot.do_api_request(
                method, api_kwargs=params, return_type=_RETURNS.get(method)
            )
            replayed += 1

    application: Application[Any, Any, Any, Any, Any, Any] = sandbox.builder().build()
    application.add_handler(MessageHandler(filters.ALL, answer))
    application.add_handler(CallbackQueryHandler(answer))
    floor_cpu: list[float] = []
    with warnings.catch_warnings():  # "Please use Bot.send_message": the point is the same call
        warnings.simplefilter("ignore", PTBUserWarning)
        async with application:
            sandbox.attach(application)
            for index in range(sessions):
                user = sandbox.user(f"Plancher{index}", language="fr")
                for step in CONSUMER_SESSION:
                    current[:] = next(upcoming)
                    before_cpu = time.process_time()
                    await _gesture(user, step.send)
                    floor_cpu.append(time.process_time() - before_cpu)
                user.forget()
            sandbox.detach()
    made = sum(len(calls) for calls in said)
    if replayed != made or sandbox.stats.refusals:  # else the floor would not be the bot's
        raise RuntimeError(
            f"the floor replayed {replayed} of the bot's {made} calls; "
            f"refused: {sandbox.stats.refusals[:3]}"
        )
    return floor_cpu


async def _gesture(user: SandboxUser, text: str | None) -> None:
    """The text sent, or a press on the newest message's first button."""
    if text is not None:
        await user.send(text)
        return
    message = newest_keyboard(user)
    assert message is not None, "the floor's replay shows no keyboard to press"
    data = next(d for row in message.button_data for d in row if d)
    await user.press_data(data, message=message)


def _median_ms(values: list[float]) -> float | None:
    return round(statistics.median(values) * 1000, 2) if values else None


def _result(
    sessions: int,
    sql: dict[str, list[int]],
    cpu: dict[str, list[float]],
    echo_cpu: list[float],
    floor_cpu: list[float],
) -> BenchResult:
    figures: dict[str, float | int | None] = {}
    for kind in ("read", "add", "confirm"):
        figures[f"{kind}_sql"] = round(statistics.median(sql[kind])) if sql[kind] else None
    for kind in ("read", "add", "confirm"):
        figures[f"{kind}_cpu_ms"] = _median_ms(cpu[kind])
    figures["echo_cpu_ms"] = _median_ms(echo_cpu)
    figures["floor_cpu_ms"] = _median_ms(floor_cpu)
    every = {
        kind: {"sql": statistics.median(sql[kind]), "cpu_ms": _median_ms(cpu[kind])} for kind in sql
    }
    others = ", ".join(
        f"{kind} {v['sql']:g} stmt {v['cpu_ms']} ms"
        for kind, v in every.items()
        if kind not in ("read", "add", "confirm")
    )
    note = (
        f"{sessions} sessions one update at a time, medians; CPU = process time (all threads); "
        f"other steps: {others}"
    )
    return BenchResult(name="costs", figures=figures, note=note, extra={"per_step": every})
