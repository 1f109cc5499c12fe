"""Producers' stock: a message read into a pending update, previewed, applied in one tap, undone.

A producer's message becomes a :class:`StockUpdate` row (status pending, the parsed lines in
``parsed``) so that the preview's buttons carry only its id. Applying it is one unit of work on
the stock cycle (the open one, else the next planned one): every offer is changed by a
conditional ``UPDATE … WHERE ordered <= :new`` so stock never drops below what consumers already
ordered, even when one of them orders at the same moment; what cannot go that low is clamped to
``ordered``. The row then records each offer's before/after, which is what the undo restores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import normalize_quantity
from models.cycle import Cycle, CycleState, Offer
from models.cycles import lock_cycle, stock_cycle
from models.errors import NoOpenCycle, NotAllowed, QuestionPending, StaleAction
from models.member import Member
from models.producer import Producer, Product
from models.stock_parser import (
    Ambiguity,
    CatalogItem,
    ParseResult,
    StockLine,
    StockParser,
    Unconvertible,
)
from models.stock_update import StockUpdate, StockUpdateStatus
from models.text import fold_with_offsets, storable
from models.unit_of_work import unit_of_work

Kind = Literal["stock", "shortage"]
STOCK: Kind = "stock"
SHORTAGE: Kind = "shortage"
STOCK_STATES = (CycleState.OPEN, CycleState.PLANNED)

MAX_QUANTITY = Decimal(1_000_000_000)
"""The most one offer can hold, in sale units: far inside what a ``Quantity`` column stores
(thousandths in a 64-bit integer), with room for the sums an order adds. Above it a quantity
is refused, never stored."""
ABSURD_FACTOR = 100
"""A quantity more than this many times last week's offer (else this week's so far) is asked
about before it is recorded."""
ABSURD_WITHOUT_HISTORY = Decimal(10_000)
"""… and, without an offer last week, a quantity above this many sale units."""


# ------------------------------------------------------------------ what a preview shows


@dataclass(frozen=True)
class PreviewLine:
    """One product's change: ``before`` → ``after`` in sale units; ``requested`` is what the
    message asked for (``after`` is higher when ``ordered`` did not allow it)."""

    product_id: int
    sku: str
    name: str
    sale_unit: str
    before: Decimal
    requested: Decimal
    after: Decimal
    ordered: Decimal
    given: str | None = None
    """The producer's own quantity when it was converted into sale units ("12 kg")."""
    unit_amount: Decimal = Decimal(1)
    unit_measure: str = ""

    @property
    def clamped(self) -> bool:
        """Whether stock could not go as low as asked because consumers already ordered."""
        return self.after > self.requested


@dataclass(frozen=True)
class Choice:
    """A name fitting several products: the producer picks one (``candidates``: sku, name)."""

    index: int
    text: str
    candidates: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Problem:
    """A quantity that cannot be put in the product's sale units (asked about, not applied)."""

    text: str
    name: str
    quantity: Decimal
    unit: str
    sale_unit: str


@dataclass(frozen=True)
class Question:
    """A quantity far above what the farm offered before (``last_week``, None: nothing), or
    past :data:`MAX_QUANTITY` (``refused``): asked before it is recorded, or refused."""

    product_id: int
    name: str
    sale_unit: str
    quantity: Decimal
    last_week: Decimal | None
    refused: bool = False


@dataclass(frozen=True)
class StockPreview:
    """What a pending update would do, and what the message left unclear."""

    update_id: int
    kind: Kind
    cycle: Cycle | None
    lines: list[PreviewLine] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)

    @property
    def open_questions(self) -> bool:
        """Whether a ❓ with buttons still waits for the producer's answer."""
        return bool(self.choices) or any(not q.refused for q in self.questions)

    @property
    def actionable(self) -> bool:
        """Whether Valider is offered: something would change and nothing is left unanswered."""
        return bool(self.lines) and not self.open_questions

    @property
    def not_recorded(self) -> list[str]:
        """What the message said that validating leaves out, as the producer wrote it (or the
        product's name): unknown names, quantities to ask again, declined and refused lines."""
        return [
            *self.unknown,
            *(problem.text for problem in self.problems),
            *self.declined,
            *(question.name for question in self.questions if question.refused),
        ]


@dataclass(frozen=True)
class AppliedStock:
    """What validating (or undoing) did, per product; ``lines`` say before → after."""

    update_id: int
    cycle: Cycle
    lines: list[PreviewLine]
    not_recorded: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ parsed JSON


def _line_json(line: StockLine) -> dict[str, Any]:
    return {"sku": line.sku, "op": line.op, "quantity": str(line.quantity), "text": line.text}


