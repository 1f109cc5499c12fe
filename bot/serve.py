"""``desserte run``: the bot served to Telegram in production, by polling or by webhook.

:func:`serve` initialises the application (retrying with backoff while Telegram cannot be
reached, stopping with one line on a rejected token), then either polls or serves a webhook
on 127.0.0.1 — behind a reverse proxy — that checks Telegram's secret token header and answers
``GET /healthz`` with ``ok``. SIGTERM and SIGINT stop it cleanly (exit 0). The token never
reaches a log line: :class:`RedactToken` is installed on the root logger and its handlers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web
from sqlalchemy.engine import make_url
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import Application
from telegram.ext._utils.webhookhandler import TelegramHandler

from bot.settings import Settings

log = logging.getLogger("desserte")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
"""The update kinds the bot handles; Telegram sends no other."""
WEBHOOK_LISTEN = "127.0.0.1"
DEFAULT_WEBHOOK_PORT = 8443
HEALTH_PATH = "/healthz"
FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 60.0
REDACTED = "[token]"


class RedactToken(logging.Filter):
    """Replaces the bot token by ``[token]`` in a record's message and traceback."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def redact(self, text: str) -> str:
        """``text`` without the token (nor its secret half, after the colon)."""
        text = text.replace(self.token, REDACTED)
        secret = self.token.partition(":")[2]
        return text.replace(secret, REDACTED) if len(secret) >= 8 else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(token: str) -> RedactToken:
    """Redact ``token`` from every log line: on the root logger and each of its handlers
    (records of child loggers reach the handlers, not the root's own filters), and from
    uncaught exceptions' tracebacks."""
    redactor = RedactToken(token)
    root = logging.getLogger()
    root.addFilter(redactor)
    for handler in root.handlers:
        handler.addFilter(redactor)

    def excepthook(kind: type[BaseException], error: BaseException, tb: Any) -> None:
        log.critical("desserte stopped on an error", exc_info=(kind, error, tb))

    sys.excepthook = excepthook
    return redactor


def webhook_secret(settings: Settings) -> str:
    """``WEBHOOK_SECRET``, or a secret generated once and kept in ``desserte.webhook-secret``
    (next to the SQLite database, else in the working folder; readable by its owner only)."""
    if settings.webhook_secret:
        return settings.webhook_secret
    url = make_url(settings.database_url)
    folder = Path.cwd()
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        folder = Path(str(url.database)).resolve().parent
    path = folder / "desserte.webhook-secret"
    if path.is_file():
        stored = path.read_text(encoding="ascii").strip()
        if stored:
            return stored
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret + "\n", encoding="ascii")
    return secret


class HealthHandler(tornado.web.RequestHandler):
    """``GET /healthz``: 200 ``ok`` while the bot runs."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("ok")


@dataclass(frozen=True)
class Served:
    """One network's bot as ``desserte run`` serves it."""

    application: Application  # type: ignore[type-arg]
    settings: Settings
    """The network's settings (:func:`bot.networks.network_settings`)."""
    slug: str
    """The network's slug; with several networks, the last part of its webhook path."""


def network_secret(secret: str, slug: str, *, alone: bool) -> str:
    """The secret token of network ``slug``'s webhook: the deployment's own when it serves one
    network, else one derived from it per network (a bot's secret opens no other's path)."""
    if alone:
        return secret
    return hmac.new(secret.encode(), slug.encode(), hashlib.sha256).hexdigest()


def webhook_path(webhook_url: str, slug: str, *, alone: bool) -> str:
    """The path network ``slug``'s updates arrive at: ``WEBHOOK_URL``'s, then ``/slug`` when
    the deployment serves several networks."""
    path = urlsplit(webhook_url).path.rstrip("/")
    return (path or "/") if alone else f"{path}/{slug}"


def webhook_app(routes: list[tuple[Application, str, str]]) -> tornado.web.Application:  # type: ignore[type-arg]
    """For each ``(application, path, secret)``, PTB's own webhook handler (403 without the
    right secret header) at ``path``; and the health endpoint."""
    handlers: list[Any] = [
        (
            rf"{path.rstrip('/')}/?" if path != "/" else r"/",
            TelegramHandler,
            {
                "bot": application.bot,
                "update_queue": application.update_queue,
                "secret_token": secret,
            },
        )
        for application, path, secret in routes
    ]
    handlers.append((HEALTH_PATH, HealthHandler))
    return tornado.web.Application(handlers, log_function=lambda handler: None)


async def _initialize(application: Application) -> bool:  # type: ignore[type-arg]
    """Initialise (``getMe``), retrying with backoff while Telegram cannot be reached; False
    (after one line) when the token is rejected."""
    delay = FIRST_RETRY_SECONDS
    while True:
        try:
            await application.initialize()
            return True
        except InvalidToken:
            log.error("Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN.")
            return False
        except (NetworkError, TimedOut) as exc:
            log.warning(
                "Telegram cannot be reached (%s): trying again in %.0f s.",
                exc.message.splitlines()[0] if exc.message else type(exc).__name__,
                delay,
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, LONGEST_RETRY_SECONDS)


async def serve(
    served: Sequence[Served],
    settings: Settings,
    *,
    port: int = DEFAULT_WEBHOOK_PORT,
) -> int:
    """Serve every network's bot until SIGTERM/SIGINT, by polling or on one webhook server
    (a path per network); the exit status (0, or 1 for a rejected token)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def initialize_all() -> list[bool]:
        return list(await asyncio.gather(*(_initialize(one.application) for one in served)))

    initialize = asyncio.ensure_future(initialize_all())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([initialize, stopping], return_when=asyncio.FIRST_COMPLETED)
    if not initialize.done():  # stopped before Telegram could be reached
        initialize.cancel()
        return 0
    stopping.cancel()
    if not all(initialize.result()):
        return 1
    server: tornado.httpserver.HTTPServer | None = None
    alone = len(served) == 1
    try:
        for one in served:
            application = one.application
            if application.post_init is not None:
                await application.post_init(application)
            await application.start()
        if settings.webhook_url:
            secret = webhook_secret(settings)
            routes = [
                (
                    one.application,
                    webhook_path(settings.webhook_url, one.slug, alone=alone),
                    network_secret(secret, one.slug, alone=alone),
                )
                for one in served
            ]
            server = tornado.httpserver.HTTPServer(webhook_app(routes))
            server.listen(port, address=WEBHOOK_LISTEN)
            root = settings.webhook_url.rstrip("/")
            for one, (_app, path, network_secret_token) in zip(served, routes, strict=True):
                url = settings.webhook_url if alone else f"{root}/{one.slug}"
                await one.application.bot.set_webhook(
                    url, secret_token=network_secret_token, allowed_updates=ALLOWED_UPDATES
                )
                log.info(
                    "desserte serves %s's webhook on http://%s:%s%s",
                    one.slug,
                    WEBHOOK_LISTEN,
                    port,
                    path,
                )
        else:
            for one in served:
                updater = one.application.updater
                assert updater is not None
                await updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info("desserte is polling Telegram for %d network(s)", len(served))
        await stop.wait()
    finally:
        if server is not None:
            server.stop()
            await server.close_all_connections()
        for one in served:
            application = one.application
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()  # does nothing for one never initialised
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
    log.info("desserte stopped")
    return 0
