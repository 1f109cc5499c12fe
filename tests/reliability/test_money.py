"""Money under races and faults, on SQLite and PostgreSQL alike, each ended by the invariants
(a balance is the sum of its movements, never past its overdraft; paid = the payments):

* members whose orders together ask several times their balance, each tapping from several
  sessions at once (adds, raises, confirmations, "same basket"), while the admin credits some of
  them and the close runs in the middle: no balance ever passes its overdraft, what the close
  debits is what the orders held;
* the close dying after the debits were written: nothing of it is kept, and the next close
  debits once;
* Telegram's ``successful_payment`` for one charge arriving four times at once, and the bot's
  thank-you failing on the way: one payment.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from handlers import cycle_run
from models import Balance, BalanceMovement, Member, Order, OrderStatus, Payment
from models.closing import close_cycle
from models.errors import BalanceTooLow, CycleClosed, DomainError
from models.ordering import add_to_basket, confirm_order, set_quantity
from models.payment import PaymentMethod
from models.payments import credit_balance, invoice_payload, record_online_payment
from tests.factories import make_member, make_network
from tests.invariants import check_invariants

OVERDRAFT = 500


async def balances(session) -> dict[int, tuple[int, int]]:
    await session.commit()
    rows = await session.execute(
        select(Balance.member_id, Balance.cents, Balance.held_cents).execution_options(
            populate_existing=True
        )
    )
    result = {member_id: (int(cents), int(held)) for member_id, cents, held in rows}
    await session.commit()
    return result


async def test_racing_orders_never_take_a_balance_past_its_overdraft(sessions, session, clock):
    """Six members with 10 to 20 € each (5 € of overdraft) and stock for far more: each one's
    three sessions add honey and tomatoes and confirm at once, the admin credits two of them
    meanwhile, and the close lands in the middle."""
    now = clock()
    network = await make_network(session, now, stock={"MIEL": 200, "TOM-CER": 200})
    honey, tomatoes = network["products"]["MIEL"], network["products"]["TOM-CER"]
    admin = await make_member(session, 900_100, name="Admin")
    members = [
        await make_member(session, 3000 + n, pickup=network["central"], name=f"M{n}")
        for n in range(6)
    ]
    for n, member in enumerate(members):
        await credit_balance(
            session, member.id, 1000 + 200 * n, PaymentMethod.TRANSFER, None, admin, now
        )
        await set_quantity(session, member, network["cycle"].id, tomatoes.id, Decimal(1), now)
        await confirm_order(session, member, network["cycle"].id, now, overdraft_cents=OVERDRAFT)
    cycle_id = network["cycle"].id
    rng = random.Random(16)
    outcomes: list[str] = []

    async def tap(member: Member, delay: float) -> None:
        await asyncio.sleep(delay)
        async with sessions() as own:
            mine = await own.get(Member, member.id)
            assert mine is not None
            action = rng.choice(["add", "raise", "confirm"])
            try:
                if action == "add":
                    await add_to_basket(
                        own, mine, cycle_id, honey.id, Decimal(1), now, overdraft_cents=OVERDRAFT
                    )
                elif action == "raise":
                    await set_quantity(
                        own,
                        mine,
                        cycle_id,
                        tomatoes.id,
                        Decimal(rng.randint(2, 6)),
                        now,
                        overdraft_cents=OVERDRAFT,
                    )
                else:
                    await confirm_order(own, mine, cycle_id, now, overdraft_cents=OVERDRAFT)
                outcomes.append("in")
            except BalanceTooLow:
                outcomes.append("balance")
            except CycleClosed:
                outcomes.append("closed")
            except DomainError as error:
                outcomes.append(error.code)
            if len(outcomes) >= 20:
                halfway.set()

    async def credit_later(member: Member, delay: float) -> None:
        await asyncio.sleep(delay)
        async with sessions() as own:
            await credit_balance(own, member.id, 300, PaymentMethod.CASH, "race", admin, now)

    halfway = asyncio.Event()

    async def close_later(delay: float) -> None:
        await halfway.wait()  # the close lands in the middle of the taps, whatever the pace
        await asyncio.sleep(delay)
        async with sessions() as own:
            await close_cycle(own, cycle_id, now)

    work = [tap(m, 0.002 * i) for i in range(8) for m in members]
    work += [credit_later(members[0], 0.01), credit_later(members[3], 0.02), close_later(0.0)]
    await asyncio.gather(*work)
    assert "balance" in outcomes  # demand was far above the balances: some taps were refused
    assert "in" in outcomes
    await check_invariants(session, overdraft_cents=OVERDRAFT)
    # The close debited every confirmed order what it held: nothing held any more, each order
    # paid from its balance exactly its total.
    for cents, held in (await balances(session)).values():
        assert held == 0
        assert cents >= -OVERDRAFT
    orders = await session.scalars(select(Order).where(Order.status == OrderStatus.CONFIRMED))
    assert all(order.paid_cents == order.total_cents for order in orders)
    await session.commit()


async def test_a_close_that_dies_after_debiting_keeps_nothing_and_the_next_debits_once(
    session, sessions, clock, monkeypatch
):
    now = clock()
    network = await make_network(session, now)
    admin = await make_member(session, 900_100, name="Admin")
    alice = await make_member(session, 3001, pickup=network["central"], name="Alice")
    await credit_balance(session, alice.id, 2000, PaymentMethod.CHEQUE, None, admin, now)
    honey = network["products"]["MIEL"]
    await set_quantity(session, alice, network["cycle"].id, honey.id, Decimal(2), now)
    await confirm_order(session, alice, network["cycle"].id, now, overdraft_cents=0)

    import models.closing as closing

    real = closing.debit_held_orders

    async def debit_then_die(*args, **kwargs):
        await real(*args, **kwargs)
        raise RuntimeError("the process died in the middle of the close")

    monkeypatch.setattr(closing, "debit_held_orders", debit_then_die)
    async with sessions() as own:
        with pytest.raises(RuntimeError):
            await close_cycle(own, network["cycle"].id, now)
    assert (await balances(session))[alice.id] == (2000, 1700)
    monkeypatch.setattr(closing, "debit_held_orders", real)
    async with sessions() as own:
        await close_cycle(own, network["cycle"].id, now)
        await close_cycle(own, network["cycle"].id, now)  # closing again debits nothing more
    assert (await balances(session))[alice.id] == (300, 0)
    debits = await session.scalar(
        select(func.count(BalanceMovement.id)).where(BalanceMovement.amount_cents < 0)
    )
    assert debits == 1
    await check_invariants(session)


async def test_one_charge_delivered_four_times_at_once_is_one_payment(app, sandbox, session, clock):
    """Four deliveries of one ``successful_payment`` at once (separate sessions, so on
    PostgreSQL truly concurrent), the bot's thank-you failing with a 500 the first time."""
    now = clock()
    network = await make_network(session, now)
    alice = await make_member(session, 3001, pickup=network["central"], name="Alice")
    honey = network["products"]["MIEL"]
    await set_quantity(session, alice, network["cycle"].id, honey.id, Decimal(2), now)
    order = await confirm_order(session, alice, network["cycle"].id, now)
    await cycle_run.close_and_dispatch(app, network["cycle"].id)
    user = sandbox.user("Alice", language="fr", user_id=alice.telegram_id)
    sandbox.faults.inject("sendMessage", "500", chat_id=user.id)
    message = {
        "message_id": 999,
        "from": user.user_json,
        "chat": user.chat_json,
        "date": sandbox.now(),
        "successful_payment": {
            "currency": "EUR",
            "total_amount": 1700,
            "invoice_payload": invoice_payload(order.id, 1700),
            "telegram_payment_charge_id": "tg-charge-race",
            "provider_payment_charge_id": "provider-charge-race",
        },
    }
    await asyncio.gather(*(sandbox.deliver_raw({"message": message}) for _ in range(4)))
    await session.commit()  # a read transaction left open would see the database as it was
    count = await session.scalar(select(func.count(Payment.id)))
    assert count == 1
    thanks = [m for m in user.messages if (m.text or "").startswith("✅ Paiement reçu")]
    assert len(thanks) <= 1  # the failed one is not sent again by a repeated update
    again = await record_online_payment(
        session, invoice_payload(order.id, 1700), 1700, "tg-charge-race", None, now
    )
    assert again.recorded_cents == 0
    await check_invariants(session)
