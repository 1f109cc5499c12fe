"""Worker processes for the benchmarks and the tests: ``desserte run`` in webhook mode, each on
its port, against a sandbox served over HTTP, on a PostgreSQL database made fresh for the run.

``tests/reliability/workers.py`` (the proof harness) and ``bench/networks.py`` share them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db import create_engine

ROOT = Path(__file__).resolve().parents[1]
HOOK_PATH = "/tg-harness-3f9c1e7a"
SECRET = "harness-secret-0123456789"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(condition: Callable[[], bool | Awaitable[bool]], limit: float, what: str) -> None:
    """Wait until ``condition()`` holds; AssertionError naming ``what`` after ``limit`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not in {limit:.0f} s: {what}")
        # Not too often: this loop also serves the sandbox, whose clock measures the pace.
        await asyncio.sleep(0.25)


async def fresh_database(base_url: str, suffix: str) -> str:
    """A new, empty PostgreSQL database beside ``base_url``'s (dropped first if it exists);
    returns its URL."""
    url = make_url(base_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url.set(database="postgres").render_as_string(hide_password=False))
    try:
        async with admin.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@dataclass
class Worker:
    """One ``desserte run`` process in webhook mode on ``port``; its output in ``log``."""

    name: str
    port: int
    environment: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where the reverse proxy reaches it."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process."""
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--port", str(self.port)],
                cwd=self.log.parent,
                env=self.environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process is not None and self.process.poll() is None

    async def healthy(self) -> bool:
        """Whether it answers ``GET /healthz``."""
        try:
            async with httpx.AsyncClient(timeout=1) as client:
                return (await client.get(f"{self.url}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: the process dies at once, whatever it was doing."""
        if self.process is not None and self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop within 10 s."""
        if self.process is None or not self.alive:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        """What it printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def worker_environment(
    database_url: str, token: str, api_url: str, admin_ids: str, **settings: str
) -> dict[str, str]:
    """The environment of a worker: this process's, without any desserte setting, then the
    database, the bot, the sandbox as Telegram, the webhook behind the proxy and ``settings``."""
    from bot.settings import Settings

    names = {name.upper() for name in Settings.model_fields}
    return {
        **{k: v for k, v in os.environ.items() if k not in names},
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": api_url,
        "WEBHOOK_URL": f"https://bot.example.org{HOOK_PATH}",
        "WEBHOOK_SECRET": SECRET,
        "ADMIN_IDS": admin_ids,
        **settings,
    }


def start_workers(
    count: int, environment: dict[str, str], folder: Path, first: int = 1
) -> list[Worker]:
    """Start ``count`` workers with ``environment``, each on a free port, logging to
    ``folder/wN.log``."""
    workers = []
    for n in range(first, first + count):
        worker = Worker(f"w{n}", free_port(), environment, folder / f"w{n}.log")
        worker.start()
        workers.append(worker)
    return workers


async def wait_healthy(workers: list[Worker], limit: float = 40.0) -> None:
    """Every worker answers its health check (AssertionError with its output if one died)."""
    for worker in workers:

        async def up(worker: Worker = worker) -> bool:
            return not worker.alive or await worker.healthy()

        await until(up, limit, f"{worker.name} up")
        assert worker.alive, worker.output()
