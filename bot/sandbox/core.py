"""The sandbox: one local Telegram Bot API, reachable in-process or over HTTP.

``Sandbox`` holds the bot's identity, the users and their private chats, every message (with
inline keyboards, edits, files), callback queries and their answers, the ``getUpdates`` queue,
the commands set with ``setMyCommands``, rate limits, injected faults and call statistics.
Every Bot API call, whatever the transport, goes through :meth:`Sandbox.call`.

Unknown methods answer what Telegram answers: HTTP 404 ``{"ok": false, "error_code": 404,
"description": "Not Found"}`` (not 400; PTB raises ``InvalidToken`` from ``Bot._post`` and
``EndPointNotFound`` from ``Bot.do_api_request`` for it). Methods that exist in the Bot API but
that the sandbox does not implement answer 400 ``Bad Request: method not supported by the
sandbox``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.sandbox.driver import SandboxUser
from bot.sandbox.errors import NOT_FOUND, ApiError
from bot.sandbox.limits import FaultInjector, RateLimiter, RateLimits
from bot.sandbox.methods import BotApi
from bot.sandbox.state import (
    CallbackQueryRecord,
    FileRecord,
    MessageRecord,
    PreCheckoutRecord,
    SandboxEvent,
)
from bot.sandbox.table import ApiTable, UploadedFile, load_table

if TYPE_CHECKING:
    from telegram.ext import Application, ApplicationBuilder

    from bot.sandbox.http_server import SandboxHttpServer
    from bot.sandbox.transport import SandboxRequest

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
EventListener = Callable[[SandboxEvent], object]
CallListener = Callable[[str, Mapping[str, Any], Mapping[str, UploadedFile]], object]
"""``listener(method, params, files)``, told of a Bot API call before it runs."""

BOT_ID = 7000000001
BOT_FIRST_NAME = "Desserte"
BOT_USERNAME = "desserte_bot"
DEFAULT_TOKEN = "123:SANDBOX"
FIRST_USER_ID = 100_000_001
PRE_CHECKOUT_TIMEOUT = 10.0
"""Seconds the bot has to answer a ``pre_checkout_query`` (Bot API, answerPreCheckoutQuery:
"The Bot API must receive an answer within 10 seconds after the pre-checkout query was sent")."""
CALLBACK_QUERY_TIMEOUT = 15.0
"""Seconds a button press may wait for ``answerCallbackQuery`` before Telegram refuses the
answer ("query is too old…"); bots report a few seconds to under 20 (bot/sandbox/README.md)."""
URL_UNFETCHABLE = "wrong file identifier/HTTP URL specified"
URL_CONTENT_FAILED = "failed to get HTTP URL content"
WEBHOOK_ATTEMPTS = 4
MESSAGE_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage", "forwardMessage"}
)
"""The calls that put a message in a chat: what Telegram's 30 messages a second counts."""
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}
# A stall with no explicit duration outlasts any sane client read timeout.
_STALL_FOREVER = 3600.0


@dataclass(slots=True)
class ApiResponse:
    """What a transport sends back: an HTTP status and a JSON body, or nothing (``dropped``)."""

    status: int
    body: JSON | None
    dropped: bool = False
    unsent: bool = False  # the client timed out connecting: the request never left

    @property
    def payload(self) -> bytes:
        """The body as UTF-8 JSON bytes (empty when dropped)."""
        if self.body is None:
            return b""
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


@dataclass(slots=True, frozen=True)
class SentCall:
    """A message the bot put in a chat (``sandbox.sent``): when the sandbox took it
    (``time.monotonic()``, before any ``latency``), the method and the chat."""

    at: float
    method: str
    chat_id: int | str | None


@dataclass(slots=True, frozen=True)
class WebhookPost:
    """One attempt to deliver an update to the webhook (``sandbox.webhook_posts``): the update,
    the URL it went to, the HTTP status (0: no answer) and when (``time.monotonic()``)."""

    update_id: int
    url: str
    status: int
    at: float


@dataclass
class SandboxStats:
    """``sandbox.stats``: calls per method and answers per HTTP status, for benchmarks;
    ``refusals`` lists the 400 answers as ``(method, description)``, oldest first."""

    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    refusals: list[tuple[str, str]] = field(default_factory=list)

    @property
    def too_many_requests(self) -> int:
        """How many calls were answered 429."""
        return self.statuses[429]

    @property
    def client_errors(self) -> int:
        """How many calls were answered 4xx (429 included)."""
        return sum(n for status, n in self.statuses.items() if 400 <= status < 500)

    @property
    def server_errors(self) -> int:
        """How many calls were answered 5xx (injected faults)."""
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.calls.clear()
        self.statuses.clear()
        self.refusals.clear()


