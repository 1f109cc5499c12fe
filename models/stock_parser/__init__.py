"""The stock-message parser: French free text from a producer → stock updates.

Producers write things like ``"Bonjour ! tomates anciennes 12 kg, plus de radis, +5 batavia"``.
:class:`StockParser` turns one such message into a :class:`ParseResult`, matching only the
catalog it was given (the sending producer's own products). Pure Python, no Telegram, no DB.

Approach — a small lexer, a classifier and a grammar over clauses, not a pile of regexes, one
module per layer, each usable on its own: :mod:`~models.stock_parser.lexicon` (folding, units,
number words, fillers, a farm's vocabulary: steps 1 and 3's tables),
:mod:`~models.stock_parser.tokens` (steps 2-3), :mod:`~models.stock_parser.grammar` (step 4),
:mod:`~models.stock_parser.resolution` (steps 5-6); this module joins them.

1. **Fold**: lowercase, accents removed, ``œ`` → ``oe``, typographic quotes/dashes made plain;
   an offset map keeps every token's span in the original text (so ``unknown`` and
   ``Ambiguity.text`` quote the producer's own words).
2. **Lex** (one regex): numbers (``12``, ``1,5``, ``2.5``), words, newlines, separators
   (``, ; . ! ? / ( )`` and ``:``), ``+`` and ``-``. Emojis and other symbols are dropped.
3. **Classify** each token, with one token of look-around (cached per word):

   * numbers — digits, French number words (``vingt-cinq``, ``trente et un`` via text2num),
     ``un``/``une`` (an *article* count), ``demi``, ``… et demi``, ``une vingtaine``, ``douzaine``
     (a unit of 12 pièces), ``1 kg 500``, ranges ``10-12`` (the lower bound: never oversell);
     prices (``4,80 €``), times (``18h``), dates (``semaine 38``) and phone numbers are skipped;
   * signs and operations — ``+5`` / ``ajoute`` / ``rajoute`` / ``en plus`` / ``de plus`` →
     *add*; ``-3`` / ``enlève`` / ``retire`` / ``moins`` / ``vendu`` / ``en moins`` → *remove*;
     ``épuisé(e)(s)``, ``rupture``, ``fini``, ``terminé``, ``plus de X``, ``plus rien``,
     ``pas de X``, ``plus dispo`` → *none left*; but ``plus que 10`` (only 10 left) and
     ``plus de 20 kg`` (more than) are filler. A line-leading ``-``/``•``/``*`` is a bullet;
     a spaced `` - `` is a separator;
   * units — only right after a number: ``g kg l cl ml``, ``pièce(s) pc pcs``, ``botte(s)``,
     ``barquette(s)``, ``boîte(s)``, ``sachet(s)``, ``pot(s)``, ``bouteille(s)``,
     ``douzaine(s)``, the catalog's own sale-unit labels (``pain``, ``lot``, ``plaquette``…)
     and containers (``cagette``, ``colis``…); ``20 barquettes de 250 g`` keeps the first;
   * words — a catalog word (the *vocabulary*: stems of product names and aliases), a stop
     word (``de, du, la, aux…``), a filler (greetings, ``voici mon stock``, ``cette semaine``,
     ``merci``, days…) or else a content word, corrected when it is a small typo of a
     vocabulary word (rapidfuzz ratio ≥ 80, same first letter) or an unambiguous prefix
     (``anc`` → ``anciennes``). Stems drop a final ``s``/``x`` (plurals).
4. **Clauses**: a line splits at separators and at ``et``, ``ni``, ``mais``, ``puis``. In a
   clause, quantity groups ``[sign] NUMBER [UNIT]`` and name runs pair up in the order the
   clause starts with (``batavia 30 feuille de chêne 25`` and ``30 batavia 25 chêne`` both
   give two items). A name-only clause followed by a clause with a quantity or an operation
   but no name merges with it (``Radis : 20``, ``Tomates cerises : fini``,
   ``Tomates anciennes⏎12 kg``). An operation that leads its clause (``ajoute …``,
   ``rupture de …``, ``pas de …``) carries over the next clauses of the same line
   (``enlever 5 batavia, 5 feuille de chêne``; ``plus de mâche ni d'épinards``).
5. **Match** a name (its set of content stems) against the catalog: an exact name or alias
   wins; otherwise every product whose name contains all the words; among those, the ones
   whose head word (first word of the name) was written. One product → an update; several →
   an :class:`Ambiguity` (the producer picks, then :meth:`StockParser.resolve`); none →
   ``unknown`` (the name as written). A name that is not in the catalog is never silently
   matched to a neighbour: every content word must be explained by the product's name.
6. **Convert** the quantity into sale units: no unit → sale units; the sale unit's own label
   → as is; mass/volume → via ``unit_amount``/``unit_measure`` (3 kg of a 500 g sachet → 6);
   ``pièce``/``douzaine`` of a product counted in pièces (2 douzaines of eggs by boîte of 6 →
   4). Impossible conversions (kg of a product sold per pièce/botte, a container that is not
   the sale unit) and non-whole counts of a countable sale unit (700 g into 500 g sachets) are
   not rounded: they become :class:`Unconvertible`.

Clauses with a quantity but no name give ``unknown`` (the quantity text); clauses with only a
name and no quantity or operation are ignored (headers like ``Salades :``, signatures).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from models.stock_parser.grammar import Item, clauses
from models.stock_parser.lexicon import UNIT_DISPLAY, FarmLexicon, Product, fold, stem
from models.stock_parser.resolution import Resolver, stock_line
from models.stock_parser.tokens import CONTENT, Tok, Tokenizer
from models.stock_parser.types import (
    Ambiguity,
    CatalogItem,
    Op,
    ParseResult,
    StockLine,
    Unconvertible,
)

__all__ = [
    "Ambiguity",
    "CatalogItem",
    "Op",
    "ParseResult",
    "StockLine",
    "StockParser",
    "Unconvertible",
    "parse_stock_message",
]


class _Source:
    """The original message and its folded→original offsets: quotes the producer's words."""

    def __init__(self, text: str, offsets: list[int] | None) -> None:
        self.text = text
        self.offsets = offsets

    def quote(self, start: int, end: int) -> str:
        if self.offsets is not None:
            start, end = self.offsets[start], self.offsets[end - 1] + 1
        return self.text[start:end].strip()


