"""The organiser's week through the sandbox: reports and exports of any recent cycle, pickup
day at a big point (search, pages, order numbers, phones), the printed lists, the purchase
orders and the report of those that could not be delivered."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select, update

from handlers.i18n import format_date
from models import Cycle, CycleState, Offer, Order
from tests.admin_support import close, make_cycle, order
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_member, make_network


def day_of(cycle, language="fr"):
    from zoneinfo import ZoneInfo

    return format_date(cycle.pickup_starts_at.astimezone(ZoneInfo("Europe/Paris")), language)


@pytest.fixture
async def weeks(session, clock):
    """An open cycle nobody ordered from yet; three weeks before, a closed cycle to be collected
    (Alice: 2 honeys); five weeks before, a delivered one (Bob: cherry tomatoes)."""
    now = clock()
    network = await make_network(session, now)
    p = network["products"]
    alice = await make_member(session, 1001, pickup=network["central"], name="Alice")
    bob = await make_member(session, 1002, pickup=network["central"], name="Bob")
    products = list(p.values())
    cycle = network["cycle"]
    older = await make_cycle(session, cycle.opens_at - timedelta(weeks=5), products)
    await order(session, bob, older, {p["TOM-CER"]: 1}, now)
    await close(session, older)
    older.state = CycleState.DELIVERED
    closed = await make_cycle(session, cycle.opens_at - timedelta(weeks=3), products)
    # Most of it unoffered: the fill rate reads a round share.
    await session.execute(update(Offer).where(Offer.cycle_id == closed.id).values(offered=0))
    await session.execute(
        update(Offer)
        .where(Offer.cycle_id == closed.id, Offer.product_id == p["MIEL"].id)
        .values(offered=8)
    )
    await session.commit()
    await order(session, alice, closed, {p["MIEL"]: 2}, now)
    await close(session, closed)
    network.update(older=older, closed=closed)
    return network


async def test_report_of_the_cycle_to_collect_then_of_an_earlier_one(app, sandbox, weeks):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/rapport")
    report, chart = admin.messages[-2], admin.messages[-1]
    closed, older = weeks["closed"], weeks["older"]
    # The cycle to be collected, not the empty open one; compared with the cycle before it,
    # two weeks earlier (not "a week before", which does not exist).
    assert f"cycle du {day_of(closed)}" in report.text
    assert f"Par rapport au cycle du {day_of(older)} : chiffre d’affaires +431,2\u202f%" in (
        report.text
    )
    assert "Les Jardins de la Vonne — 1 commande — 17,00\u00a0€ — offre vendue à 25\u202f%" in (
        report.text
    )
    assert chart.caption == "Chiffre d’affaires et panier moyen des 2 derniers cycles."
    assert Image.open(io.BytesIO(chart.photo.content)).format == "PNG"
    assert any(f"• {day_of(closed)}" in b for row in report.buttons for b in row)

    await admin.press(day_of(older), message=report)
    assert f"cycle du {day_of(older)}" in report.text
    assert "Par rapport au cycle précédent : pas de cycle à comparer" in report.text
    assert admin.last_message.caption == "Chiffre d’affaires et panier moyen du dernier cycle."


async def test_report_of_a_cycle_without_sales_reads_right(app, sandbox, session, clock):
    await make_network(session, clock())
    admin = sandbox.user("Admin", language="en", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/report")
    assert "Orders: 0" in admin.messages[-2].text
    assert admin.last_message.caption == "Revenue and average basket of the last cycle."
    assert Image.open(io.BytesIO(admin.last_message.photo.content)).size == (900, 480)


async def test_exports_of_an_earlier_cycle(app, sandbox, weeks):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/exporter")
    menu = admin.last_message
    assert f"Exports — cycle du {day_of(weeks['closed'])}" in menu.text
    await admin.press(day_of(weeks["older"]))
    assert f"Exports — cycle du {day_of(weeks['older'])}" in menu.text
    await admin.press("Commandes (CSV)")
    content = admin.last_message.document.content.decode("utf-8-sig")
    assert "Bob" in content
    assert "Alice" not in content


# -- pickup day at a big point ------------------------------------------------------------


@pytest.fixture
async def big_point(session, clock):
    """65 orders at the central point, closed: two Duponts (Émile shared his phone), a Martin,
    Zoé who gave no last name, and 61 others whose surnames sort after theirs."""
    now = clock()
    network = await make_network(session, now)
    honey = network["products"]["MIEL"]
    await session.execute(
        update(Offer).where(Offer.cycle_id == network["cycle"].id).values(offered=1000)
    )
    await session.commit()
    people = [("Émile", "Dupont", "06 12 34 56 78"), ("Anne", "Dupont", None)]
    people += [("Bruno", "Martin", None), ("Zoé", None, None)]
    people += [(f"Client{i:02d}", f"Petit{i:02d}", None) for i in range(61)]
    orders = {}
    for index, (first, last, phone) in enumerate(people):
        member = await make_member(session, 2000 + index, pickup=network["central"], name=first)
        member.last_name, member.phone = last, phone
        await session.commit()
        await order(session, member, network["cycle"], {honey: 1}, now)
        orders[first] = await session.scalar(select(Order.id).where(Order.member_id == member.id))
    await close(session, network["cycle"])
    network["orders"] = orders
    return network


def labels(message) -> list[str]:
    return [text for row in message.buttons for text in row]


async def test_pickup_list_by_surname_in_pages_with_numbers_and_phones(app, sandbox, big_point):
    orders = big_point["orders"]
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/retraits halle")
    listing = admin.last_message
    buttons = labels(listing)
    assert len(buttons) <= 100
    assert buttons[:3] == [
        f"⬜ Anne Dupont · n° {orders['Anne']} — 8,50\u00a0€",
        f"⬜ Émile Dupont · n° {orders['Émile']} — 8,50\u00a0€",
        f"⬜ Bruno Martin · n° {orders['Bruno']} — 8,50\u00a0€",
    ]
    assert f"☎️ Émile Dupont (n° {orders['Émile']}) : 06 12 34 56 78" in listing.text
    assert "65 commandes, 0 retirée" in listing.text
    assert "1/3" in buttons
    await admin.press("▶️")
    await admin.press("▶️")
    assert "Page 3/3" in listing.text
    assert any(f"Zoé · n° {orders['Zoé']}" in b for b in labels(listing))  # her first name

    # A name typed while the list is shown finds the orders; a press ticks one off.
    await admin.send("dupont")
    found = admin.last_message
    assert found is not listing
    assert "2 commandes trouvées pour « dupont »." in found.text
    assert len(labels(found)) == 4  # the two, the whole list, the points
    await admin.press("Émile")
    assert found.text.startswith("✅ Retirée")
    assert "Page 1/3" in found.text
    assert f"✅ Émile Dupont · n° {orders['Émile']} — 8,50\u00a0€" in labels(found)

    # An order number, in the command.
    await admin.send(f"/retraits halle n° {orders['Zoé']}")
    assert "1 commande trouvée pour" in admin.last_message.text
    assert labels(admin.last_message)[0].startswith("⬜ Zoé")
    await admin.send("Martine")
    assert "Aucune commande trouvée pour « Martine »." in admin.last_message.text

    # Another command closes the list: a text is a text again.
    await admin.send("/rapport")
    await admin.send("dupont")
    assert "trouvée" not in admin.last_message.text


# -- purchase orders ----------------------------------------------------------------------


async def close_a_week_with_one_order(
    app, sandbox, session, clock, producer_user, block_at_close=False
):
    """The demo farm's cycle of 17 December, opened and closed by the scheduler, with Bob's
    order of two boxes of eggs; ``producer_user`` speaks for the farm (and blocks the bot just
    before the close, with ``block_at_close``)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from handlers import cycle_run
    from models import Member
    from models.ordering import add_to_basket, confirm_order

    def paris(*args):
        return datetime(*args, tzinfo=ZoneInfo("Europe/Paris"))

    network = await make_network(session, clock() - timedelta(days=14), state=CycleState.DELIVERED)
    bob = sandbox.user("Bob", language="fr")
    for user in (bob, producer_user):
        await user.send("/start")
    await session.execute(
        update(Member)
        .where(Member.telegram_id == producer_user.id)
        .values(producer_id=network["producer"].id)
    )
    await session.execute(
        update(Member)
        .where(Member.telegram_id == bob.id)
        .values(pickup_point_id=network["central"].id)
    )
    await session.commit()
    await cycle_run.run_due_work(app)
    clock.set(paris(2026, 12, 11, 12, 0))
    await cycle_run.run_due_work(app)
    week = await session.scalar(
        select(Cycle)
        .where(Cycle.state == CycleState.OPEN)
        .execution_options(populate_existing=True)
    )
    await session.execute(update(Offer).where(Offer.cycle_id == week.id).values(offered=20))
    await session.commit()
    bob_m = await session.scalar(select(Member).where(Member.telegram_id == bob.id))
    now = clock()
    await add_to_basket(session, bob_m, week.id, network["products"]["OEU-6"].id, Decimal(2), now)
    await confirm_order(session, bob_m, week.id, now)
    if block_at_close:
        producer_user.block_bot()
    clock.set(paris(2026, 12, 16, 0, 0))
    return await cycle_run.run_due_work(app)


