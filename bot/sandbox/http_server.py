"""HTTP transport: the sandbox served on 127.0.0.1 with asyncio streams (no dependency).

Serves ``GET``/``POST /bot<token>/<method>`` with query-string, JSON, form-urlencoded and
multipart bodies, and ``GET /file/bot<token>/<file_path>`` for downloads — the surface of
api.telegram.org that PTB's ``HTTPXRequest`` uses. HTTP/1.1 keep-alive is supported (httpx pools
connections); an injected ``drop`` fault closes the connection without an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.sandbox.table import UploadedFile
from bot.sandbox.transport import TOKEN_RE

if TYPE_CHECKING:
    from bot.sandbox.core import Sandbox

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_HEADER_BYTES = 64 * 1024
# Telegram accepts uploads up to 50 MB; anything larger is refused before being read.
MAX_BODY_BYTES = 50 * 1024 * 1024
_API_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?$")
_FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}
_PARAM_RE = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_PERCENT_ESCAPE = re.compile(r"%(22|[01][0-9A-Fa-f])")


class _HttpError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(slots=True)
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


class SandboxHttpServer:
    """One listening socket on 127.0.0.1; every connection handled by its own task."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind and listen; sets :attr:`url`. Refuses any non-loopback host."""
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the sandbox only listens on loopback, not {host!r}")
        self._server = await asyncio.start_server(self._handle, host, port)
        sock_host, sock_port = self._server.sockets[0].getsockname()[:2]
        self.url = (
            f"http://{sock_host}:{sock_port}"
            if ":" not in sock_host
            else (f"http://[{sock_host}]:{sock_port}")
        )
        logger.info("sandbox Bot API listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening, cut every open connection (long polls included) and wait."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except _HttpError as exc:
                    body = json.dumps(
                        {"ok": False, "error_code": exc.status, "description": exc.detail}
                    ).encode()
                    await _write(writer, exc.status, body, keep_alive=False)
                    break
                if request is None:
                    break
                status, body, content_type = await self._respond(request)
                if status == 0:
                    break  # injected "drop": close without answering
                await _write(writer, status, body, request.keep_alive, content_type)
                if not request.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away (e.g. it timed out on a stall)
        except asyncio.CancelledError:
            pass  # server stopping; the connection is closed below
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
            self._connections.discard(task)

    async def _respond(self, request: _Request) -> tuple[int, bytes, str]:
        url = urlsplit(request.target)
        path = unquote(url.path)
        file_match = _FILE_PATH.match(path)
        if file_match and request.method in {"GET", "HEAD"}:
            content = self._sandbox.download(file_match["path"])
            if content is not None and TOKEN_RE.match(file_match["token"]):
                return 200, content, "application/octet-stream"
        match = _API_PATH.match(path)
        if match is None or not TOKEN_RE.match(match["token"]):
            return 404, json.dumps(_NOT_FOUND).encode(), "application/json"
        try:
            params, files = _parse_params(request, url.query)
        except _HttpError as exc:
            return 400, _error_body(400, f"Bad Request: {exc.detail}"), "application/json"
        response = await self._sandbox.call(match["method"], params, files)
        if response.dropped:
            return 0, b"", ""
        return response.status, response.payload, "application/json"


def _error_body(status: int, description: str) -> bytes:
    return json.dumps({"ok": False, "error_code": status, "description": description}).encode()


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _HttpError(400, "incomplete request") from None
        return None  # clean end of a keep-alive connection
    except asyncio.LimitOverrunError:
        raise _HttpError(431, "request header too large") from None
    if len(head) > MAX_HEADER_BYTES:
        raise _HttpError(431, "request header too large")
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise _HttpError(400, "malformed request line") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY_BYTES:
            raise _HttpError(413, "Request Entity Too Large")
        body = await reader.readexactly(length) if length else b""
    return _Request(method.upper(), target, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            # Trailer section ends with an empty line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise _HttpError(413, "Request Entity Too Large")
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _write(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    keep_alive: bool,
    content_type: str = "application/json",
) -> None:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Server: desserte-sandbox\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)
    await writer.drain()


def _parse_params(request: _Request, query: str) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters from the query string and the body, as Telegram accepts them."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    if not request.body:
        return params, files
    content_type, ctype_params = _split_header(request.headers.get("content-type", ""))
    if content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            raise _HttpError(400, "can't parse JSON encoded request") from None
        if not isinstance(data, dict):
            raise _HttpError(400, "JSON object expected")
        params.update(data)
    elif content_type == "multipart/form-data":
        boundary = ctype_params.get("boundary")
        if not boundary:
            raise _HttpError(400, "multipart boundary is missing")
        fields, files = _parse_multipart(request.body, boundary.encode("latin-1"))
        params.update(fields)
    else:
        # application/x-www-form-urlencoded (also the default for an untyped body).
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return params, files


def _split_header(value: str) -> tuple[str, dict[str, str]]:
    """``'form-data; name="a"'`` -> ``("form-data", {"name": "a"})``."""
    main = value.split(";", 1)[0].strip().lower()
    params = {}
    for key, raw in _PARAM_RE.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            # httpx (HTML5 form encoding) percent-escapes quotes and control characters.
            raw = _PERCENT_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw)
        params[key.lower()] = raw
    return main, params


def _parse_multipart(
    body: bytes, boundary: bytes
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    delimiter = b"--" + boundary
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break  # closing delimiter
        part = part.removeprefix(b"\r\n").removesuffix(b"\r\n")
        raw_headers, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            raise _HttpError(400, "malformed multipart part")
        headers: dict[str, str] = {}
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        _, disposition = _split_header(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            mime = headers.get("content-type")
            files[name] = UploadedFile(disposition["filename"] or name, content, mime)
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files