class StockParser:
    """Parses stock messages against one producer's catalog (indexes precomputed once)."""

    def __init__(self, catalog: Sequence[CatalogItem]) -> None:
        self._lexicon = FarmLexicon(catalog)
        self._resolver = Resolver(self._lexicon)
        self._tokenizer = Tokenizer(self._lexicon, self._resolver)

    # -- public API ------------------------------------------------------------------

    def parse(self, text: str) -> ParseResult:
        """Parse one message; the caller gets the updates to apply, the ambiguities to ask
        about, the unknown names and the unconvertible quantities, each in message order."""
        folded, offsets = fold(text)
        source = _Source(text, offsets)
        result = ParseResult()
        for clause in clauses(self._tokenizer.tokens(folded)):
            for item in clause.items:
                self._emit(item, source, result)
        return result

    def resolve(self, ambiguity: Ambiguity, sku: str) -> StockLine | Unconvertible:
        """The producer picked ``sku`` for ``ambiguity``: the caller gets the line to apply,
        or :class:`Unconvertible` when the quantity does not fit that product's sale unit.
        Raises ``KeyError`` for a sku outside this parser's catalog."""
        product = self._lexicon.by_sku[sku]
        return stock_line(product, ambiguity.op, ambiguity.quantity, ambiguity.unit, ambiguity.text)

    # -- emitting results ------------------------------------------------------------

    def _candidates(self, item: Item) -> tuple[tuple[Product, ...], Tok | None]:
        """The products the item names, and its unit (None when the unit word was the
        product's name: ``12 pains``)."""
        unit_tok = item.unit
        candidates: tuple[Product, ...] = ()
        if item.content:
            candidates = self._resolver.match(frozenset(t.text for t in item.content))
        if not candidates and unit_tok is not None and stem(unit_tok.word) in self._lexicon.vocab:
            fallback = [_unit_as_content(unit_tok), *item.content]
            found = self._resolver.match(frozenset(t.text for t in fallback))
            if found or not item.content:
                candidates, item.content, unit_tok = found, fallback, None
        return candidates, unit_tok

    def _emit(self, item: Item, source: _Source, result: ParseResult) -> None:
        candidates, unit_tok = self._candidates(item)
        if not item.content:
            if item.num is not None and not item.article_only():
                result.unknown.append(source.quote(*item.span()))
            return
        if item.num is None and item.op != "zero":
            return  # a name without quantity or operation: a header, a signature…
        name_text = source.quote(item.content[0].start, item.content[-1].end)
        if not candidates:
            if not item.carried or item.forced:
                result.unknown.append(name_text)
            return
        op, quantity, unit = _operation(item, unit_tok)
        if len(candidates) > 1:
            result.ambiguous.append(
                Ambiguity(
                    text=name_text,
                    candidates=tuple(sorted(p.item.sku for p in candidates)),
                    op=op,
                    quantity=quantity,
                    unit=UNIT_DISPLAY.get(unit, unit) if unit else None,
                )
            )
            return
        line = stock_line(candidates[0], op, quantity, unit, source.quote(*item.span()))
        if isinstance(line, StockLine):
            result.updates.append(line)
        else:
            result.unconvertible.append(line)


def _unit_as_content(tok: Tok) -> Tok:
    content = Tok(CONTENT, tok.start, tok.end, stem(tok.word))
    content.word = tok.word
    return content


def _operation(item: Item, unit_tok: Tok | None) -> tuple[Op, Decimal, str | None]:
    """(op, quantity, canonical unit or None) of an item that names a product."""
    if item.op == "zero":
        return "set", Decimal(0), None
    op: Op = "add" if item.op == "add" else "remove" if item.op == "remove" else "set"
    assert item.num is not None
    quantity = item.num.value
    unit = unit_tok.text if unit_tok is not None else None
    if quantity == 0:
        return "set", quantity, None
    return op, quantity, unit


def parse_stock_message(text: str, catalog: Sequence[CatalogItem]) -> ParseResult:
    """One-shot :meth:`StockParser.parse` (build a :class:`StockParser` to parse many)."""
    return StockParser(catalog).parse(text)