def _problem_json(item: Unconvertible) -> dict[str, Any]:
    return {"text": item.text, "sku": item.sku, "quantity": str(item.quantity), "unit": item.unit}


def _ambiguity_json(item: Ambiguity) -> dict[str, Any]:
    return {
        "text": item.text,
        "candidates": list(item.candidates),
        "op": item.op,
        "quantity": str(item.quantity),
        "unit": item.unit,
        "resolved": None,
    }


def _ambiguity(data: dict[str, Any]) -> Ambiguity:
    return Ambiguity(
        text=data["text"],
        candidates=tuple(data["candidates"]),
        op=data["op"],
        quantity=Decimal(data["quantity"]),
        unit=data["unit"],
    )


def catalog_items(products: Iterable[Product]) -> list[CatalogItem]:
    """The parser's view of products."""
    return [
        CatalogItem(
            sku=p.sku,
            name=p.name,
            aliases=tuple(p.aliases or ()),
            sale_unit=p.sale_unit,
            unit_amount=p.unit_amount,
            unit_measure=p.unit_measure,
        )
        for p in products
    ]


async def producer_products(session: AsyncSession, producer_id: int) -> list[Product]:
    """The producer's active products, by name."""
    rows = await session.scalars(
        select(Product)
        .where(Product.producer_id == producer_id, Product.active.is_(True))
        .order_by(Product.name)
    )
    return list(rows)


# ------------------------------------------------------------------ reading a message


def prompt_pending(producer: Producer, cycle: Cycle | None) -> bool:
    """Whether the weekly prompt of ``cycle`` awaits this producer's answer."""
    return cycle is not None and producer.stock_prompt_cycle_id == cycle.id


async def read_stock_message(
    session: AsyncSession, member: Member, text: str, now: datetime, *, always: bool = False
) -> StockUpdate | None:
    """A pending stock update for ``text`` when it names one of the producer's products (or
    ``always``); None otherwise, and for a member linked to no producer. Commits.

    The member's earlier pending previews are cancelled: only the newest can be validated.
    """
    if member.producer_id is None:
        return None
    producer = await session.get(Producer, member.producer_id)
    if producer is None:
        return None
    text = storable(text)
    products = await producer_products(session, producer.id)
    result = StockParser(catalog_items(products)).parse(text)
    names_a_product = bool(result.updates or result.ambiguous or result.unconvertible)
    cycle = await stock_cycle(session, now)
    if not names_a_product and not always and not prompt_pending(producer, cycle):
        return None
    parsed = _parsed(result)
    return await new_pending_update(session, member, text, parsed, cycle.id if cycle else None, now)


