"""Several bots on one sandbox server, and webhook updates spread over workers as a proxy would."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import tornado.httpserver
import tornado.web

from bot.sandbox.http_server import SandboxHttpServer
from bot.sandbox.hub import SandboxHub

ALPHA = "111:ALPHAtoken"
BETA = "222:BETAtoken"
SECRET = "s3cret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Worker:
    """A stand-in for one ``desserte run`` webhook: records the updates it is given."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[tuple[int, str | None]] = []
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        worker = self

        class Hook(tornado.web.RequestHandler):
            def post(self) -> None:
                update = json.loads(self.request.body)
                secret = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token")
                worker.received.append((update["update_id"], secret))
                self.finish("ok")

        self.server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/hook", Hook)]))
        self.server.listen(self.port, address="127.0.0.1")

    async def stop(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()


@pytest.fixture
async def hub_url() -> AsyncIterator[tuple[SandboxHub, str]]:
    hub = SandboxHub([ALPHA, BETA])
    server = SandboxHttpServer(hub)
    await server.start()
    try:
        yield hub, server.url
    finally:
        await server.stop()


async def test_each_bot_has_its_own_people_and_chats(hub_url: tuple[SandboxHub, str]) -> None:
    hub, url = hub_url
    async with httpx.AsyncClient(base_url=url) as client:
        me = (await client.get(f"/bot{BETA}/getMe")).json()["result"]
        assert me["id"] == 222
        assert (await client.get("/bot333:OTHERtoken/getMe")).status_code == 401
        alice = (await client.post("/sandbox/users", json={"bot": 111, "first_name": "A"})).json()
        bruno = (await client.post("/sandbox/users", json={"bot": 222, "first_name": "B"})).json()
        sent = await client.post(
            f"/bot{ALPHA}/sendMessage", json={"chat_id": alice["user_id"], "text": "pour Alice"}
        )
        assert sent.status_code == 200
        # Bruno is a person of bot 222 only: bot 111 does not know his chat.
        refused = await client.post(
            f"/bot{ALPHA}/sendMessage", json={"chat_id": bruno["user_id"], "text": "x"}
        )
        assert refused.status_code == 400
        assert (await client.get(f"/sandbox/chats/{bruno['user_id']}?bot=111")).status_code == 404
        chat = (await client.get(f"/sandbox/chats/{alice['user_id']}?bot=111")).json()
        assert [m["text"] for m in chat["messages"]] == ["pour Alice"]
        sent_log = (await client.get("/sandbox/sent?bot=111")).json()["sent"]
        assert [(s["method"], s["chat_id"]) for s in sent_log] == [
            ("sendMessage", alice["user_id"])
        ]
        assert (await client.get("/sandbox/sent?bot=222")).json()["sent"] == []
    assert [bot.bot_id for bot in hub.bots] == [111, 222]


async def test_updates_are_spread_over_the_workers_and_skip_one_that_is_down(
    hub_url: tuple[SandboxHub, str],
) -> None:
    hub, url = hub_url
    workers = [Worker(name) for name in ("w1", "w2", "w3")]
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            hook = "https://bot.example.org/hook"
            answer = await client.post(
                f"/bot{ALPHA}/setWebhook", json={"url": hook, "secret_token": SECRET}
            )
            assert answer.json()["ok"] is True
            upstreams = [w.url for w in workers]
            await client.post("/sandbox/upstreams", json={"bot": 111, "urls": upstreams})
            alice = await client.post("/sandbox/users", json={"bot": 111, "first_name": "A"})
            person = hub.bot(111).get_user(alice.json()["user_id"])
            for n in range(6):
                await person.send(f"message {n}")
            assert [len(w.received) for w in workers] == [2, 2, 2]
            assert {secret for w in workers for _, secret in w.received} == {SECRET}

            await workers[1].stop()  # w2 stops answering: its turns go to the next worker
            for n in range(6):
                await person.send(f"again {n}")
            assert len(workers[1].received) == 2
            delivered = sorted(u for w in workers for u, _ in w.received)
            assert delivered == list(range(1, 13))  # every update once, none lost
            failed = [p for p in hub.bot(111).webhook_posts if p.status == 0]
            assert failed
            assert all(p.url.startswith(workers[1].url) for p in failed)
            # Bot 222 has no webhook behind these workers: nothing of it reached them.
            assert hub.bot(222).webhook == {}
    finally:
        for worker in workers:
            await worker.stop()
