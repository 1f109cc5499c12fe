"""/rapport and /exporter through the sandbox, the documents they send (PNG, CSV, XLSX, PDF),
the ``desserte export`` command, and the refusal of every admin command and button."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from models import CycleState
from models.reports import cycle_report, find_cycle, history
from tests.admin_support import close, make_cycle, order
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_member, make_network


@pytest.fixture
async def shop(session, clock):
    """This week's open cycle with four orders (and a basket never confirmed), the week before
    with two, the year before with one (both collected: delivered)."""
    now = clock()
    network = await make_network(session, now)
    p = network["products"]
    tom, cherry, eggs, honey = p["TOM-ANC"], p["TOM-CER"], p["OEU-6"], p["MIEL"]
    central, company = network["central"], network["company"]
    alice = await make_member(session, 1001, pickup=central, name="Alice")
    bob = await make_member(session, 1002, pickup=central, name="bob")
    emile = await make_member(session, 1003, pickup=central, name="Émile")
    zoe = await make_member(session, 1004, pickup=company, name="Zoé")
    hugo = await make_member(session, 1005, pickup=central, name="Hugo")
    products = list(p.values())
    cycle = network["cycle"]

    year = await make_cycle(session, cycle.opens_at - timedelta(weeks=52), products)
    await order(session, alice, year, {honey: 1}, now)
    await close(session, year)
    year.state = CycleState.DELIVERED
    week = await make_cycle(session, cycle.opens_at - timedelta(weeks=1), products)
    await order(session, alice, week, {honey: 2}, now)
    await order(session, bob, week, {cherry: 1}, now)
    await close(session, week)
    week.state = CycleState.DELIVERED

    await order(session, alice, cycle, {tom: Decimal("1.5"), honey: 1}, now)  # 7,20 + 8,50
    await order(session, bob, cycle, {cherry: 2}, now)  # 6,40
    await order(session, emile, cycle, {eggs: 1, honey: 2}, now)  # 2,90 + 17,00
    await order(session, zoe, cycle, {cherry: 1}, now)  # 3,20
    from models.ordering import set_quantity

    await set_quantity(session, hugo, cycle.id, honey.id, Decimal(1), now)  # a basket only
    return network


# -- the figures --------------------------------------------------------------------------------


async def test_report_figures_and_trends(session, shop):
    cycle = await find_cycle(session, None)
    assert cycle.id == shop["cycle"].id
    report = await cycle_report(session, cycle)
    assert report.figures.orders == 4
    assert report.figures.revenue_cents == 720 + 850 + 640 + 290 + 1700 + 320
    assert report.figures.average_basket_cents == 1130
    assert report.top_products[0].name == "Miel de châtaignier"
    assert report.top_products[0].quantity == 3
    assert [(g.name, g.orders, g.revenue_cents) for g in report.producers] == [
        ("Les Jardins de la Vonne", 4, 4520)
    ]
    assert [(g.name, g.orders, g.revenue_cents) for g in report.pickup_points] == [
        ("Halle centrale", 3, 4200),
        ("Enedis", 1, 320),
    ]
    assert report.previous.revenue_cents == 2020
    assert report.revenue_vs_previous == pytest.approx(4520 / 2020 - 1)
    assert report.basket_vs_previous == pytest.approx(1130 / 1010 - 1)
    assert report.year_before.revenue_cents == 850
    assert report.basket_vs_year == pytest.approx(1130 / 850 - 1)
    past = await history(session, cycle)
    assert [f.orders for f in past] == [1, 2, 4]


# -- /rapport -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "command", "expected"),
    [
        ("fr", "/rapport", ["Commandes : 4", "45,20\u00a0€", "11,30\u00a0€", "+123,8\u202f%"]),
        ("en", "/report", ["Orders: 4", "€45.20", "€11.30", "+123.8%", "Best sellers"]),
    ],
)
async def test_report_command_sends_figures_and_chart(
    app, sandbox, shop, language, command, expected
):
    admin = sandbox.user("Admin", language=language, user_id=ADMIN_TELEGRAM_ID)
    await admin.send(command)
    text, photo = admin.messages[-2].text, admin.messages[-1]
    for fragment in expected:
        assert fragment in text, (fragment, text)
    assert "Halle centrale" in text
    assert photo.photo is not None
    image = Image.open(io.BytesIO(photo.photo.content))
    assert image.format == "PNG"
    assert image.size == (900, 480)


async def test_report_without_any_cycle(app, sandbox):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/rapport")
    assert "Aucun cycle" in admin.last_message.text


# -- /exporter ------------------------------------------------------------------------------------


async def test_exports_in_french(app, sandbox, shop):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/exporter")
    menu = admin.last_message
    assert "Exports" in menu.text

    await admin.press("XLSX", message=menu)
    document = admin.last_message.document
    assert document.file_name.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(document.content))
    orders, totals = workbook.worksheets
    rows = list(orders.iter_rows(values_only=True))
    assert rows[0] == (
        "Consommateur",
        "Point de retrait",
        "Producteur",
        "Produit",
        "Quantité",
        "Unité",
        "Prix unitaire (€)",
        "Total (€)",
        "Poids (kg)",
        "Montant",
        "N° de commande",
        "Statut",
        "Confirmée le",
    )
    assert len(rows) == 1 + 6  # six lines, the basket left out
    assert [r[0] for r in rows[1:]] == ["Zoé", "Alice", "Alice", "bob", "Émile", "Émile"]
    assert sum(Decimal(str(r[7])) for r in rows[1:]) == Decimal("45.20")
    tomatoes = next(r for r in rows if r[3] == "Tomates anciennes")
    assert (tomatoes[4], tomatoes[5], tomatoes[6], tomatoes[7]) == (1.5, "kg", 4.8, 7.2)
    summary = {r[0]: r[1] for r in totals.iter_rows(values_only=True) if r and r[0]}
    assert summary["Commandes"] == 4
    assert Decimal(str(summary["Chiffre d’affaires (€)"])) == Decimal("45.20")
    assert Decimal(str(summary["Halle centrale"])) == Decimal("42.00")

    await admin.press("CSV", message=menu)
    document = admin.last_message.document
    text = document.content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0][0] == "Consommateur"
    alice = next(line for line in lines if line[:4] == ["Alice", "Halle centrale",
                 "Les Jardins de la Vonne", "Tomates anciennes"])  # fmt: skip
    assert alice[4:10] == ["1,5", "kg", "4,80", "7,20", "", "définitif"]
    assert alice[10].isdigit()
    assert alice[11] == "confirmée"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", alice[12]), alice[12]

    # The PDF of every point ends with the producers' preparation pages: what goes in each bag.
    await admin.press("tous les points", message=menu)
    pages = [
        p.extract_text() for p in PdfReader(io.BytesIO(admin.last_message.document.content)).pages
    ]
    preparation = [page for page in pages if "Préparation — " in page]
    assert len(preparation) == 1, pages
    page = preparation[0]
    assert "Préparation — Les Jardins de la Vonne" in page
    assert "ce qui va dans chaque sac" in page
    assert "En tout" in page
    for total in ("Miel de châtaignier 3\xa0pots", "Tomates cerises 3\xa0barquettes"):
        assert total in page, (total, page)
    enedis, bags = page[page.index("Enedis") :], page[page.index("Halle centrale") :]
    for bag in (
        f"n° {alice[10]} Alice Tomates anciennes 1,5\xa0kg",
        f"n° {alice[10]} Alice Miel de châtaignier 1\xa0pot",
        "Émile Miel de châtaignier 2\xa0pots",
    ):
        assert bag in bags, (bag, bags)
    assert bags.index("Alice") < bags.index("bob") < bags.index("Émile")  # as the list orders
    assert "Zoé Tomates cerises 1\xa0barquette" in enedis
    assert "Zoé" not in bags
    assert "Hugo" not in page  # a basket never confirmed is not prepared

    await admin.press("Halle centrale", message=menu)
    document = admin.last_message.document
    assert document.file_name.endswith("-halle.pdf")
    pdf = PdfReader(io.BytesIO(document.content))
    page = pdf.pages[0].extract_text()
    assert "Liste de retrait — Halle centrale" in page
    names = [page.index(name) for name in ("Alice", "bob", "Émile")]
    assert names == sorted(names)  # alphabetical, accents and case aside
    assert "Zoé" not in page
    assert "Hugo" not in page
    for amount in ("15,70 €", "6,40 €", "19,90 €", "42,00 €", "Miel de châtaignier"):
        assert amount.replace(" ", "\u00a0") in page or amount in page, (amount, page)

    await admin.press("tous les points", message=menu)
    pdf = PdfReader(io.BytesIO(admin.last_message.document.content))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Enedis" in text
    assert "Zoé" in text
    assert "Halle centrale" in text


async def test_exports_in_english(app, sandbox, shop):
    admin = sandbox.user("Admin", language="en", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/export")
    menu = admin.last_message
    await admin.press("XLSX", message=menu)
    workbook = load_workbook(io.BytesIO(admin.last_message.document.content))
    assert next(workbook.worksheets[0].iter_rows(values_only=True))[0] == "Consumer"
    assert workbook.sheetnames == ["Orders", "Totals"]
    await admin.press("CSV", message=menu)
    header = admin.last_message.document.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Consumer,Pickup point,Producer")
    assert header.endswith("Order no.,Status,Confirmed on")
    await admin.press("Halle centrale", message=menu)
    page = PdfReader(io.BytesIO(admin.last_message.document.content)).pages[0].extract_text()
    assert "Pickup list — Halle centrale" in page
    assert "€15.70" in page
    pdf = PdfReader(io.BytesIO(admin.last_message.document.content))
    last = pdf.pages[-1].extract_text()
    assert "Preparation — Les Jardins de la Vonne" in last
    assert "what goes into each bag" in last
    assert "€42.00" in page


# -- the command line -----------------------------------------------------------------------------


async def test_cli_export_writes_the_same_documents(settings, shop, monkeypatch, tmp_path):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    # The test database is made from the models, without Alembic's history: `desserte export`
    # migrates first, as every command does (tests/models/test_migrations.py tests migrating).
    monkeypatch.setattr("bot.cli._migrate", lambda settings: None)
    cycle_id = str(shop["cycle"].id)
    xlsx, pdf = tmp_path / "orders.xlsx", tmp_path / "halle.pdf"
    # The command runs its own event loop: give it a thread of its own.
    run = asyncio.to_thread
    assert await run(main, ["export", "orders", "--cycle", cycle_id, "--output", str(xlsx)]) == 0
    rows = list(load_workbook(xlsx).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "Consumer"
    assert len(rows) == 7
    status = await run(main, ["export", "pickup-list", "--point", "halle", "--output", str(pdf)])
    assert status == 0
    page = PdfReader(pdf).pages[0].extract_text()
    assert "Pickup list — Halle centrale" in page
    assert "Alice" in page
    assert await run(main, ["export", "pickup-list", "--point", "nowhere", "-o", str(pdf)]) == 1
    assert await run(main, ["export", "orders", "--cycle", "999", "-o", str(xlsx)]) == 1


# -- refusals -------------------------------------------------------------------------------------

ADMIN_COMMANDS = ["/diffusion", "/broadcast", "/rapport", "/report", "/exporter", "/export"]
ADMIN_BUTTONS = [
    "bc:aud:1:consumers",
    "bc:pt:1:1",
    "bc:send:1",
    "bc:back:1",
    "bc:no:1",
    "exp:csv:1",
    "exp:xlsx:1",
    "exp:pdf:1:0",
    "exp:pdf:1:1",
]


@pytest.mark.parametrize("role", ["consumer", "producer"])
@pytest.mark.parametrize("language", ["fr", "en"])
async def test_admin_commands_and_buttons_are_refused(app, sandbox, session, shop, role, language):
    person = sandbox.user("Paul", language=language, user_id=5555)
    await person.send("/start")
    if role == "producer":
        from sqlalchemy import update

        from models import Member

        await session.execute(
            update(Member).where(Member.telegram_id == 5555).values(producer_id=shop["producer"].id)
        )
        await session.commit()
    refusal = {
        "fr": "réservée à l’équipe qui anime le réseau",
        "en": "for the team that runs the network",
    }[language]
    for command in ADMIN_COMMANDS:
        await person.send(command)
        assert refusal in person.last_message.text, command
    start = person.last_message
    for data in ADMIN_BUTTONS:
        await person.press_data(data, message=start)
        assert person.answers[-1].show_alert, data
        assert refusal in person.answers[-1].text, data
    assert not any(m.document or m.photo for m in person.messages)
    # Nothing came of it: no broadcast, and the person's texts are not taken for one.
    await person.send("Bonjour à tous")
    from sqlalchemy import func, select

    from models import Broadcast

    assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0
