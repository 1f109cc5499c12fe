"""Money under racing hands: two packers weighing the same lines while the producer reports a
shortage on them, and two admins marking the same payout at once. After each, the invariants
hold (every order's total is the sum of its lines at their weights, every statement adds up) and
the payout is recorded once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import func, select

from models import Member, Order, Payout
from models.amounts import final_amount_cents
from models.closing import close_cycle
from models.errors import DomainError
from models.shortage import apply_shortage, read_shortage_message
from models.statements import AlreadyPaid, mark_paid
from models.weighing import weigh, weighing_lines
from tests.admin_support import order
from tests.factories import make_member
from tests.handlers.test_weighing import make_farm
from tests.invariants import check_invariants


async def test_two_packers_and_a_shortage_on_the_same_chickens(sessions, session, clock):
    farm = await make_farm(session, clock)
    cycle, chicken = farm["cycle"], farm["chicken"]
    people = [
        await make_member(session, 5000 + n, pickup=farm["central"], name=f"P{n}") for n in range(4)
    ]
    for person in people:
        await order(session, person, cycle, {chicken: 1, farm["products"]["MIEL"]: 1}, clock())
        clock.advance(minutes=1)
    clock.advance(days=4)
    await close_cycle(session, cycle.id, clock())
    lines = await weighing_lines(session, cycle.id)
    await session.commit()
    producer_member = Member(
        telegram_id=6000, first_name="Marie", locale="fr", producer_id=farm["producer"].id
    )
    session.add(producer_member)
    await session.commit()

    async def packer(weight: str) -> list[str]:
        said = []
        for line in lines:
            async with sessions() as own:
                try:
                    await weigh(own, line.line_id, Decimal(weight), clock())
                    said.append("weighed")
                except DomainError as error:
                    said.append(error.code)
        return said

    async def shortage() -> str:
        async with sessions() as own:
            member = await own.get(Member, producer_member.id)
            assert member is not None
            found = await read_shortage_message(own, member, "seulement 2 poulet fermier", clock())
            assert found is not None
            await apply_shortage(own, member, found.update_id, clock())
            return "short"

    results = await asyncio.gather(packer("1.82"), packer("2.05"), shortage())
    assert results[2] == "short"
    orders = list(await session.scalars(select(Order).execution_options(populate_existing=True)))
    await session.commit()
    kept = 0
    for placed in orders:
        amount = await final_amount_cents(session, placed.id)
        assert amount is not None
        assert amount.cents == placed.total_cents
        kept += amount.cents > 850  # still holds a chicken
    assert kept == 2  # the two first confirmed keep theirs
    await check_invariants(session)


async def test_two_admins_mark_the_same_payout(sessions, session, clock):
    farm = await make_farm(session, clock)
    admins = []
    for n in range(2):
        admin = await make_member(session, 7000 + n, name=f"Admin{n}")
        admin.is_admin = True
        admins.append(admin)
    await session.commit()

    async def pay(admin: Member) -> str:
        async with sessions() as own:
            try:
                await mark_paid(own, farm["producer"].id, "2026-12", 4796, admin, clock())
                return "paid"
            except AlreadyPaid:
                return "already"

    results = await asyncio.gather(*(pay(admin) for admin in admins))
    assert sorted(results) == ["already", "paid"]
    assert await session.scalar(select(func.count(Payout.id))) == 1
    await session.commit()
