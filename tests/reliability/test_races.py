"""Races, on SQLite and PostgreSQL alike, each ended by the stock invariants.

* many consumers adding, emptying, changing and confirming while the cycle closes (domain and
  through the sandbox): every change lands entirely in the closed cycle or is refused with
  ``CycleClosed``, the summary counts exactly what landed, abandoned baskets gave their stock back;
* two admins pressing "close" at the same moment: one close, one summary per admin, one purchase
  order per producer member;
* a producer's stock updates (cuts and raises) racing consumers' orders: never
  ``ordered > offered``, and a cut below what is ordered is clamped to it.

(tests/models/test_closing.py already races four ``close_cycle`` calls and confirmed members'
edits against the close; tests/models/test_stock.py one cut against one order. These go wider.)
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from handlers import cycle_run
from models import (
    Cycle,
    CycleState,
    Member,
    Offer,
    Order,
    OrderLine,
    OrderStatus,
    OutboxMessage,
    Producer,
    Product,
    StockUpdateStatus,
)
from models.closing import close_cycle, cycle_summary
from models.errors import CycleClosed, EmptyBasket, SoldOut, StaleAction
from models.ordering import add_to_basket, confirm_order, empty_basket, set_quantity
from models.producers import accept_invitation
from models.stock import apply_update, read_stock_message
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network, make_member, make_network, open_cycle_with_stock
from tests.invariants import check_invariants

SECOND_ADMIN = 900_002


async def _orders(session) -> dict[int, Order]:
    await session.commit()  # a read transaction left open would see the database as it was
    orders = await session.scalars(select(Order).execution_options(populate_existing=True))
    result = {order.member_id: order for order in orders}
    await session.commit()
    return result


async def _held(session, order_id: int) -> Decimal:
    await session.commit()
    total = await session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity), 0)).where(OrderLine.order_id == order_id)
    )
    await session.commit()
    return Decimal(total)


# ------------------------------------------------------------------ (a) changes racing the close


async def test_thirty_consumers_racing_the_close_are_either_in_or_refused(sessions, session, clock):
    """Four kinds of consumers act while the close runs in the middle of them, asking for more
    than there is (52 punnets of tomatoes, 48 of them already in baskets; 6 pots of honey for
    up to 32 wanted):

    newcomers add then confirm; basket holders confirm; confirmed members raise a line;
    confirmed members empty (then re-add). Each operation is either in (maybe short), sold out,
    or ``CycleClosed``; the totals are what was granted, never more than the stock.
    """
    network = await make_network(session, clock(), stock={"TOM-CER": 52, "MIEL": 6})
    cycle_id = network["cycle"].id
    tomatoes = network["products"]["TOM-CER"].id
    honey = network["products"]["MIEL"].id
    now = clock()
    groups: dict[str, list[Member]] = {"new": [], "basket": [], "raise": [], "empty": []}
    for index, kind in enumerate([k for k in groups for _ in range(8)]):
        member = await make_member(session, 10_000 + index, pickup=network["central"], name=kind)
        if kind != "new":
            await add_to_basket(session, member, cycle_id, tomatoes, Decimal(2), now)
        if kind in ("raise", "empty"):
            await confirm_order(session, member, cycle_id, now)
        groups[kind].append(member)
    shorts = 0

    async def add(own, member, product, quantity) -> tuple[str, Decimal]:
        """One addition: ("in", what was granted), ("sold_out", 0) or ("closed", 0)."""
        nonlocal shorts
        try:
            reservation = await add_to_basket(own, member, cycle_id, product, quantity, now)
        except SoldOut:
            return "sold_out", Decimal(0)
        except CycleClosed:
            return "closed", Decimal(0)
        shorts += reservation.short
        return "in", reservation.granted

    async def newcomer(member):
        async with sessions() as own:
            honey_step, got_honey = await add(own, member, honey, Decimal(1))
            tomato_step, got_tomatoes = await add(own, member, tomatoes, Decimal(1))
            try:
                await confirm_order(own, member, cycle_id, now)
                confirm_step = "in"
            except EmptyBasket:
                confirm_step = "empty"
            except CycleClosed:
                confirm_step = "closed"
        return [honey_step, tomato_step, confirm_step], {honey: got_honey, tomatoes: got_tomatoes}

    async def confirmer(member):
        async with sessions() as own:
            try:
                await confirm_order(own, member, cycle_id, now)
                return ["in"], {}
            except CycleClosed:
                return ["closed"], {}

    async def raiser(member):
        nonlocal shorts
        async with sessions() as own:
            try:
                reservation = await set_quantity(own, member, cycle_id, tomatoes, Decimal(5), now)
            except SoldOut:
                return ["sold_out"], {tomatoes: Decimal(2)}
            except CycleClosed:
                return ["closed"], {tomatoes: Decimal(2)}
        shorts += reservation.short
        return ["in"], {tomatoes: reservation.line_quantity}

    async def emptier(member):
        async with sessions() as own:
            try:
                await empty_basket(own, member, cycle_id, now)
                emptied = "in"
            except CycleClosed:
                emptied = "closed"
            step, got = await add(own, member, honey, Decimal(3))
        return [emptied, step], {honey: got}

    async def close():
        async with sessions() as own:
            return await close_cycle(own, cycle_id, now)

    actors = {"new": newcomer, "basket": confirmer, "raise": raiser, "empty": emptier}
    work: list[tuple[str, Member | None]] = [(k, m) for k, ms in groups.items() for m in ms]
    random.Random(7).shuffle(work)
    work.insert(len(work) // 2, ("close", None))
    results = await asyncio.gather(
        *(close() if kind == "close" else actors[kind](member) for kind, member in work),
        return_exceptions=True,
    )
    for result in results:
        assert not isinstance(result, BaseException), repr(result)
    outcome = {
        member.id: result[0]
        for (kind, member), result in zip(work, results, strict=True)
        if kind != "close"
    }
    got = {
        member.id: result[1]
        for (kind, member), result in zip(work, results, strict=True)
        if kind != "close"
    }
    summary = next(r for (kind, _m), r in zip(work, results, strict=True) if kind == "close")
    assert not summary.already_closed

    for steps in outcome.values():
        # Once refused by the close, every later step is refused too: nothing half-done after.
        if "closed" in steps:
            assert set(steps[steps.index("closed") :]) == {"closed"}, steps
    orders = await _orders(session)
    expected_orders = expected_revenue = expected_abandoned = 0
    ordered = {tomatoes: Decimal(0), honey: Decimal(0)}
    for member in groups["new"]:
        steps, amounts = outcome[member.id], got[member.id]
        order = orders.get(member.id)
        if steps[2] == "in":
            assert order.status == OrderStatus.CONFIRMED
            total = int(850 * amounts[honey] + 320 * amounts[tomatoes])
            assert order.total_cents == total
            expected_orders += 1
            expected_revenue += total
            ordered[honey] += amounts[honey]
            ordered[tomatoes] += amounts[tomatoes]
        elif "in" in steps[:2]:
            assert order.status == OrderStatus.ABANDONED
            assert await _held(session, order.id) > 0  # its lines are kept, its stock returned
            expected_abandoned += 1
        else:
            assert order is None, steps
    for member in groups["basket"]:
        order = orders[member.id]
        if outcome[member.id] == ["in"]:
            assert order.status == OrderStatus.CONFIRMED
            expected_orders += 1
            expected_revenue += 640
            ordered[tomatoes] += 2
        else:
            assert order.status == OrderStatus.ABANDONED
            expected_abandoned += 1
    for member in groups["raise"]:
        order = orders[member.id]
        assert order.status == OrderStatus.CONFIRMED
        quantity = got[member.id][tomatoes]
        assert 2 <= quantity <= 5
        assert order.total_cents == quantity * 320
        assert order.changed_since_confirmed == (quantity > 2)
        expected_orders += 1
        expected_revenue += int(quantity * 320)
        ordered[tomatoes] += quantity
    for member in groups["empty"]:
        order = orders[member.id]
        steps = outcome[member.id]
        assert order.status == OrderStatus.CONFIRMED
        total = {"in": 0, "closed": 640}[steps[0]] + int(850 * got[member.id][honey])
        assert order.total_cents == total, (steps, order.total_cents)
        expected_orders += 1
        expected_revenue += total
        ordered[tomatoes] += 2 if steps[0] == "closed" else 0
        ordered[honey] += got[member.id][honey]

    steps_taken = Counter(step for steps in outcome.values() for step in steps)
    assert steps_taken["in"] > 0, steps_taken
    # They competed for the stock: some additions were refused as sold out, or cut short.
    assert steps_taken["sold_out"] + shorts > 0, steps_taken
    # Where the close lands among them depends on the database's scheduling (SQLite serialises
    # writers in arrival order; PostgreSQL lets share-lockers go ahead of a waiting close);
    # whatever landed, a change after the close is refused and changes nothing.
    for member in [m for ms in groups.values() for m in ms]:
        async with sessions() as own:
            try:
                await add_to_basket(own, member, cycle_id, honey, Decimal(1), now)
            except CycleClosed:
                continue
        raise AssertionError(f"{member.first_name} changed a closed cycle")
    assert (summary.orders, summary.revenue_cents, summary.abandoned) == (
        expected_orders,
        expected_revenue,
        expected_abandoned,
    )
    after = await cycle_summary(session, cycle_id)
    assert (after.orders, after.revenue_cents) == (summary.orders, summary.revenue_cents)
    offers = {
        o.product_id: o.ordered
        for o in await session.scalars(
            select(Offer)
            .where(Offer.cycle_id == cycle_id)
            .execution_options(populate_existing=True)
        )
    }
    assert offers[tomatoes] == ordered[tomatoes]
    assert offers[honey] == ordered[honey]
    await check_invariants(session)


# ------------------------------------------------------------------ (a)+(b) through the sandbox


async def test_two_admins_close_while_consumers_order_through_the_bot(app, sandbox, session, clock):
    """Two admins confirm "close" at the same instant while twelve consumers tap "add" and
    "confirm", for less stock than they want: one close, each admin's summary once, each producer member's purchase order
    once; every consumer gets an answer and no update reaches the error handler."""
    from handlers.basket import ConfirmBasket, fingerprint
    from handlers.catalog import AddToBasket
    from handlers.cycle_admin import CloseNow
    from models.ordering import current_basket

    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=100)
    from models import Producer

    farm = await session.scalar(select(Producer).where(Producer.slug == "jardins-lusignan"))
    farm_products = list(
        await session.scalars(
            select(Product).where(Product.producer_id == farm.id).order_by(Product.id).limit(3)
        )
    )
    # Less stock than demand: the first product's 6 units go to the six baskets below, the
    # others have one step each for the two consumers who will tap "add" on each.
    for index, product in enumerate(farm_products):
        await session.execute(
            update(Offer)
            .where(Offer.cycle_id == cycle.id, Offer.product_id == product.id)
            .values(offered=Decimal(6) if index == 0 else product.step)
        )
    await session.commit()
    marie = await make_member(session, 700_001, name="Marie")
    marie.producer_id = farm_products[0].producer_id
    await session.commit()
    errors: list[BaseException] = []

    async def record(update, context):
        errors.append(context.error)

    app.add_error_handler(record)
    from models.pickup_point import PickupPoint

    marie_user = sandbox.user("Marie", language="fr", user_id=700_001)
    point = await session.scalar(select(PickupPoint).where(PickupPoint.is_public.is_(True)))
    admins = [
        sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID),
        sandbox.user("Admine", language="en", user_id=SECOND_ADMIN),
    ]
    for admin in admins:
        await admin.send("/start")
    await session.commit()
    await session.execute(
        update(Member).where(Member.telegram_id == SECOND_ADMIN).values(is_admin=True)
    )
    await session.commit()
    consumers = []
    for i in range(12):
        member = await make_member(session, 20_000 + i, pickup=point, name=f"C{i}")
        consumers.append((member, sandbox.user(f"C{i}", language="fr", user_id=20_000 + i)))
    # Half of them already have a basket, with a confirm button showing it.
    confirm_data = {}
    for member, _user in consumers[:6]:
        await add_to_basket(session, member, cycle.id, farm_products[0].id, Decimal(1), clock())
        basket = await current_basket(session, member, cycle.id)
        confirm_data[member.id] = ConfirmBasket(cycle.id, fingerprint(basket)).pack()
        await session.commit()
    for _member, user in consumers:
        await user.send("/start")
    for admin in admins:
        await admin.send("/cycle")

    async def consumer_taps(member, user):
        if member.id in confirm_data:
            await user.press_data(confirm_data[member.id])
        else:
            product = farm_products[member.id % len(farm_products)]
            step = "0.5" if product.step != 1 else "1"
            await user.press_data(AddToBasket(cycle.id, product.id, step, 0, 0).pack())
        return user.answers[-1].text if user.answers else user.last_message.text

    async def later(delay, coroutine):
        await asyncio.sleep(delay)
        return await coroutine

    taps = [consumer_taps(member, user) for member, user in consumers]
    presses = [admin.press_data(CloseNow(cycle.id).pack()) for admin in admins]
    # Staggered by a few milliseconds so that some taps land before the close, some after;
    # before the close, "add" (for what is left, or not) and "confirm" alternate.
    early = [tap for pair in zip(taps[6:9], taps[:3], strict=True) for tap in pair]
    work = [*early, *presses, *taps[3:6], *taps[9:]]
    await asyncio.gather(*(later(0.015 * i, job) for i, job in enumerate(work)))
    await sandbox.idle()

    assert not errors, errors
    closed = await session.get(Cycle, cycle.id, populate_existing=True)
    assert closed.state == CycleState.CLOSED
    await session.commit()
    kinds = Counter(
        (n.kind, n.telegram_id)
        for n in await session.scalars(
            select(OutboxMessage).where(OutboxMessage.cycle_id == cycle.id, OutboxMessage.part == 0)
        )
    )
    await session.commit()
    assert kinds[(cycle_run.CLOSE_SUMMARY, ADMIN_TELEGRAM_ID)] == 1
    assert kinds[(cycle_run.CLOSE_SUMMARY, SECOND_ADMIN)] == 1
    # Each admin sees the summary in the pressed message and receives it once more (the
    # network's record), never twice; the one who came second is told it was already closed.
    for admin in admins:
        summaries = [m for m in admin.messages if "🔒" in (m.text or "")]
        assert len(summaries) == 2, [m.text for m in admin.messages]
    already = [
        a
        for a in admins
        if any(
            "déjà clôturé" in (m.text or "") or "already closed" in (m.text or "")
            for m in a.messages
        )
    ]
    assert len(already) == 1
    orders = await _orders(session)
    confirmed = [o for o in orders.values() if o.status == OrderStatus.CONFIRMED]
    answers = [user.answers[-1].text for _member, user in consumers if user.answers]
    assert len(answers) == len(consumers)

    # A refused press says so in its answer; a served one in the message it shows.
    def shown(user) -> str:
        """The last view the bot showed the person, past the close's own notice."""
        views = [
            m.text or m.caption or ""
            for m in user.messages
            if not (m.text or "").startswith(("🧾", "🧺 Votre panier n’a pas été confirmé"))
        ]
        return views[-1] if views else ""

    outcomes = [user.answers[-1].text or shown(user) for _member, user in consumers]
    # Everyone whose basket the close settled heard of it: final receipt or released basket.
    for member, user in consumers:
        if member.id in confirm_data:
            assert any((m.text or "").startswith("🧾") for m in user.messages) or any(
                "n’a pas été confirmé" in (m.text or "") for m in user.messages
            ), [m.text for m in user.messages]
    sold_out = ("il n’en reste plus", "Il n’en restait que")
    assert all(
        # "a changé": the close abandoned the basket between the press and its confirmation.
        any(
            word in a
            for word in ("confirmée", "Ajouté", "fermées", "closes", "a changé", *sold_out)
        )
        for a in outcomes
    ), outcomes
    # They competed for the stock: an addition before the close was refused as sold out.
    assert any(word in a for a in outcomes for word in sold_out), outcomes
    assert confirmed
    # After the close, the same taps are refused politely.
    for member, user in consumers[:6]:
        await user.press_data(confirm_data[member.id])
        assert "fermées" in user.answers[-1].text or "closes" in user.answers[-1].text
    documents = [m for m in marie_user.messages if m.document is not None]
    assert len(documents) == 1, [m.text for m in marie_user.messages]
    for _member, user in consumers:
        assert user.answers or user.messages, user
    await check_invariants(session)