async def new_pending_update(
    session: AsyncSession,
    member: Member,
    text: str,
    parsed: dict[str, Any],
    cycle_id: int | None,
    now: datetime,
) -> StockUpdate:
    assert member.producer_id is not None
    async with unit_of_work(session):
        await session.execute(
            update(StockUpdate)
            .where(
                StockUpdate.member_id == member.id,
                StockUpdate.status == StockUpdateStatus.PENDING,
            )
            .values(status=StockUpdateStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        stock_update = StockUpdate(
            producer_id=member.producer_id,
            member_id=member.id,
            cycle_id=cycle_id,
            text=text,
            parsed=parsed,
            applied=[],
            status=StockUpdateStatus.PENDING,
            created_at=now,
        )
        session.add(stock_update)
        await session.flush()
    return stock_update


def _parsed(result: ParseResult, before: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A parse result as a pending update's ``parsed`` JSON, after the ``before`` lines."""
    return {
        "kind": STOCK,
        "updates": [*(before or []), *(_line_json(line) for line in result.updates)],
        "ambiguous": [_ambiguity_json(item) for item in result.ambiguous],
        "unknown": list(result.unknown),
        "unconvertible": [_problem_json(item) for item in result.unconvertible],
    }


# What a producer says about the whole week rather than product by product (folded text).
_NOTHING_PHRASE = re.compile(
    r"^\W*(rien|plus rien|aucun stock|pas de stock)\W*$"
    r"|\brien (du tout )?(cette semaine|a (vendre|proposer|offrir))\b"
    r"|\b(tout|toute la liste|tout le stock|tous les produits) a (zero|0)\b"
    r"|\b(je suis|nous sommes|on est|je pars|nous partons) en (vacances|conges)\b"
    r"|\bnothing (this week|to offer)\b|\beverything (to|at) (zero|0)\b"
)
_SAME_PHRASE = re.compile(
    r"^\W*(pareil|meme (chose|stock)|idem|comme|same|as)\b[^.!?]*?"
    r"\b(semaine (derniere|passee)|last week)\b\W*"
    r"(?:(?:sauf|mais|except|but)\b(?P<rest>.*))?$",
    re.DOTALL,
)

WeekPhrase = Literal["nothing", "same"]


def week_phrase(text: str) -> tuple[WeekPhrase, str] | None:
    """("nothing", "") for "rien cette semaine" / "tout à zéro" / "je suis en vacances",
    ("same", exceptions) for "pareil que la semaine dernière [sauf radis 5]", else None."""
    folded, offsets = fold_with_offsets(text)
    same = _SAME_PHRASE.match(folded)
    if same is not None:
        if not (same.group("rest") or "").strip():
            return "same", ""
        start = same.start("rest")
        return "same", text[offsets[start] if offsets else start :]  # as the producer wrote it
    if _NOTHING_PHRASE.search(folded):
        return "nothing", ""
    return None


async def all_to_zero(
    session: AsyncSession, member: Member, text: str, now: datetime
) -> StockUpdate:
    """A pending update setting every product offered in the stock cycle to 0 (every product
    when none is). Raises :class:`NoOpenCycle` without a stock cycle. Commits."""
    producer_id = _producer_id(member)
    cycle = await stock_cycle(session, now)
    if cycle is None:
        raise NoOpenCycle()
    products = await producer_products(session, producer_id)
    offers = await _offers_by_product(session, cycle.id, [p.id for p in products])
    offered = [p for p in products if p.id in offers and offers[p.id].offered > 0]
    parsed = _parsed(
        ParseResult(
            updates=[StockLine(p.sku, "set", Decimal(0), p.name) for p in offered or products]
        )
    )
    return await new_pending_update(session, member, text, parsed, cycle.id, now)


async def same_as_last_week(
    session: AsyncSession, member: Member, now: datetime, text: str = "", exceptions: str = ""
) -> StockUpdate:
    """A pending update setting every product the producer offered in the previous cycle to
    that quantity (products it had none of are left out), then what ``exceptions`` says
    ("radis 5"). Raises :class:`NoOpenCycle` without a stock cycle, :class:`StaleAction` when
    there is no earlier week to copy. Commits."""
    producer_id = _producer_id(member)
    cycle = await stock_cycle(session, now)
    if cycle is None:
        raise NoOpenCycle()
    previous = [(p, q) for p, q in await previous_offers(session, producer_id, cycle) if q > 0]
    if not previous:
        raise StaleAction(reason="no_previous_week")
    copied = [
        {"sku": product.sku, "op": "set", "quantity": str(quantity), "text": product.name}
        for product, quantity in previous
    ]
    result = ParseResult()
    if exceptions.strip():
        products = await producer_products(session, producer_id)
        result = StockParser(catalog_items(products)).parse(exceptions)
    return await new_pending_update(session, member, text, _parsed(result, copied), cycle.id, now)


async def not_sold_here(session: AsyncSession, producer_id: int, text: str) -> list[str]:
    """The names in ``text`` (as the producer wrote them) that are none of this farm's products
    but another farm's of the network: "oeufs" for a vegetable grower."""
    own = StockParser(catalog_items(await producer_products(session, producer_id)))
    names = own.parse(text).unknown
    if not names:
        return []
    others = await session.scalars(
        select(Product).where(Product.producer_id != producer_id, Product.active.is_(True))
    )
    parser = StockParser(catalog_items(others))
    found = []
    for name in names:
        result = parser.parse(f"{name} 1")
        if result.updates or result.ambiguous or result.unconvertible:
            found.append(name)
    return found


async def previous_offers(
    session: AsyncSession, producer_id: int, cycle: Cycle
) -> list[tuple[Product, Decimal]]:
    """What the producer offered, per active product, in the latest cycle before ``cycle``
    (before a shortage cut it: what was offered, not what was left)."""
    previous_id = await session.scalar(
        select(Cycle.id)
        .join(Offer, Offer.cycle_id == Cycle.id)
        .join(Product, Offer.product_id == Product.id)
        .where(Product.producer_id == producer_id, Cycle.opens_at < cycle.opens_at)
        .order_by(Cycle.opens_at.desc())
        .limit(1)
    )
    if previous_id is None:
        return []
    rows = await session.execute(
        select(Product, Offer.offered)
        .join(Offer, Offer.product_id == Product.id)
        .where(
            Offer.cycle_id == previous_id,
            Product.producer_id == producer_id,
            Product.active.is_(True),
        )
        .order_by(Product.name)
    )
    before_shortage = await _offered_before_shortages(session, producer_id, previous_id)
    return [(product, before_shortage.get(product.id, offered)) for product, offered in rows]


async def _offered_before_shortages(
    session: AsyncSession, producer_id: int, cycle_id: int
) -> dict[int, Decimal]:
    """Per product whose offer in ``cycle_id`` ended cut by a shortage, what it held before
    (a stock update after the shortage gives the offer back its own figure)."""
    updates = await session.scalars(
        select(StockUpdate)
        .where(
            StockUpdate.producer_id == producer_id,
            StockUpdate.cycle_id == cycle_id,
            StockUpdate.status == StockUpdateStatus.APPLIED,
        )
        .order_by(StockUpdate.applied_at, StockUpdate.id)
    )
    offered: dict[int, Decimal] = {}
    for applied in updates:
        shortage = applied.parsed.get("kind") == SHORTAGE
        for item in applied.applied:
            product = item["product_id"]
            if not shortage:
                offered.pop(product, None)
            elif product not in offered and item.get("offered") not in (None, "None"):
                offered[product] = Decimal(item["offered"])
    return offered


def _producer_id(member: Member) -> int:
    if member.producer_id is None:
        raise NotAllowed(reason="not_a_producer")
    return member.producer_id


async def pending_update(
    session: AsyncSession, member: Member, update_id: int, *, kind: Kind | None = None
) -> StockUpdate:
    """The member's farm's pending update ``update_id``; anything else is :class:`StaleAction`
    (someone else's farm, already applied or cancelled, or a forged id)."""
    stock_update = await _farms_update(session, member, update_id, StockUpdateStatus.PENDING)
    if kind is not None and stock_update.parsed.get("kind", STOCK) != kind:
        raise StaleAction(update_id=update_id)
    return stock_update


async def _farms_update(
    session: AsyncSession, member: Member, update_id: int, status: StockUpdateStatus
) -> StockUpdate:
    """The member's farm's update ``update_id`` in ``status``, read afresh; anything else is
    :class:`StaleAction` (someone else's farm, another status, or a forged id)."""
    stock_update = await session.get(StockUpdate, update_id, populate_existing=True)
    if (
        stock_update is None
        or member.producer_id is None
        or stock_update.producer_id != member.producer_id
        or stock_update.status != status
    ):
        raise StaleAction(update_id=update_id)
    return stock_update


# ------------------------------------------------------------------ the preview


async def _offers_by_product(
    session: AsyncSession, cycle_id: int, product_ids: Sequence[int]
) -> dict[int, Offer]:
    if not product_ids:
        return {}
    rows = await session.scalars(
        select(Offer)
        .where(Offer.cycle_id == cycle_id, Offer.product_id.in_(product_ids))
        .execution_options(populate_existing=True)
    )
    return {offer.product_id: offer for offer in rows}


def _target(op: str, before: Decimal, quantity: Decimal) -> Decimal:
    if op == "add":
        return before + quantity
    if op == "remove":
        return max(before - quantity, Decimal(0))
    return quantity


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?(?:\s*[^\W\d_]+)?")


def _given(text: str, quantity: Decimal) -> str | None:
    """The producer's quantity ("12 kg", "30 œufs") when it is not the sale-unit quantity
    itself, i.e. when the parser converted it; None otherwise."""
    found = _NUMBER.search(text)
    if found is None or quantity == 0:
        return None
    digits = re.match(r"\d+(?:[.,]\d+)?", found.group(0))
    assert digits is not None
    if Decimal(digits.group(0).replace(",", ".")) == quantity:
        return None
    return found.group(0)


async def preview(session: AsyncSession, member: Member, update_id: int) -> StockPreview:
    """What the pending update would do to the stock cycle, line by line; a quantity above
    :data:`MAX_QUANTITY` is refused, one far above last week's offer is asked about (a
    :class:`Question`) until the producer confirms it."""
    stock_update = await pending_update(session, member, update_id, kind=STOCK)
    parsed = stock_update.parsed
    products = {p.sku: p for p in await producer_products(session, stock_update.producer_id)}
    cycle = await session.get(Cycle, stock_update.cycle_id) if stock_update.cycle_id else None
    wanted = [products[u["sku"]] for u in _updates(parsed) if u["sku"] in products]
    offers = await _offers_by_product(session, cycle.id, [p.id for p in wanted]) if cycle else {}
    last_week = (
        {p.id: q for p, q in await previous_offers(session, stock_update.producer_id, cycle)}
        if cycle
        else {}
    )
    confirmed = set(parsed.get("confirmed", []))
    lines: dict[str, PreviewLine] = {}
    for item in _updates(parsed):
        product = products.get(item["sku"])
        if product is None:
            continue
        offer = offers.get(product.id)
        before = offer.offered if offer else Decimal(0)
        ordered = offer.ordered if offer else Decimal(0)
        current = lines[product.sku].requested if product.sku in lines else before
        quantity = Decimal(item["quantity"])
        requested = _target(item["op"], current, quantity)
        lines[product.sku] = PreviewLine(
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            sale_unit=product.sale_unit,
            before=before,
            requested=normalize_quantity(requested),
            after=normalize_quantity(max(requested, ordered)),
            ordered=ordered,
            given=_given(item.get("text", ""), quantity) if item["op"] == "set" else None,
            unit_amount=product.unit_amount,
            unit_measure=product.unit_measure,
        )
    questions: list[Question] = []
    for line in list(lines.values()):
        last = last_week.get(line.product_id)
        reference = last or line.before  # last week's offer, else this week's so far
        bound = reference * ABSURD_FACTOR if reference else ABSURD_WITHOUT_HISTORY
        refused = line.requested > MAX_QUANTITY
        if refused or (line.requested > bound and line.product_id not in confirmed):
            del lines[line.sku]
            questions.append(
                Question(line.product_id, line.name, line.sale_unit, line.requested, last, refused)
            )
    ambiguous = parsed.get("ambiguous", [])
    choices = [
        Choice(
            index=index,
            text=item["text"],
            candidates=tuple(
                (sku, products[sku].name) for sku in item["candidates"] if sku in products
            ),
        )
        for index, item in enumerate(ambiguous)
        if item.get("resolved") is None
    ]
    problems = [
        Problem(
            text=item["text"],
            name=products[item["sku"]].name,
            quantity=Decimal(item["quantity"]),
            unit=item["unit"],
            sale_unit=products[item["sku"]].sale_unit,
        )
        for item in parsed.get("unconvertible", [])
        if item["sku"] in products
    ]
    return StockPreview(
        update_id=stock_update.id,
        kind=STOCK,
        cycle=cycle,
        lines=list(lines.values()),
        choices=choices,
        unknown=list(parsed.get("unknown", [])),
        problems=problems,
        questions=questions,
        declined=[item["text"] for item in ambiguous if item.get("declined")],
    )


def _updates(parsed: dict[str, Any]) -> list[dict[str, Any]]:
    """The lines to apply: the parsed ones, then the ambiguities the producer resolved."""
    lines = list(parsed.get("updates", []))
    lines.extend(item["resolved"] for item in parsed.get("ambiguous", []) if item.get("resolved"))
    return lines


async def resolve_choice(
    session: AsyncSession, member: Member, update_id: int, index: int, candidate: int
) -> StockUpdate:
    """The producer picked candidate ``candidate`` for ambiguity ``index`` (``-1``: none of
    them, the line is left out and named as not recorded). Commits."""
    stock_update = await pending_update(session, member, update_id)
    ambiguous = [dict(item) for item in stock_update.parsed.get("ambiguous", [])]
    if not 0 <= index < len(ambiguous) or ambiguous[index].get("resolved") is not None:
        raise StaleAction(update_id=update_id)
    item = ambiguous[index]
    if candidate == -1:
        async with unit_of_work(session):
            item["resolved"] = False
            item["declined"] = True
            ambiguous[index] = item
            stock_update.parsed = {**stock_update.parsed, "ambiguous": ambiguous}
        return stock_update
    if not 0 <= candidate < len(item["candidates"]):
        raise StaleAction(update_id=update_id)
    sku = item["candidates"][candidate]
    products = await producer_products(session, stock_update.producer_id)
    parser = StockParser(catalog_items(products))
    try:
        resolved = parser.resolve(_ambiguity(item), sku)
    except KeyError as exc:
        raise StaleAction(update_id=update_id) from exc
    parsed = dict(stock_update.parsed)
    async with unit_of_work(session):
        if isinstance(resolved, StockLine):
            item["resolved"] = _line_json(resolved)
        else:
            item["resolved"] = False  # answered, but the quantity needs asking about
            parsed["unconvertible"] = [*parsed.get("unconvertible", []), _problem_json(resolved)]
        ambiguous[index] = item
        parsed["ambiguous"] = ambiguous
        stock_update.parsed = parsed
    return stock_update


async def confirm_quantity(
    session: AsyncSession, member: Member, update_id: int, product_id: int
) -> StockUpdate:
    """The producer confirmed the unusual quantity asked about for ``product_id`` (never one
    past :data:`MAX_QUANTITY`: the preview keeps refusing it). Commits."""
    stock_update = await pending_update(session, member, update_id, kind=STOCK)
    confirmed = list(stock_update.parsed.get("confirmed", []))
    async with unit_of_work(session):
        if product_id not in confirmed:
            confirmed.append(product_id)
        stock_update.parsed = {**stock_update.parsed, "confirmed": confirmed}
    return stock_update


async def cancel_update(session: AsyncSession, member: Member, update_id: int) -> None:
    """Drop the pending update (Annuler, or Corriger before a new message). Commits."""
    stock_update = await pending_update(session, member, update_id)
    async with unit_of_work(session):
        stock_update.status = StockUpdateStatus.CANCELLED


# ------------------------------------------------------------------ applying


async def _lock_stock_cycle(session: AsyncSession, cycle_id: int | None) -> Cycle:
    if cycle_id is None:
        raise NoOpenCycle()
    cycle = await lock_cycle(session, cycle_id, shared=True)
    if cycle.state not in STOCK_STATES:
        raise StaleAction(cycle_id=cycle_id)
    return cycle


async def _offer_for(session: AsyncSession, cycle_id: int, product_id: int) -> Offer:
    """The product's offer in the cycle, created (empty) when nobody stocked it yet."""
    query = (
        select(Offer)
        .where(Offer.cycle_id == cycle_id, Offer.product_id == product_id)
        .execution_options(populate_existing=True)
    )
    offer = await session.scalar(query)
    if offer is not None:
        return offer
    try:
        async with session.begin_nested():
            offer = Offer(
                cycle_id=cycle_id, product_id=product_id, offered=Decimal(0), ordered=Decimal(0)
            )
            session.add(offer)
    except IntegrityError:
        offer = await session.scalar(query)  # another member of the farm created it meanwhile
    assert offer is not None
    return offer


async def set_offered(
    session: AsyncSession, offer_id: int, op: str, quantity: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """Apply ``op`` to the offer, never below ``ordered``; returns (before, after, ordered).

    One conditional UPDATE (``WHERE ordered <= new``): a consumer reserving at the same moment
    either lands before it (and the stock is clamped to what they took) or after it (and finds
    the new stock), never in between.
    """
    before = (await session.execute(select(Offer.offered).where(Offer.id == offer_id))).scalar_one()
    if op == "add":
        new_value = Offer.offered + quantity
        condition = Offer.ordered <= Offer.offered + quantity
    elif op == "remove":
        new_value = Offer.offered - quantity
        condition = Offer.ordered <= Offer.offered - quantity
    else:
        new_value = quantity  # type: ignore[assignment]
        condition = Offer.ordered <= quantity
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(Offer)
        .where(Offer.id == offer_id, condition)
        .values(offered=new_value)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.execute(
            update(Offer)
            .where(Offer.id == offer_id)
            .values(offered=Offer.ordered)
            .execution_options(synchronize_session=False)
        )
    after, ordered = (
        await session.execute(select(Offer.offered, Offer.ordered).where(Offer.id == offer_id))
    ).one()
    return before, after, ordered


async def apply_update(
    session: AsyncSession, member: Member, update_id: int, now: datetime
) -> AppliedStock:
    """Valider: every line of the pending update applied at once to its cycle's offers; the
    update records before/after per product. All or nothing. Commits.

    Only what the preview shows is applied; ``not_recorded`` names the rest. Raises
    :class:`QuestionPending` while a question of the preview is unanswered,
    :class:`StaleAction` when the update is not this farm's pending one or its cycle closed
    meanwhile, :class:`NoOpenCycle` when there was no cycle to stock.
    """
    shown = await preview(session, member, update_id)
    if shown.open_questions:
        raise QuestionPending(update_id=update_id)
    stock_update = await pending_update(session, member, update_id, kind=STOCK)
    products = {p.sku: p for p in await producer_products(session, stock_update.producer_id)}
    previewed = {line.sku for line in shown.lines}
    not_recorded = shown.not_recorded
    changes: dict[str, PreviewLine] = {}
    async with unit_of_work(session):
        cycle = await _lock_stock_cycle(session, stock_update.cycle_id)
        for item in _updates(stock_update.parsed):
            product = products.get(item["sku"])
            if product is None or product.sku not in previewed:
                continue
            offer = await _offer_for(session, cycle.id, product.id)
            if _target(item["op"], offer.offered, Decimal(item["quantity"])) > MAX_QUANTITY:
                not_recorded.append(product.name)  # grown past the bound since the preview
                continue
            before, after, ordered = await set_offered(
                session, offer.id, item["op"], Decimal(item["quantity"])
            )
            first = changes.get(product.sku)
            requested = _target(item["op"], before, Decimal(item["quantity"]))
            changes[product.sku] = PreviewLine(
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                sale_unit=product.sale_unit,
                before=first.before if first else before,
                requested=normalize_quantity(requested),
                after=after,
                ordered=ordered,
            )
        stock_update.applied = [
            {
                "sku": line.sku,
                "product_id": line.product_id,
                "before": str(line.before),
                "after": str(line.after),
            }
            for line in changes.values()
        ]
        stock_update.status = StockUpdateStatus.APPLIED
        stock_update.applied_at = now
        producer = await session.get(Producer, stock_update.producer_id)
        if producer is not None and producer.stock_prompt_cycle_id == cycle.id:
            producer.stock_prompt_cycle_id = None
    return AppliedStock(
        update_id=stock_update.id,
        cycle=cycle,
        lines=list(changes.values()),
        not_recorded=not_recorded,
    )


async def recorded_update(session: AsyncSession, member: Member, update_id: int) -> AppliedStock:
    """The member's farm's update ``update_id`` as Valider recorded it: before → after per
    product (what is ordered as it stands now), for a second press on its Valider — a double
    tap, or a press after a process died once the update was committed. Raises
    :class:`StaleAction` unless the update is this farm's and applied (not undone)."""
    stock_update = await _farms_update(session, member, update_id, StockUpdateStatus.APPLIED)
    cycle = await session.get(Cycle, stock_update.cycle_id) if stock_update.cycle_id else None
    if cycle is None:
        raise StaleAction(update_id=update_id)
    recorded = stock_update.applied
    ids = [int(item["product_id"]) for item in recorded]
    products = {
        product.id: product
        for product in await session.scalars(select(Product).where(Product.id.in_(ids)))
    }
    offers = await _offers_by_product(session, cycle.id, ids)
    lines = []
    for item in recorded:
        product = products.get(int(item["product_id"]))
        if product is None:
            continue
        offer = offers.get(product.id)
        after = Decimal(item["after"])
        lines.append(
            PreviewLine(
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                sale_unit=product.sale_unit,
                before=Decimal(item["before"]),
                requested=after,
                after=after,
                ordered=offer.ordered if offer is not None else Decimal(0),
            )
        )
    return AppliedStock(update_id=stock_update.id, cycle=cycle, lines=lines)


async def undo_last_update(session: AsyncSession, member: Member, now: datetime) -> AppliedStock:
    """Put back the offers the farm's last applied stock update changed (never below what is
    ordered). Raises :class:`StaleAction` when there is nothing to undo or its cycle closed.
    Commits."""
    producer_id = _producer_id(member)
    stock_update = await session.scalar(
        select(StockUpdate)
        .where(
            StockUpdate.producer_id == producer_id,
            StockUpdate.status == StockUpdateStatus.APPLIED,
        )
        .order_by(StockUpdate.applied_at.desc(), StockUpdate.id.desc())
        .limit(1)
    )
    if stock_update is None or stock_update.parsed.get("kind", STOCK) != STOCK:
        raise StaleAction(reason="nothing_to_undo")
    products = {p.id: p for p in await producer_products(session, producer_id)}
    lines: list[PreviewLine] = []
    async with unit_of_work(session):
        cycle = await _lock_stock_cycle(session, stock_update.cycle_id)
        for item in stock_update.applied:
            product = products.get(item["product_id"])
            if product is None:
                continue
            offer = await _offer_for(session, cycle.id, product.id)
            wanted = Decimal(item["before"])
            before, after, ordered = await set_offered(session, offer.id, "set", wanted)
            lines.append(
                PreviewLine(
                    product_id=product.id,
                    sku=product.sku,
                    name=product.name,
                    sale_unit=product.sale_unit,
                    before=before,
                    requested=wanted,
                    after=after,
                    ordered=ordered,
                )
            )
        stock_update.status = StockUpdateStatus.UNDONE
    return AppliedStock(update_id=stock_update.id, cycle=cycle, lines=lines)


# ------------------------------------------------------------------ the weekly prompt, my products


@dataclass(frozen=True)
class ProductStock:
    """A product with its offer in the stock cycle and last week's quantity."""

    product: Product
    offered: Decimal
    ordered: Decimal
    last_week: Decimal | None

    @property
    def remaining(self) -> Decimal:
        """What is left to sell."""
        return self.offered - self.ordered


@dataclass(frozen=True)
class ProducerStock:
    """The producer's products in the stock cycle (``cycle`` None: no cycle planned)."""

    producer: Producer
    cycle: Cycle | None
    products: list[ProductStock]

    @property
    def has_last_week(self) -> bool:
        """Whether "same stock as last week" has something to copy."""
        return any(item.last_week is not None for item in self.products)


async def producer_stock(
    session: AsyncSession, producer_id: int, now: datetime, cycle: Cycle | None = None
) -> ProducerStock:
    """The producer's offer in ``cycle`` (default: the stock cycle), with last week's."""
    producer = await session.get(Producer, producer_id)
    if producer is None:
        raise StaleAction(producer_id=producer_id)
    cycle = cycle or await stock_cycle(session, now)
    products = await producer_products(session, producer_id)
    offers = await _offers_by_product(session, cycle.id, [p.id for p in products]) if cycle else {}
    last = (
        {
            product.id: quantity
            for product, quantity in await previous_offers(session, producer_id, cycle)
        }
        if cycle
        else {}
    )
    return ProducerStock(
        producer=producer,
        cycle=cycle,
        products=[
            ProductStock(
                product=p,
                offered=offers[p.id].offered if p.id in offers else Decimal(0),
                ordered=offers[p.id].ordered if p.id in offers else Decimal(0),
                last_week=last.get(p.id),
            )
            for p in products
        ],
    )


async def mark_prompted(session: AsyncSession, producer_id: int, cycle_id: int) -> None:
    """Remember that the producer was asked for this cycle's stock. Commits."""
    async with unit_of_work(session):
        producer = await session.get(Producer, producer_id)
        if producer is None:
            raise StaleAction(producer_id=producer_id)
        producer.stock_prompt_cycle_id = cycle_id


async def stock_readiness(session: AsyncSession, cycle_id: int) -> tuple[int, int]:
    """(producers who gave stock for the cycle, producers asked for it): those with something
    offered, and those still waiting to answer the weekly prompt. Ends its read."""
    given = set(
        await session.scalars(
            select(Product.producer_id)
            .join(Offer, Offer.product_id == Product.id)
            .where(Offer.cycle_id == cycle_id, Offer.offered > 0)
            .distinct()
        )
    )
    waiting = set(
        await session.scalars(select(Producer.id).where(Producer.stock_prompt_cycle_id == cycle_id))
    )
    await session.commit()
    return len(given), len(given | waiting)


async def add_prompted(session: AsyncSession, producer_ids: Sequence[int], cycle_id: int) -> None:
    """Remember, in the caller's transaction (not committed), that these producers were asked
    for this cycle's stock."""
    if producer_ids:
        await session.execute(
            update(Producer)
            .where(Producer.id.in_(list(producer_ids)))
            .values(stock_prompt_cycle_id=cycle_id)
            .execution_options(synchronize_session=False)
        )


async def producers_to_prompt(session: AsyncSession) -> list[tuple[Producer, list[Member]]]:
    """Every producer with active products and at least one reachable member, with them."""
    rows = await session.execute(
        select(Producer, Member)
        .join(Member, Member.producer_id == Producer.id)
        .where(
            Member.reachable.is_(True),
            Producer.id.in_(select(Product.producer_id).where(Product.active.is_(True))),
        )
        .order_by(Producer.name, Member.id)
    )
    grouped: dict[int, tuple[Producer, list[Member]]] = {}
    for producer, member in rows:
        grouped.setdefault(producer.id, (producer, []))[1].append(member)
    return list(grouped.values())


async def producers_without_stock(
    session: AsyncSession, cycle_id: int
) -> list[tuple[Producer, list[Member]]]:
    """The producers of :func:`producers_to_prompt` who gave no stock for ``cycle_id`` yet
    (no applied stock update there), with their reachable members."""
    gave = select(StockUpdate.producer_id).where(
        StockUpdate.cycle_id == cycle_id, StockUpdate.status == StockUpdateStatus.APPLIED
    )
    given = set(await session.scalars(gave))
    return [item for item in await producers_to_prompt(session) if item[0].id not in given]


async def producers_without_stock_names(session: AsyncSession, cycle_id: int) -> list[str]:
    """The names of the producers with active products who gave no stock for ``cycle_id``
    (reachable or not: the admin's list)."""
    gave = select(StockUpdate.producer_id).where(
        StockUpdate.cycle_id == cycle_id, StockUpdate.status == StockUpdateStatus.APPLIED
    )
    rows = await session.scalars(
        select(Producer.name)
        .where(
            Producer.id.in_(select(Product.producer_id).where(Product.active.is_(True))),
            Producer.id.not_in(gave),
        )
        .order_by(Producer.name)
    )
    return list(rows)
