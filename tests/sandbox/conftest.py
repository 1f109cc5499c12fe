"""Fixtures for the sandbox tests: a fresh sandbox and a PTB Bot talking to it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.sandbox import DEFAULT_TOKEN, Sandbox


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    bot = Bot(DEFAULT_TOKEN, request=sandbox.request(), get_updates_request=sandbox.request())
    async with bot:
        yield bot
