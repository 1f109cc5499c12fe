"""The outbox under every fault: each kind of message the product sends on its own, with
success, a 502, a timeout before the request left, a timeout after it left, a 429, a 403, a 400,
a kill between the claim and the send, and a kill between a text and its document.

What must hold after each case: nothing that must arrive is lost; nothing is sent twice except
a resend marked as such; nothing is left claimed or pending; the admins hear, in one message,
of what could not be delivered; the other recipient of the same message is not held back.
Then two processes resuming one broadcast deliver it once per person.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import handlers.delivery as delivery
from bot.app import build_application, start_application, stop_application
from bot.sandbox import Sandbox
from handlers.broadcast_sending import send_broadcast, wait_for_broadcasts
from handlers.delivery import deliver, markup_json
from handlers.week_texts import shopping_buttons
from models import Broadcast, BroadcastStatus, Member, OutboxMessage, OutboxState
from models.outbox import LEASE, Kind, claim, enqueue, must_arrive, parts
from tests.admin_support import make_members
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_member

READ_TIMEOUT = 0.3
RESEND = "Envoi répété"
DOCUMENT = b"Point de retrait;Produit\r\nHalle;Tomates\r\n"


class Killed(BaseException):
    """The process dying: no ``except Exception`` catches it."""


def shape(kind: str) -> str:
    """How the product sends each kind: purchase orders (and rounds) with a document, announcements
    and reminders with buttons, the rest as a text."""
    if kind in (Kind.PURCHASE_ORDER, Kind.COLLECTION_ROUND, Kind.PRODUCER_STATEMENT):
        return "text+document"  # a CSV; the round's picture; the statement's PDF
    if kind in (Kind.CYCLE_OPEN, Kind.STOCK_PROMPT, Kind.CLOSE_REMINDER):
        return "text+buttons"
    return "text"


def message_parts(kind: str, telegram_id: int, member_id: int | None) -> list:
    body = f"<b>{kind}</b> pour {telegram_id}"
    if shape(kind) == "text+document":
        return parts(
            telegram_id,
            "fr",
            [body],
            document=DOCUMENT,
            filename="bon-de-commande.csv",
            caption=f"CSV {kind}",
            member_id=member_id,
        )
    markup = markup_json(shopping_buttons(basket=True)) if shape(kind) == "text+buttons" else None
    return parts(telegram_id, "fr", [body], markup=markup, member_id=member_id)


def copies(user, kind: str) -> tuple[int, int]:
    """(first copies, marked resends) of ``kind``'s text that ``user`` received."""
    texts = [m.text or m.caption or "" for m in user.messages if m.document is None]
    mine = [t for t in texts if f"{kind} pour {user.id}" in t]
    resent = [t for t in mine if RESEND in t]
    return len(mine) - len(resent), len(resent)


def document_copies(user) -> tuple[int, int]:
    documents = [m for m in user.messages if m.document is not None]
    resent = [m for m in documents if RESEND in (m.caption or "")]
    return len(documents) - len(resent), len(resent)


@pytest.fixture
async def outbox_app(settings, engine, sandbox, clock):
    application = build_application(
        settings,
        request=sandbox.request(read_timeout=READ_TIMEOUT),
        get_updates_request=sandbox.request(read_timeout=READ_TIMEOUT),
        engine=engine,
        clock=clock,
        rate_limiter=False,
    )
    await start_application(application)
    sandbox.attach(application)
    application.bot_data["services"].delivery.backoff = 0.01
    try:
        yield application
    finally:
        await stop_application(application)


async def ledger(session) -> Counter:
    rows = await session.execute(select(OutboxMessage.state, func.count()).group_by("state"))
    await session.commit()
    return Counter(dict(rows.all()))


def reports(admin) -> list[str]:
    return [
        m.text
        for m in admin.messages
        if "n’a pas pu être remis" in (m.text or "") or "n’ont pas pu être remis" in (m.text or "")
    ]


FAULTS = [
    "success",
    "502",
    "connect_timeout",
    "timeout_in_flight",
    "429",
    "forbidden",
    "refused",
    "kill_between_claim_and_send",
    "kill_between_text_and_document",
]


