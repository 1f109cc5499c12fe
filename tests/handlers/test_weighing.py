"""Weighed products through the sandbox: a chicken sold at an estimate, weighed after the close
(by the producer's message, in the guided flow, from the pickup-day screen), the final receipt,
the pickup list and the exports at the final amount."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from handlers import cycle_run
from models import Member, Offer, OutboxMessage, Product
from models.outbox import Kind
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_network
from tests.invariants import check_invariants

NBSP = "\u00a0"


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
async def farm(session, clock):
    """The factories' network with a weighed chicken (:func:`make_farm`)."""
    return await make_farm(session, clock)


async def make_farm(session, clock):
    """The network of the factories, plus a whole chicken sold per piece at ≈ 1,8 kg and
    9,50 €/kg (so ≈ 17,10 €), 5 offered."""
    network = await make_network(session, clock())
    producer = network["producer"]
    chicken = Product(
        producer=producer,
        sku="POULET",
        name="Poulet fermier",
        category="Viandes",
        sale_unit="pièce",
        unit_amount=Decimal(1),
        unit_measure="pièce",
        price_cents=1710,
        price_per_kg_cents=950,
        estimated_kg=Decimal("1.8"),
        step=Decimal(1),
        labels=[],
        aliases=[],
    )
    session.add(chicken)
    await session.flush()
    session.add(
        Offer(cycle=network["cycle"], product=chicken, offered=Decimal(5), ordered=Decimal(0))
    )
    await session.commit()
    network["chicken"] = chicken
    return network


async def consumer(sandbox, session, name, last_name, point, language="fr"):
    user = sandbox.user(name, last_name=last_name, language=language)
    await user.send("/start")
    member = await session.scalar(select(Member).where(Member.telegram_id == user.id))
    member.pickup_point_id = point.id
    await session.commit()
    return user


async def producer_user(sandbox, session, producer):
    marie = sandbox.user("Marie", language="fr")
    await marie.send("/start")
    member = await session.scalar(select(Member).where(Member.telegram_id == marie.id))
    member.producer_id = producer.id
    await session.commit()
    return marie


async def order_chicken(user, extra: str | None = None) -> None:
    await user.send("poulet")
    assert f"Poulet fermier — ≈ 17,10{NBSP}€ la pièce (≈ 1,8{NBSP}kg à 9,50{NBSP}€/kg)" in (
        user.last_message.text
    )
    await user.press("Poulet fermier")
    assert f"≈ 17,10{NBSP}€ la pièce (≈ 1,8{NBSP}kg à 9,50{NBSP}€/kg)" in user.last_message.text
    await user.press("Ajouter")
    if extra:
        await user.send(extra)
        await user.press(extra.capitalize().split()[0])
        await user.press("Ajouter")
    await user.send("/panier")
    basket = user.last_message.text
    assert (
        f"Poulet fermier — 1{NBSP}pièce : ≈ 17,10{NBSP}€ (≈ 1,8{NBSP}kg à 9,50{NBSP}€/kg)" in basket
    )
    assert "montant estimé" in basket
    await user.press("Confirmer la commande")


