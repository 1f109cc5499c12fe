"""The bot's rate limiter: one chat's 429 holds back that chat only."""

from __future__ import annotations

import asyncio
import time

from telegram import Bot
from telegram.ext import ExtBot

from bot.rate_limiter import ChatRateLimiter
from bot.sandbox import Sandbox


async def test_a_429_for_one_chat_does_not_delay_another() -> None:
    sandbox = Sandbox()
    slow, quick = sandbox.user("Ana"), sandbox.user("Bob")
    bot: Bot = ExtBot("123456:SANDBOX", request=sandbox.request(), rate_limiter=ChatRateLimiter())
    async with bot:
        fault = sandbox.faults.inject("sendMessage", "429", chat_id=slow.id, retry_after=2)
        start = time.monotonic()
        done: dict[str, float] = {}

        async def send(user, name: str, after: float = 0) -> None:
            await asyncio.sleep(after)  # Bob writes while Ana's chat waits out its 429
            await bot.send_message(user.id, f"bonjour {name}")
            done[name] = time.monotonic() - start

        await asyncio.gather(send(slow, "Ana"), send(quick, "Bob", after=0.3))
    assert fault.fired == 1
    assert done["Bob"] < 0.8  # answered at once
    assert done["Ana"] >= 2  # waited its retry_after, then got its message
    assert [m.text for m in slow.messages] == ["bonjour Ana"]
    assert [m.text for m in quick.messages] == ["bonjour Bob"]