# ------------------------------------------------------------------ (c) stock against orders


async def test_stock_updates_racing_orders_never_go_below_what_is_ordered(sessions, session, clock):
    """A producer validates cuts and raises while twenty consumers buy the same products:
    after every round, 0 ≤ ordered ≤ offered, and a cut below what is ordered is clamped."""
    network = await make_network(session, clock(), stock={"TOM-CER": 12, "OEU-6": 12})
    producer_member = await make_member(session, 600_001, name="Marie")
    producer_member.producer_id = network["producer"].id
    await session.commit()
    cycle_id = network["cycle"].id
    products = network["products"]
    buyers = [
        await make_member(session, 30_000 + i, pickup=network["central"], name=f"B{i}")
        for i in range(20)
    ]
    messages = [
        "tomates cerises 3, oeufs 2",  # cuts below what will be ordered
        "+10 tomates cerises, +10 oeufs",
        "plus de tomates cerises",
        "tomates cerises 30, oeufs 0",
    ]
    clamped_seen = 0
    for round_index, message in enumerate(messages):
        pending = await read_stock_message(session, producer_member, message, clock())
        assert pending is not None
        assert pending.status == StockUpdateStatus.PENDING
        pending_id = pending.id
        await session.commit()

        async def validate(round_index=round_index, pending_id=pending_id):
            await asyncio.sleep(0.002 * (round_index % 3))
            async with sessions() as own:
                member = await own.get(Member, producer_member.id)
                return await apply_update(own, member, pending_id, clock())

        async def buy(member, sku):
            async with sessions() as own:
                try:
                    return await add_to_basket(
                        own, member, cycle_id, products[sku].id, Decimal(1), clock()
                    )
                except SoldOut:
                    return None

        work = [buy(m, "TOM-CER" if i % 2 else "OEU-6") for i, m in enumerate(buyers)]
        work.insert(5 + round_index * 3, validate())
        results = await asyncio.gather(*work)
        applied = next(r for r in results if r is not None and hasattr(r, "lines"))
        for line in applied.lines:
            assert line.ordered <= line.after
            if line.clamped:
                clamped_seen += 1
                assert line.after == line.ordered
        async with sessions() as check:
            for offer in await check.scalars(select(Offer).where(Offer.cycle_id == cycle_id)):
                assert Decimal(0) <= offer.ordered <= offer.offered, (round_index, offer.id)
            await check_invariants(check)
    assert clamped_seen >= 1
    await check_invariants(session)


