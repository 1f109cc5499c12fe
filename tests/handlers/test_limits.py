"""The bot within Telegram's limits, through the sandbox: long texts split at line boundaries,
keyboards that do not outgrow 100 buttons, pop-ups and names of any length."""

from __future__ import annotations

import re
from datetime import time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from models import Offer, Order, OrderLine, OrderStatus, PickupPoint, Producer, Product
from models.ordering import add_to_basket
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_member, make_network, open_cycle_with_stock

pytestmark = pytest.mark.database

FARMER = 710_001
WORDS = [
    "cardon",
    "asperge",
    "aubergine",
    "betterave",
    "blette",
    "brocoli",
    "carotte",
    "celeri",
    "chou",
    "concombre",
    "courgette",
    "cresson",
    "echalote",
    "endive",
    "epinard",
    "fenouil",
    "haricot",
    "laitue",
    "mache",
    "navet",
    "oignon",
    "oseille",
    "panais",
    "patisson",
    "persil",
    "piment",
    "poireau",
    "pois",
    "poivron",
    "potiron",
    "radis",
    "rhubarbe",
    "roquette",
    "rutabaga",
    "salsifis",
    "topinambour",
    "tomate",
    "ail",
    "ciboulette",
    "cerfeuil",
    "estragon",
    "basilic",
    "menthe",
    "thym",
    "romarin",
    "sauge",
    "aneth",
    "coriandre",
    "livèche",
    "pourpier",
]


def _long_name(index: int) -> str:
    return f"Variété ancienne n°{index:03d} de la ferme des Coteaux du Clain, sélection maison"


async def _farm(session, count: int, *, name=_long_name, slug: str = "coteaux") -> Producer:
    producer = Producer(slug=slug, name=f"Ferme {slug}", town="Vouneuil")
    session.add(producer)
    session.add_all(
        Product(
            producer=producer,
            sku=f"{slug}-{index:03d}",
            name=name(index),
            category="Légumes",
            sale_unit="kg",
            unit_amount=Decimal(1),
            unit_measure="kg",
            price_cents=300 + index,
            step=Decimal(1),
            labels=[],
            aliases=[],
        )
        for index in range(count)
    )
    await session.commit()
    return producer


async def _farmer(session, sandbox, producer: Producer):
    member = await make_member(session, FARMER, name="Odile")
    member.producer_id = producer.id
    await session.commit()
    return sandbox.user("Odile", language="fr", user_id=FARMER)


async def test_a_producer_with_90_products_reads_all_of_them(app, sandbox, session, clock):
    producer = await _farm(session, 90)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=12)
    odile = await _farmer(session, sandbox, producer)
    await odile.send("/mes_produits")
    texts = [m.text for m in odile.messages]
    assert len(texts) > 1
    assert all(len(text) <= 4096 for text in texts)
    joined = "\n".join(texts)
    for index in range(90):
        assert joined.count(_long_name(index)) == 1
    # Lines are whole: each product's line is in one message.
    assert all(text.count("• ") == text.count("proposé") for text in texts)


async def test_a_45_product_stock_preview_is_shown_then_applied(app, sandbox, session, clock):
    def name(index: int) -> str:
        return (
            f"{WORDS[index].capitalize()} de plein champ cultivé sous voile d’hivernage, "
            "récolté le matin même et lavé à l’eau de source"
        )

    producer = await _farm(session, 45, name=name)
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=0)
    odile = await _farmer(session, sandbox, producer)
    await odile.send(", ".join(f"{WORDS[i]} {i + 2} kg" for i in range(45)))
    texts = [m.text for m in odile.messages]
    assert len(texts) > 1, texts
    joined = "\n".join(texts)
    assert [i for i in range(45) if name(i) not in joined] == [], [t[:300] for t in texts]
    assert "Valider" in str(odile.last_message.buttons)
    await odile.press("Valider")

    offers = {
        offer.product_id: offer.offered
        for offer in await session.scalars(
            select(Offer)
            .where(Offer.cycle_id == cycle.id)
            .execution_options(populate_existing=True)
        )
    }
    products = {p.sku: p.id for p in await session.scalars(select(Product))}
    await session.commit()
    assert [offers[products[f"coteaux-{i:03d}"]] for i in range(45)] == [
        Decimal(i + 2) for i in range(45)
    ]


async def test_60_producers_in_the_invitation_list(app, sandbox, session):
    for index in range(60):
        session.add(
            Producer(
                slug=f"ferme-des-coteaux-{index:02d}",
                name=f"Ferme des Coteaux et du Val de Clain, maison n°{index:02d}",
                town="Vouneuil",
            )
        )
    await session.commit()
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/invite_producteur")
    joined = "\n".join(m.text for m in admin.messages)
    assert all(f"ferme-des-coteaux-{index:02d}" in joined for index in range(60))
    assert len(admin.messages) > 1