@pytest.mark.parametrize("kind", [k.value for k in Kind if k != Kind.DELIVERY_REPORT])
@pytest.mark.parametrize("fault", FAULTS)
async def test_every_kind_under_every_fault(
    kind, fault, outbox_app, sandbox, session, clock, monkeypatch
):
    if fault == "kill_between_text_and_document" and shape(kind) != "text+document":
        pytest.skip("only purchase orders and collection rounds carry a document")
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    victim_member = await make_member(session, 610_001, name="Victime")
    other_member = await make_member(session, 610_002, name="Autre")
    victim = sandbox.user("Victime", language="fr", user_id=610_001)
    other = sandbox.user("Autre", language="fr", user_id=610_002)
    if fault == "refused":  # Telegram no longer knows this chat: 400 "chat not found"
        victim_member.telegram_id = 610_999
        await session.commit()
    topic = f"test:{kind}"
    items = message_parts(kind, victim_member.telegram_id, victim_member.id)
    items += message_parts(kind, other.id, other_member.id)
    await enqueue(session, topic, kind, items)
    method = "sendDocument" if shape(kind) == "text+document" else "sendMessage"
    first_method = "sendMessage"

    if fault in ("502", "connect_timeout"):
        sandbox.faults.inject(first_method, fault, chat_id=victim.id)
        sandbox.faults.inject(method, fault, chat_id=victim.id)
    elif fault == "timeout_in_flight":
        sandbox.faults.inject(method, "stall", chat_id=victim.id, stall_seconds=1.0)
    elif fault == "429":
        sandbox.faults.inject(first_method, "429", chat_id=victim.id, retry_after=1)
    elif fault == "forbidden":
        victim.block_bot()

    if fault.startswith("kill"):
        # One sender, so that the victim's message is the only one in flight at the kill.
        monkeypatch.setattr(delivery, "WORKERS", 1)
        real_call = delivery._call

        async def die(application, item):
            killing = (
                item.document is None
                if fault == "kill_between_claim_and_send"
                else item.document is not None
            )
            if item.telegram_id == victim.id and killing:
                raise Killed  # claimed, then the process dies before (or instead of) sending
            await real_call(application, item)

        monkeypatch.setattr(delivery, "_call", die)
        with pytest.raises(Killed):
            await deliver(outbox_app, topic)
        monkeypatch.setattr(delivery, "_call", real_call)
        assert (await ledger(session))[OutboxState.SENDING] == 1
        # A fresh pass too soon leaves the claim alone: its sender may still be alive.
        await deliver(outbox_app, topic)
        assert (await ledger(session))[OutboxState.SENDING] == 1
        clock.set(clock() + LEASE)
    await deliver(outbox_app, topic)
    await asyncio.sleep(0)

    states = await ledger(session)
    assert states[OutboxState.PENDING] == 0, states
    assert states[OutboxState.SENDING] == 0, states
    # The other recipient is never affected: one copy of everything, nothing marked.
    assert copies(other, kind) == (1, 0)
    if shape(kind) == "text+document":
        assert document_copies(other) == (1, 0)

    first, resent = copies(victim, kind)
    if fault in ("success", "502", "connect_timeout", "429"):
        assert (first, resent) == (1, 0)
        assert not reports(admin)
    elif fault == "timeout_in_flight":
        # The stalled call went through; only what must arrive is sent again, marked.
        target = document_copies(victim) if shape(kind) == "text+document" else (first, resent)
        assert target == ((1, 1) if must_arrive(kind) else (1, 0))
        assert states[OutboxState.UNCERTAIN] == (0 if must_arrive(kind) else 1)
        assert not reports(admin)
    elif fault == "forbidden":
        assert (first, resent) == (0, 0)
        assert not (await session.get(Member, victim_member.id, populate_existing=True)).reachable
        await session.commit()
        # Everything of that message is settled blocked, text and document alike.
        assert states[OutboxState.BLOCKED] == len(message_parts(kind, 1, None))
        if must_arrive(kind):
            [report] = reports(admin)
            assert "Victime" in report
            assert "a bloqué le bot" in report
        else:
            assert not reports(admin)
    elif fault == "refused":
        assert states[OutboxState.FAILED] == len(message_parts(kind, 1, None))
        [report] = reports(admin)
        assert "chat not found" in report.lower()
    elif fault == "kill_between_claim_and_send":
        # Nothing reached the person: what must arrive comes (marked); the rest is uncertain.
        assert (first, resent) == ((0, 1) if must_arrive(kind) else (0, 0))
        assert states[OutboxState.UNCERTAIN] == (0 if must_arrive(kind) else 1)
    elif fault == "kill_between_text_and_document":
        assert (first, resent) == (1, 0)  # the text went and is not repeated
        assert document_copies(victim) == (0, 1)  # the CSV comes, marked as a resend
    # A second pass changes nothing.
    before = len(victim.messages) + len(other.messages) + len(admin.messages)
    await deliver(outbox_app, topic)
    assert len(victim.messages) + len(other.messages) + len(admin.messages) == before


