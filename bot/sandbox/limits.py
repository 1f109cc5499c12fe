"""Rate limits (token buckets) and injectable faults.

Both are consulted by the core before a method runs. Rate limits are only enforced when the
sandbox is created with ``strict_limits=True``; faults only when a test injects them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["429", "500", "502", "stall", "drop", "connect_timeout"]
FAULT_KINDS: frozenset[str] = frozenset({"429", "500", "502", "stall", "drop", "connect_timeout"})


@dataclass(slots=True)
class RateLimits:
    """Telegram's documented broadcast limits: about 30 messages per second overall and one
    per second per chat, with a small burst allowance per chat."""

    global_per_second: float = 30.0
    global_burst: float = 30.0
    per_chat_per_second: float = 1.0
    per_chat_burst: float = 3.0
    per_group_per_minute: float = 20.0
    """Groups (negative chat ids): 20 messages a minute (Bot API FAQ)."""


class _Bucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self) -> float:
        """Seconds until one token is available (0 if available now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class RateLimiter:
    """Answers whether one more message may go out now, and if not, the ``retry_after``."""

    def __init__(
        self, limits: RateLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or RateLimits()
        self._clock = clock
        self._global = _Bucket(self.limits.global_per_second, self.limits.global_burst, clock())
        self._chats: dict[int | str, _Bucket] = {}
        self._groups: dict[int | str, _Bucket] = {}

    def acquire(self, chat_id: int | str) -> int | None:
        """Take a token for a message to ``chat_id``; None if allowed, else retry_after (s)."""
        now = self._clock()
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Bucket(
                self.limits.per_chat_per_second, self.limits.per_chat_burst, now
            )
        buckets = [self._global, chat]
        if _is_group(chat_id):
            group = self._groups.get(chat_id)
            if group is None:
                per_minute = self.limits.per_group_per_minute
                group = self._groups[chat_id] = _Bucket(per_minute / 60, per_minute, now)
            buckets.append(group)
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.wait_time() for bucket in buckets)
        if wait > 0:
            # Telegram's retry_after is a whole number of seconds, at least 1.
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1
        return None


def _is_group(chat_id: int | str) -> bool:
    """Group and supergroup ids are negative (channels' ``@name`` aside)."""
    try:
        return int(chat_id) < 0
    except ValueError:
        return False


@dataclass(slots=True, eq=False)
class Fault:
    """One injected fault; ``times`` left to fire (None = every matching call)."""

    kind: str
    method: str | None = None
    times: int | None = 1
    chat_id: int | str | None = None
    retry_after: int = 1
    stall_seconds: float | None = None
    fired: int = 0

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)


class FaultInjector:
    """``sandbox.faults``: make the next matching calls fail the way the real network does.

    Kinds, and what the bot's client sees:

    * ``"429"`` — HTTP 429 ``Too Many Requests: retry after N`` (PTB raises ``RetryAfter``).
      The call is not executed.
    * ``"500"`` / ``"502"`` — ``Internal Server Error`` / ``Bad Gateway`` (PTB: ``NetworkError``).
      The call is not executed.
    * ``"drop"`` — the connection is closed before any answer (PTB: ``NetworkError``). The call
      is not executed.
    * ``"connect_timeout"`` — the client times out before the request left (PTB: ``TimedOut``
      caused by ``httpx.ConnectTimeout``). The call is not executed.
    * ``"stall"`` — the call IS executed (the message is delivered, as happens for real when a
      response is lost), then the answer is held back for ``stall_seconds`` (default: longer than
      any client read timeout). The client's own read timeout fires (PTB: ``TimedOut``), so a
      naive retry produces a duplicate, exactly as with Telegram.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def inject(
        self,
        method: str | None = None,
        kind: FaultKind | str = "500",
        times: int | None = 1,
        chat_id: int | str | None = None,
        retry_after: int = 1,
        stall_seconds: float | None = None,
    ) -> Fault:
        """Arm a fault for ``method`` (any method if None), optionally only for ``chat_id``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        fault = Fault(
            kind=kind,
            method=method,
            times=times,
            chat_id=chat_id,
            retry_after=retry_after,
            stall_seconds=stall_seconds,
        )
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        """Faults still armed."""
        return list(self._faults)

    def take(self, method: str, params: Mapping[str, Any]) -> Fault | None:
        """The fault to apply to this call, if any (consumes one of its ``times``)."""
        for fault in self._faults:
            if fault.matches(method, params):
                fault.fired += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None