# ---------------------------------------------------------------------------- a long basket

SHOPPER = 720_001


def _short_name(index: int) -> str:
    return f"Légume {index:02d}"


def _row_of(message, name: str) -> list[str]:
    """The callback data of the basket row whose middle button names ``name``."""
    for labels, data in zip(message.buttons, message.button_data, strict=True):
        if len(labels) == 4 and labels[1].startswith(name):
            return data
    raise AssertionError(f"no row for {name!r}: {message.buttons!r}")


async def test_a_60_line_basket_is_changed_emptied_and_confirmed(app, sandbox, session, clock):
    await _farm(session, 60, name=_short_name)
    point = PickupPoint(
        slug="halle",
        name="Halle centrale",
        address="12 rue des Carmes",
        is_public=True,
        window_start=time(17, 0),
        window_end=time(19, 0),
    )
    session.add(point)
    await session.commit()
    cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=10)
    member = await make_member(session, SHOPPER, pickup=point, name="Léa")
    products = {p.name: p.id for p in await session.scalars(select(Product))}
    for index in range(60):
        await add_to_basket(
            session, member, cycle.id, products[_short_name(index)], Decimal(1), clock()
        )
    await session.commit()
    lea = sandbox.user("Léa", language="fr", user_id=SHOPPER)

    await lea.send("/panier")
    basket = lea.last_message
    assert sum(len(row) for row in basket.buttons) <= 100
    assert any("Confirmer" in label for row in basket.buttons for label in row)
    # The lines of page 4 (products 25 to 32), reached with ▶️.
    for _ in range(3):
        await lea.press("▶️", message=basket)
    assert "Produits 25 à 32 sur 60" in basket.text
    await lea.press_data(_row_of(basket, _short_name(30))[2], message=basket)  # ➕
    assert re.search(r"Légume 30 — 2\s*kg", basket.text), basket.text
    await lea.press_data(_row_of(basket, _short_name(27))[3], message=basket)  # 🗑
    assert basket.text.startswith("Légume 27 retiré du panier.")
    assert "• Légume 27" not in basket.text
    assert "Produits 25 à 32 sur 59" in basket.text  # the same page, one line fewer

    await lea.press("Confirmer", message=basket)
    order = await session.scalar(
        select(Order)
        .where(Order.member_id == member.id)
        .options(selectinload(Order.lines))
        .execution_options(populate_existing=True)
    )
    await session.commit()
    assert order.status == OrderStatus.CONFIRMED
    assert len(order.lines) == 59
    assert sum(line.quantity for line in order.lines) == 60
    assert "confirmée — merci" in lea.last_message.text

    await lea.press("Vider le panier", message=basket)
    await lea.press("Oui, vider le panier", message=basket)
    assert "Panier vidé" in basket.text
    lines = await session.scalar(
        select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order.id)
    )
    await session.commit()
    assert lines == 0


# ---------------------------------------------------------------------------- photo cards


async def _photo_card(session, sandbox, clock, url: str):
    network = await make_network(session, clock())
    network["products"]["TOM-CER"].photo = url
    await session.commit()
    await make_member(session, SHOPPER, pickup=network["central"], name="Léa")
    lea = sandbox.user("Léa", language="fr", user_id=SHOPPER)
    await lea.send("/catalogue")
    await lea.press("Légumes")
    await lea.press("Tomates cerises")
    return lea


async def test_a_photo_card_is_browsed_with_plus_and_minus(app, sandbox, session, clock):
    lea = await _photo_card(session, sandbox, clock, "https://photos.example/tomates.jpg")
    card = lea.last_message
    assert card.photo is not None
    await lea.press("➕", message=card)
    await lea.press("➕", message=card)
    await lea.press("➖", message=card)
    assert lea.last_message is card  # the same message, its caption and keyboard edited
    assert "Ajouter (6,40" in str(card.buttons)
    assert sandbox.stats.calls.get("editMessageMedia", 0) == 0
    await lea.press("Ajouter", message=card)
    assert "Ajouté au panier" in card.caption


async def test_a_photo_telegram_cannot_fetch_still_shows_the_product(app, sandbox, session, clock):
    lea = await _photo_card(session, sandbox, clock, "https://photos.invalid/tomates.jpg")
    card = lea.last_message
    assert card.photo is None
    assert "Tomates cerises" in card.text
    await lea.press("➕", message=card)
    assert "Ajouter (6,40" in str(card.buttons)