# ------------------------------------------------------------------ one member's quick taps


async def test_quick_taps_on_plus_and_confirm_from_one_member(app, sandbox, session, clock):
    """A member taps "+" four times and "confirm" three times faster than the bot answers
    (each tap is its own update, served concurrently), with 4 units for the 5 she wants: every
    "+" counts once until the stock runs out, the last one is refused as sold out, the stock
    moves with the line, and there is one confirmation and one receipt."""
    from handlers.basket import MoreOfLine

    await load_demo_network(session)
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=50)
    from models.pickup_point import PickupPoint

    point = await session.scalar(select(PickupPoint).where(PickupPoint.is_public.is_(True)))
    product = await session.scalar(
        select(Product).where(Product.step == 1).order_by(Product.id).limit(1)
    )
    await session.execute(
        update(Offer)
        .where(Offer.cycle_id == cycle.id, Offer.product_id == product.id)
        .values(offered=Decimal(4))
    )
    member = await make_member(session, 60_001, pickup=point, name="Alice")
    await add_to_basket(session, member, cycle.id, product.id, Decimal(1), clock())
    await session.commit()
    alice = sandbox.user("Alice", language="fr", user_id=60_001)
    await alice.send("/panier")
    basket = alice.last_message
    await asyncio.gather(
        *(
            alice.press_data(MoreOfLine(cycle.id, product.id, 0).pack(), message=basket)
            for _ in range(4)
        )
    )
    line = await session.scalar(
        select(OrderLine)
        .where(OrderLine.product_id == product.id)
        .execution_options(populate_existing=True)
    )
    assert line.quantity == 4
    await session.commit()
    texts = [m.text or "" for m in alice.messages] + [a.text or "" for a in alice.answers]
    assert any("il n’en reste plus" in text for text in texts), texts
    await check_invariants(session)
    await alice.send("/panier")
    basket = alice.last_message
    confirm_data = next(d for row in basket.button_data for d in row if d and "bsk:ok" in d)
    await asyncio.gather(*(alice.press_data(confirm_data, message=basket) for _ in range(3)))
    receipts = [m for m in alice.messages if "confirmée — merci" in (m.text or "")]
    assert len(receipts) == 1
    await check_invariants(session)


