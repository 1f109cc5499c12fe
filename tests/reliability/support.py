"""A small network with every kind of person, and a fingerprint of everything a press could
change: shared by the permission and hostile-input tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.sandbox import SandboxUser
from handlers.i18n import _, use_locale
from models import (
    Broadcast,
    Cycle,
    Event,
    EventSeat,
    Member,
    Offer,
    Order,
    OrderLine,
    PickupPoint,
    Producer,
    Product,
    StockUpdate,
)
from models.card_proposal import CardPart
from models.card_stories import propose
from models.closing import close_cycle
from models.ordering import add_to_basket, confirm_order
from models.stock import read_stock_message
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network, make_member, open_cycle_with_stock

ALICE, BOB, MARIE, JEAN = 81_001, 81_002, 81_003, 81_004
STRANGERS_FROM = 82_000
_stranger_ids = itertools.count(STRANGERS_FROM)

ADMIN_REFUSAL = "Désolé, cette commande est réservée à l’équipe qui anime le réseau."
PRODUCER_REFUSAL = "Cette commande est réservée aux producteurs du réseau."
STALE = "Ce bouton n’est plus valable. Tapez /start pour repartir."
ERROR_APOLOGIES = (
    "Désolé, quelque chose s’est mal passé. Réessayez dans un instant.",
    "Désolé, quelque chose s’est mal passé de mon côté. Réessayez dans un instant ; si cela se "
    "reproduit, l’équipe a été prévenue.",
)


def translated(msgid: str, locale: str) -> str:
    with use_locale(locale):
        return _(msgid)


@dataclass
class World:
    cycle_id: int
    past_cycle_id: int
    product_id: int
    point_id: int
    bob_order_id: int
    bob_past_order_id: int
    alice_order_id: int
    marie_update_id: int
    draft_id: int
    event_id: int = 0
    bob_member_id: int = 0
    """Bob's member row (the admins' /membres buttons name it)."""
    marie_proposal_id: int = 0
    """A story Marie proposed for her product, waiting for her tap."""
    people: dict[str, SandboxUser] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)

    def stranger(self, sandbox: Any, language: str) -> SandboxUser:
        """A person the bot has never seen."""
        return sandbox.user("Inconnu", language=language, user_id=next(_stranger_ids))


async def build_world(app: Any, sandbox: Any, session: Any, clock: Any) -> World:
    """Demo network; a closed cycle in which Bob ordered; the open cycle in which Alice and Bob
    ordered; Marie (Jardins) with a pending stock update, Jean (Grand Pré), an admin with a
    broadcast draft. Languages: Alice fr, Bob fr, Marie fr, Jean en, admin en."""
    await load_demo_network(session)
    point = await session.scalar(select(PickupPoint).where(PickupPoint.is_public.is_(True)))
    jardins = await session.scalar(select(Producer).where(Producer.slug == "jardins-lusignan"))
    grand_pre = await session.scalar(select(Producer).where(Producer.slug == "ferme-grand-pre"))
    product = await session.scalar(
        select(Product)
        .where(Product.producer_id == jardins.id, Product.step == 1)
        .order_by(Product.id)
        .limit(1)
    )
    alice = await make_member(session, ALICE, pickup=point, name="Alice")
    bob = await make_member(session, BOB, pickup=point, name="Bob")
    marie = await make_member(session, MARIE, name="Marie")
    jean = await make_member(session, JEAN, name="Jean", locale="en")
    marie.producer_id, jean.producer_id = jardins.id, grand_pre.id
    await session.commit()

    past = await open_cycle_with_stock(session, clock() - timedelta(days=10), stock=20)
    await add_to_basket(session, bob, past.id, product.id, Decimal(1), clock() - timedelta(days=9))
    bob_past = await confirm_order(session, bob, past.id, clock() - timedelta(days=9))
    await close_cycle(session, past.id, clock() - timedelta(days=6))
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=20)
    for member in (alice, bob):
        await add_to_basket(session, member, cycle.id, product.id, Decimal(2), clock())
    bob_order = await confirm_order(session, bob, cycle.id, clock())
    alice_order = await confirm_order(session, alice, cycle.id, clock())
    pending = await read_stock_message(session, marie, f"{product.name} 12", clock(), always=True)
    proposal = await propose(session, marie, product, CardPart.STORY, "Semées en juillet", clock())
    await session.commit()

    world = World(
        cycle_id=cycle.id,
        past_cycle_id=past.id,
        product_id=product.id,
        point_id=point.id,
        bob_order_id=bob_order.id,
        bob_past_order_id=bob_past.id,
        alice_order_id=alice_order.id,
        marie_update_id=pending.id,
        draft_id=0,
        bob_member_id=bob.id,
        marie_proposal_id=proposal.id,
    )

    async def record(update: object, context: Any) -> None:
        world.errors.append(context.error)

    app.add_error_handler(record)
    world.people = {
        "consumer": sandbox.user("Alice", language="fr", user_id=ALICE),
        "bob": sandbox.user("Bob", language="fr", user_id=BOB),
        "producer": sandbox.user("Marie", language="fr", user_id=MARIE),
        "other_farm": sandbox.user("Jean", language="en", user_id=JEAN),
        "admin": sandbox.user("Admin", language="en", user_id=ADMIN_TELEGRAM_ID),
    }
    for person in world.people.values():
        await person.send("/start")
    admin = world.people["admin"]
    await admin.send("/broadcast")
    await admin.send("Marché de Noël samedi !")
    draft = await session.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()).limit(1))
    await session.commit()
    world.draft_id = int(draft or 0)  # left waiting for its audience: forged presses target it
    await admin.send("/event Tasting ; 20/12 15:00 ; Chèvrerie ; 30")
    event = await session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    await session.commit()
    world.event_id = int(event or 0)  # planned, not announced yet
    assert not world.errors, world.errors
    return world


async def snapshot(session: Any) -> tuple[Any, ...]:
    """Everything a forged press could change, as plain values."""
    await session.commit()

    async def rows(query: Any) -> list[tuple[Any, ...]]:
        result = [tuple(row) for row in await session.execute(query)]
        return sorted(result, key=repr)

    state = (
        await rows(select(Cycle.id, Cycle.state, Cycle.opens_at, Cycle.closes_at)),
        await rows(select(Offer.id, Offer.offered, Offer.ordered)),
        await rows(
            select(
                Order.id,
                Order.status,
                Order.total_cents,
                Order.pickup_point_id,
                Order.changed_since_confirmed,
            )
        ),
        await rows(select(OrderLine.id, OrderLine.quantity)),
        await rows(select(StockUpdate.id, StockUpdate.status)),
        await rows(select(Broadcast.id, Broadcast.status)),
        await rows(select(Event.id, Event.taken, Event.announced_at)),
        await rows(select(EventSeat.event_id, EventSeat.member_id)),
        await rows(
            # Strangers are registered on first contact: only the known people are compared.
            select(
                Member.id,
                Member.pickup_point_id,
                Member.producer_id,
                Member.is_admin,
                Member.blocked_at,
            ).where(Member.telegram_id < STRANGERS_FROM)
        ),
        await rows(select(PickupPoint.id, PickupPoint.invite_code)),
        await rows(select(Producer.id, Producer.invite_code)),
    )
    await session.commit()
    return state


def activity(user: SandboxUser) -> tuple[int, tuple[int, ...], int]:
    """Messages, edits per message and callback answers so far in the user's chat."""
    return (len(user.messages), tuple(m.edits for m in user.messages), len(user.answers))


def replies_since(user: SandboxUser, before: tuple[int, tuple[int, ...], int]) -> list[str]:
    """The texts the bot showed the user since ``before`` (new messages, edits, answers)."""
    count, edits, answers = before
    messages = user.messages
    texts = [m.text or m.caption or "" for m in messages[count:]]
    texts += [
        m.text or m.caption or ""
        for m, e in zip(messages[:count], edits, strict=False)
        if m.edits > e
    ]
    texts += [a.text or "" for a in user.answers[answers:]]
    return texts