class Sandbox:
    """A local Telegram Bot API. See the package docstring for the typical test setup."""

    def __init__(
        self,
        *,
        strict_limits: bool = False,
        limits: RateLimits | None = None,
        clock: Callable[[], float | datetime] | None = None,
        table: ApiTable | None = None,
        bot_id: int = BOT_ID,
        bot_first_name: str = BOT_FIRST_NAME,
        bot_username: str = BOT_USERNAME,
        token: str | None = None,
        callback_query_timeout: float = CALLBACK_QUERY_TIMEOUT,
        latency: float = 0.0,
    ) -> None:
        self.token = token
        """The one token this sandbox accepts (401 ``Unauthorized`` for any other); None
        accepts any well-formed token."""
        self.latency = latency
        """Seconds each Bot API call takes to come back once Telegram has done it: the round
        trip to Telegram's servers, tens to a few hundred milliseconds from a real server (0:
        answered at once, as in most tests). The call takes effect, and counts against the
        limits, when it arrives."""
        self.callback_query_timeout = callback_query_timeout
        """Seconds after a press within which the bot may answer it."""
        self._unfetchable: dict[str, str] = {}
        self.table = table or load_table()
        self.clock: Callable[[], float | datetime] = clock or time.time
        """Time used for message dates: unix seconds or an aware ``datetime``; replace it (e.g.
        with the tests' simulated clock) to simulate time."""
        self.bot_id = bot_id
        self.bot_first_name = bot_first_name
        self.bot_username = bot_username
        self.bot_json: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.faults = FaultInjector()
        self.stats = SandboxStats()
        self.limiter: RateLimiter | None = RateLimiter(limits) if strict_limits else None
        self.webhook: JSON = {}
        self.upstreams: list[str] = []
        """Where a reverse proxy in front of the webhook forwards (``http://127.0.0.1:8441``…):
        when set, each update goes to the next one in turn, with the webhook URL's path, and to
        the following one when a worker does not answer (see :meth:`_post_webhook`)."""
        self._next_upstream = 0
        self.webhook_posts: deque[WebhookPost] = deque(maxlen=100_000)
        """Every webhook delivery attempt, oldest first (the last 100,000)."""
        self.sent: deque[SentCall] = deque(maxlen=1_000_000)
        """Every message the bot put in a chat, oldest first (the last million)."""
        self.files: dict[str, FileRecord] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.pre_checkout_queries: dict[str, PreCheckoutRecord] = {}
        """Every payment confirmed by a user, by query id, with the bot's answer."""
        self.deleted: list[MessageRecord] = []
        """Every message deleted by the bot, in deletion order."""
        self.menu_buttons: dict[int | None, JSON] = {}
        """``setChatMenuButton`` results: chat id (None = default) -> MenuButton."""
        self.profile: dict[tuple[str, str], str] = {}
        """``setMyName``/``setMyDescription``/...: (field, language_code) -> value."""
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._users: dict[int, SandboxUser] = {}
        self._user_ids = itertools.count(FIRST_USER_ID)
        self._ids = itertools.count(1)
        self._updates: deque[JSON] = deque()
        self._update_ids = itertools.count(1)
        self._fetched_upto = 0
        self._allowed_updates: set[str] | None = None
        self._update_signal: asyncio.Event | None = None
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._listeners: list[EventListener] = []
        self._call_listeners: list[CallListener] = []
        self._inflight = 0
        self._background: set[asyncio.Task[None]] = set()
        self._last_activity = time.monotonic()
        self._http: SandboxHttpServer | None = None
        self._api = BotApi(self)

    # -- public API ---------------------------------------------------------------------------

    def user(
        self,
        first_name: str,
        language: str | None = "en",
        *,
        last_name: str | None = None,
        username: str | None = None,
        user_id: int | None = None,
    ) -> SandboxUser:
        """A new person; their private chat with the bot has ``chat_id == user.id``. Cheap."""
        uid = user_id if user_id is not None else next(self._user_ids)
        if uid in self._users:
            raise ValueError(f"user id {uid} already exists")
        person = SandboxUser(self, uid, first_name, language, last_name, username)
        self._users[uid] = person
        return person

    @property
    def users(self) -> list[SandboxUser]:
        """Every user created so far, in creation order."""
        return list(self._users.values())

    def get_user(self, user_id: int) -> SandboxUser:
        """The user (and private chat) with this id; KeyError if unknown."""
        return self._users[user_id]

    def forget_chat(self, user_id: int) -> None:
        """Drop the transcript of the private chat with ``user_id`` (see
        :meth:`SandboxUser.forget`); KeyError if unknown."""
        self._users[user_id].forget()

    def attach(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Deliver updates straight to ``app`` (``await app.process_update(...)``).

        The application must be initialized (``await app.initialize()`` or ``async with app``).
        Once attached, ``await alice.send(...)`` returns after the handlers ran, so every reply
        is already recorded.
        """
        self._app = app

    def detach(self) -> None:
        """Back to polling mode: updates go to the ``getUpdates`` queue."""
        self._app = None

    def request(self, read_timeout: float | None = 5.0) -> SandboxRequest:
        """A PTB ``BaseRequest`` talking to this sandbox in-process (no sockets)."""
        from bot.sandbox.transport import SandboxRequest

        return SandboxRequest(self, read_timeout=read_timeout)

    def builder(
        self, token: str = DEFAULT_TOKEN
    ) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
        """A PTB ``ApplicationBuilder`` wired to this sandbox in-process (token and both
        requests; file downloads go through the same transport); add handlers/persistence as
        usual and ``.build()``."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(token)
            .request(self.request())
            .get_updates_request(self.request())
        )

    def unfetchable(self, url: str, *, content: bool = False) -> None:
        """From now on, sending a photo or document by ``url`` answers 400 ``Bad Request:
        wrong file identifier/HTTP URL specified`` (Telegram could not use the URL), or with
        ``content=True`` ``Bad Request: failed to get HTTP URL content`` (it could not
        download it)."""
        self._unfetchable[url] = URL_CONTENT_FAILED if content else URL_UNFETCHABLE

    def authorized(self, token: str) -> bool:
        """Whether a call with ``token`` is let in: a well-formed token, and the sandbox's own
        one if it was given one (else Telegram's 401 ``Unauthorized``)."""
        from bot.sandbox.transport import TOKEN_RE

        if self.token is not None:
            return token == self.token
        return TOKEN_RE.match(token) is not None

    def commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        """What ``setMyCommands`` stored for this scope (default scope) and language, as
        ``[{"command": ..., "description": ...}]`` (no fallback to other languages)."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or "")
        return [dict(c) for c in self._commands.get(key, [])]

    def on_event(self, callback: EventListener) -> EventListener:
        """Call ``callback(event)`` (synchronously) for every user↔bot event; returns it."""
        self._listeners.append(callback)
        return callback

    def remove_listener(self, callback: EventListener) -> None:
        """Stop calling ``callback``."""
        self._listeners.remove(callback)

    def before_each_call(self, listener: CallListener) -> CallListener:
        """Call ``listener(method, params, files)`` (synchronously, in the calling task) before
        each Bot API call runs; returns it. Unlike an event listener's, what it raises is the
        call's: the call then never ran, as when a process dies on its way to Telegram (the
        killed tests die there; the costs benchmark records what the bot said)."""
        self._call_listeners.append(listener)
        return listener

    def remove_call_listener(self, listener: CallListener) -> None:
        """Stop calling ``listener`` before each call."""
        self._call_listeners.remove(listener)

    @property
    def pending_updates(self) -> int:
        """Updates queued for ``getUpdates`` and not yet fetched by the bot."""
        return sum(1 for u in self._updates if u["update_id"] > self._fetched_upto)

    async def idle(self, quiet: float = 0.05, max_wait: float = 5.0) -> None:
        """Wait until the bot fetched every queued update and no call (other than a waiting
        ``getUpdates``) has been in flight for ``quiet`` seconds. TimeoutError after
        ``max_wait`` seconds."""
        deadline = time.monotonic() + max_wait
        while True:
            now = time.monotonic()
            if (
                self.pending_updates == 0
                and self._inflight == 0
                and not self._background
                and now - self._last_activity >= quiet
            ):
                return
            if now >= deadline:
                raise TimeoutError(
                    f"sandbox not idle after {max_wait}s: {self.pending_updates} updates pending, "
                    f"{self._inflight} calls in flight"
                )
            await asyncio.sleep(min(quiet / 2, 0.01) or 0.01)

    async def serve_http(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve the Bot API over HTTP on 127.0.0.1; returns the base URL (``http://127.0.0.1:N``).

        Point PTB at it with ``ApplicationBuilder().base_url(f"{url}/bot")`` and
        ``.base_file_url(f"{url}/file/bot")``."""
        from bot.sandbox.http_server import SandboxHttpServer
        from bot.sandbox.hub import SandboxHub

        if self._http is not None:
            return self._http.url
        server = SandboxHttpServer(SandboxHub.of(self))
        await server.start(host, port)
        self._http = server
        return server.url

    async def stop_http(self) -> None:
        """Stop the HTTP server and close its connections (no-op if not serving)."""
        if self._http is not None:
            server, self._http = self._http, None
            await server.stop()

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> ApiResponse:
        """Run one Bot API call as Telegram would; never raises for API errors (what a
        :meth:`before_each_call` listener raises is raised before the call runs)."""
        params = params or {}
        files = files or {}
        for listener in list(self._call_listeners):
            listener(method, params, files)
        name = self.table.resolve(method)
        if name is None:
            self.stats.calls[method] += 1
            self.stats.statuses[404] += 1
            return ApiResponse(404, NOT_FOUND.body())
        self.stats.calls[name] += 1
        # A long-polling getUpdates is waiting, not working: it must not keep idle() busy.
        counts = name != "getUpdates"
        if counts:
            self._inflight += 1
        response = ApiResponse(500, None, dropped=True)
        try:
            fault = self.faults.take(name, params)
            if fault is not None and fault.kind != "stall":
                response = _fault_response(fault.kind, fault.retry_after)
                logger.debug("sandbox: injected %s on %s", fault.kind, name)
            else:
                try:
                    result = await self._api.dispatch(name, params, files)
                    response = ApiResponse(200, {"ok": True, "result": result})
                    if name in MESSAGE_METHODS:
                        self.sent.append(SentCall(time.monotonic(), name, params.get("chat_id")))
                except ApiError as exc:
                    response = ApiResponse(exc.status, exc.body())
                    if exc.status == 400:
                        self.stats.refusals.append((name, exc.description))
                    logger.debug("sandbox: %s -> %s %s", name, exc.status, exc.description)
                if fault is not None:
                    # The call took effect; only the answer is late (see FaultInjector).
                    await asyncio.sleep(fault.stall_seconds or _STALL_FOREVER)
            if self.latency and counts:
                await asyncio.sleep(self.latency)
            return response
        finally:
            if counts:
                self._inflight -= 1
            self._last_activity = time.monotonic()
            if not response.dropped:
                self.stats.statuses[response.status] += 1

    def download(self, file_path: str) -> bytes | None:
        """Content of a file by its ``getFile`` path (None if unknown or never uploaded)."""
        for record in self.files.values():
            if record.file_path == file_path:
                return record.content
        return None

    # -- internals shared with the driver and the methods -------------------------------------

    def now(self) -> int:
        """Current unix time from :attr:`clock`, as Telegram's integer dates."""
        return int(self.moment())

    def moment(self) -> float:
        """Current unix time from :attr:`clock`, in seconds (fractions kept)."""
        moment = self.clock()
        return moment.timestamp() if isinstance(moment, datetime) else float(moment)

    def _next_id(self) -> int:
        return next(self._ids)

    def _new_file(
        self, file_name: str | None, content: bytes | None, mime_type: str | None
    ) -> FileRecord:
        n = self._next_id()
        record = FileRecord(
            file_id=f"BQACAgSANDBOX{n:08d}",
            file_unique_id=f"AgADS{n:06d}",
            file_name=file_name,
            content=content,
            mime_type=mime_type or _guess_mime(file_name),
        )
        self.files[record.file_id] = record
        return record

    def _emit(self, event: SandboxEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken printer must not break the bot under test
                logger.exception("sandbox event listener failed on %s", event.kind)

    async def deliver_raw(self, payload: JSON) -> None:
        """Deliver an update of any kind as Telegram would send it (``{"channel_post": {...}}``,
        ``{"inline_query": {...}}``…; the ``update_id`` is added): for tests of what the driver
        does not model."""
        await self._deliver(payload)

    def _deliver_soon(self, payload: JSON) -> asyncio.Task[None] | None:
        """Deliver ``payload`` in the background (for events a test triggers synchronously);
        ``idle()`` waits for it. Without a running loop it is queued for ``getUpdates``."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._updates.append({"update_id": next(self._update_ids), **payload})
            return None
        task = loop.create_task(self._deliver(payload))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _deliver(self, payload: JSON) -> None:
        """Turn ``payload`` (e.g. ``{"message": {...}}``) into an Update and deliver it."""
        update = {"update_id": next(self._update_ids), **payload}
        app = self._app
        if app is not None:
            from telegram import Update

            self._last_activity = time.monotonic()
            await app.process_update(Update.de_json(update, app.bot))
            self._last_activity = time.monotonic()
            return
        if self.webhook.get("url"):
            allowed = self.webhook.get("allowed_updates")
            if allowed and _update_kind(update) not in allowed:
                return  # Telegram does not send what the bot did not ask for
            await self._post_webhook(update)
            return
        self._updates.append(update)
        if self._update_signal is not None:
            self._update_signal.set()
            self._update_signal = None

    def _webhook_targets(self) -> list[str]:
        """The URLs to try for the next update, in order: the webhook itself, or behind a
        reverse proxy each upstream in turn, starting with the next one (round-robin)."""
        url = self.webhook["url"]
        if not self.upstreams:
            return [url]
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        start = self._next_upstream % len(self.upstreams)
        self._next_upstream += 1
        ordered = self.upstreams[start:] + self.upstreams[:start]
        return [upstream.rstrip("/") + path for upstream in ordered]

    async def _post_webhook(self, update: JSON) -> None:
        """POST ``update`` to the webhook the bot set, with its secret token header, as
        Telegram does; a failed delivery is tried again a few times, then dropped (logged).
        Behind upstreams, a worker that does not answer (or answers 5xx) passes the update to
        the next one, as a reverse proxy does."""
        import httpx

        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        self._inflight += 1
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                for attempt in range(WEBHOOK_ATTEMPTS):
                    for url in self._webhook_targets():
                        status = 0
                        try:
                            answer = await client.post(url, json=update, headers=headers)
                            status = answer.status_code
                        except httpx.HTTPError as exc:
                            logger.debug("sandbox: webhook delivery to %s failed: %s", url, exc)
                        self.webhook_posts.append(
                            WebhookPost(update["update_id"], url, status, time.monotonic())
                        )
                        if 0 < status < 500:
                            if status != 200:
                                logger.warning(
                                    "sandbox: webhook answered %s to update %s",
                                    status,
                                    update["update_id"],
                                )
                            return
                    await asyncio.sleep(0.2 * 2**attempt)
            logger.warning("sandbox: update %s not delivered to the webhook", update["update_id"])
        finally:
            self._inflight -= 1
            self._last_activity = time.monotonic()

    def _fetch_updates(self, offset: int | None, limit: int) -> list[JSON]:
        if offset is not None:
            if offset < 0:
                # Negative offsets keep the last -offset updates and forget the older ones.
                while len(self._updates) > -offset:
                    self._updates.popleft()
            else:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
        allowed = self._allowed_updates
        if allowed:
            kept = [u for u in self._updates if _update_kind(u) in allowed]
            if len(kept) != len(self._updates):
                self._updates = deque(kept)
        batch = list(itertools.islice(self._updates, limit))
        if batch:
            self._fetched_upto = max(self._fetched_upto, batch[-1]["update_id"])
            self._last_activity = time.monotonic()
        return batch

    async def _wait_for_update(self, seconds: float) -> None:
        if self._update_signal is None:
            self._update_signal = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._update_signal.wait(), seconds)


def _update_kind(update: JSON) -> str:
    return next(key for key in update if key != "update_id")


def _fault_response(kind: str, retry_after: int) -> ApiResponse:
    if kind == "429":
        return ApiResponse(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            },
        )
    if kind == "500":
        return ApiResponse(
            500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        )
    if kind == "502":
        return ApiResponse(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    if kind == "connect_timeout":
        return ApiResponse(0, None, dropped=True, unsent=True)
    return ApiResponse(0, None, dropped=True)


def _guess_mime(file_name: str | None) -> str | None:
    if not file_name:
        return None
    import mimetypes

    return mimetypes.guess_type(file_name)[0]
