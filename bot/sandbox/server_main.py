"""``desserte sandbox``: the sandbox as a server on 127.0.0.1, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import signal

from bot.sandbox.core import Sandbox


async def run_sandbox(port: int = 8081, token: str | None = None) -> int:
    """Serve a fresh sandbox on ``127.0.0.1:port`` (accepting only ``token`` if given);
    prints where, and returns 0 once stopped."""
    sandbox = Sandbox(token=token)
    url = await sandbox.serve_http(port=port)
    print(f"sandbox Bot API on {url} (TELEGRAM_API_URL={url}); control API under {url}/sandbox/")
    print(f'  curl -s -X POST {url}/sandbox/users -d \'{{"first_name": "Alice"}}\'', flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await sandbox.stop_http()
    return 0
