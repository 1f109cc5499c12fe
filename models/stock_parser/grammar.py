"""The grammar: a message's tokens → clauses of items (name words, quantity, unit, operation).

A line splits at separators and at ``et``, ``ni``, ``mais``, ``puis``. In a clause, quantity
groups ``[sign] NUMBER [UNIT]`` and name runs pair up in the order the clause starts with
(``batavia 30 feuille de chêne 25`` and ``30 batavia 25 chêne`` both give two items). A
name-only clause followed by a clause with a quantity or an operation but no name merges with
it (``Radis : 20``, ``Tomates anciennes⏎12 kg``). An operation that leads its clause
(``ajoute …``, ``rupture de …``, ``pas de …``) carries over the next clauses of the same line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from models.stock_parser.lexicon import MEASURES
from models.stock_parser.tokens import (
    ADD,
    CONTENT,
    FILLER,
    MARKERS,
    NUM,
    REM,
    SEP,
    UNIT,
    ZERO,
    Tok,
)


@dataclass
class Item:
    """One stock statement: a name (content tokens), a quantity and its unit, an operation
    (``"add"``, ``"remove"``, ``"zero"`` or None: set)."""

    num: Tok | None = None
    unit: Tok | None = None
    content: list[Tok] = field(default_factory=list)
    size: tuple[Tok, Tok] | None = None  # a size written after the name: "cidre 75cl : 24"
    op: str | None = None
    carried: bool = False  # its "none left" came from a leading operation of the line
    forced: bool = False  # … after "ni": an unknown name is still reported

    def article_only(self) -> bool:
        return self.num is not None and self.num.article and self.unit is None

    def span(self) -> tuple[int, int]:
        toks = [t for t in (self.num, self.unit) if t is not None] + self.content
        return min(t.start for t in toks), max(t.end for t in toks)


@dataclass
class Clause:
    """The tokens between two separators of a line, and the items they say."""

    tokens: list[Tok]
    line: int
    sep: str  # the separator before it ("" at line start)
    items: list[Item] = field(default_factory=list)
    has_content: bool = False
    has_num: bool = False
    has_marker: bool = False
    lead_op: str | None = None


Element = tuple[str, list[Tok]]  # ("Q", [num, unit?]) | ("N", content) | ("M", [])


def clauses(lines: Iterable[list[Tok]]) -> list[Clause]:
    """The clauses of a message's token lines, analysed, merged and with operations carried."""
    found = [clause for line_no, tokens in enumerate(lines) for clause in split(tokens, line_no)]
    for clause in found:
        analyze(clause)
    merged = merge_names_with_quantities(found)
    carry_leading_operations(merged)
    return merged


def split(tokens: list[Tok], line_no: int) -> list[Clause]:
    """One line's tokens cut at separators."""
    result: list[Clause] = []
    sep = ""
    current: list[Tok] = []
    for tok in tokens:
        if tok.kind == SEP:
            if current:
                result.append(Clause(current, line_no, sep))
            current = []
            sep = tok.text
        else:
            current.append(tok)
    if current:
        result.append(Clause(current, line_no, sep))
    return result


def _name_only(clause: Clause) -> bool:
    return clause.has_content and not clause.has_num and not clause.has_marker


def _name_and_size(clause: Clause) -> bool:
    """A name then one measure (``cidre brut 75cl``), which the next clause's count may
    turn into a size."""
    nums = [t for t in clause.tokens if t.kind == NUM]
    if not clause.has_content or clause.has_marker or len(nums) != 1:
        return False
    (item,) = clause.items or [Item()]
    return (
        item.unit is not None
        and item.unit.text in MEASURES
        and item.content != []
        and item.content[0].start < nums[0].start
    )


def merge_names_with_quantities(found: list[Clause]) -> list[Clause]:
    """A name alone followed (same or next line) by a quantity/operation alone: one clause."""
    merged: list[Clause] = []
    for clause in found:
        if (
            merged
            and not clause.has_content
            and (clause.has_num or clause.has_marker)
            and (_name_only(merged[-1]) or (clause.has_num and _name_and_size(merged[-1])))
            and clause.line - merged[-1].line <= 1
        ):
            previous = merged.pop()
            both = Clause(previous.tokens + clause.tokens, clause.line, previous.sep)
            analyze(both)
            merged.append(both)
        else:
            merged.append(clause)
    return merged


def carry_leading_operations(merged: list[Clause]) -> None:
    """An operation leading its clause applies to the next clauses of the same line."""
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
            _carry_into(item, carry, clause.sep)


def _carry_into(item: Item, carry: str, sep: str) -> None:
    if item.op is not None:
        return
    if item.num is not None and carry in ("add", "remove") and item.num.sign is None:
        item.op = carry
    elif item.num is None and carry == "zero":
        item.op = "zero"
        item.carried = True
        item.forced = sep == "ni"


def _op_of(tok: Tok) -> str:
    return "zero" if tok.kind == ZERO else "add" if tok.kind == ADD else "remove"


