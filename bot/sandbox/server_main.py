"""``desserte sandbox``: the sandbox as a server on 127.0.0.1, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

from bot.sandbox.http_server import SandboxHttpServer
from bot.sandbox.hub import SandboxHub


async def run_sandbox(
    port: int = 8081, tokens: Sequence[str] = (), upstreams: Sequence[str] = ()
) -> int:
    """Serve a fresh sandbox on ``127.0.0.1:port`` for every bot (or for ``tokens`` only),
    each bot's webhook behind ``upstreams`` if given; prints where, and returns 0 once
    stopped."""
    hub = SandboxHub(tokens, upstreams=upstreams)
    server = SandboxHttpServer(hub)
    await server.start(port=port)
    url = server.url
    print(f"sandbox Bot API on {url} (TELEGRAM_API_URL={url}); control API under {url}/sandbox/")
    print(f'  curl -s -X POST {url}/sandbox/users -d \'{{"first_name": "Alice"}}\'', flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0
