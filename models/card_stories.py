"""A product's card told by its producer: a photo named by its caption, a story, a recipe tip.

A producer (or an admin) names the product in words ("tomates anciennes"); the change is kept
as a :class:`models.card_proposal.CardProposal`, shown to its author as a preview, and becomes
the product's only when its author confirms it. A producer may tell the cards of their own
farm's products; an admin any product's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from models.card_proposal import CardPart, CardProposal
from models.catalog import STOPWORDS, search_form, singular
from models.errors import NotAllowed, StaleAction
from models.member import Member
from models.producer import Product
from models.unit_of_work import unit_of_work

STORY_MAX = 600
"""The longest story or tip, in characters: a card with its photo fits Telegram's caption."""


@dataclass(frozen=True)
class ProductMatch:
    """What a caption names among the products the member may tell: ``product`` when exactly
    one, else the ``candidates`` (several: the member says which; none: nothing matched)."""

    product: Product | None
    candidates: list[Product] = field(default_factory=list)


def _words(text: str) -> set[str]:
    return {singular(w) for w in search_form(text).split() if w not in STOPWORDS}


async def _tellable(session: AsyncSession, member: Member, everyone: bool) -> list[Product]:
    query = (
        select(Product)
        .where(Product.active.is_(True))
        .options(joinedload(Product.producer))
        .order_by(Product.name)
    )
    if not everyone:
        query = query.where(Product.producer_id == (member.producer_id or -1))
    return list(await session.scalars(query))


async def find_product(
    session: AsyncSession, member: Member, text: str, *, everyone: bool = False
) -> ProductMatch:
    """The product ``text`` names among the member's farm's products (every product when
    ``everyone``, an admin): its name, English name or an alias, word for word (plural or
    not, accents and case ignored); else the products whose names hold every word of it."""
    wanted = _words(text)
    if not wanted:
        return ProductMatch(None)
    products = await _tellable(session, member, everyone)
    names = {
        p.id: [_words(n) for n in (p.name, p.name_en or "", *p.aliases) if n] for p in products
    }
    exact = [p for p in products if any(words == wanted for words in names[p.id])]
    if len(exact) == 1:
        return ProductMatch(exact[0])
    partial = exact or [p for p in products if any(wanted <= words for words in names[p.id])]
    if len(partial) == 1:
        return ProductMatch(partial[0])
    return ProductMatch(None, partial)


async def propose(
    session: AsyncSession,
    member: Member,
    product: Product,
    part: CardPart,
    value: str,
    now: datetime,
) -> CardProposal:
    """Keep ``value`` as the member's proposed photo (a Telegram file id), story or tip for
    the product, replacing what they proposed for it before and did not confirm. Commits."""
    async with unit_of_work(session):
        await session.execute(
            update(CardProposal)
            .where(
                CardProposal.member_id == member.id,
                CardProposal.product_id == product.id,
                CardProposal.part == part,
                CardProposal.applied_at.is_(None),
                CardProposal.dropped_at.is_(None),
            )
            .values(dropped_at=now)
            .execution_options(synchronize_session=False)
        )
        proposal = CardProposal(
            product_id=product.id, member_id=member.id, part=part, value=value, created_at=now
        )
        session.add(proposal)
    return proposal


async def _pending(session: AsyncSession, member: Member, proposal_id: int) -> CardProposal:
    proposal = await session.scalar(
        select(CardProposal)
        .where(CardProposal.id == proposal_id)
        .options(joinedload(CardProposal.product).joinedload(Product.producer))
        .with_for_update(of=CardProposal)
        .execution_options(populate_existing=True)
    )
    if proposal is None or proposal.member_id != member.id:
        raise NotAllowed(proposal_id=proposal_id)
    if proposal.applied_at is not None or proposal.dropped_at is not None:
        raise StaleAction(proposal_id=proposal_id)
    return proposal


async def confirm_proposal(
    session: AsyncSession, member: Member, proposal_id: int, now: datetime
) -> CardProposal:
    """The member's pending proposal becomes the product's photo, story or tip (a new photo is
    tried again on the cards even if an earlier one could not be fetched); returns it with its
    product. A second tap or a cancelled one: :class:`StaleAction`; someone else's (or none):
    :class:`NotAllowed`. Commits."""
    async with unit_of_work(session):
        proposal = await _pending(session, member, proposal_id)
        product = proposal.product
        if proposal.part == CardPart.PHOTO:
            product.photo = proposal.value
            product.photo_failed_at = None
        elif proposal.part == CardPart.STORY:
            product.story = proposal.value
        else:
            product.tip = proposal.value
        proposal.applied_at = now
    return proposal


async def cancel_proposal(
    session: AsyncSession, member: Member, proposal_id: int, now: datetime
) -> CardProposal:
    """Forget the member's pending proposal; returns it. Already settled: :class:`StaleAction`;
    someone else's: :class:`NotAllowed`. Commits."""
    async with unit_of_work(session):
        proposal = await _pending(session, member, proposal_id)
        proposal.dropped_at = now
    return proposal