# ------------------------------------------------------------------ (c) a single-use invitation


async def test_two_people_accepting_one_invitation_at_once_make_one_producer_member(
    sessions, session
):
    """Ten farms each send one single-use link; two people open each link at the same moment.
    Exactly one of the two is linked to the farm, the other is told the link is used up."""
    farms = [
        Producer(slug=f"ferme-{n}", name=f"Ferme {n}", invite_code=f"code{n:04d}")
        for n in range(10)
    ]
    session.add_all(farms)
    await session.commit()
    people = [await make_member(session, 30_000 + n, name=f"P{n}") for n in range(20)]

    async def accept(member: Member, code: str) -> str:
        async with sessions() as own:
            member = await own.merge(member)
            try:
                await accept_invitation(own, member, f"f-{code}")
            except StaleAction:
                return "refused"
            return "linked"

    work = [accept(people[2 * n + k], f"code{n:04d}") for n in range(10) for k in (0, 1)]
    results = await asyncio.gather(*work, return_exceptions=True)
    for result in results:
        assert not isinstance(result, BaseException), repr(result)
    for n in range(10):
        assert sorted(results[2 * n : 2 * n + 2]) == ["linked", "refused"], (n, results)
    await session.commit()
    linked = await session.scalars(
        select(Member.producer_id)
        .where(Member.producer_id.is_not(None))
        .execution_options(populate_existing=True)
    )
    assert Counter(linked) == Counter(farm.id for farm in farms)
    assert not list(
        await session.scalars(select(Producer).where(Producer.invite_code.is_not(None)))
    )


