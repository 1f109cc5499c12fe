"""Folding text for comparison: the one way the domain ignores case, accents and typography.

Search, sorting names, reading a producer's stock message and recognising a phrase all compare
folded text, so that « Œufs », « oeufs » and « OEUFS » are one word everywhere.
"""

from __future__ import annotations

import re
import unicodedata


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0xC0, 0x250):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if c.isascii())
        if base and base != ch:
            table[cp] = base.lower()
    # Accents typed as separate combining marks (decomposed text) fall away too.
    table.update(dict.fromkeys(range(768, 880), ""))
    table.update({
        ord("œ"): "oe", ord("Œ"): "oe", ord("æ"): "ae", ord("Æ"): "ae", ord("ß"): "ss",
        ord("’"): "'", ord("‘"): "'", ord("ʼ"): "'", ord("´"): "'", ord("`"): "'",
        ord("–"): "-", ord("—"): "-", ord("‐"): "-", ord("−"): "-",
        ord("\u00a0"): " ", ord("\u202f"): " ", ord("\t"): " ", ord("\r"): " ",
        ord("•"): " ", ord("*"): " ", ord("·"): " ", ord("►"): " ", ord("→"): " ",
    })  # fmt: skip
    return table


_FOLD = str.maketrans(_fold_table())


def fold(text: str) -> str:
    """``text`` in lower case without accents, ligatures spelt out (œ → oe), plain quotes and
    dashes, odd spaces and bullets as plain spaces."""
    return text.lower().translate(_FOLD)


def fold_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """:func:`fold`'s text, and a folded→original offset map when the lengths differ (None:
    each folded character stands where the original one did)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        folded = lowered.translate(_FOLD)
        if len(folded) == len(text):
            return folded, None
    parts: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        f = ch.lower().translate(_FOLD)
        parts.append(f)
        offsets.extend([i] * len(f))
    offsets.append(len(text))
    return "".join(parts), offsets


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def storable(text: str) -> str:
    """``text`` without the control characters a database refuses (PostgreSQL: NUL) or no
    person types (line breaks and tabs stay): what a person wrote, safe to store."""
    return _CONTROL.sub("", text)


def as_invitation_code(text: str) -> str | None:
    """``text`` if it can be an invitation code (letters, digits, ``-`` and ``_``, at most 64):
    anything else is no code, and is never looked up."""
    return text if _CODE.fullmatch(text) else None