async def test_a_chicken_sold_at_an_estimate_weighed_by_message(app, sandbox, session, farm, clock):
    jeanne = await consumer(sandbox, session, "Jeanne", "Martin", farm["central"])
    paul = await consumer(sandbox, session, "Paul", "Durand", farm["central"], language="en")
    await order_chicken(jeanne, extra="miel")
    await paul.send("poulet")
    await paul.press("Poulet fermier")
    assert f"≈ €17.10 per piece (≈ 1.8{NBSP}kg at €9.50/kg)" in paul.last_message.text
    await paul.press("Add")
    await paul.send("/basket")
    await paul.press("Confirm")

    await cycle_run.close_and_dispatch(app, farm["cycle"].id)
    # The close's receipt says the amount is an estimate, and that the final one will follow.
    closing = jeanne.last_message.text
    assert f"est définitive : ≈ 25,60{NBSP}€" in closing
    assert "vous recevrez alors le montant définitif" in closing
    assert f"💶 À payer au retrait : ≈ 25,60{NBSP}€." in closing
    assert "💶 To pay at pickup: ≈ €17.10." in paul.last_message.text

    marie = await producer_user(sandbox, session, farm["producer"])
    jeanne_before = len(jeanne.messages)
    await marie.send("poulet Jeanne 1,82")
    said = marie.last_message.text
    assert "Poulet fermier — Jeanne Martin" in said
    assert f"1,82{NBSP}kg → 17,29{NBSP}€ (estimé 17,10{NBSP}€)" in said
    assert "reçu envoyé" in said
    # Jeanne's final receipt: 1,82 × 9,50 = 17,29 €, plus the honey 8,50 €.
    assert len(jeanne.messages) == jeanne_before + 1
    receipt = jeanne.last_message.text
    assert "Montant définitif de votre commande" in receipt
    assert (
        f"Poulet fermier — 1{NBSP}pièce : 17,29{NBSP}€ (1,82{NBSP}kg à 9,50{NBSP}€/kg)" in receipt
    )
    assert f"Total : 25,79{NBSP}€" in receipt
    assert "≈" not in receipt

    # A name that fits nobody, and a correction: Paul's chicken by his order's surname.
    await marie.send("poulet Gaston 1,5")
    assert "je ne trouve pas cette commande" in marie.last_message.text
    await marie.send("poulet durand 2,105 kg")
    assert f"2,105{NBSP}kg → 20,00{NBSP}€" in marie.last_message.text  # 19,9975 → 20,00
    assert "Final amount of your order" in paul.last_message.text
    assert "Total: €20.00" in paul.last_message.text

    # The pickup-day screen and the printed list read the final amounts.
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/retraits halle")
    screen = admin.last_message
    assert "à peser" not in screen.text
    assert any("Martin" in b and f"25,79{NBSP}€" in b for row in screen.buttons for b in row)
    await admin.send("/exporter")
    await admin.press("Commandes (CSV)")
    rows = list(
        csv.DictReader(
            io.StringIO(admin.last_message.document.content.decode("utf-8-sig")), delimiter=";"
        )
    )
    chickens = {r["Consommateur"]: r for r in rows if r["Produit"] == "Poulet fermier"}
    assert chickens["Jeanne Martin"]["Total (€)"] == "17,29"
    assert chickens["Jeanne Martin"]["Poids (kg)"] == "1,82"
    assert chickens["Jeanne Martin"]["Montant"] == "définitif"
    assert chickens["Paul Durand"]["Total (€)"] == "20,00"
    await admin.send("/exporter")
    await admin.press("Halle centrale")
    page = pdf_text(admin.last_message.document.content)
    assert f"1{NBSP}pièce · 1,82{NBSP}kg" in page
    assert f"25,79{NBSP}€" in page
    assert "≈" not in page
    await check_invariants(session)


async def test_guided_weighing_from_the_pickup_day_screen(app, sandbox, session, farm, clock):
    jeanne = await consumer(sandbox, session, "Jeanne", "Martin", farm["central"])
    await order_chicken(jeanne)
    await cycle_run.close_and_dispatch(app, farm["cycle"].id)

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/retraits halle")
    screen = admin.last_message
    assert "1 produit à peser" in screen.text
    assert any(f"≈ 17,10{NBSP}€" in b for row in screen.buttons for b in row)
    await admin.send("/rapport")
    assert "≈ 1 produit vendu au poids pas encore pesé" in admin.messages[-2].text
    await admin.send("/exporter")
    await admin.press("Halle centrale")
    page = pdf_text(admin.last_message.document.content)
    assert f"1{NBSP}pièce · ____{NBSP}kg" in page
    assert f"≈ 17,10{NBSP}€" in page
    await admin.send("/retraits halle")
    await admin.press("Peser (1)")
    prompt = admin.last_message.text
    assert "Pesées — 1 sur 1" in prompt
    assert "Poulet fermier — Jeanne Martin" in prompt
    assert "Tapez le poids réel" in prompt
    await admin.send("1,8x kg")
    assert "Je ne lis pas ce poids" in admin.last_message.text
    await admin.send("0")
    assert "Ce poids n’est pas possible" in admin.last_message.text
    await admin.send("1900 g")
    done = admin.last_message.text
    assert f"1,9{NBSP}kg → 18,05{NBSP}€" in done
    assert "Tout est pesé" in done
    assert f"Total : 18,05{NBSP}€" in jeanne.last_message.text
    # The flow is over: a lone number is small talk again, not a weight.
    await admin.send("/retraits halle")
    assert "à peser" not in admin.last_message.text
    receipts = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == Kind.FINAL_RECEIPT.value)
    )
    assert len([r for r in receipts if r.topic.startswith("weighed:")]) == 1
    await check_invariants(session)


