"""Resolution: a clause's words → the farm's products, its quantity → sale units.

* :meth:`Resolver.correct` — a word outside the vocabulary, corrected when it is a small typo
  of a vocabulary word (rapidfuzz ratio ≥ 80, same first letter) or an unambiguous prefix
  (``anc`` → ``anciennes``);
* :meth:`Resolver.match` — a name (its set of content stems): an exact name or alias wins;
  otherwise every product whose name contains all the words; among those, the ones whose head
  word was written;
* :func:`to_sale_units` / :func:`stock_line` — the quantity in the product's sale units, or
  :class:`Unconvertible` when it cannot be said in whole sale units.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from models.stock_parser.lexicon import (
    DIMENSIONS,
    UNIT_DISPLAY,
    UNIT_WORDS,
    FarmLexicon,
    Product,
    canon_unit,
    is_whole,
)
from models.stock_parser.types import Op, StockLine, Unconvertible

if TYPE_CHECKING:
    from models.stock_parser.tokens import Tok


class Resolver:
    """Matches words and names against one farm's lexicon (results cached per word/name)."""

    def __init__(self, lexicon: FarmLexicon) -> None:
        self.lexicon = lexicon
        self._match_cache: dict[frozenset[str], tuple[Product, ...]] = {}

    def correct(self, word_stem: str) -> tuple[str, bool]:
        """(the vocabulary word ``word_stem`` abbreviates or is a typo of, sure), else
        (``word_stem``, True). Abbreviations first (``poiv`` → ``poivron``): sure when at
        least two letters short; then typos (rapidfuzz ratio ≥ 80, same first letter): sure
        only for one edit (``poiraux``) that does not extend the word (``poulettes`` is not
        ``poulet``): the rest is to be asked, never applied."""
        candidates = self.lexicon.vocab_by_letter.get(word_stem[0], [])
        if len(word_stem) >= 3:
            prefixed = [w for w in candidates if w.startswith(word_stem)]
            if len(prefixed) == 1:
                return prefixed[0], len(prefixed[0]) - len(word_stem) >= 2
        if len(word_stem) >= 4 and candidates:
            best = process.extractOne(word_stem, candidates, scorer=fuzz.ratio, score_cutoff=80)
            if best is not None:
                found = str(best[0])
                return found, OSA.distance(word_stem, found) <= 1 and not word_stem.startswith(
                    found
                )
        return word_stem, True

    def match(self, key: frozenset[str]) -> tuple[Product, ...]:
        """The products a name (its content stems) designates: () none, one, or several."""
        cached = self._match_cache.get(key)
        if cached is not None:
            return cached
        products = self.lexicon.products
        exact = tuple(p for p in products if p.name_set == key or key in p.alias_sets)
        if exact:
            found = exact
        else:
            partial = tuple(p for p in products if key <= p.name_set)
            headed = tuple(p for p in partial if p.head in key)
            found = headed or partial
        self._match_cache[key] = found
        return found

    def of_size(self, content: list[Tok], size: tuple[Tok, Tok] | None) -> tuple[Product, ...]:
        """The products whose name contains every word of ``content`` and whose sale unit
        holds ``size`` (``jus de pomme 25cl``); None: every product the words fit."""
        key = frozenset(t.text for t in content)
        fitting = tuple(
            p
            for p in self.lexicon.products
            if key <= p.name_set or any(key <= a for a in p.alias_sets)
        )
        if size is None:
            return fitting
        wanted = measure_of(size[0].value, size[1].text)
        return tuple(p for p in fitting if size_of(p) == wanted)


def measure_of(value: Decimal, unit: str) -> tuple[str, Decimal] | None:
    """(dimension, amount in its base unit) of ``value`` ``unit`` (canonical), or None."""
    dimension = DIMENSIONS.get(unit)
    if dimension is None:
        return None
    return dimension[0], value * dimension[1]


def size_of(product: Product) -> tuple[str, Decimal] | None:
    """What one sale unit of ``product`` holds, as :func:`measure_of` gives it."""
    return measure_of(product.item.unit_amount, product.measure)


def to_sale_units(product: Product, quantity: Decimal, unit: str | None) -> Decimal | None:
    """``quantity`` ``unit`` (canonical; None: sale units) in ``product``'s sale units, or None
    when it cannot be converted or is not a whole count of a countable sale unit."""
    if unit is None or unit == product.sale_unit:
        total = quantity
    else:
        message_dim = DIMENSIONS.get(unit)
        product_dim = DIMENSIONS.get(product.measure)
        if message_dim is None or product_dim is None:
            return None
        if message_dim[0] == "count" and product.sale_unit == "piece":
            total = quantity * message_dim[1]
        elif message_dim[0] != product_dim[0]:
            return None
        else:
            total = quantity * message_dim[1] / (product.item.unit_amount * product_dim[1])
    if not product.continuous and not is_whole(total):
        return None
    return Decimal(format(total.normalize(), "f"))  # 10, 1.5: no exponent, no trailing 0


def stock_line(
    product: Product, op: Op, quantity: Decimal, unit: str | None, text: str
) -> StockLine | Unconvertible:
    """The update for ``product``, or :class:`Unconvertible` (``unit`` as written or canon)."""
    canon = None if unit is None else UNIT_WORDS.get(unit, canon_unit(unit))
    converted = to_sale_units(product, quantity, canon)
    if converted is None:
        shown = unit if unit is not None else product.item.sale_unit
        return Unconvertible(
            text=text, sku=product.item.sku, quantity=quantity, unit=UNIT_DISPLAY.get(shown, shown)
        )
    return StockLine(sku=product.item.sku, op=op, quantity=converted, text=text)