async def test_purchase_order_names_the_producer_and_the_delivery_day(app, sandbox, session, clock):
    marie = sandbox.user("Marie", language="fr")
    report = await close_a_week_with_one_order(app, sandbox, session, clock, marie)
    assert len(report.closed) == 1
    sent = [m for m in marie.messages if m.document is not None][-1]
    rows = list(csv.reader(io.StringIO(sent.document.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Producteur", "Date de livraison", "Point de retrait"]
    assert rows[1][:3] == ["Les Jardins de la Vonne", "2026-12-17", "Halle centrale"]
    assert rows[-1][:3] == ["Les Jardins de la Vonne", "2026-12-17", "TOTAL"]


async def test_admins_hear_of_a_purchase_order_a_producer_could_not_receive(
    app, sandbox, session, clock
):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/start")
    marie = sandbox.user("Marie", language="fr")
    await close_a_week_with_one_order(app, sandbox, session, clock, marie, block_at_close=True)
    reports = [m.text for m in admin.messages if "pas pu être remis" in (m.text or "")]
    assert reports, [m.text for m in admin.messages]
    assert "• bon de commande à Marie : a bloqué le bot" in reports[-1]


async def test_the_pickup_search_reaches_whichever_worker_gets_the_text(
    app, sandbox, big_point, settings, engine, clock
):
    """Workers share nothing but the database: the list opened on one worker, the name typed
    next served by another, still searches the list."""
    from tests.admin_support import running_app

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/retraits halle")
    async with running_app(settings, engine, sandbox, clock, rate_limiter=False) as other:
        assert other is not app
        await admin.send("dupont")
        assert "2 commandes trouvées pour « dupont »." in admin.last_message.text
        await admin.send("/rapport")  # on this worker too, a command closes the list
    sandbox.attach(app)
    await admin.send("dupont")
    assert "trouvée" not in admin.last_message.text
