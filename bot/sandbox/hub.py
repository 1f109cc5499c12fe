"""Several bots behind one sandbox server, as api.telegram.org serves every bot.

A :class:`SandboxHub` holds one :class:`~bot.sandbox.core.Sandbox` per bot, keyed by the bot's
id (the number before the ``:`` of its token): each bot has its own users, chats, updates,
webhook and call log. ``desserte sandbox`` serves a hub; ``Sandbox.serve_http`` serves a hub of
one (that sandbox, whatever the token's number, as before).

Given tokens, the hub knows those bots only (any other token: 401 ``Unauthorized``); without,
a bot comes into being at its first call (or its first mention in the control API).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from bot.sandbox.core import BOT_ID, FIRST_USER_ID, Sandbox
from bot.sandbox.transport import TOKEN_RE


def bot_id_of(token: str) -> int:
    """The bot's id: the number before the colon of its token (ValueError if malformed)."""
    if not TOKEN_RE.match(token):
        raise ValueError("malformed token")
    return int(token.split(":", 1)[0])


class SandboxHub:
    """The bots one sandbox server answers for (see the module docstring)."""

    def __init__(
        self, tokens: Iterable[str] = (), *, upstreams: Iterable[str] = (), **sandbox_options: Any
    ) -> None:
        self._options = sandbox_options
        self._upstreams = list(upstreams)
        # Telegram's user ids are global: two bots' people never share one by chance (the same
        # person on two bots is asked for by id).
        self._user_ids = itertools.count(FIRST_USER_ID)
        self._bots: dict[int, Sandbox] = {}
        self._open = True
        self._single = False
        for token in tokens:
            self._add(bot_id_of(token), token)
            self._open = False

    @classmethod
    def of(cls, sandbox: Sandbox) -> SandboxHub:
        """A hub serving ``sandbox`` alone, for every token it accepts."""
        hub = cls()
        hub._bots[sandbox.bot_id] = sandbox
        hub._open = False
        hub._single = True
        return hub

    def _add(self, bot_id: int, token: str | None = None) -> Sandbox:
        sandbox = Sandbox(
            bot_id=bot_id,
            bot_username=f"desserte{bot_id}_bot",
            token=token,
            **self._options,
        )
        sandbox.upstreams = list(self._upstreams)
        sandbox._user_ids = self._user_ids
        self._bots[bot_id] = sandbox
        return sandbox

    @property
    def bots(self) -> list[Sandbox]:
        """Every bot served so far, in order of appearance."""
        return list(self._bots.values())

    def for_token(self, token: str) -> Sandbox | None:
        """The bot a Bot API call with ``token`` reaches, or None (401)."""
        if self._single:
            only = next(iter(self._bots.values()))
            return only if only.authorized(token) else None
        try:
            bot_id = bot_id_of(token)
        except ValueError:
            return None
        sandbox = self._bots.get(bot_id)
        if sandbox is None and self._open:
            sandbox = self._add(bot_id)
        if sandbox is None or not sandbox.authorized(token):
            return None
        return sandbox

    def bot(self, bot_id: int | None = None) -> Sandbox:
        """The bot with this id (created if the hub is open), or with None the only or first
        one; KeyError when there is no such bot."""
        if bot_id is None:
            if not self._bots:
                if not self._open:
                    raise KeyError("no bot")
                return self._add(BOT_ID)
            return next(iter(self._bots.values()))
        if self._single:
            only = next(iter(self._bots.values()))
            if bot_id != only.bot_id:
                raise KeyError(bot_id)
            return only
        sandbox = self._bots.get(bot_id)
        if sandbox is None:
            if not self._open:
                raise KeyError(bot_id)
            sandbox = self._add(bot_id)
        return sandbox

    def download(self, token: str, path: str) -> bytes | None:
        """A file of the bot ``token`` reaches (None if unknown)."""
        sandbox = self.for_token(token)
        return None if sandbox is None else sandbox.download(path)
