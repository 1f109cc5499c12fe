"""``desserte run`` as a real process, against the sandbox served on a free port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "4242:RUNTESTsecretpart"
ADMIN = 900_777
START_TIMEOUT = 30.0
_SETTINGS = {"WEBHOOK_URL", "WEBHOOK_SECRET", "TELEGRAM_BOT_TOKEN", "DATABASE_URL"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def served() -> AsyncIterator[tuple[Sandbox, str]]:
    sandbox = Sandbox()
    url = await sandbox.serve_http()
    try:
        yield sandbox, url
    finally:
        await sandbox.stop_http()


class Run:
    """One ``python -m bot.cli run`` process; always killed at the end."""

    def __init__(self, tmp_path: Path, api_url: str, *args: str, **env: str) -> None:
        inherited = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
        environment = {
            **inherited,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.sqlite3'}",
            "TELEGRAM_API_URL": api_url,
            "ADMIN_IDS": str(ADMIN),
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", *args],
            cwd=tmp_path,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        self.read = ""
        """What :meth:`wait_for` has read of the output so far."""

    def wait_for(self, text: str, count: int = 1, timeout: float = 60.0) -> None:
        """Read the output until ``text`` appeared on ``count`` lines (AssertionError after
        ``timeout`` s): under load the start-up takes seconds, so no fixed sleep."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while self.read.count(text) < count:
            assert time.monotonic() < deadline, f"{text!r} × {count} not seen: {self.read}"
            line = self.process.stdout.readline()
            assert line, f"the process ended before {text!r} × {count}: {self.read}"
            self.read += line

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit status and everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return self.process.returncode, self.read + output

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.kill()


async def until(condition, limit: float = START_TIMEOUT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError("not in time")
        await asyncio.sleep(0.1)


async def greeted(client: httpx.AsyncClient, sandbox: Sandbox) -> dict:
    answer = await client.post(
        "/sandbox/users", json={"first_name": "Alice", "language_code": "fr"}
    )
    user_id = answer.json()["user_id"]
    answer = await client.post("/sandbox/send", json={"user_id": user_id, "text": "/start"})
    assert answer.status_code == 200
    return {"user_id": user_id, "messages": answer.json()["messages"]}


async def test_polling_greets_then_stops_on_sigterm(
    served: tuple[Sandbox, str], tmp_path: Path, runs: list[Run]
) -> None:
    sandbox, url = served
    run = Run(tmp_path, url)
    runs.append(run)

    async def polling() -> bool:
        return sandbox.stats.calls["getUpdates"] > 0

    await until(polling)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        alice = await greeted(client, sandbox)
        assert alice["messages"][0]["text"].startswith("Bonjour Alice")
        chat = (await client.get(f"/sandbox/chats/{alice['user_id']}")).json()["messages"]
        assert [m["from"] for m in chat] == ["user", "bot"]
    status, output = await asyncio.to_thread(run.stop)  # the sandbox serves meanwhile
    assert status == 0, output
    assert TOKEN not in output
    assert "RUNTESTsecretpart" not in output
    assert "Traceback" not in output


async def test_webhook_checks_the_secret(
    served: tuple[Sandbox, str], tmp_path: Path, runs: list[Run]
) -> None:
    sandbox, url = served
    port = free_port()
    hook = f"http://127.0.0.1:{port}/hook-unguessable"
    run = Run(tmp_path, url, "--port", str(port), WEBHOOK_URL=hook, WEBHOOK_SECRET="s3cret-value")
    runs.append(run)

    async def hooked() -> bool:
        return sandbox.webhook.get("url") == hook

    await until(hooked)
    assert sandbox.webhook["secret_token"] == "s3cret-value"
    assert set(sandbox.webhook["allowed_updates"]) >= {
        "message",
        "callback_query",
        "my_chat_member",
    }
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert (await client.get(f"/bot{TOKEN}/getUpdates")).status_code == 409
        alice = await greeted(client, sandbox)
        assert alice["messages"][0]["text"].startswith("Bonjour Alice")
    admin = sandbox.user("Admin", user_id=ADMIN)
    forged = {
        "update_id": 999,
        "message": {
            "message_id": 1,
            "date": 1_800_000_000,
            "chat": {"id": ADMIN, "type": "private", "first_name": "Admin"},
            "from": {"id": ADMIN, "is_bot": False, "first_name": "Admin"},
            "text": "/cycle",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"http://127.0.0.1:{port}/healthz")).text == "ok"
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            answer = await client.post(hook, json=forged, headers=headers)
            assert answer.status_code == 403
    await asyncio.sleep(1.0)
    assert admin.messages == []  # the forged /cycle did nothing
    status, output = await asyncio.to_thread(run.stop)  # the sandbox serves meanwhile
    assert status == 0, output
    assert TOKEN not in output


async def test_a_rejected_token_is_one_line_and_exit_1(tmp_path: Path, runs: list[Run]) -> None:
    sandbox = Sandbox(token="1:ONLYTHISONE")
    url = await sandbox.serve_http()
    try:
        run = Run(tmp_path, url)
        runs.append(run)
        output, _ = await asyncio.to_thread(run.process.communicate, timeout=START_TIMEOUT)
    finally:
        await sandbox.stop_http()
    assert run.process.returncode == 1
    assert output.strip().splitlines() == [
        "ERROR desserte: Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN."
    ]


async def test_no_network_is_a_line_then_retries(tmp_path: Path, runs: list[Run]) -> None:
    run = Run(tmp_path, f"http://127.0.0.1:{free_port()}")
    runs.append(run)
    await asyncio.to_thread(run.wait_for, "Telegram cannot be reached", 2)
    status, output = await asyncio.to_thread(run.stop)  # the sandbox serves meanwhile
    lines = output.strip().splitlines()
    assert status == 0
    assert len(lines) >= 2, output
    assert all(line.startswith("WARNING desserte: Telegram cannot be reached") for line in lines)
    assert "Traceback" not in output
    assert TOKEN not in output