async def test_failures_of_several_messages_make_one_report(outbox_app, sandbox, session):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    items = []
    for n in range(25):
        items += parts(620_000 + n, "fr", [f"bon {n}"])  # unknown chats: 400 each
    await enqueue(session, "test:many", Kind.PURCHASE_ORDER, items)
    await deliver(outbox_app, "test:many")
    [report] = reports(admin)
    assert report.startswith("⚠️ 25 messages n’ont pas pu être remis")
    assert "… et 5 autres." in report
    assert len(report) <= 4096
    await deliver(outbox_app, "test:many")
    assert len(reports(admin)) == 1  # reported once


async def test_a_429_holds_back_only_its_chat(outbox_app, sandbox, session, monkeypatch):
    """One chat's 429 (retry after 2 s) delays that chat only: the others are served at once."""
    users = [sandbox.user(f"U{n}", language="fr", user_id=630_000 + n) for n in range(6)]
    items = []
    for user in users:
        items += parts(user.id, "fr", [f"rappel {user.id}"])
    await enqueue(session, "test:429", Kind.CLOSE_REMINDER, items)
    sandbox.faults.inject("sendMessage", "429", chat_id=users[0].id, retry_after=2)
    task = asyncio.get_running_loop().create_task(deliver(outbox_app, "test:429"))
    await asyncio.sleep(1.0)
    assert all(len(u.messages) == 1 for u in users[1:])
    assert not users[0].messages
    await task
    assert len(users[0].messages) == 1


async def test_a_resumed_run_and_a_live_one_never_send_a_row_twice(
    settings, engine, session, clock
):
    """An old process and a new one (a deploy) deliver the same broadcast at once: each person
    gets it once. The claim's ``pending`` condition is what guarantees it."""
    sandbox = Sandbox()
    pairs = await make_members(session, sandbox, 90)
    author = await make_member(session, ADMIN_TELEGRAM_ID, name="Admin")
    broadcast = Broadcast(
        author_id=author.id, text="Fête", audience="consumers", status=BroadcastStatus.SENDING
    )
    session.add(broadcast)
    await session.commit()
    items = []
    for user, member in pairs:
        items += parts(user.id, "fr", ["📣 Fête de la récolte"], member_id=member.id)
    await enqueue(session, f"broadcast:{broadcast.id}", Kind.BROADCAST, items)

    def build():
        return build_application(
            settings,
            request=sandbox.request(),
            get_updates_request=sandbox.request(),
            engine=engine,
            clock=clock,
            rate_limiter=False,
        )

    old, new = build(), build()
    for application in (old, new):
        await start_application(application)  # each resumes the interrupted broadcast
    try:
        await asyncio.gather(send_broadcast(old, broadcast.id), send_broadcast(new, broadcast.id))
        for application in (old, new):
            await wait_for_broadcasts(application)
    finally:
        for application in (old, new):
            await stop_application(application)
    received = Counter(
        user.id for user, _m in pairs for m in user.messages if "Fête de la récolte" in m.text
    )
    assert set(received.values()) == {1}, received.most_common(3)
    assert len(received) == 90
    states = await ledger(session)
    assert states == Counter({OutboxState.SENT: 90})


async def test_rows_left_claimed_by_a_dead_process_are_resolved_at_start_up(
    settings, engine, session, clock, sandbox
):
    """A purchase order claimed by a process that died is sent again (marked) by the next
    start-up's pass once the claim's lease lapsed; an announcement is marked uncertain."""
    farmer = sandbox.user("Farmer", language="fr", user_id=640_001)
    consumer = sandbox.user("Conso", language="fr", user_id=640_002)
    await enqueue(session, "cycle-x", Kind.PURCHASE_ORDER, parts(farmer.id, "fr", ["bon"]))
    await enqueue(session, "cycle-x", Kind.CYCLE_OPEN, parts(consumer.id, "fr", ["ouvert"]))
    for row_id in (await session.scalars(select(OutboxMessage.id))).all():
        assert await claim(session, row_id, clock()) is not None  # then the process dies
    clock.advance(seconds=LEASE.total_seconds() + 1)
    application = build_application(
        settings,
        request=sandbox.request(),
        get_updates_request=sandbox.request(),
        engine=engine,
        clock=clock,
        rate_limiter=False,
    )
    await start_application(application)
    try:
        await deliver(application)
    finally:
        await stop_application(application)
    assert [m.text for m in farmer.messages] == [
        "🔁 Envoi répété après une interruption : vous l’avez peut-être déjà reçu.\n\nbon"
    ]
    assert not consumer.messages
    assert await ledger(session) == Counter({OutboxState.SENT: 1, OutboxState.UNCERTAIN: 1})
    assert timedelta(0) < LEASE