def analyze(clause: Clause) -> None:
    """Pair the clause's quantities and names into items; find its leading operation."""
    tokens = clause.tokens
    clause.has_content = any(t.kind == CONTENT for t in tokens)
    clause.has_num = any(t.kind == NUM for t in tokens)
    clause.has_marker = any(t.kind in MARKERS for t in tokens)
    clause.lead_op = leading_operation(tokens)
    elements, markers = elements_of(tokens)
    sizes = take_sizes(elements, markers)
    if sum(1 for tag, _ in elements if tag == "Q") <= 1:
        items, owners = _one_item(elements)
    else:
        items, owners = pair_items(elements)
    for position, marker in markers:
        _apply_marker(items, elements, owners, position, marker)
    for item in items:
        if item.content and item.content[0] in sizes:
            item.size = sizes[item.content[0]]
        if item.op is None and item.num is not None and item.num.sign is not None:
            item.op = item.num.sign
    clause.items = items


def leading_operation(tokens: list[Tok]) -> str | None:
    """The operation (a "none left" word or an add/remove verb) before the clause's name."""
    for t in tokens:
        if t.kind == CONTENT:
            return None
        if t.kind == ZERO or (t.kind in (ADD, REM) and t.prefix):
            return _op_of(t)
    return None


def elements_of(tokens: list[Tok]) -> tuple[list[Element], list[tuple[int, Tok]]]:
    """Quantity groups and name runs in order, and the operation markers with the element
    index they come before (a marker ends a name run)."""
    elements: list[Element] = []
    markers: list[tuple[int, Tok]] = []
    for t in tokens:
        last = elements[-1] if elements else None
        if t.kind == CONTENT:
            t.gap = last is not None and last[0] == "N" and _follows_filler(tokens, t)
        if t.kind == NUM:
            elements.append(("Q", [t]))
        elif t.kind == UNIT:
            if last is not None and last[0] == "Q" and len(last[1]) == 1:
                last[1].append(t)
        elif t.kind == CONTENT:
            if last is not None and last[0] == "N":
                last[1].append(t)
            else:
                elements.append(("N", [t]))
        elif t.kind in MARKERS:
            markers.append((len(elements), t))
            if last is not None and last[0] == "N":
                elements.append(("M", []))
    return elements, markers


def _follows_filler(tokens: list[Tok], tok: Tok) -> bool:
    """A filler word stands between ``tok`` and the content word before it."""
    index = tokens.index(tok)
    for before in reversed(tokens[:index]):
        if before.kind == CONTENT:
            return False
        if before.kind == FILLER:
            return True
    return False


def _is_measure(toks: list[Tok]) -> bool:
    return len(toks) == 2 and toks[1].text in MEASURES


def take_sizes(
    elements: list[Element], markers: list[tuple[int, Tok]]
) -> dict[Tok, tuple[Tok, Tok]]:
    """Remove from ``elements`` the sizes written after a name and before its count (``miel
    500g : 20``, ``cidre 75cl x 24``); the caller gets them by the name's first token."""
    sizes: dict[Tok, tuple[Tok, Tok]] = {}
    index = 1
    while index + 1 < len(elements):
        (tag0, name), (tag1, size), (tag2, count) = elements[index - 1 : index + 2]
        if (tag0, tag1, tag2) == ("N", "Q", "Q") and _is_measure(size) and not _is_measure(count):
            sizes[name[0]] = (size[0], size[1])
            del elements[index]
            markers[:] = [(p - 1 if p > index else p, m) for p, m in markers]
        index += 1
    return sizes


def _set_quantity(item: Item, toks: list[Tok]) -> None:
    item.num = toks[0]
    item.unit = toks[1] if len(toks) > 1 else None


def _one_item(elements: list[Element]) -> tuple[list[Item], list[int]]:
    item = Item()
    for tag, toks in elements:
        if tag == "Q":
            _set_quantity(item, toks)
        elif tag == "N":
            item.content.extend(toks)
    return [item], [0] * (len(elements) + 1)


def pair_items(elements: list[Element]) -> tuple[list[Item], list[int]]:
    """Several quantities: pair each with the name after it (the clause starts with a
    quantity) or before it. Also gives, per element, the index of the item it belongs to."""
    q_first = next(tag for tag, _ in elements if tag != "M") == "Q"
    items: list[Item] = []
    owners: list[int] = []
    current = Item()
    for tag, toks in elements:
        if tag == "Q":
            if q_first and current.num is not None:
                items.append(current)
                current = Item()
            _set_quantity(current, toks)
            owners.append(len(items))
            if not q_first:
                items.append(current)
                current = Item()
            continue
        if tag == "N":
            current.content.extend(toks)
        owners.append(len(items))
    if current.num is not None or current.content:
        items.append(current)
    owners.append(len(items))
    return items, owners


def _apply_marker(
    items: list[Item], elements: list[Element], owners: list[int], position: int, marker: Tok
) -> None:
    """Give the marker's operation to the items it is about."""
    op = _op_of(marker)
    if op == "zero":
        for item in items:
            if item.num is None:
                item.op = "zero"
        return
    owner = owners[position]
    if marker.prefix:
        for item in items[min(owner, len(items) - 1) :]:
            if item.num is not None and item.num.sign is None and item.op is None:
                item.op = op
        return
    before = [it for it in items[: owner + 1] if it.num is not None]
    after = [it for it in items[owner:] if it.num is not None]
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
