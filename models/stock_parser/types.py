"""What the stock-message parser gives its callers: the catalog it reads and the results."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Op = Literal["set", "add", "remove"]


@dataclass(frozen=True)
class CatalogItem:
    """One product of the producer: ``sale_unit`` label holding ``unit_amount``
    ``unit_measure`` (one of g, kg, ml, cl, l, pièce, botte)."""

    sku: str
    name: str
    aliases: tuple[str, ...]
    sale_unit: str
    unit_amount: Decimal
    unit_measure: str


@dataclass(frozen=True)
class StockLine:
    """Apply ``op`` with ``quantity`` in SALE units to ``sku`` ("none left" is set 0);
    ``text`` is the part of the message it came from."""

    sku: str
    op: Op
    quantity: Decimal
    text: str


@dataclass(frozen=True)
class Ambiguity:
    """``text`` (the name as written) fits several ``candidates`` (skus, sorted). ``quantity``
    is in the message's ``unit`` (None: sale units); see :meth:`StockParser.resolve`."""

    text: str
    candidates: tuple[str, ...]
    op: Op = "set"
    quantity: Decimal = Decimal(0)
    unit: str | None = None


@dataclass(frozen=True)
class Unconvertible:
    """``quantity`` ``unit`` of ``sku`` cannot be expressed in whole sale units (e.g. 20 kg of
    a product sold per botte, 700 g into 500 g sachets): not applied, to be asked about."""

    text: str
    sku: str
    quantity: Decimal
    unit: str


@dataclass
class ParseResult:
    """What one message says, each list in message order."""

    updates: list[StockLine] = field(default_factory=list)
    ambiguous: list[Ambiguity] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    unconvertible: list[Unconvertible] = field(default_factory=list)
