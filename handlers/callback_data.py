"""Typed, prefixed callback data: ``lang:set:en``, ``cat:page:3:12``…

Each feature declares its routes once (:class:`Route`); keyboards pack them, handlers register
on ``route.pattern`` and unpack them. Everything stays within Telegram's 64-byte limit (checked
when packing, so a too-long button fails in the tests rather than at Telegram).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
_SEPARATOR = ":"


class CallbackDataError(ValueError):
    """Callback data that does not fit its route (forged, stale or malformed)."""


@dataclass(frozen=True)
class Route:
    """A callback prefix with the types of its fields (``int`` or ``str``)."""

    prefix: str
    fields: tuple[type, ...] = ()

    @property
    def pattern(self) -> re.Pattern[str]:
        """The regular expression PTB's ``CallbackQueryHandler`` matches this route with."""
        fields = "".join(":[^:]*" for _ in self.fields)
        return re.compile("^" + re.escape(self.prefix) + fields + "$")

    def pack(self, *values: int | str) -> str:
        """The callback data for ``values``; raises ``ValueError`` past 64 bytes."""
        if len(values) != len(self.fields):
            raise ValueError(f"{self.prefix} takes {len(self.fields)} values, got {len(values)}")
        parts = [self.prefix]
        for kind, value in zip(self.fields, values, strict=True):
            text = str(value)
            if kind is int and not re.fullmatch(r"-?\d+", text):
                raise ValueError(f"{self.prefix}: {value!r} is not an int")
            if _SEPARATOR in text:
                raise ValueError(f"{self.prefix}: {value!r} contains {_SEPARATOR!r}")
            parts.append(text)
        data = _SEPARATOR.join(parts)
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data

    def unpack(self, data: str | None) -> tuple[int | str, ...]:
        """The typed values in ``data``; raises :class:`CallbackDataError` when it does not fit."""
        if data is None:
            raise CallbackDataError("no callback data")
        if data == self.prefix and not self.fields:
            return ()
        head = self.prefix + _SEPARATOR
        if not data.startswith(head) or not self.fields:
            raise CallbackDataError(f"{data!r} does not fit {self.prefix}")
        parts = data[len(head) :].split(_SEPARATOR)
        if len(parts) != len(self.fields):
            raise CallbackDataError(f"{data!r} does not fit {self.prefix}")
        values: list[int | str] = []
        for kind, text in zip(self.fields, parts, strict=True):
            if kind is int:
                if not re.fullmatch(r"-?\d{1,18}", text):
                    raise CallbackDataError(f"{data!r}: {text!r} is not an int")
                values.append(int(text))
            else:
                values.append(text)
        return tuple(values)
