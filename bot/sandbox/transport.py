"""In-process transport: a PTB ``BaseRequest`` that calls the sandbox directly.

PTB builds the request exactly as for the network (``RequestData``); this class hands the
wire-level form fields (``json_parameters``: strings, objects JSON-encoded) and the multipart
files (bytes and file names) to :meth:`Sandbox.call`, and returns Telegram's HTTP status and JSON
bytes so PTB's own ``BaseRequest`` error handling raises ``BadRequest``, ``Forbidden``,
``RetryAfter``, ``NetworkError``... as it would against Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.sandbox.table import UploadedFile

if TYPE_CHECKING:
    from bot.sandbox.core import Sandbox

logger = logging.getLogger(__name__)

_API_PATH = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)$")
_FILE_PATH = re.compile(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_NOT_FOUND = b'{"ok":false,"error_code":404,"description":"Not Found"}'
_UNAUTHORIZED = b'{"ok":false,"error_code":401,"description":"Unauthorized"}'


class SandboxRequest(BaseRequest):
    """``BaseRequest`` for ``ApplicationBuilder().request(...)`` / ``.get_updates_request(...)``.

    ``read_timeout`` (default 5 s, None = wait forever) bounds how long a call may take before
    PTB gets ``TimedOut`` — it is what cuts an injected ``stall`` fault short.
    """

    __slots__ = ("_read_timeout", "_sandbox")

    def __init__(self, sandbox: Sandbox, read_timeout: float | None = 5.0) -> None:
        self._sandbox = sandbox
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open: no sockets."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        path = urlsplit(url).path
        file_match = _FILE_PATH.search(path)
        if file_match:
            content = self._sandbox.download(unquote(file_match["path"]))
            return (200, content) if content is not None else (404, _NOT_FOUND)
        match = _API_PATH.search(path)
        if match is None or not TOKEN_RE.match(unquote(match["token"])):
            return 404, _NOT_FOUND
        if not self._sandbox.authorized(unquote(match["token"])):
            return 401, _UNAUTHORIZED
        params: dict[str, Any] = request_data.json_parameters if request_data else {}
        files = _files(request_data) if request_data and request_data.contains_files else {}
        timeout = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        try:
            response = await asyncio.wait_for(
                self._sandbox.call(match["method"], params, files), timeout
            )
        except TimeoutError as exc:
            raise TimedOut(f"Timed out after {timeout}s (sandbox)") from exc
        if response.unsent:
            raise TimedOut("Timed out connecting (sandbox)") from httpx.ConnectTimeout(
                "sandbox: connect timeout"
            )
        if response.dropped:
            raise NetworkError("httpx.RemoteProtocolError: Server disconnected (sandbox drop)")
        return response.status, response.payload


def _files(request_data: RequestData) -> dict[str, UploadedFile]:
    out = {}
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        out[name] = UploadedFile(
            filename=filename or name, content=bytes(data), mime_type=mime_type
        )
    return out
