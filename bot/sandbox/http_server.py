"""The sandbox served over HTTP on 127.0.0.1 (tornado): the Bot API and a control API.

Bot API, the surface of api.telegram.org that a bot's client uses:

* ``GET``/``POST /bot<token>/<method>`` with query-string, JSON, form-urlencoded or multipart
  parameters; a malformed token answers 404 ``Not Found``, a token the sandbox does not accept
  401 ``Unauthorized`` (see :meth:`Sandbox.authorized`);
* ``GET /file/bot<token>/<file_path>`` for downloads.

An injected ``drop`` fault closes the connection without an answer; ``stall`` holds it.

Control API, so that any client (or a person with curl) acts as people; JSON in, JSON out:

* ``POST /sandbox/users`` ``{"first_name", "language_code"}`` (and ``"user_id"`` for a person
  already known to another bot) → ``{"user_id"}``;
* ``POST /sandbox/send`` ``{"user_id", "text"}`` and ``POST /sandbox/press``
  ``{"user_id", "text"}`` (the button with that visible text on the newest message that has
  one) → ``{"messages": [...]}``, the bot's messages that are new or changed, once the bot has
  replied (or after :data:`REPLY_WAIT` seconds without a reply);
* ``GET /sandbox/chats/<user_id>`` → ``{"messages": [...]}``, the whole chat;
* ``GET /sandbox/bots``; ``POST /sandbox/upstreams`` ``{"bot", "urls"}`` (a reverse proxy
  spreading the bot's webhook updates over several workers); ``GET /sandbox/sent?bot=ID`` (when
  each message went out, for its pace).

Several bots (tokens) are served at once (:class:`bot.sandbox.hub.SandboxHub`): each control
call takes ``"bot"`` (the bot's id, the number before the token's colon) in its body or query
string, else it is about the only (or first) bot.

A message is ``{"message_id", "from": "bot"|"user", "text", "buttons": [[text...]...],
"document": {"file_name", "file_size"}|null, "photo": bool, "edits"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

from bot.sandbox.core import UNAUTHORIZED
from bot.sandbox.errors import NOT_FOUND
from bot.sandbox.table import UploadedFile
from bot.sandbox.transport import TOKEN_RE

if TYPE_CHECKING:
    from bot.sandbox.core import Sandbox
    from bot.sandbox.driver import SandboxUser
    from bot.sandbox.hub import SandboxHub
    from bot.sandbox.state import MessageRecord

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Telegram accepts uploads up to 50 MB; anything larger is refused before being read.
MAX_BODY_BYTES = 50 * 1024 * 1024
REPLY_WAIT = 15.0
"""Seconds a control call waits for the bot to do something in the chat."""
REPLY_QUIET = 0.3
"""Once the bot acted, how long the sandbox must stay quiet for the reply to be complete."""
_PERCENT_ESCAPE = re.compile(r"%(22|[01][0-9A-Fa-f])")


class _Base(tornado.web.RequestHandler):
    hub: SandboxHub
    server: SandboxHttpServer

    def initialize(self, hub: SandboxHub, server: SandboxHttpServer) -> None:
        self.hub = hub
        self.server = server

    def set_default_headers(self) -> None:
        self.set_header("Server", "desserte-sandbox")

    def reply(
        self, status: int, body: JSON | bytes, content_type: str = "application/json"
    ) -> None:
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.finish(body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Telegram answers errors as JSON, never as HTML.
        self.reply(
            status_code, {"ok": False, "error_code": status_code, "description": self._reason}
        )

    async def tracked(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` as a task the server cancels when it stops (long polls, stalls)."""
        task = asyncio.current_task()
        if task is not None:
            self.server._active.add(task)
        try:
            await work()
        except asyncio.CancelledError:
            if not self._finished:
                self.detach().close()
        finally:
            if task is not None:
                self.server._active.discard(task)


