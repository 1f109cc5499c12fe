"""The organiser's week through the sandbox: reports and exports of any recent cycle, pickup
day at a big point (search, pages, order numbers, phones), the printed lists, the purchase
orders and the report of those that could not be delivered."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from handlers.i18n import format_date
from models import CycleState
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
    from sqlalchemy import update

    from models import Offer

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
