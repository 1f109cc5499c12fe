"""Typed, prefixed callback data: ``lang:set:en``, ``cat:c:3:0:12``…

Each feature declares its routes once, as a class with named fields (like aiogram's
``CallbackData``)::

    class AddToBasket(CallbackData, prefix="cat:a"):
        cycle_id: int
        product_id: int
        quantity: str

Keyboards build an instance and ``pack()`` it (``"cat:a:12:345:1.5"``); handlers register on
``AddToBasket.pattern`` and get ``AddToBasket.unpack(data)`` back as an instance (through
``handlers.buttons.button``). The wire format is the prefix and the values joined by ``:``, so
buttons already shown keep working. Everything stays within Telegram's 64-byte limit (checked
when packing, so a too-long button fails in the tests rather than at Telegram).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar, Self, dataclass_transform

MAX_BYTES = 64
_SEPARATOR = ":"
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_INT = re.compile(r"-?\d{1,18}")
_KINDS: dict[str, type] = {"int": int, "str": str}


class CallbackDataError(ValueError):
    """Callback data that does not fit its route (forged, stale or malformed)."""


@dataclass_transform(frozen_default=True)
class CallbackData:
    """A button's route: a prefix and named ``int`` or ``str`` fields, as a frozen dataclass.

    Subclasses name their prefix (``class Card(CallbackData, prefix="cat:p")``) and declare
    their fields in the order they travel in.
    """

    prefix: ClassVar[str]
    fields: ClassVar[tuple[tuple[str, type], ...]]
    """The fields' names and types, in wire order."""
    pattern: ClassVar[re.Pattern[str]]
    """The regular expression PTB's ``CallbackQueryHandler`` matches this route with."""

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix:
            raise TypeError(f"{cls.__name__}: empty prefix")
        cls.prefix = prefix
        dataclasses.dataclass(frozen=True)(cls)
        fields: list[tuple[str, type]] = []
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            # Annotations are strings under ``from __future__ import annotations``.
            kind = _KINDS.get(field.type) if isinstance(field.type, str) else field.type
            if not isinstance(kind, type) or kind not in _KINDS.values():
                raise TypeError(f"{cls.__name__}.{field.name}: only int and str travel in a button")
            fields.append((field.name, kind))
        cls.fields = tuple(fields)
        values = "".join(f"{_SEPARATOR}[^{_SEPARATOR}]*" for _ in cls.fields)
        cls.pattern = re.compile("^" + re.escape(prefix) + values + "$")

    def __post_init__(self) -> None:
        for name, kind in self.fields:
            value = getattr(self, name)
            # bool is an int to Python, never to a button.
            if type(value) is not kind:
                raise ValueError(f"{self.prefix}: {name}={value!r} is not an {kind.__name__}")
            if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
                # Every int a button carries is a database id or a small count: an integer
                # column holds 32 bits, so a larger one is forged (and PostgreSQL refuses it).
                raise ValueError(f"{self.prefix}: {name}={value!r} is out of range")
            if isinstance(value, str) and _SEPARATOR in value:
                raise ValueError(f"{self.prefix}: {name}={value!r} contains {_SEPARATOR!r}")

    def pack(self) -> str:
        """The callback data (``prefix:value:value``); raises ``ValueError`` past 64 bytes."""
        data = _SEPARATOR.join([self.prefix, *(str(getattr(self, n)) for n, _k in self.fields)])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: str | None) -> Self:
        """The route's instance in ``data``; raises :class:`CallbackDataError` when it does not
        fit (another prefix, a missing or extra value, a non-integer where an int goes, a value
        the route's own ``__post_init__`` refuses)."""
        if data is None:
            raise CallbackDataError("no callback data")
        if data == cls.prefix and not cls.fields:
            return cls()
        head = cls.prefix + _SEPARATOR
        if not data.startswith(head) or not cls.fields:
            raise CallbackDataError(f"{data!r} does not fit {cls.prefix}")
        parts = data[len(head) :].split(_SEPARATOR)
        if len(parts) != len(cls.fields):
            raise CallbackDataError(f"{data!r} does not fit {cls.prefix}")
        values: dict[str, int | str] = {}
        for (name, kind), text in zip(cls.fields, parts, strict=True):
            if kind is int:
                if not _INT.fullmatch(text):
                    raise CallbackDataError(f"{data!r}: {name}={text!r} is not an int")
                values[name] = int(text)
            else:
                values[name] = text
        try:
            return cls(**values)
        except ValueError as error:  # the route's own check (a known language, a quantity…)
            raise CallbackDataError(f"{data!r}: {error}") from error