class BotApiHandler(_Base):
    """``/bot<token>/<method>``: one Bot API call, as Telegram answers it."""

    async def get(self, token: str, method: str) -> None:
        await self.tracked(lambda: self._call(token, method))

    async def post(self, token: str, method: str) -> None:
        await self.tracked(lambda: self._call(token, method))

    async def _call(self, token: str, method: str) -> None:
        if not TOKEN_RE.match(token):
            self.reply(404, NOT_FOUND.body())
            return
        sandbox = self.hub.for_token(token)
        if sandbox is None:
            self.reply(401, UNAUTHORIZED)
            return
        try:
            params, files = self._params()
        except ValueError as exc:
            self.reply(400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"})
            return
        response = await sandbox.call(method, params, files)
        if response.dropped:
            self.detach().close()  # injected "drop": no answer at all
            return
        self.reply(response.status, response.payload)

    def _params(self) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        request = self.request
        params: dict[str, Any] = dict(parse_qsl(request.query, keep_blank_values=True))
        files: dict[str, UploadedFile] = {}
        content_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if request.body and content_type == "application/json":
            try:
                data = json.loads(request.body)
            except ValueError:
                raise ValueError("can't parse JSON encoded request") from None
            if not isinstance(data, dict):
                raise ValueError("JSON object expected")
            params.update(data)
            return params, files
        # Form-urlencoded and multipart bodies: tornado parsed them already.
        for name, values in request.body_arguments.items():
            params[name] = values[-1].decode("utf-8", "replace")
        for name, parts in request.files.items():
            part = parts[-1]
            # httpx (HTML5 form encoding) percent-escapes quotes and control characters.
            filename = _PERCENT_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), part.filename)
            files[name] = UploadedFile(filename or name, part.body, part.content_type or None)
        return params, files


class FileHandler(_Base):
    """``/file/bot<token>/<file_path>``: a file's bytes."""

    def get(self, token: str, path: str) -> None:
        content = self.hub.download(token, path)
        if content is None:
            self.reply(404, NOT_FOUND.body())
            return
        self.reply(200, content, "application/octet-stream")


class NotFoundHandler(_Base):
    def prepare(self) -> None:
        self.reply(404, NOT_FOUND.body())


def _message_json(message: MessageRecord) -> JSON:
    file = message.document
    return {
        "message_id": message.message_id,
        "from": "bot" if message.from_bot else "user",
        "text": message.body,
        "buttons": message.buttons,
        "document": ({"file_name": file.file_name, "file_size": file.file_size} if file else None),
        "photo": message.photo is not None,
        "edits": message.edits,
    }


class _Control(_Base):
    def body(self) -> JSON:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise tornado.web.HTTPError(400, reason="the body is not JSON") from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, reason="the body must be a JSON object")
        return data

    def bot(self, data: JSON | None = None) -> Sandbox:
        """The bot the call is about: ``"bot"`` (its id) in the body or the query string, else
        the only (or first) one."""
        raw = (data or {}).get("bot", self.get_query_argument("bot", None))
        try:
            return self.hub.bot(None if raw in (None, "") else int(str(raw)))
        except (KeyError, ValueError):
            raise tornado.web.HTTPError(404, reason=f"no bot {raw}") from None

    def person(self, data: JSON, user_id: object) -> SandboxUser:
        try:
            return self.bot(data).get_user(int(str(user_id)))
        except (KeyError, ValueError):
            raise tornado.web.HTTPError(404, reason=f"no user {user_id}") from None

    async def act(self, person: SandboxUser, action: Callable[[], Awaitable[object]]) -> None:
        before = {m.message_id: m.edits for m in person.messages}
        answers = len(person.answers)

        def changed() -> list[MessageRecord]:
            return [m for m in person.messages if before.get(m.message_id) != m.edits]

        try:
            await action()
        except AssertionError as exc:  # no such button: say which ones there are
            raise tornado.web.HTTPError(400, reason=str(exc).replace("\n", " ")) from None
        deadline = time.monotonic() + REPLY_WAIT
        while not changed() and len(person.answers) == answers:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        with contextlib.suppress(TimeoutError):
            await person.sandbox.idle(quiet=REPLY_QUIET, max_wait=REPLY_WAIT)
        self.reply(200, {"messages": [_message_json(m) for m in changed()]})


class UsersHandler(_Control):
    """``POST /sandbox/users``: a new person."""

    def post(self) -> None:
        data = self.body()
        first_name = str(data.get("first_name") or "").strip()
        if not first_name:
            raise tornado.web.HTTPError(400, reason="first_name is required")
        sandbox = self.bot(data)
        try:  # the same person on a second bot: their Telegram id again
            user_id = None if data.get("user_id") is None else int(str(data["user_id"]))
            person = sandbox.user(
                first_name, language=data.get("language_code") or None, user_id=user_id
            )
        except ValueError as exc:
            raise tornado.web.HTTPError(400, reason=str(exc)) from None
        self.reply(200, {"user_id": person.id})


