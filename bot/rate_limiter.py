"""The bot's requests paced as Telegram asks, one chat's flood wait holding back that chat only.

PTB's ``AIORateLimiter`` stops every request while any one of them waits out a 429: one busy
chat would freeze the whole bot for its ``retry_after``. :class:`ChatRateLimiter` keeps the
overall pace (30 requests a second) and about one message a second per chat with a small
burst, and waits out a 429 for the chat that got it, then tries again.

Several worker processes of one bot share its 30 messages a second: given a ``shared`` budget
(:func:`shared_budget`, a row per bot in PostgreSQL: ``models.send_pace``), each message
reserves its slot there instead of in the process, whichever worker sends it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from models.send_pace import reserve_slot

log = logging.getLogger(__name__)

# What Telegram's per-chat limit counts: messages put in a chat. Edits, pop-up answers and the
# rest only take the overall pace, so a person's taps are never slowed by their own chat.
MESSAGE_ENDPOINTS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
    }
)
SHARED_RATE = 25.0
"""Messages a second of the shared budget, evenly spaced (one every 40 ms): under Telegram's 30
with room for the jitter of busy processes and of the network, which may bring messages closer
on arrival than their slots (at 29.5 a second, any jitter at all makes 31 within some second;
at 28, 30 was seen under load; at 27, 31 twice, with three workers and two test suites on two
cores: five messages held back 150 ms arriving within 2 ms; measured by
``tests/reliability/test_workers.py``). Five slots of room cost a broadcast 8 % against 27."""
LATE = 0.01
"""Seconds past its shared slot after which a message takes another slot."""
_NO_CHAT = "*"  # the key of requests that name no chat

SharedBudget = Callable[[float], Awaitable[float]]
"""Reserves the bot's next slot, ``interval`` seconds after the one before, among every worker;
returns the seconds to wait."""


def shared_budget(sessions: async_sessionmaker[AsyncSession], bot_id: int) -> SharedBudget:
    """The bot's sending budget in PostgreSQL (:func:`models.send_pace.reserve_slot`), shared by
    every worker process of the bot."""

    async def reserve(interval: float) -> float:
        async with sessions() as session:
            return await reserve_slot(session, bot_id, interval)

    return reserve


_KEEP_CHATS = 10_000  # idle chats' limiters dropped past this many


class ChatRateLimiter(BaseRateLimiter[int]):
    """Overall ``overall_per_second``; per chat ``per_chat_per_second`` with a burst of
    ``burst`` messages; on a 429 the chat (only it) waits ``retry_after`` and the request is
    tried again, up to ``max_retries`` times (``rate_limit_args`` of a call overrides it), after
    which the ``RetryAfter`` reaches the caller. With ``shared``, a message's place in the
    overall pace is reserved in that budget, among every worker of the bot."""

    def __init__(
        self,
        *,
        overall_per_second: float = 30,
        per_chat_per_second: float = 1,
        burst: int = 3,
        max_retries: int = 3,
        shared: SharedBudget | None = None,
    ) -> None:
        self._overall = AsyncLimiter(overall_per_second, 1)
        self._shared = shared
        self._per_chat_rate = per_chat_per_second
        self._burst = burst
        self._max_retries = max_retries
        self._chats: dict[int | str, AsyncLimiter] = {}
        self._held_until: dict[int | str, float] = {}

    async def initialize(self) -> None:
        """Nothing to prepare."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _chat_limiter(self, chat: int | str) -> AsyncLimiter:
        limiter = self._chats.get(chat)
        if limiter is None:
            if len(self._chats) >= _KEEP_CHATS:
                idle = [key for key, lim in self._chats.items() if lim.has_capacity(self._burst)]
                for key in idle:
                    del self._chats[key]
            limiter = self._chats[chat] = AsyncLimiter(
                self._burst, self._burst / self._per_chat_rate
            )
        return limiter

    async def _wait_if_held(self, chat: int | str) -> None:
        loop = asyncio.get_running_loop()
        # A loop, not an Event: another 429 of the chat may push the time further while we wait.
        while (until := self._held_until.get(chat, 0.0)) > loop.time():  # noqa: ASYNC110
            await asyncio.sleep(until - loop.time())
        self._held_until.pop(chat, None)

    async def _reserve_shared(self) -> None:
        """Wait for this message's slot in the shared budget. A busy process may wake up
        late for its slot, which would bring its message too close to the next worker's: a
        slot missed by more than :data:`LATE` is given up for a new one (the pace only slows)."""
        assert self._shared is not None
        loop = asyncio.get_running_loop()
        interval = 1.0 / SHARED_RATE
        for _attempt in range(3):
            try:
                delay = await self._shared(interval)
            except Exception:  # the database hiccuped: one interval, this once
                log.exception("could not reserve a slot of the shared sending budget")
                delay = interval
            due = loop.time() + delay
            if delay > 0:
                await asyncio.sleep(delay)
            if loop.time() - due <= LATE:
                return

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Run ``callback`` when the pace allows, again after a 429 (see the class)."""
        max_retries = rate_limit_args if rate_limit_args is not None else self._max_retries
        raw = data.get("chat_id")
        chat: int | str = _NO_CHAT if raw is None else raw if isinstance(raw, int) else str(raw)
        loop = asyncio.get_running_loop()
        for attempt in range(max_retries + 1):
            await self._wait_if_held(chat)
            try:
                if endpoint in MESSAGE_ENDPOINTS and chat != _NO_CHAT:
                    if self._shared is not None:
                        async with self._chat_limiter(chat):
                            await self._reserve_shared()
                            return await callback(*args, **kwargs)
                    async with self._chat_limiter(chat), self._overall:
                        return await callback(*args, **kwargs)
                async with self._overall:
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == max_retries:
                    log.warning("chat %s still flood-limited after %d retries", chat, attempt)
                    raise
                wait = exc.retry_after
                seconds = wait if isinstance(wait, (int, float)) else wait.total_seconds()
                until = loop.time() + seconds + 0.1
                self._held_until[chat] = max(self._held_until.get(chat, 0.0), until)
        raise AssertionError("unreachable")  # the loop returns or raises
