"""The sandbox over HTTP on 127.0.0.1, with PTB's real HTTPXRequest and polling."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from telegram import Bot, InputFile
from telegram.error import BadRequest, EndPointNotFound, Forbidden, NetworkError, TimedOut
from telegram.ext import ApplicationBuilder

from bot.sandbox import DEFAULT_TOKEN, Sandbox

from .tiny_shop import add_handlers


async def _until(condition, limit: float = 10.0) -> None:
    """Wait until ``condition()`` holds; fail with AssertionError after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the bot did not answer in time")
        await asyncio.sleep(0.01)


async def test_tiny_app_polling_over_http(sandbox: Sandbox) -> None:
    url = await sandbox.serve_http(port=0)
    assert url.startswith("http://127.0.0.1:")
    try:
        app = (
            ApplicationBuilder()
            .token(DEFAULT_TOKEN)
            .base_url(f"{url}/bot")
            .base_file_url(f"{url}/file/bot")
            .build()
        )
        add_handlers(app)
        async with app:
            assert app.updater is not None
            await app.start()
            await app.updater.start_polling(timeout=1, poll_interval=0)
            try:
                alice = sandbox.user("Alice", language="fr")
                # Polling is asynchronous: on a loaded machine the bot may answer after the
                # sandbox looked idle, so wait for the answer itself (bounded).
                await alice.send("/start", wait=True)
                await _until(lambda: alice.messages and alice.last_message.text == "Bonjour Alice")
                await alice.press("Œufs", wait=True)
                await _until(lambda: alice.last_message.text == "Rayon Œufs")
                await _until(lambda: alice.answers and alice.answers[-1].text == "Œufs !")
                await alice.send_document(b"x" * 3000, "stock.csv", wait=True)
                await _until(lambda: alice.last_message.text == "Reçu stock.csv: 3000 o")
            finally:
                await app.updater.stop()
                await app.stop()
        assert sandbox.pending_updates == 0
    finally:
        await sandbox.stop_http()


async def test_bot_calls_over_http(sandbox: Sandbox) -> None:
    url = await sandbox.serve_http()
    alice = sandbox.user("Alice")
    try:
        async with Bot(DEFAULT_TOKEN, base_url=f"{url}/bot") as bot:
            content = bytes(range(256)) * 10
            sent = await bot.send_document(
                alice.id, InputFile(content, filename='bon "spécial".pdf'), caption="Facture"
            )
            document = alice.last_message.document
            assert document is not None
            assert (document.file_name, document.content) == ('bon "spécial".pdf', content)
            assert sent.caption == "Facture"
            with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
                await bot.send_message(alice.id, "")
            alice.block_bot()
            with pytest.raises(Forbidden):
                await bot.send_message(alice.id, "x")
            with pytest.raises(EndPointNotFound):
                await bot.do_api_request("sendTeleport", {})
            alice.unblock_bot()
            sandbox.faults.inject("sendMessage", "drop")
            with pytest.raises(NetworkError):
                await bot.send_message(alice.id, "perdu")
            sandbox.faults.inject("sendMessage", "stall")
            with pytest.raises(TimedOut):
                await bot.send_message(alice.id, "en retard", read_timeout=0.2)
            assert alice.last_message.text == "en retard"  # delivered, answer lost
            await bot.send_message(alice.id, "ok")
        async with httpx.AsyncClient(base_url=url) as client:
            # JSON bodies and GET with a query string work as on api.telegram.org.
            answer = await client.post(
                f"/bot{DEFAULT_TOKEN}/sendMessage",
                json={"chat_id": alice.id, "text": "<b>json</b>", "parse_mode": "HTML"},
            )
            assert answer.status_code == 200
            assert answer.json()["result"]["text"] == "json"
            answer = await client.get(f"/bot{DEFAULT_TOKEN}/getMe")
            assert answer.json()["result"]["username"] == "desserte_bot"
            answer = await client.get("/nowhere")
            assert answer.status_code == 404
            assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    finally:
        await sandbox.stop_http()


async def test_only_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        await Sandbox().serve_http(host="0.0.0.0")