async def test_a_producer_weighs_only_their_lines_and_skips(app, sandbox, session, farm, clock):
    jeanne = await consumer(sandbox, session, "Jeanne", "Martin", farm["central"])
    other = await consumer(sandbox, session, "Jeanne", "Petit", farm["central"])
    await order_chicken(jeanne)
    await order_chicken(other)
    marie = await producer_user(sandbox, session, farm["producer"])
    await cycle_run.close_and_dispatch(app, farm["cycle"].id)
    # The purchase order at the close says the chickens' amount is an estimate.
    purchase = next(m.text for m in marie.messages if "Bon de commande" in (m.text or ""))
    assert f"Poulet fermier : 2{NBSP}pièces — ≈ 34,20{NBSP}€" in purchase
    assert "pesez-les après la clôture avec /pesees" in purchase
    # Two Jeannes: the bot asks which order.
    await marie.send("poulet jeanne 1,7")
    assert "plusieurs commandes correspondent" in marie.last_message.text
    await marie.send("/pesees")
    assert "Pesées — 1 sur 2" in marie.last_message.text
    assert "Jeanne Martin" in marie.last_message.text
    await marie.press("Passer")
    assert "Jeanne Petit" in marie.last_message.text
    await marie.send("1,75")
    assert "Pesées interrompues : 1 ligne reste à peser" in marie.last_message.text
    assert f"Total : 16,63{NBSP}€" in other.last_message.text  # 1,75 × 9,50 = 16,625 → 16,63

    # A consumer who is no producer cannot weigh: "poulet Jeanne 1,8" is a search for them.
    await jeanne.send("/pesees")
    assert "réservée à l’équipe" in jeanne.last_message.text


async def test_a_weight_far_from_the_estimate_or_negative_is_refused(
    app, sandbox, session, farm, clock
):
    """A typo ("500" for 1,82 kg, "-1", "18,2") never becomes a receipt: the producer is told
    what weight the line can have, and the consumer hears nothing until a plausible one."""
    jeanne = await consumer(sandbox, session, "Jeanne", "Martin", farm["central"])
    await order_chicken(jeanne)
    await cycle_run.close_and_dispatch(app, farm["cycle"].id)
    marie = await producer_user(sandbox, session, farm["producer"])
    jeanne_before = len(jeanne.messages)
    for typo in ("poulet Jeanne 500", "poulet Jeanne 18,2", "poulet Jeanne 0,2"):
        await marie.send(typo)
        said = marie.last_message.text
        assert "ne semble pas juste" in said, said
        assert f"entre 0,36 et 9{NBSP}kg" in said, said
    await marie.send("poulet Jeanne -1")
    assert "Ce poids n’est pas possible pour Poulet fermier" in marie.last_message.text
    await marie.send("/pesees")
    await marie.send("-1,8")
    assert "Ce poids n’est pas possible" in marie.last_message.text
    await marie.send("180")
    assert "ne semble pas juste" in marie.last_message.text
    assert len(jeanne.messages) == jeanne_before
    await marie.send("1,82")
    assert f"1,82{NBSP}kg → 17,29{NBSP}€" in marie.last_message.text
    assert f"Total : 17,29{NBSP}€" in jeanne.last_message.text
    await check_invariants(session)