class SendHandler(_Control):
    """``POST /sandbox/send``: the person sends a text."""

    async def post(self) -> None:
        data = self.body()
        person = self.person(data, data.get("user_id"))
        text = str(data.get("text") or "")
        if not text:
            raise tornado.web.HTTPError(400, reason="text is required")
        await self.act(person, lambda: person.send(text))


class PressHandler(_Control):
    """``POST /sandbox/press``: the person presses a button by its visible text."""

    async def post(self) -> None:
        data = self.body()
        person = self.person(data, data.get("user_id"))
        await self.act(person, lambda: person.press(str(data.get("text") or "")))


class ChatHandler(_Control):
    """``GET /sandbox/chats/<user_id>``: every message of the chat."""

    def get(self, user_id: str) -> None:
        person = self.person({}, user_id)
        self.reply(200, {"messages": [_message_json(m) for m in person.history]})


class BotsHandler(_Control):
    """``GET /sandbox/bots``: the bots served, each with its webhook and upstreams."""

    def get(self) -> None:
        self.reply(
            200,
            {
                "bots": [
                    {
                        "id": bot.bot_id,
                        "username": bot.bot_username,
                        "webhook": bot.webhook.get("url") or None,
                        "upstreams": bot.upstreams,
                        "users": len(bot.users),
                    }
                    for bot in self.hub.bots
                ]
            },
        )


class UpstreamsHandler(_Control):
    """``POST /sandbox/upstreams`` ``{"bot", "urls"}``: a reverse proxy in front of the bot's
    webhook, spreading its updates over these workers (``[]``: straight to the webhook)."""

    def post(self) -> None:
        data = self.body()
        urls = data.get("urls")
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise tornado.web.HTTPError(400, reason="urls must be a list of URLs")
        sandbox = self.bot(data)
        sandbox.upstreams = list(urls)
        self.reply(200, {"bot": sandbox.bot_id, "upstreams": sandbox.upstreams})


class SentHandler(_Control):
    """``GET /sandbox/sent?bot=ID``: every message the bot put in a chat, as ``{"at", "method",
    "chat_id"}`` (``at``: seconds on the sandbox's monotonic clock), to measure its pace."""

    def get(self) -> None:
        sandbox = self.bot()
        sent = [{"at": c.at, "method": c.method, "chat_id": c.chat_id} for c in sandbox.sent]
        self.reply(200, {"bot": sandbox.bot_id, "sent": sent})


class SandboxHttpServer:
    """The tornado server of one sandbox, on one loopback socket."""

    def __init__(self, hub: SandboxHub) -> None:
        self._hub = hub
        self._server: tornado.httpserver.HTTPServer | None = None
        self._active: set[asyncio.Task[Any]] = set()
        self.url = ""

    def application(self) -> tornado.web.Application:
        """The tornado application: Bot API, files, control API."""
        shared = {"hub": self._hub, "server": self}
        return tornado.web.Application(
            [
                (r"/bot([^/]+)/([A-Za-z0-9_]+)/?", BotApiHandler, shared),
                (r"/file/bot([^/]+)/(.+)", FileHandler, shared),
                (r"/sandbox/users/?", UsersHandler, shared),
                (r"/sandbox/send/?", SendHandler, shared),
                (r"/sandbox/press/?", PressHandler, shared),
                (r"/sandbox/chats/([^/]+)/?", ChatHandler, shared),
                (r"/sandbox/bots/?", BotsHandler, shared),
                (r"/sandbox/upstreams/?", UpstreamsHandler, shared),
                (r"/sandbox/sent/?", SentHandler, shared),
                (r".*", NotFoundHandler, shared),
            ],
            log_function=lambda handler: None,
        )

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind and listen; sets :attr:`url`. Refuses any non-loopback host."""
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the sandbox only listens on loopback, not {host!r}")
        sockets = tornado.netutil.bind_sockets(port, host, family=socket.AF_INET)
        self._server = tornado.httpserver.HTTPServer(
            self.application(), max_body_size=MAX_BODY_BYTES, idle_connection_timeout=60
        )
        self._server.add_sockets(sockets)
        sock_host, sock_port = sockets[0].getsockname()[:2]
        self.url = f"http://{sock_host}:{sock_port}"
        logger.info("sandbox Bot API listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening, cut every open connection (long polls and stalls included)."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.stop()
        for task in list(self._active):
            task.cancel()
        await asyncio.sleep(0)
        await server.close_all_connections()
