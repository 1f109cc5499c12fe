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

What a person would understand, and what is asked rather than guessed:

* **ranges** (``10-12``, ``8 à 10``, ``8 ou 10``, ``entre 8 et 10``) and **approximations**
  (``une vingtaine``, ``20aine``) are read as their lower bound / round value and applied: the
  producer sees the number in the preview before validating, and never oversells;
* **self-corrections** (``12, euh non 10``, ``12 pardon 10``, ``8 kg plutôt 6 kg``): the last
  quantity wins;
* a **size after the name** (``cidre 75cl : 24``, ``miel de fleurs 500g 20``) picks the
  product whose sale unit holds it and is not a quantity; a size that fits none of the named
  products is asked (an :class:`Ambiguity` among them); a name with only its own size
  (``miel de fleurs 500g``) is a description, ignored;
* a **typo correction** is applied only when sure (one edit, not the word with more letters:
  ``poiraux``); otherwise (``poulettes`` → poulet, ``pintadeaux`` → pintade) the product is
  asked, an :class:`Ambiguity` with the candidate(s) — possibly only one. Abbreviations
  (``poiv``, ``pal``) are tried before typos and are sure when two letters short or more;
* a bare **count before the name** of a product sold by containers of several pièces counts
  the pièces (``30 œufs`` by boxes of 6 → 5; ``32 œufs`` is unconvertible, asked);
  ``2 douzaines de pots`` is 24 pots;
* a **tail after the name** (``vendu 3 chapons au marché de …``): when the whole name fits no
  product, the words before the first filler are tried;
* an **elided head** (``palets frais 20, affinés 15``): a name that fits several products or
  none is tried again with the head word of the product named just before on the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from models.stock_parser.grammar import Item, clauses
from models.stock_parser.lexicon import MEASURES, UNIT_DISPLAY, FarmLexicon, Product, stem
from models.stock_parser.resolution import Resolver, measure_of, size_of, stock_line
from models.stock_parser.tokens import CONTENT, Tok, Tokenizer
from models.stock_parser.types import (
    Ambiguity,
    CatalogItem,
    Op,
    ParseResult,
    StockLine,
    Unconvertible,
)
from models.text import fold_with_offsets

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
        folded, offsets = fold_with_offsets(text)
        source = _Source(text, offsets)
        result = ParseResult()
        context: tuple[int, str] = (-1, "")  # (line, head word of the last product named)
        for clause in clauses(self._tokenizer.tokens(folded)):
            for item in clause.items:
                head = context[1] if context[0] == clause.line else ""
                named = self._emit(item, source, result, head)
                if named is not None:
                    context = (clause.line, named.head)
        return result

    def resolve(self, ambiguity: Ambiguity, sku: str) -> StockLine | Unconvertible:
        """The producer picked ``sku`` for ``ambiguity``: the caller gets the line to apply,
        or :class:`Unconvertible` when the quantity does not fit that product's sale unit.
        Raises ``KeyError`` for a sku outside this parser's catalog."""
        product = self._lexicon.by_sku[sku]
        return stock_line(product, ambiguity.op, ambiguity.quantity, ambiguity.unit, ambiguity.text)

    # -- emitting results ------------------------------------------------------------

    def _candidates(self, item: Item, head: str) -> tuple[tuple[Product, ...], Tok | None]:
        """The products the item names, and its unit (None when the unit word was the
        product's name: ``12 pains``, ``3 plateaux d'oeufs``). ``head``: the head word of the
        product named before on the line (``palets frais 20, affinés 15``)."""
        unit_tok = item.unit
        if unit_tok is not None and stem(unit_tok.word) in self._lexicon.vocab:
            with_unit = [_unit_as_content(unit_tok), *item.content]
            found = self._match(with_unit)
            if found or not item.content:
                item.content = with_unit
                return found, None
        candidates = self._match(item.content) if item.content else ()
        if not candidates and item.num is not None and any(t.gap for t in item.content):
            # "chapons au marché de Parthenay": the name ends at the filler
            cut = next(i for i, t in enumerate(item.content) if t.gap)
            candidates = self._match(item.content[:cut])
            if candidates:
                item.content = item.content[:cut]
        if len(candidates) != 1 and head and item.content:
            elided = self._match([*item.content, _head_tok(head)])
            if len(elided) == 1:
                candidates = elided
        return candidates, unit_tok

    def _match(self, content: list[Tok]) -> tuple[Product, ...]:
        return self._resolver.match(frozenset(t.text for t in content))

    def _emit(self, item: Item, source: _Source, result: ParseResult, head: str) -> Product | None:
        """Add what the item says to ``result``; the caller gets the product it named for
        sure (an update or an unconvertible quantity), else None."""
        candidates, unit_tok = self._candidates(item, head)
        if not item.content:
            if item.num is not None and not item.article_only():
                result.unknown.append(source.quote(*item.span()))
            return None
        if item.size is None and _size_only(item, unit_tok, candidates):
            return None  # "cidre brut 75cl": the size of the bottle, no count
        if item.num is None and item.op != "zero":
            return None  # a name without quantity or operation: a header, a signature…
        name_text = source.quote(item.content[0].start, item.content[-1].end)
        if not candidates:
            if not item.carried or item.forced:
                result.unknown.append(name_text)
            return None
        op, quantity, unit = _operation(item, unit_tok)
        sure = candidates
        if item.size is not None:
            sure = self._resolver.of_size(item.content, item.size) or ()
            if not sure:
                sure, candidates = (), self._resolver.of_size(item.content, None) or candidates
        if len(sure) != 1 or any(t.guess for t in item.content):
            result.ambiguous.append(
                Ambiguity(
                    text=name_text,
                    candidates=tuple(sorted(p.item.sku for p in (sure or candidates))),
                    op=op,
                    quantity=quantity,
                    unit=UNIT_DISPLAY.get(unit, unit) if unit else None,
                )
            )
            return None
        (product,) = sure
        if unit is None and _counts_items(item, product):
            unit = "piece"  # "30 œufs" by boxes of 6: 5 boxes
        line = stock_line(product, op, quantity, unit, source.quote(*item.span()))
        if isinstance(line, StockLine):
            result.updates.append(line)
        else:
            result.unconvertible.append(line)
        return product


def _head_tok(head: str) -> Tok:
    return Tok(CONTENT, 0, 0, head)


def _size_only(item: Item, unit_tok: Tok | None, candidates: tuple[Product, ...]) -> bool:
    """The item's only quantity is a measure right after the name that is exactly the size of
    the product it names (``miel de fleurs 500g``): a description, not a stock."""
    num = item.num
    if num is None or unit_tok is None or unit_tok.text not in MEASURES or len(candidates) != 1:
        return False
    if item.op is not None:
        return False
    return num.start > item.content[-1].start and size_of(candidates[0]) == measure_of(
        num.value, unit_tok.text
    )


def _counts_items(item: Item, product: Product) -> bool:
    """A bare count before the name of a product sold by containers of several pièces counts
    the pièces (``30 œufs``, ``20 cuisses``), unless the container is named."""
    return (
        item.num is not None
        and not item.num.article
        and item.num.start < item.content[0].start
        and item.op != "zero"
        and product.measure == "piece"
        and product.sale_unit != "piece"
        and product.item.unit_amount > 1
        and product.sale_unit not in {t.text for t in item.content}
    )


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