async def test_a_photo_telegram_cannot_fetch_is_not_tried_again(app, sandbox, session, clock):
    lea = await _photo_card(session, sandbox, clock, "https://photos.invalid/tomates.jpg")
    assert lea.last_message.photo is None
    tried = sandbox.stats.calls.get("sendPhoto", 0)
    assert tried == 1
    await lea.press("Retour")
    await lea.press("Tomates cerises")
    assert "Tomates cerises" in lea.last_message.text
    assert sandbox.stats.calls.get("sendPhoto", 0) == tried  # remembered: no second try
    product = await session.scalar(
        select(Product).where(Product.sku == "TOM-CER").execution_options(populate_existing=True)
    )
    assert product.photo_failed_at == clock()


async def test_a_new_photo_url_clears_the_failure(session, clock):
    from models.catalog_import import export_catalog, import_catalog

    network = await make_network(session, clock())
    product = network["products"]["TOM-CER"]
    product.photo = "https://photos.invalid/tomates.jpg"
    product.photo_failed_at = clock()
    await session.commit()
    row = next(r for r in await export_catalog(session) if r.sku == "TOM-CER")
    header = "producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases"
    line = (
        f"{row.producer},{row.sku},{row.name},{row.category},{row.sale_unit},"
        f'{row.unit_amount},{row.unit_measure},"1,00",,'
    )
    await import_catalog(session, f"{header},photo\n{line},{product.photo}\n")  # the same photo
    await session.refresh(product)
    assert product.photo_failed_at is not None
    await import_catalog(session, f"{header},photo\n{line},https://photos.example/t.jpg\n")
    await session.refresh(product)
    assert (product.photo, product.photo_failed_at) == ("https://photos.example/t.jpg", None)


async def test_a_photo_card_is_replaced_before_it_is_deleted(app, sandbox, session, clock):
    lea = await _photo_card(session, sandbox, clock, "https://photos.example/tomates.jpg")
    card = lea.last_message
    assert card.photo is not None
    calls: list[str] = []
    sandbox.on_event(lambda event: calls.append(event.kind))
    await lea.press("Retour", message=card)
    view = lea.last_message
    assert view is not card
    assert "Tomates cerises" in str(view.buttons)
    assert card.deleted
    sent, deleted = calls.index("bot_message"), calls.index("bot_delete")
    assert sent < deleted  # the replacement was on screen first


async def test_a_photo_card_too_old_to_delete_stays_beside_its_replacement(
    app, sandbox, session, clock
):
    lea = await _photo_card(session, sandbox, clock, "https://photos.example/tomates.jpg")
    card = lea.last_message
    now = sandbox.clock
    sandbox.clock = lambda: float(now()) + 49 * 3600  # the card is 49 hours old
    await lea.press("Retour", message=card)
    assert not card.deleted
    view = lea.last_message
    assert view is not card
    assert "Tomates cerises" in str(view.buttons)


# ------------------------------------------------------------- a name as long as a pop-up


async def _basket_quantity(session, telegram_id: int) -> Decimal:
    from models import Member

    quantity = await session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, OrderLine.order_id == Order.id)
        .join(Member, Order.member_id == Member.id)
        .where(Member.telegram_id == telegram_id)
    )
    await session.commit()  # the next look sees what the bot wrote since
    return Decimal(quantity)


async def test_a_199_character_name_is_added_once_per_tap(app, sandbox, session, clock):
    import asyncio

    network = await make_network(session, clock())
    name = "Tomates cerises " + "très " * 35 + "douces"
    name = name + "x" * (199 - len(name))
    assert len(name) == 199
    network["products"]["TOM-CER"].name = name
    await session.commit()
    shoppers = []
    for offset, first_name in enumerate(("Léa", "Marc")):
        await make_member(session, SHOPPER + offset, pickup=network["central"], name=first_name)
        person = sandbox.user(first_name, language="fr", user_id=SHOPPER + offset)
        await person.send("/catalogue")
        await person.press("Légumes")
        await person.press("Tomates cerises très")
        shoppers.append(person)
    lea, marc = shoppers

    await lea.press("Ajouter")
    assert await _basket_quantity(session, lea.id) == 1
    assert "Ajouté au panier" in lea.last_message.text

    card = marc.last_message
    await asyncio.gather(marc.press("Ajouter", message=card), marc.press("Ajouter", message=card))
    assert await _basket_quantity(session, marc.id) == 2
    assert sandbox.stats.refusals == []  # every answer and every view went through
