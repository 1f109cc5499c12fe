"""Producers' accounts through the sandbox: a month of sales with a weighed chicken and a
shortage, the network's 10 % commission, what we owe whom, the statement (PDF, CSV), the payout
marked once, the statements sent to the producers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from handlers import cycle_run
from models import Order, OrderLine, Payout, Product
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.handlers.test_weighing import NBSP, consumer, make_farm, pdf_text, producer_user
from tests.invariants import check_invariants


@pytest.fixture
def settings(engine):
    """The test settings with a 10 % commission."""
    from bot.settings import load_settings

    return load_settings(
        _env_file=None,
        database_url=str(engine.url.render_as_string(hide_password=False)),
        admin_ids=str(ADMIN_TELEGRAM_ID),
        telegram_bot_token=None,
        commission_percent="10",
    )


@pytest.fixture
async def farm(session, clock):
    """The factories' network with a weighed chicken."""
    return await make_farm(session, clock)


async def buy(user, search: str, name: str, times: int = 1) -> None:
    await user.send(search)
    await user.press(name)
    for _ in range(times - 1):
        await user.press("➕")
    await user.press("Ajouter")


async def test_a_producers_month_less_commission(app, sandbox, session, farm, clock):
    jeanne = await consumer(sandbox, session, "Jeanne", "Martin", farm["central"])
    paul = await consumer(sandbox, session, "Paul", "Durand", farm["central"])
    await buy(jeanne, "poulet", "Poulet fermier")
    await buy(jeanne, "miel", "Miel de châtaignier", times=2)
    await jeanne.send("/panier")
    await jeanne.press("Confirmer la commande")
    clock.advance(minutes=5)
    await buy(paul, "poulet", "Poulet fermier")
    await buy(paul, "miel", "Miel de châtaignier")
    await paul.send("/panier")
    await paul.press("Confirmer la commande")
    await cycle_run.close_and_dispatch(app, farm["cycle"].id)

    marie = await producer_user(sandbox, session, farm["producer"])
    # Only two honeys: Paul, who confirmed last, loses his (8,50 € refunded).
    await marie.send("seulement 2 miel")
    await marie.press("Confirmer le manque")
    assert "Manque enregistré" in marie.last_message.text
    await marie.send("poulet jeanne 1,82\npoulet paul 2")  # 17,29 € and 19,00 €
    assert "reçu envoyé" in marie.last_message.text

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/releves")
    accounts = admin.last_message
    assert "Comptes des producteurs — décembre 2026" in accounts.text
    assert "Commission du réseau : 10\u202f%" in accounts.text
    # Gross 17,29 + 17,00 + 19,00 + 8,50 = 61,79; refunds 8,50; sales 53,29;
    # commission 10 % = 5,329 → 5,33; due 47,96.
    assert (
        f"Les Jardins de la Vonne : ventes 61,79{NBSP}€, remboursements 8,50{NBSP}€, "
        f"commission 5,33{NBSP}€ → dû 47,96{NBSP}€ — ⬜ à payer"
    ) in accounts.text
    assert f"Reste à payer : 47,96{NBSP}€" in accounts.text
    # The statement's net is the sum of the producer's lines less the commission.
    lines_sum = await session.scalar(
        select(func.sum(OrderLine.total_cents))
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Product.producer_id == farm["producer"].id, Order.cycle_id == farm["cycle"].id)
    )
    await session.commit()
    assert lines_sum == 5329
    assert lines_sum - 533 == 4796

    await admin.press("Les Jardins de la Vonne", message=accounts)
    csv_message, pdf_message = admin.messages[-1], admin.messages[-2]
    assert "Net dû : 47,96" in admin.messages[-3].text.replace(NBSP, " ")
    rows = list(
        csv.DictReader(io.StringIO(csv_message.document.content.decode("utf-8-sig")), delimiter=";")
    )
    sold = [r for r in rows if r["Date de retrait"]]
    assert sum(Decimal(r["Montant (€)"].replace(",", ".")) for r in sold) == Decimal("53.29")
    assert {r["Produit"]: r["Montant (€)"] for r in rows if not r["Date de retrait"]} == {
        "Remboursement (manque) : Miel de châtaignier": "-8,50",
        "Ventes brutes": "61,79",
        "Remboursements (manques)": "-8,50",
        "Ventes": "53,29",
        "Commission du réseau (10\u202f%)": "-5,33",
        "Net dû": "47,96",
    }
    assert [r["Poids (kg)"] for r in sold if r["Produit"] == "Poulet fermier"] == ["1,82", "2"]
    page = pdf_text(pdf_message.document.content)
    assert "Relevé — Les Jardins de la Vonne" in page
    assert f"47,96{NBSP}€" in page

    # The payout, marked once.
    await admin.press("Payé", message=accounts)
    assert f"payé de 47,96{NBSP}€ pour décembre 2026" in accounts.text
    await admin.press("Oui, c’est payé", message=accounts)
    assert f"Paiement de 47,96{NBSP}€ à Les Jardins de la Vonne enregistré" in accounts.text
    assert "✅ payé" in accounts.text
    assert f"Reste à payer : 0,00{NBSP}€" in accounts.text
    assert await session.scalar(select(func.count(Payout.id))) == 1
    await session.commit()

    # The statements go to the producers through the outbox, once for the same amounts.
    await admin.press("Envoyer les relevés", message=accounts)
    assert "Relevés envoyés à 1 personne des fermes" in accounts.text
    assert "Relevé — Les Jardins de la Vonne" in marie.messages[-3].text
    assert f"Net dû : 47,96{NBSP}€" in marie.messages[-3].text
    assert "Payé le" in marie.messages[-3].text
    assert marie.messages[-2].document.file_name.endswith(".pdf")
    assert marie.messages[-1].document.file_name.endswith(".csv")
    before = len(marie.messages)
    await admin.press("Envoyer les relevés", message=accounts)
    assert "déjà été envoyés" in accounts.text
    assert len(marie.messages) == before

    # Marie reads her own statement.
    await marie.send("/releves")
    assert f"Net dû : 47,96{NBSP}€" in marie.messages[-3].text
    await check_invariants(session)


async def test_a_month_with_nothing_sold_and_a_consumer_refused(app, sandbox, session, farm):
    admin = sandbox.user("Admin", language="en", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/statements")
    assert "No sales this month." in admin.last_message.text
    await admin.press("Previous month")
    assert "November 2026" in admin.last_message.text
    jeanne = await consumer(sandbox, session, "Jeanne", "Martin", farm["central"])
    await jeanne.send("/releves")
    assert "réservée à l’équipe" in jeanne.last_message.text


async def test_a_month_the_bot_cannot_read_is_said_not_replaced(app, sandbox, session, farm):
    """``/releves 2026-13`` or ``/releves novembre`` is not silently this month's accounts."""
    admin = sandbox.user("Admin", language="en", user_id=ADMIN_TELEGRAM_ID)
    for typed in ("/statements 2026-13", "/statements november"):
        await admin.send(typed)
        said = admin.last_message.text
        assert "No sales this month." not in said
        assert "I cannot read this month: type the year then the month, for example " in said
        assert "/statements 2026-12." in said
    await admin.send("/statements 2026-11")
    assert "November 2026" in admin.last_message.text
    jeanne = await consumer(sandbox, session, "Jeanne", "Martin", farm["central"])
    await jeanne.send("/releves 2026-13")
    assert "réservée à l’équipe" in jeanne.last_message.text
