"""Network faults injected by the sandbox: 429 with retry_after, 500, 502, stalls past the read
timeout and dropped connections, on sends and on getUpdates.

What must hold: the bot keeps polling and serves the next updates; it retries where a retry
cannot duplicate anything (429, 5xx and drops say nothing was done); a stall (the call took
effect, the answer was lost) is never retried, so nobody gets a confirmation twice; one chat's
failing sends do not hold the others back; a process killed in the middle of a close is finished
by the next one exactly once. (A broadcast interrupted midway: tests/handlers/test_broadcast.py,
``test_crash_mid_way_resumes_without_duplicates`` and ``test_300_members_under_strict_limits…``.)
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import build_application, start_application, stop_application
from handlers import cycle_run
from handlers.delivery import WORKERS
from models import Cycle, CycleState, Order, OrderStatus, OutboxMessage, Producer, Product
from models.ordering import add_to_basket, confirm_order
from models.outbox import LEASE, Kind, OutboxState
from models.pickup_point import PickupPoint
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network, make_member, open_cycle_with_stock
from tests.invariants import check_invariants

READ_TIMEOUT = 0.4


class Killed(BaseException):
    """The process dying: no ``except Exception`` catches it."""


STALL = 1.0  # past the read timeout


async def until(predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


@pytest.fixture
async def errors():
    return []


@pytest.fixture
async def faulty_app(settings, engine, sandbox, clock, errors):
    """The application as production builds it (PTB's rate limiter with its 429 retries), with
    a short read timeout so that a stall times out quickly."""
    application = build_application(
        settings,
        request=sandbox.request(read_timeout=READ_TIMEOUT),
        get_updates_request=sandbox.request(read_timeout=READ_TIMEOUT),
        engine=engine,
        clock=clock,
        rate_limiter=True,
    )

    async def record(update, context):
        errors.append(context.error)

    application.add_error_handler(record)
    await start_application(application)
    try:
        yield application
    finally:
        await stop_application(application)


def served(user) -> int:
    return len(user.messages)


# ------------------------------------------------------------------ getUpdates


async def test_polling_goes_on_through_every_fault_on_get_updates(faulty_app, sandbox, errors):
    """Each kind of fault hits getUpdates while people write; every message is answered once."""
    await faulty_app.updater.start_polling(poll_interval=0.01, timeout=0)
    try:
        alice = sandbox.user("Alice", language="fr")
        bob = sandbox.user("Bob", language="en")
        faults = []
        expected = {alice.id: 0, bob.id: 0}
        for kind in ("429", "500", "502", "drop", "stall"):
            fault = sandbox.faults.inject("getUpdates", kind, retry_after=1, stall_seconds=STALL)
            faults.append(fault)
            # Sent while the fault is armed: the next fetch, which would carry them, fails.
            await alice.send("/aide")
            await bob.send("/start")
            expected[alice.id] += 1
            expected[bob.id] += 1
            await until(lambda: served(alice) == expected[alice.id])
            await until(lambda: served(bob) == expected[bob.id])
            assert fault.fired == 1
        await asyncio.sleep(0.3)  # polling goes on (sandbox.idle() never settles while polling)
        # Served once each: a stalled fetch's updates are fetched again, never handled twice.
        assert served(alice) == expected[alice.id] == 5
        assert served(bob) == expected[bob.id] == 5
        assert all("Ce que je sais faire" in m.text for m in alice.messages)
        assert sandbox.stats.statuses[429] >= 1
        assert sandbox.stats.server_errors >= 2
        assert not errors
    finally:
        await faulty_app.updater.stop()


# ------------------------------------------------------------------ sends


async def test_a_429_on_a_reply_is_waited_out_and_sent_once(faulty_app, sandbox, errors):
    sandbox.attach(faulty_app)
    alice = sandbox.user("Alice", language="fr")
    fault = sandbox.faults.inject("sendMessage", "429", chat_id=alice.id, retry_after=1)
    started = time.monotonic()
    await alice.send("/aide")
    assert fault.fired == 1
    assert time.monotonic() - started >= 1.0  # it waited as told
    assert [m.text.splitlines()[0] for m in alice.messages] == ["Ce que je sais faire"]
    assert not errors


async def test_one_chat_failing_does_not_hold_the_others(faulty_app, sandbox, errors):
    """Every send to Bob fails (5xx, drops, 429s) while Alice and Carol keep being served."""
    sandbox.attach(faulty_app)
    alice = sandbox.user("Alice", language="fr")
    bob = sandbox.user("Bob", language="fr")
    carol = sandbox.user("Carol", language="en")
    for kind in ("500", "502", "drop"):
        sandbox.faults.inject("sendMessage", kind, chat_id=bob.id, times=3)
    rounds = 3
    for _ in range(rounds):
        await asyncio.gather(alice.send("/aide"), bob.send("/aide"), carol.send("/help"))
    assert served(alice) == served(carol) == rounds
    # Bob's failures went to the error handler (which apologised as soon as it could).
    assert served(bob) <= rounds
    assert len(errors) >= rounds
    assert sandbox.stats.server_errors >= 6


async def _shop(session, clock, sandbox, app):
    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=10)
    point = await session.scalar(select(PickupPoint).where(PickupPoint.is_public.is_(True)))
    member = await make_member(session, 40_001, pickup=point, name="Alice")
    product = await session.scalar(select(Product).order_by(Product.id).limit(1))
    return cycle, member, product


@pytest.mark.parametrize("method", ["sendMessage", "editMessageText"])
async def test_a_stall_on_the_confirmation_confirms_once_and_shows_one_receipt(
    faulty_app, sandbox, session, clock, errors, method
):
    """The receipt (or the basket's edit) goes out but its answer is lost: the order is
    confirmed once, the receipt is shown once, and nobody is told to try again."""
    sandbox.attach(faulty_app)
    cycle, member, product = await _shop(session, clock, sandbox, faulty_app)
    alice = sandbox.user("Alice", language="fr", user_id=40_001)
    await add_to_basket(session, member, cycle.id, product.id, product.step, clock())
    await session.commit()
    await alice.send("/panier")
    basket = alice.last_message
    confirm_data = next(
        data
        for row_labels, row_data in zip(basket.buttons, basket.button_data, strict=True)
        for label, data in zip(row_labels, row_data, strict=True)
        if "Confirmer" in label
    )
    sandbox.faults.inject(method, "stall", chat_id=alice.id, stall_seconds=STALL)
    await alice.press_data(confirm_data, message=basket)
    await sandbox.idle()

    def receipts() -> list[str]:
        return [m.text for m in alice.messages if "confirmée — merci" in (m.text or "")]

    assert len(receipts()) == 1, [m.text for m in alice.messages]
    assert not any("mal passé" in (a.text or "") for a in alice.answers), alice.answers
    assert not any("mal passé" in (m.text or "") for m in alice.messages)
    order = await session.scalar(select(Order).execution_options(populate_existing=True))
    assert order.status == OrderStatus.CONFIRMED
    confirmed_at = order.confirmed_at
    await session.commit()
    # The same press again (a second tap, a client retry): no second confirmation or receipt.
    await alice.press_data(confirm_data, message=basket)
    assert len(receipts()) == 1
    order = await session.scalar(select(Order).execution_options(populate_existing=True))
    assert (order.status, order.confirmed_at) == (OrderStatus.CONFIRMED, confirmed_at)
    await session.commit()
    await check_invariants(session)


# ------------------------------------------------------------------ killed mid-close


async def test_a_process_killed_while_sending_purchase_orders_is_finished_once(
    settings, engine, sandbox, session, clock
):
    """The close is committed and the first producer's purchase order is out when the process
    dies; a fresh application on the same database finishes: every producer member gets one
    purchase order, the admin one summary."""
    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, clock() - timedelta(days=1), stock=10)
    point = await session.scalar(select(PickupPoint).where(PickupPoint.is_public.is_(True)))
    producers = list(await session.scalars(select(Producer).order_by(Producer.id).limit(3)))
    people = []
    for index, producer in enumerate(producers):
        member = await make_member(session, 50_000 + index, name=f"Farmer{index}")
        member.producer_id = producer.id
        people.append(sandbox.user(f"Farmer{index}", language="fr", user_id=50_000 + index))
        product = await session.scalar(
            select(Product).where(Product.producer_id == producer.id).order_by(Product.id).limit(1)
        )
        await session.commit()
        consumer = await make_member(session, 51_000 + index, pickup=point, name=f"C{index}")
        await add_to_basket(session, consumer, cycle.id, product.id, product.step, clock())
        await confirm_order(session, consumer, cycle.id, clock())
        await session.commit()
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    clock.set(cycle.closes_at + timedelta(minutes=5))

    def build():
        return build_application(
            settings,
            request=sandbox.request(),
            get_updates_request=sandbox.request(),
            engine=engine,
            clock=clock,
            rate_limiter=False,
        )

    first = build()
    await start_application(first)
    sandbox.attach(first)
    await admin.send("/start")

    farmers = {person.id for person in people}

    def kill(event):
        # The admin's route maps are documents too, sent beside the purchase orders: the kill
        # waits for a purchase order, whichever goes out first.
        if event.kind == "bot_document" and event.chat_id in farmers:
            # The process dies right after the first purchase order went out (before even
            # recording that it did): nothing below this point runs.
            raise Killed

    listener = sandbox.on_event(kill)
    with pytest.raises(Killed):
        await cycle_run.run_due_work(first)
    sandbox.remove_listener(listener)
    await stop_application(first)
    closed = await session.get(Cycle, cycle.id, populate_existing=True)
    assert closed.state == CycleState.CLOSED
    await session.commit()
    documents = Counter(p.id for p in people for m in p.messages if m.document is not None)
    assert sum(documents.values()) == 1

    # The document in flight is known to be orphaned once its claim's lease has lapsed.
    clock.set(clock() + LEASE)
    second = build()
    await start_application(second)
    sandbox.attach(second)
    try:
        await cycle_run.run_due_work(second)
        await cycle_run.run_due_work(second)
    finally:
        await stop_application(second)

    def is_resend(message) -> bool:
        return "Envoi répété" in (message.caption or message.text or "")

    for person in people:
        # Everyone has their purchase order; nobody has it twice unmarked. The one whose CSV was
        # in flight at the kill gets it again, marked as a resend (the first may not have come).
        documents = [m for m in person.messages if m.document is not None]
        first = [m for m in documents if not is_resend(m)]
        assert documents, person
        assert len(first) <= 1, person
        assert len(documents) - len(first) <= 1, person
    resent = [m for p in people for m in p.messages if m.document is not None and is_resend(m)]
    # What was in flight at the kill: at least the killed one, at most one per sending worker.
    assert 1 <= len(resent) <= WORKERS
    assert sum("clôturé" in (m.text or "") for m in admin.messages) == 1
    states = (
        await session.execute(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.kind == Kind.PURCHASE_ORDER, OutboxMessage.part == 0)
            .group_by(OutboxMessage.state)
        )
    ).all()
    assert dict(states) == {OutboxState.SENT: len(people)}
    await check_invariants(session)


async def test_a_double_tap_on_confirm_confirms_once(faulty_app, sandbox, session, clock, errors):
    """Two presses of "confirm" at the same instant (a double tap, or a client resending):
    one confirmation, one receipt; the second press is told it is already confirmed."""
    sandbox.attach(faulty_app)
    cycle, member, product = await _shop(session, clock, sandbox, faulty_app)
    alice = sandbox.user("Alice", language="fr", user_id=40_001)
    await add_to_basket(session, member, cycle.id, product.id, product.step, clock())
    await session.commit()
    await alice.send("/panier")
    basket = alice.last_message
    confirm_data = next(
        data for row in basket.button_data for data in row if data and data.startswith("bsk:ok")
    )
    await asyncio.gather(*(alice.press_data(confirm_data, message=basket) for _ in range(3)))
    receipts = [m for m in alice.messages if "confirmée — merci" in (m.text or "")]
    assert len(receipts) == 1, [m.text for m in alice.messages]
    # Each press is answered once, first, with nothing to apologise for; the basket message
    # then says the later presses found the order already confirmed.
    assert [a.text for a in alice.answers] == [None, None, None]
    shown = [state.get("text") or "" for state in basket.history] + [basket.text]
    assert any("Votre commande est déjà confirmée." in text for text in shown), shown
    assert re.search(r"Commande n° \d+ confirmée\. Vous pouvez", basket.text)
    assert not errors
    await check_invariants(session)
