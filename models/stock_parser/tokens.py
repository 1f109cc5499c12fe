"""The tokenizer: folded text → classified tokens, one list per line.

One regex lexes numbers (``12``, ``1,5``), words, newlines, separators (``, ; . ! ? / ( ) :``),
``+`` and ``-``; emojis and other symbols are dropped. Each token is then classified with one
token of look-around: numbers (digits and French number words, with their unit), operations
(add / remove / none left), separators, and words (content, stop word, filler). See the
package docstring for the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from models.stock_parser import lexicon as lx
from models.stock_parser.lexicon import FarmLexicon, stem
from models.stock_parser.resolution import Resolver

# token kinds
NUM, UNIT, CONTENT, STOPW, FILLER, ADD, REM, ZERO, SEP, CORR = range(10)
MARKERS = (ADD, REM, ZERO)

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

Raw = tuple[str, str, int, int]  # (lexical kind, text, start, end) in the folded text


class Tok:
    """One classified token; ``start``/``end`` index the folded text."""

    __slots__ = (
        "article", "end", "gap", "guess", "kind", "prefix", "sign", "start", "text", "value",
        "word",
    )  # fmt: skip

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
        self.guess = False  # for CONTENT: a typo correction that is not sure (to be asked)
        self.gap = False  # for CONTENT: comes after a filler word in its name run


def lex(folded: str) -> list[Raw]:
    """The lexical tokens of folded text."""
    return [(m.lastgroup or "", m.group(), m.start(), m.end()) for m in _LEX.finditer(folded)]


class Tokenizer:
    """Classifies one farm's messages (word classes cached per word)."""

    def __init__(self, lexicon: FarmLexicon, resolver: Resolver) -> None:
        self.lexicon = lexicon
        self.resolver = resolver
        self._word_cache: dict[str, tuple[int, str, bool]] = {}

    def tokens(self, folded: str) -> list[list[Tok]]:
        """Classified tokens of ``folded`` text, one list per line."""
        return [take_back_and_ranges(line) for line in _Lexing(self, folded).run()]

    def classify(self, word: str) -> tuple[int, str, bool]:
        """(kind, stem, guessed) of a plain word: content (corrected, guessed when the
        correction is not sure), stop word or filler."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        word_stem = stem(word)
        vocab = self.lexicon.vocab
        result: tuple[int, str, bool]
        if word_stem in vocab or word in vocab:
            result = (CONTENT, word_stem if word_stem in vocab else word, False)
        elif word in lx.STOP:
            result = (STOPW, word, False)
        elif (
            word in lx.FILLERS
            or word_stem in lx.FILLERS
            or word in lx.UNIT_WORDS
            or word_stem in self.lexicon.sale_units
        ):
            result = (FILLER, word, False)
        else:
            corrected, sure = self.resolver.correct(word_stem)
            result = (CONTENT, corrected, not sure and corrected != word_stem)
        self._word_cache[word] = result
        return result


@dataclass
class _Lexing:
    """The state of tokenizing one message."""

    tokenizer: Tokenizer
    folded: str
    raw: list[Raw] = field(init=False)
    lines: list[list[Tok]] = field(init=False)
    out: list[Tok] = field(init=False)
    sign: str | None = None
    sign_start: int = 0
    line_start: bool = True

    def __post_init__(self) -> None:
        self.raw = lex(self.folded)
        self.out = []
        self.lines = [self.out]

    # -- look-around
    def kind_at(self, j: int) -> str:
        return self.raw[j][0] if 0 <= j < len(self.raw) else ""

    def word_at(self, j: int) -> str:
        return self.raw[j][1] if self.kind_at(j) == "word" else ""

    def last(self) -> Tok | None:
        return self.out[-1] if self.out else None

    # -- the loop
    def run(self) -> list[list[Tok]]:
        i = 0
        while i < len(self.raw):
            i = self.step(i)
        return self.lines

    def step(self, i: int) -> int:
        """Consume the token(s) at ``i``; the caller gets the next index."""
        kind, text, start, end = self.raw[i]
        if kind == "nl":
            self.out = []
            self.lines.append(self.out)
            self.sign = None
            self.line_start = True
            return i + 1
        was_line_start = self.line_start
        self.line_start = False
        if kind == "sep":
            self.out.append(Tok(SEP, start, end, text))
        elif kind == "plus":
            if self.kind_at(i + 1) == "num":
                self.sign, self.sign_start = "add", start
        elif kind == "minus":
            return self.minus(i, was_line_start)
        elif kind == "num":
            return self.number(i)
        elif kind == "word":
            return self.word(i)
        return i + 1

    def minus(self, i: int, was_line_start: bool) -> int:
        """A bullet, a sign, a range ``10-12`` (the lower bound: never oversell), a separator."""
        _, _, start, end = self.raw[i]
        adjacent_num = self.kind_at(i + 1) == "num" and self.raw[i + 1][2] == end
        if was_line_start:
            if adjacent_num:
                self.sign, self.sign_start = "remove", start
            self.line_start = True  # a bullet: what follows still starts the line
        elif adjacent_num and self.kind_at(i - 1) == "num" and self.raw[i - 1][3] == start:
            return i + 2  # a range "10-12": keep the lower bound
        elif adjacent_num:
            self.sign, self.sign_start = "remove", start
        elif (start == 0 or self.folded[start - 1] == " ") and self.folded[end : end + 1] == " ":
            self.out.append(Tok(SEP, start, end, "-"))
        return i + 1

    def not_a_quantity(self, i: int) -> bool:
        """A price (``4,80 €``), a time (``18h``), a date (``semaine 38``, ``12 mai``), or a
        number with a leading 0 (a phone number)."""
        text = self.raw[i][1]
        nw = self.word_at(i + 1)
        prev = self.last()
        return (
            self.kind_at(i + 1) == "euro"
            or nw in lx.PRICE_AFTER
            or nw in lx.MONTHS
            or nw in lx.HOURS
            or (nw.startswith("h") and nw[1:].isdigit())
            or (len(text) > 1 and text[0] == "0" and text.isdigit())
            or (
                prev is not None
                and prev.kind == FILLER
                and prev.text in lx.DATE_BEFORE
                and not self.this_week(prev)
            )
        )

    def this_week(self, prev: Tok) -> bool:
        """``cette semaine 12 …``: the number after it is a quantity, not a week number."""
        before = self.out[-2] if len(self.out) > 1 else None
        return prev.text == "semaine" and before is not None and before.text in lx.THIS

    def number(self, i: int) -> int:
        _, text, start, end = self.raw[i]
        if self.not_a_quantity(i):
            nw = self.word_at(i + 1)
            if self.kind_at(i + 1) == "euro" or nw in lx.PRICE_AFTER or nw in lx.HOURS:
                i += 1
            self.sign = None
            return i + 1
        tok = Tok(NUM, self.sign_start if self.sign else start, end)
        tok.value = lx.decimal(text)
        tok.sign = self.sign
        self.sign = None
        self.out.append(tok)
        return self.after_number(i + 1, tok)

    def after_number(self, i: int, num: Tok) -> int:
        """After a number: its unit, ``1 kg 500``, ``… et demi``, ``de 250 g``, ``20aine``."""
        if self.word_at(i) == "aine" and self.raw[i][2] == self.raw[i - 1][3]:
            i += 1  # "20aine": about 20
        canon = self.tokenizer.lexicon.unit_of(self.word_at(i)) if self.word_at(i) else None
        if canon is not None:
            unit = Tok(UNIT, self.raw[i][2], self.raw[i][3], canon)
            unit.word = self.raw[i][1]
            self.out.append(unit)
            i = self.after_unit(i + 1, num, canon)
        if i + 1 < len(self.raw) and self.raw[i][1] == "et" and self.raw[i + 1][1] in lx.HALF:
            num.value += Decimal("0.5")
            i += 2
        return i

    def after_unit(self, i: int, num: Tok, canon: str) -> int:
        """``1 kg 500`` adds the grams; ``20 barquettes de 250 g`` skips the container's size;
        ``2 douzaines de pots`` is 24 pots."""
        if canon == "douzaine" and self.word_at(i) in lx.OF:
            container = self.tokenizer.lexicon.unit_of(self.word_at(i + 1))
            if container is not None and container not in lx.DIMENSIONS:
                num.value *= 12
                unit = self.out[-1]
                unit.text, unit.word, unit.end = container, self.raw[i + 1][1], self.raw[i + 1][3]
                return i + 2
        if (
            canon == "kg"
            and self.kind_at(i) == "num"
            and not (self.kind_at(i + 1) == "word" and self.raw[i + 1][1] in lx.UNIT_WORDS)
        ):
            num.value += lx.decimal(self.raw[i][1]) / 1000  # "1 kg 500"
            i += 1
        if (
            canon not in lx.DIMENSIONS
            and i + 2 < len(self.raw)
            and self.raw[i][1] in ("de", "d")
            and self.kind_at(i + 1) == "num"
            and self.kind_at(i + 2) == "word"
            and lx.UNIT_WORDS.get(self.raw[i + 2][1]) in lx.MEASURES
        ):
            i += 3
        return i

    # -- words
    def word(self, i: int) -> int:
        i = self.classify_word(i)
        last = self.last()
        if self.sign is not None and last is not None and last.kind == NUM and last.sign is None:
            last.sign = self.sign
            self.sign = None
        return i

    def classify_word(self, i: int) -> int:
        """Classify the word at ``i`` (and the words it takes with it)."""
        word = self.raw[i][1]
        if word in lx.NUMBER_WORDS or word in lx.HALF:
            return self.number_words(i)
        if word in lx.APPROX:
            return self.approx(i)
        if word in ("douzaine", "douzaines"):
            return self.dozen(i)
        if word in ("plus", "moins"):
            return self.plus_or_minus(i)
        marker = self.marker_word(i)
        if marker is not None:
            self.out.append(marker)
            return i + 1
        if word in lx.CORRECTIONS and self.takes_back(i):
            self.out.append(Tok(CORR, self.raw[i][2], self.raw[i][3], word))
        elif word not in lx.EACH:
            _, _, start, end = self.raw[i]
            kind, word_stem, guess = self.tokenizer.classify(word)
            tok = Tok(kind, start, end, word_stem)
            tok.word = word
            tok.guess = guess
            self.out.append(tok)
        return i + 1

    def takes_back(self, i: int) -> bool:
        """A correction word between two quantities (``12 pardon 10``, ``8 kg, euh non 6``)."""
        before = [t for t in self.out if t.kind not in (SEP, CORR)]
        if not before or before[-1].kind not in (NUM, UNIT):
            return False
        j = i + 1
        while self.word_at(j) in lx.CORRECTIONS:
            j += 1
        return self.kind_at(j) == "num" or self.word_at(j) in lx.NUMBER_WORDS

    def marker_word(self, i: int) -> Tok | None:
        """A separator word, an add/remove verb, or a "none left" word, as its token."""
        _, word, start, end = self.raw[i]
        if word in lx.SEP_WORDS:
            return Tok(SEP, start, end, word)
        if word in lx.ADD_VERBS or word in lx.REMOVE_VERBS:
            tok = Tok(ADD if word in lx.ADD_VERBS else REM, start, end)
            tok.prefix = True
            return tok
        if word in lx.ZERO_WORDS:
            return Tok(ZERO, start, end)
        nxt = self.word_at(i + 1)
        if word == "pas" and (
            nxt in lx.OF or (nxt == "encore" and self.word_at(i + 2) in ("de", "d"))
        ):
            return Tok(ZERO, start, end)
        if word == "rien" and nxt not in ("de", "d"):
            return Tok(ZERO, start, end)
        return None

    def number_word_run(self, i: int) -> tuple[list[str], int]:
        """The number words from ``i`` (``vingt-cinq``, ``trente et un``, ``deux et demi``)
        and the index after them."""
        j = i
        found: list[str] = []
        while j < len(self.raw):
            w = self.word_at(j)
            if w in lx.NUMBER_WORDS or (
                w == "et" and found and self.word_at(j + 1) in ("un", "une", "onze")
            ):
                found.append(w)
            elif w in lx.HALF:
                found.append("demi")
            elif not (
                self.kind_at(j) == "minus" and found and self.raw[j][2] == self.raw[j - 1][3]
            ):
                break
            j += 1
        return found, j

    def number_words(self, i: int) -> int:
        found, j = self.number_word_run(i)
        tok = Tok(NUM, self.raw[i][2], self.raw[j - 1][3])
        if "demi" in found:
            whole = [w for w in found if w not in ("demi", "un", "une")]
            base = lx.number_words_value(tuple(whole)) if whole else Decimal(0)
            tok.value = (base or Decimal(0)) + Decimal("0.5")
        elif found in (["un"], ["une"]):
            tok.value = Decimal(1)
            tok.article = True
        else:
            value = lx.number_words_value(tuple(found))
            if value is None:
                value = lx.number_words_value((found[0],)) or Decimal(0)
            tok.value = value
        self.out.append(tok)
        return self.after_number(j, tok)

    def approx(self, i: int) -> int:
        """``une vingtaine`` → 20."""
        _, word, start, end = self.raw[i]
        prev = self.last()
        if prev is not None and prev.kind == NUM and prev.article:
            prev.value = Decimal(lx.APPROX[word])
            prev.article = False
            prev.end = end
        else:
            tok = Tok(NUM, start, end)
            tok.value = Decimal(lx.APPROX[word])
            self.out.append(tok)
        return i + 1

    def dozen(self, i: int) -> int:
        """``douzaine``: a unit of 12 pièces (``une douzaine``, or alone: one)."""
        _, word, start, end = self.raw[i]
        prev = self.last()
        if prev is None or prev.kind != NUM:
            tok = Tok(NUM, start, start)
            tok.value = Decimal(1)
            tok.article = True
            self.out.append(tok)
        unit = Tok(UNIT, start, end, "douzaine")
        unit.word = word
        self.out.append(unit)
        return i + 1

    def plus_or_minus(self, i: int) -> int:
        """``en plus`` / ``de plus`` / ``plus 5`` add, ``moins`` removes, ``plus de X`` /
        ``plus rien`` / ``plus`` none left; ``plus que 10`` and ``plus de 20 kg`` are filler."""
        _, word, start, end = self.raw[i]
        prev = self.last()
        if prev is not None and prev.kind == STOPW and prev.text in ("en", "de"):
            self.out.pop()
            self.out.append(Tok(ADD if word == "plus" else REM, prev.start, end))
            return i + 1
        nxt = self.word_at(i + 1)
        nxt_is_num = self.kind_at(i + 1) == "num"
        if word == "moins" or nxt_is_num:
            self.out.append(Tok(REM if word == "moins" else ADD, start, end))
            return i + 1
        if nxt in ("que", "qu"):
            return i + 2
        if nxt in lx.OF and self.kind_at(i + 2) == "num":
            return i + 1  # "plus de 20 kg": more than
        if nxt == "rien":
            self.out.append(Tok(ZERO, start, self.raw[i + 1][3]))
            return i + 2
        self.out.append(Tok(ZERO, start, end))
        return i + 1


def take_back_and_ranges(line: list[Tok]) -> list[Tok]:
    """One line's tokens with the self-corrections applied (``12, euh non 10`` → 10) and the
    ranges reduced to their lower bound (``entre 8 et 10``, ``8 à 10``, ``8 ou 10`` → 8)."""
    out: list[Tok] = []
    skipped_bound = False
    for tok in line:
        if skipped_bound and tok.kind == UNIT:
            if out[-1].kind == NUM:
                out.append(tok)  # "entre 8 et 10 kg": the unit of both bounds
            skipped_bound = False
            continue
        skipped_bound = False
        if tok.kind == NUM and out and out[-1].kind == CORR:
            while out and out[-1].kind in (CORR, SEP):
                out.pop()
            while out and out[-1].kind in (NUM, UNIT):
                out.pop()
        elif tok.kind == NUM and _range_before(out):
            out.pop()  # the range word; the lower bound stays, the upper one goes
            skipped_bound = True
            continue
        out.append(tok)
    return [t for t in out if t.kind != CORR]


def _range_before(out: list[Tok]) -> bool:
    """``out`` ends with NUM [UNIT] and a range word (``et`` only after ``entre``)."""
    if len(out) < 2 or out[-1].kind not in (SEP, STOPW):
        return False
    first = len(out) - 2
    if out[first].kind == UNIT:
        first -= 1
    if first < 0 or out[first].kind != NUM:
        return False
    word = out[-1].text
    if word in lx.RANGE_WORDS:
        return True
    return (
        word == "et"
        and first > 0
        and out[first - 1].kind == FILLER
        and (out[first - 1].text == "entre")
    )
