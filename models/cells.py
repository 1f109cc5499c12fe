"""Spreadsheet cells safe from formula injection (OWASP "CSV injection").

A consumer may call themselves ``=HYPERLINK("http://…"&A1,"Payé")`` on Telegram; written as is
in a CSV or an XLSX, the name becomes a live formula on the organiser's computer. Every CSV and
workbook the product writes passes its cells through :func:`spreadsheet_row`: a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, which
spreadsheets show as text. Numbers stay numbers: an ``int``/``Decimal`` is left alone, and so is
text that is only a number (``-3,50`` in a French CSV), so a negative amount is not turned into
text. A text that already starts with ``'`` gets one more, so :func:`read_cell` can undo exactly
what was added: the catalog export, imported again, gives back the same names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_NUMBER = re.compile(r"[+-]?\d+(?:[.,\u00a0\u202f ]\d+)*")

Cell = TypeVar("Cell")


def _needs_quote(text: str) -> bool:
    if not text:
        return False
    if text.startswith(QUOTE):
        return True
    return text.startswith(TRIGGERS) and _NUMBER.fullmatch(text) is None


def spreadsheet_cell(value: Cell) -> Cell | str:
    """``value`` as a spreadsheet will read it as written: text starting with a formula
    character gets a leading ``'``; numbers, and text that is only a number, are unchanged."""
    if isinstance(value, str) and _needs_quote(value):
        return QUOTE + value
    return value


def spreadsheet_row(values: Iterable[Cell]) -> list[Cell | str]:
    """Every cell of a row through :func:`spreadsheet_cell`."""
    return [spreadsheet_cell(value) for value in values]


def read_cell(text: str) -> str:
    """A cell read back from a file the product wrote: the ``'`` that :func:`spreadsheet_cell`
    added is removed (and only that one; a ``'x`` typed by a person stays as it is)."""
    if text.startswith(QUOTE) and _needs_quote(text[1:]):
        return text[1:]
    return text