# ------------------------------------------------------------------ (d) a per-person maximum


async def test_one_consumers_racing_taps_never_pass_the_per_person_maximum(
    sessions, session, clock
):
    """40 punnets, at most 3 per person: one consumer's twelve simultaneous taps (1, 2 or 3
    each, 24 wanted in all) and "same quantity" changes leave her exactly 3, the rest refused
    politely (``AboveMaximum``) or cut to the maximum; a second consumer still gets her 3, and
    the offer counts exactly what the two hold."""
    from models.errors import AboveMaximum

    network = await make_network(session, clock(), stock={"TOM-CER": 40})
    cycle_id = network["cycle"].id
    product = network["products"]["TOM-CER"]
    await session.execute(
        update(Product).where(Product.id == product.id).values(max_per_person=Decimal(3))
    )
    await session.commit()
    alice = await make_member(session, 61_001, pickup=network["central"], name="Alice")
    bea = await make_member(session, 61_002, pickup=network["central"], name="Béa")
    now = clock()
    outcomes: Counter[str] = Counter()

    async def tap(member, quantity: int, setting: bool) -> None:
        async with sessions() as own:
            try:
                if setting:
                    got = await set_quantity(own, member, cycle_id, product.id, Decimal(5), now)
                else:
                    got = await add_to_basket(
                        own, member, cycle_id, product.id, Decimal(quantity), now
                    )
            except AboveMaximum:
                outcomes["refused"] += 1
                return
            outcomes["capped" if got.maximum is not None else "in"] += 1
            assert got.line_quantity <= 3

    await asyncio.gather(
        *(tap(alice, 1 + index % 3, index % 4 == 3) for index in range(12)),
        tap(bea, 3, False),
    )
    orders = await _orders(session)
    assert await _held(session, orders[alice.id].id) == 3
    assert await _held(session, orders[bea.id].id) == 3
    assert outcomes["refused"] + outcomes["capped"] >= 9, outcomes
    offered, ordered = (
        await session.execute(
            select(Offer.offered, Offer.ordered).where(
                Offer.cycle_id == cycle_id, Offer.product_id == product.id
            )
        )
    ).one()
    await session.commit()
    assert (offered, ordered) == (40, 6)
    await check_invariants(session)
