"""The stock-message parser: French free text from a producer → stock updates.

Producers write things like ``"Bonjour ! tomates anciennes 12 kg, plus de radis, +5 batavia"``.
:class:`StockParser` turns one such message into a :class:`ParseResult`, matching only the
catalog it was given (the sending producer's own products). Pure Python, no Telegram, no DB.

Approach — a small lexer, a classifier and a grammar over clauses, not a pile of regexes:

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

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process
from text_to_num import text2num  # type: ignore[import-untyped]

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


# ---------------------------------------------------------------- vocabulary tables

_FOLD_TABLE: dict[int, str] = {}
for _cp in range(0xC0, 0x250):
    _ch = chr(_cp)
    _base = "".join(c for c in unicodedata.normalize("NFKD", _ch) if c.isascii())
    if _base and _base != _ch:
        _FOLD_TABLE[_cp] = _base.lower()
_FOLD_TABLE.update(
    {
        ord("œ"): "oe",
        ord("Œ"): "oe",
        ord("æ"): "ae",
        ord("Æ"): "ae",
        ord("ß"): "ss",
        ord("’"): "'",
        ord("‘"): "'",
        ord("ʼ"): "'",
        ord("´"): "'",
        ord("`"): "'",
        ord("–"): "-",
        ord("—"): "-",
        ord("‐"): "-",
        ord("−"): "-",
        ord("\u00a0"): " ",
        ord("\u202f"): " ",
        ord("\t"): " ",
        ord("\r"): " ",
        ord("•"): " ",
        ord("*"): " ",
        ord("·"): " ",
        ord("►"): " ",
        ord("→"): " ",
    }
)
_FOLD = str.maketrans(_FOLD_TABLE)

_LEX = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)?)"
    r"|(?P<x>x(?=\d))"
    r"|(?P<word>[a-z][a-z0-9]*)"
    r"|(?P<nl>\n)"
    r"|(?P<sep>[,;.!?/&()\[\]|:=])"
    r"|(?P<plus>\+)"
    r"|(?P<minus>-)"
    r"|(?P<euro>[€%$])"
)


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NUMBER_WORDS = _wordset(
    "zero un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
    "quinze seize vingt vingts trente quarante cinquante soixante cent cents mille"
)
_APPROX = {
    "dizaine": 10,
    "dizaines": 10,
    "quinzaine": 15,
    "vingtaine": 20,
    "trentaine": 30,
    "quarantaine": 40,
    "cinquantaine": 50,
    "soixantaine": 60,
    "centaine": 100,
}
_UNIT_WORDS: dict[str, str] = {}
for _canon, _names in {
    "g": "g gr grs gramme grammes",
    "kg": "kg kgs kilo kilos kilogramme kilogrammes",
    "l": "l lt lts litre litres",
    "cl": "cl",
    "ml": "ml",
    "piece": "piece pieces pc pcs pce pces unite unites u",
    "douzaine": "douzaine douzaines dz",
    "botte": "botte bottes",
    "barquette": "barquette barquettes barq barqs",
    "boite": "boite boites bte btes",
    "sachet": "sachet sachets",
    "pot": "pot pots",
    "bouteille": "bouteille bouteilles btl btle",
}.items():
    for _w in _names.split():
        _UNIT_WORDS[_w] = _canon
_CONTAINERS = _wordset(
    "cagette cagettes caisse caisses colis carton cartons paquet paquets bocal bocaux plateau "
    "plateaux panier paniers sac sacs seau seaux filet filets tranche tranches part parts "
    "portion portions lot lots pain pains plaquette plaquettes"
)
_UNIT_DISPLAY = {"piece": "pièce", "boite": "boîte"}
_DIMENSIONS: dict[str, tuple[str, int]] = {
    "g": ("mass", 1),
    "kg": ("mass", 1000),
    "ml": ("volume", 1),
    "cl": ("volume", 10),
    "l": ("volume", 1000),
    "piece": ("count", 1),
    "douzaine": ("count", 12),
    "botte": ("botte", 1),
}
_CONTINUOUS = frozenset({"g", "kg", "ml", "cl", "l"})

_STOP = _wordset("de d du des la le les l au aux a en sur par avec")
_SEP_WORDS = _wordset("et ni mais puis ou")
_ADD_VERBS = _wordset("ajoute ajouter ajoutez ajoutes ajout rajoute rajouter rajoutez rajout")
_REMOVE_VERBS = _wordset(
    "enleve enlever enlevez enleves retire retirer retirez retires vendu vendus vendue vendues"
)
_ZERO_WORDS = _wordset(
    "epuise epuisee epuises epuisees rupture ruptures fini finie finis finies termine "
    "terminee termines terminees nada"
)
_DATE_BEFORE = _wordset("semaine sem lundi mardi mercredi jeudi vendredi samedi dimanche le du au")
_MONTHS = _wordset(
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "janv fev sept oct nov dec"
)
_PRICE_AFTER = _wordset("euro euros eur e")
_FILLERS = _wordset(
    """
    bonjour bonsoir salut coucou hello hey bjr slt cc merci mercii cordialement cdt bises
    bisous biz amities bonne bon bonnes journee soiree semaine weekend week end voici voila
    mon ma mes notre nos votre vos ton ta tes stock stocks pour cette ce cet ces prochaine
    prochain derniere dernier derniers dernieres je j tu il ils elle elles on nous vous y ai
    as avons avez ont aurai aura aurons auront aurez est sont etait c ca cela qu que qui reste
    restent rester dispo dispos disponible disponibles environ env approx total tout tous
    toute toutes encore seulement uniquement juste x mise jour maj update svp stp sil plait
    ok oui non bien tres aujourd hui demain hier lundi mardi mercredi jeudi vendredi samedi
    dimanche livraison livrer livre quantite quantites voir vu car donc alors aussi apres
    avant depuis marche saison annee an paques noel mois ete hiver automne printemps equipe
    courage petite petit petits petites beau belle beaux belles jolie joli jolis bio special
    meme comme habitude chez moi te t me m s n se ne eu fait faire peu pres rien tjrs
    toujours ici voila sinon enfin bref mettre mets met mis actuellement actuel actuelle
    maintenant nouveau nouvelle niveau cote
    """
)


def _fold(text: str) -> tuple[str, list[int] | None]:
    """Folded text, and a folded→original offset map when lengths differ (None: identity)."""
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


def _stem(word: str) -> str:
    if len(word) > 3 and word[-1] in "sx":
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    folded, _ = _fold(text)
    return [m.group() for m in re.finditer(r"[a-z][a-z0-9]*", folded)]


@lru_cache(maxsize=4096)
def _number_words_value(words: tuple[str, ...]) -> Decimal | None:
    try:
        return Decimal(text2num(" ".join(words), "fr"))
    except (ValueError, InvalidOperation):
        return None


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def _is_whole(value: Decimal) -> bool:
    return value == value.to_integral_value()


# ---------------------------------------------------------------- tokens and clauses

# token kinds
_NUM, _UNIT, _CONTENT, _STOPW, _FILLER, _ADD, _REM, _ZERO, _SEP = range(9)


class _Tok:
    __slots__ = ("article", "end", "kind", "prefix", "sign", "start", "text", "value", "word")

    def __init__(self, kind: int, start: int, end: int, text: str = "") -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.text = text  # sep text, unit canon, or content stem
        self.word = ""  # folded surface word (units, content)
        self.value = Decimal(0)
        self.sign: str | None = None
        self.article = False
        self.prefix = False  # for ADD/REM: a verb that can lead a clause and carry over


@dataclass
class _Item:
    num: _Tok | None = None
    unit: _Tok | None = None
    content: list[_Tok] = field(default_factory=list)
    op: str | None = None  # "add" | "remove" | "zero" | None
    carried: bool = False
    forced: bool = False

    def article_only(self) -> bool:
        return self.num is not None and self.num.article and self.unit is None

    def span(self) -> tuple[int, int]:
        toks = [t for t in (self.num, self.unit) if t is not None] + self.content
        return min(t.start for t in toks), max(t.end for t in toks)


@dataclass
class _Clause:
    tokens: list[_Tok]
    line: int
    sep: str  # the separator before it ("" at line start)
    items: list[_Item] = field(default_factory=list)
    has_content: bool = False
    has_num: bool = False
    has_marker: bool = False
    lead_op: str | None = None


@dataclass(frozen=True)
class _Product:
    item: CatalogItem
    name_set: frozenset[str]
    alias_sets: tuple[frozenset[str], ...]
    head: str
    sale_unit: str  # canonical
    measure: str  # canonical
    continuous: bool


def _canon_unit(label: str) -> str:
    words = _words(label)
    word = words[0] if words else label.lower()
    return _UNIT_WORDS.get(word, _stem(word))


# ---------------------------------------------------------------- the parser


class StockParser:
    """Parses stock messages against one producer's catalog (indexes precomputed once)."""

    def __init__(self, catalog: Sequence[CatalogItem]) -> None:
        self._products: list[_Product] = []
        self._by_sku: dict[str, _Product] = {}
        vocab: set[str] = set()
        sale_units: set[str] = set()
        for item in catalog:
            name_words = [_stem(w) for w in _words(item.name) if w not in _STOP]
            aliases = tuple(
                frozenset(_stem(w) for w in _words(alias) if w not in _STOP)
                for alias in item.aliases
            )
            product = _Product(
                item=item,
                name_set=frozenset(name_words),
                alias_sets=tuple(a for a in aliases if a),
                head=name_words[0] if name_words else "",
                sale_unit=_canon_unit(item.sale_unit),
                measure=_canon_unit(item.unit_measure),
                continuous=_canon_unit(item.sale_unit) in _CONTINUOUS,
            )
            self._products.append(product)
            self._by_sku[item.sku] = product
            vocab.update(product.name_set)
            for alias_set in product.alias_sets:
                vocab.update(alias_set)
            sale_units.add(product.sale_unit)
        self._vocab = frozenset(vocab)
        self._sale_units = frozenset(sale_units)
        self._vocab_by_letter: dict[str, list[str]] = {}
        for word in sorted(vocab):
            self._vocab_by_letter.setdefault(word[0], []).append(word)
        self._word_cache: dict[str, tuple[int, str]] = {}
        self._match_cache: dict[frozenset[str], tuple[_Product, ...]] = {}

    # -- public API ------------------------------------------------------------------

    def parse(self, text: str) -> ParseResult:
        """Parse one message; the caller gets the updates to apply, the ambiguities to ask
        about, the unknown names and the unconvertible quantities, each in message order."""
        folded, offsets = _fold(text)
        clauses = self._clauses(folded)
        result = ParseResult()
        for clause in clauses:
            for item in clause.items:
                self._emit(item, text, offsets, result)
        return result

    def resolve(self, ambiguity: Ambiguity, sku: str) -> StockLine | Unconvertible:
        """The producer picked ``sku`` for ``ambiguity``: the caller gets the line to apply,
        or :class:`Unconvertible` when the quantity does not fit that product's sale unit.
        Raises ``KeyError`` for a sku outside this parser's catalog."""
        product = self._by_sku[sku]
        return self._line(product, ambiguity.op, ambiguity.quantity, ambiguity.unit, ambiguity.text)

    # -- emitting results ------------------------------------------------------------

    def _emit(self, item: _Item, text: str, offsets: list[int] | None, result: ParseResult) -> None:
        def original(start: int, end: int) -> str:
            if offsets is not None:
                start, end = offsets[start], offsets[end - 1] + 1
            return text[start:end].strip()

        unit_tok = item.unit
        candidates: tuple[_Product, ...] = ()
        if item.content:
            candidates = self._match(item.content)
        if not candidates and unit_tok is not None and _stem(unit_tok.word) in self._vocab:
            # "12 pains": the unit word was the product's name
            fallback = [self._unit_as_content(unit_tok), *item.content]
            found = self._match(fallback)
            if found or not item.content:
                candidates, item.content, unit_tok = found, fallback, None
        if not item.content:
            if item.num is not None and not item.article_only():
                result.unknown.append(original(*item.span()))
            return
        if item.num is None and item.op != "zero":
            return  # a name without quantity or operation: a header, a signature…
        name_text = original(item.content[0].start, item.content[-1].end)
        if not candidates:
            if not item.carried or item.forced:
                result.unknown.append(name_text)
            return
        if item.op == "zero":
            op: Op = "set"
            quantity = Decimal(0)
            unit: str | None = None
        else:
            op = "add" if item.op == "add" else "remove" if item.op == "remove" else "set"
            assert item.num is not None
            quantity = item.num.value
            unit = unit_tok.text if unit_tok is not None else None
            if quantity == 0:
                op, unit = "set", None
        if len(candidates) > 1:
            result.ambiguous.append(
                Ambiguity(
                    text=name_text,
                    candidates=tuple(sorted(p.item.sku for p in candidates)),
                    op=op,
                    quantity=quantity,
                    unit=_UNIT_DISPLAY.get(unit, unit) if unit else None,
                )
            )
            return
        line = self._line(candidates[0], op, quantity, unit, original(*item.span()))
        if isinstance(line, StockLine):
            result.updates.append(line)
        else:
            result.unconvertible.append(line)

    def _unit_as_content(self, tok: _Tok) -> _Tok:
        content = _Tok(_CONTENT, tok.start, tok.end, _stem(tok.word))
        content.word = tok.word
        return content

    def _line(
        self, product: _Product, op: Op, quantity: Decimal, unit: str | None, text: str
    ) -> StockLine | Unconvertible:
        canon = None if unit is None else _UNIT_WORDS.get(unit, _canon_unit(unit))
        converted = self._convert(product, quantity, canon)
        if converted is None:
            shown = unit if unit is not None else product.item.sale_unit
            return Unconvertible(
                text=text,
                sku=product.item.sku,
                quantity=quantity,
                unit=_UNIT_DISPLAY.get(shown, shown),
            )
        return StockLine(sku=product.item.sku, op=op, quantity=converted, text=text)

    @staticmethod
    def _convert(product: _Product, quantity: Decimal, unit: str | None) -> Decimal | None:
        if unit is None or unit == product.sale_unit:
            total = quantity
        else:
            message_dim = _DIMENSIONS.get(unit)
            product_dim = _DIMENSIONS.get(product.measure)
            if message_dim is None or product_dim is None:
                return None
            if message_dim[0] == "count" and product.sale_unit == "piece":
                total = quantity * message_dim[1]
            elif message_dim[0] != product_dim[0]:
                return None
            else:
                total = quantity * message_dim[1] / (product.item.unit_amount * product_dim[1])
        if not product.continuous and not _is_whole(total):
            return None
        return Decimal(format(total.normalize(), "f"))  # 10, 1.5: no exponent, no trailing 0

    # -- matching --------------------------------------------------------------------

    def _match(self, content: list[_Tok]) -> tuple[_Product, ...]:
        key = frozenset(t.text for t in content)
        cached = self._match_cache.get(key)
        if cached is not None:
            return cached
        exact = tuple(p for p in self._products if p.name_set == key or key in p.alias_sets)
        if exact:
            found = exact
        else:
            partial = tuple(p for p in self._products if key <= p.name_set)
            headed = tuple(p for p in partial if p.head in key)
            found = headed or partial
        self._match_cache[key] = found
        return found

    # -- words -----------------------------------------------------------------------

    def _classify(self, word: str) -> tuple[int, str]:
        """(kind, stem) of a plain word, once per parser (units and operations aside)."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        stem = _stem(word)
        result: tuple[int, str]
        if stem in self._vocab or word in self._vocab:
            result = (_CONTENT, stem if stem in self._vocab else word)
        elif word in _STOP:
            result = (_STOPW, word)
        elif (
            word in _FILLERS or stem in _FILLERS or word in _UNIT_WORDS or stem in self._sale_units
        ):
            result = (_FILLER, word)
        else:
            result = (_CONTENT, self._correct(stem))
        self._word_cache[word] = result
        return result

    def _correct(self, stem: str) -> str:
        candidates = self._vocab_by_letter.get(stem[0], [])
        if len(stem) >= 4 and candidates:
            best = process.extractOne(stem, candidates, scorer=fuzz.ratio, score_cutoff=80)
            if best is not None:
                return str(best[0])
        if len(stem) >= 3:
            prefixed = [w for w in candidates if w.startswith(stem)]
            if len(prefixed) == 1:
                return prefixed[0]
        return stem

    # -- lexing and clauses ------------------------------------------------------------

    def _tokens(self, folded: str) -> list[list[_Tok]]:
        """Classified tokens, one list per line."""
        raw = [(m.lastgroup or "", m.group(), m.start(), m.end()) for m in _LEX.finditer(folded)]
        lines: list[list[_Tok]] = [[]]
        out = lines[0]
        sign: str | None = None
        sign_start = 0
        line_start = True
        n = len(raw)
        i = 0

        def next_word(j: int) -> str:
            return raw[j][1] if j < n and raw[j][0] == "word" else ""

        def last() -> _Tok | None:
            return out[-1] if out else None

        while i < n:
            kind, text, start, end = raw[i]
            if kind == "nl":
                out = []
                lines.append(out)
                sign = None
                line_start = True
                i += 1
                continue
            was_line_start = line_start
            line_start = False
            if kind == "sep":
                out.append(_Tok(_SEP, start, end, text))
            elif kind == "plus":
                j = i + 1
                if j < n and raw[j][0] == "num":
                    sign, sign_start = "add", start
            elif kind == "minus":
                nxt = raw[i + 1] if i + 1 < n else None
                adjacent_num = nxt is not None and nxt[0] == "num" and nxt[2] == end
                prev = raw[i - 1] if i > 0 else None
                if was_line_start:
                    if adjacent_num:
                        sign, sign_start = "remove", start
                    line_start = True  # a bullet: what follows still starts the line
                elif adjacent_num and prev is not None and prev[0] == "num" and prev[3] == start:
                    i += 2  # a range "10-12": keep the lower bound
                    continue
                elif adjacent_num:
                    sign, sign_start = "remove", start
                elif (start == 0 or folded[start - 1] == " ") and folded[end : end + 1] == " ":
                    out.append(_Tok(_SEP, start, end, "-"))
            elif kind == "num":
                nxt_kind = raw[i + 1][0] if i + 1 < n else ""
                nw = next_word(i + 1)
                prev_tok = last()
                skip = (
                    nxt_kind == "euro"
                    or nw in _PRICE_AFTER
                    or nw in _MONTHS
                    or nw in ("h", "heure", "heures")
                    or (nw.startswith("h") and nw[1:].isdigit())
                    or (len(text) > 1 and text[0] == "0" and text.isdigit())
                    or (
                        prev_tok is not None
                        and prev_tok.kind == _FILLER
                        and prev_tok.text in _DATE_BEFORE
                    )
                )
                if skip:
                    if nxt_kind == "euro" or nw in _PRICE_AFTER or nw in ("h", "heure", "heures"):
                        i += 1
                    sign = None
                    i += 1
                    continue
                tok = _Tok(_NUM, sign_start if sign else start, end)
                tok.value = _decimal(text)
                tok.sign = sign
                sign = None
                out.append(tok)
                i = self._after_number(raw, i + 1, out, tok)
                continue
            elif kind == "x":
                pass
            elif kind == "word":
                i = self._word(raw, i, out)
                if sign is not None and out and out[-1].kind == _NUM and out[-1].sign is None:
                    out[-1].sign = sign
                    sign = None
                continue
            i += 1
        return lines

    def _after_number(
        self, raw: list[tuple[str, str, int, int]], i: int, out: list[_Tok], num: _Tok
    ) -> int:
        """After a number: its unit, ``1 kg 500``, ``… et demi``, ``de 250 g``."""
        n = len(raw)
        if i < n and raw[i][0] == "word":
            word = raw[i][1]
            canon = _UNIT_WORDS.get(word)
            if canon is None and (
                _stem(word) in self._sale_units
                or word in self._sale_units
                or (word in _CONTAINERS and _stem(word) not in self._vocab)
            ):
                canon = _stem(word)
            if canon is not None:
                unit = _Tok(_UNIT, raw[i][2], raw[i][3], canon)
                unit.word = word
                out.append(unit)
                i += 1
                if (
                    canon == "kg"
                    and i < n
                    and raw[i][0] == "num"
                    and not (i + 1 < n and raw[i + 1][0] == "word" and raw[i + 1][1] in _UNIT_WORDS)
                ):
                    num.value += _decimal(raw[i][1]) / 1000  # "1 kg 500"
                    i += 1
                # "20 barquettes de 250 g": the container's size, not a second quantity
                if (
                    canon not in _DIMENSIONS
                    and i + 2 < n
                    and raw[i][1] in ("de", "d")
                    and raw[i + 1][0] == "num"
                    and raw[i + 2][0] == "word"
                    and _UNIT_WORDS.get(raw[i + 2][1]) in ("g", "kg", "l", "cl", "ml")
                ):
                    i += 3
        if i + 1 < n and raw[i][1] == "et" and raw[i + 1][1] in ("demi", "demie"):
            num.value += Decimal("0.5")
            i += 2
        return i

    def _word(self, raw: list[tuple[str, str, int, int]], i: int, out: list[_Tok]) -> int:
        """Classify the word at ``raw[i]`` (and the words it takes with it)."""
        n = len(raw)
        _, word, start, end = raw[i]

        def word_at(j: int) -> str:
            return raw[j][1] if j < n and raw[j][0] == "word" else ""

        prev = out[-1] if out else None
        # numbers written as words
        if word in _NUMBER_WORDS or word in ("demi", "demie"):
            j = i
            words: list[str] = []
            while j < n:
                w = word_at(j)
                if w in _NUMBER_WORDS or (
                    w == "et" and words and word_at(j + 1) in ("un", "une", "onze")
                ):
                    words.append(w)
                elif w in ("demi", "demie"):
                    words.append("demi")
                elif raw[j][0] == "minus" and words and raw[j][2] == raw[j - 1][3]:
                    pass
                else:
                    break
                j += 1
            tok = _Tok(_NUM, start, raw[j - 1][3])
            if "demi" in words:
                whole = [w for w in words if w not in ("demi", "un", "une")]
                base = _number_words_value(tuple(whole)) if whole else Decimal(0)
                tok.value = (base or Decimal(0)) + Decimal("0.5")
            elif words in (["un"], ["une"]):
                tok.value = Decimal(1)
                tok.article = True
            else:
                value = _number_words_value(tuple(words))
                if value is None:
                    value = _number_words_value((words[0],)) or Decimal(0)
                tok.value = value
            out.append(tok)
            return self._after_number(raw, j, out, tok)
        if word in _APPROX:
            if prev is not None and prev.kind == _NUM and prev.article:
                prev.value = Decimal(_APPROX[word])
                prev.article = False
                prev.end = end
            else:
                tok = _Tok(_NUM, start, end)
                tok.value = Decimal(_APPROX[word])
                out.append(tok)
            return i + 1
        if word in ("douzaine", "douzaines"):
            if prev is None or prev.kind != _NUM:
                tok = _Tok(_NUM, start, start)
                tok.value = Decimal(1)
                tok.article = True
                out.append(tok)
            unit = _Tok(_UNIT, start, end, "douzaine")
            unit.word = word
            out.append(unit)
            return i + 1
        if word in _SEP_WORDS:
            out.append(_Tok(_SEP, start, end, word))
            return i + 1
        if word in _ADD_VERBS or word in _REMOVE_VERBS:
            tok = _Tok(_ADD if word in _ADD_VERBS else _REM, start, end)
            tok.prefix = True
            out.append(tok)
            return i + 1
        if word in _ZERO_WORDS:
            out.append(_Tok(_ZERO, start, end))
            return i + 1
        if word in ("plus", "moins"):
            nxt = word_at(i + 1)
            nxt_is_num = i + 1 < n and raw[i + 1][0] == "num"
            if prev is not None and prev.kind == _STOPW and prev.text in ("en", "de"):
                out.pop()
                out.append(_Tok(_ADD if word == "plus" else _REM, prev.start, end))
                return i + 1
            if word == "moins":
                if nxt_is_num:
                    self._pending_sign(raw, i, out, "remove")
                    return i + 1
                out.append(_Tok(_REM, start, end))
                return i + 1
            if nxt in ("que", "qu"):
                return i + 2
            if nxt_is_num:
                self._pending_sign(raw, i, out, "add")
                return i + 1
            if nxt in ("de", "d", "du", "des"):
                if i + 2 < n and raw[i + 2][0] == "num":
                    return i + 1  # "plus de 20 kg": more than
                out.append(_Tok(_ZERO, start, end))
                return i + 1
            if nxt == "rien":
                out.append(_Tok(_ZERO, start, raw[i + 1][3]))
                return i + 2
            out.append(_Tok(_ZERO, start, end))
            return i + 1
        if word == "pas" and (
            word_at(i + 1) in ("de", "d", "du", "des")
            or (word_at(i + 1) == "encore" and word_at(i + 2) in ("de", "d"))
        ):
            out.append(_Tok(_ZERO, start, end))
            return i + 1
        if word == "rien" and word_at(i + 1) not in ("de", "d"):
            out.append(_Tok(_ZERO, start, end))
            return i + 1
        if word in ("chacun", "chacune", "chacuns", "chacunes", "chaque"):
            return i + 1
        kind_, stem = self._classify(word)
        tok = _Tok(kind_, start, end, stem)
        tok.word = word
        out.append(tok)
        return i + 1

    @staticmethod
    def _pending_sign(
        raw: list[tuple[str, str, int, int]], i: int, out: list[_Tok], sign: str
    ) -> None:
        # "plus 5 …" / "moins 3 …": record as a marker that the next number takes
        tok = _Tok(_ADD if sign == "add" else _REM, raw[i][2], raw[i][3])
        out.append(tok)

    def _clauses(self, folded: str) -> list[_Clause]:
        clauses: list[_Clause] = []
        for line_no, tokens in enumerate(self._tokens(folded)):
            sep = ""
            current: list[_Tok] = []
            for tok in tokens:
                if tok.kind == _SEP:
                    if current:
                        clauses.append(_Clause(current, line_no, sep))
                    current = []
                    sep = tok.text
                else:
                    current.append(tok)
            if current:
                clauses.append(_Clause(current, line_no, sep))
        for clause in clauses:
            self._analyze(clause)
        # a name alone followed by a quantity/operation alone: one clause
        merged: list[_Clause] = []
        for clause in clauses:
            if (
                merged
                and not clause.has_content
                and (clause.has_num or clause.has_marker)
                and merged[-1].has_content
                and not merged[-1].has_num
                and not merged[-1].has_marker
                and clause.line - merged[-1].line <= 1
            ):
                previous = merged.pop()
                both = _Clause(previous.tokens + clause.tokens, clause.line, previous.sep)
                self._analyze(both)
                merged.append(both)
            else:
                merged.append(clause)
        # an operation leading its clause carries over the next clauses of the line
        carry: str | None = None
        line = -1
        for clause in merged:
            if clause.line != line:
                carry, line = None, clause.line
            if clause.lead_op is not None:
                carry = clause.lead_op
                continue
            if clause.has_marker or carry is None:
                continue
            for item in clause.items:
                if item.op is not None:
                    continue
                if item.num is not None and carry in ("add", "remove") and item.num.sign is None:
                    item.op = carry
                elif item.num is None and carry == "zero":
                    item.op = "zero"
                    item.carried = True
                    item.forced = clause.sep == "ni"
        return merged

    @staticmethod
    def _analyze(clause: _Clause) -> None:
        """Pair the clause's quantities and names into items; find its leading operation."""
        tokens = clause.tokens
        clause.items = []
        clause.has_content = any(t.kind == _CONTENT for t in tokens)
        clause.has_num = any(t.kind == _NUM for t in tokens)
        clause.has_marker = any(t.kind in (_ADD, _REM, _ZERO) for t in tokens)
        clause.lead_op = None
        for t in tokens:
            if t.kind == _CONTENT:
                break
            if t.kind == _ZERO or (t.kind in (_ADD, _REM) and t.prefix):
                clause.lead_op = (
                    "zero" if t.kind == _ZERO else "add" if t.kind == _ADD else "remove"
                )
                break
        # elements: quantity groups and name runs, in order
        elements: list[tuple[str, list[_Tok]]] = []
        markers: list[tuple[int, _Tok]] = []
        for t in tokens:
            if t.kind == _NUM:
                elements.append(("Q", [t]))
            elif t.kind == _UNIT:
                if elements and elements[-1][0] == "Q" and len(elements[-1][1]) == 1:
                    elements[-1][1].append(t)
            elif t.kind == _CONTENT:
                if elements and elements[-1][0] == "N":
                    elements[-1][1].append(t)
                else:
                    elements.append(("N", [t]))
            elif t.kind in (_ADD, _REM, _ZERO):
                markers.append((len(elements), t))
                if elements and elements[-1][0] == "N":
                    elements.append(("M", []))  # a marker ends a name run
        quantities = [e for e in elements if e[0] == "Q"]
        items: list[_Item] = []
        if len(quantities) <= 1:
            item = _Item()
            for tag, toks in elements:
                if tag == "Q":
                    item.num = toks[0]
                    item.unit = toks[1] if len(toks) > 1 else None
                elif tag == "N":
                    item.content.extend(toks)
            items.append(item)
            owners = [0] * (len(elements) + 1)
        else:
            q_first = next(e[0] for e in elements if e[0] != "M") == "Q"
            owners = []
            current = _Item()
            for tag, toks in elements:
                if tag == "Q":
                    if q_first and (current.num is not None):
                        items.append(current)
                        current = _Item()
                    current.num = toks[0]
                    current.unit = toks[1] if len(toks) > 1 else None
                    owners.append(len(items))
                    if not q_first:
                        items.append(current)
                        current = _Item()
                elif tag == "N":
                    current.content.extend(toks)
                    owners.append(len(items))
                else:
                    owners.append(len(items))
            if current.num is not None or current.content:
                items.append(current)
            owners.append(len(items))
        # operation markers → items
        for position, marker in markers:
            if marker.kind == _ZERO:
                for item in items:
                    if item.num is None:
                        item.op = "zero"
                continue
            op = "add" if marker.kind == _ADD else "remove"
            if marker.prefix:
                for item in items[min(owners[position], len(items) - 1) :]:
                    if item.num is not None and item.num.sign is None and item.op is None:
                        item.op = op
            else:
                before = [it for it in items[: owners[position] + 1] if it.num is not None]
                after = [it for it in items[owners[position] :] if it.num is not None]
                # "plus 5 …" (marker then number) or "… 5 en plus" (number then marker)
                target = None
                if position < len(elements) and elements[position][0] == "Q" and after:
                    target = after[0]
                elif before:
                    target = before[-1]
                elif after:
                    target = after[0]
                if target is not None:
                    target.op = op
        for item in items:
            if item.op is None and item.num is not None and item.num.sign is not None:
                item.op = item.num.sign
        clause.items = items


def parse_stock_message(text: str, catalog: Sequence[CatalogItem]) -> ParseResult:
    """One-shot :meth:`StockParser.parse` (build a :class:`StockParser` to parse many)."""
    return StockParser(catalog).parse(text)
