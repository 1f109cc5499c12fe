"""Paying, through the sandbox, in each of the network's modes, reading what people see: a
member paying from her balance (with a shortage credited back), an online payment whose
``successful_payment`` arrives twice and counts once, the check-in at the counter, what is
unpaid, and a balance that never goes past its overdraft under racing taps. Every test ends
with the invariants (money included)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from handlers import cycle_run
from models import Member, Offer, Order, OrderStatus, Payment, Product
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_member, make_network
from tests.invariants import check_invariants

ALICE, BOB, MARIE = 1001, 1002, 2001
EURO = "\u00a0€"
BALANCE = {"payment_mode": "balance"}
ONLINE = {"payment_mode": "online", "payment_provider_token": "284685063:TEST:sandbox"}


def euros(text: str) -> str:
    """``text`` with the non-breaking space Babel puts before €."""
    return text.replace(" €", EURO)


@pytest.fixture
def settings(engine, request):
    """The test application's settings, with the payment settings a test asks for."""
    from bot.settings import load_settings

    return load_settings(
        _env_file=None,
        database_url=str(engine.url.render_as_string(hide_password=False)),
        admin_ids=str(ADMIN_TELEGRAM_ID),
        telegram_bot_token=None,
        **getattr(request, "param", {}),
    )


@pytest.fixture
async def week(app, sandbox, session, clock):
    """An open cycle (honey at 8,50 €, 20 pots), Alice and Bob at the central hall, Marie
    linked to the farm, and the admin, all in the sandbox."""
    network = await make_network(session, clock())
    await make_member(session, ALICE, pickup=network["central"], name="Alice")
    await make_member(session, BOB, pickup=network["central"], name="Bob")
    marie = await make_member(session, MARIE, name="Marie")
    marie.producer_id = network["producer"].id
    await session.commit()
    return {
        **network,
        "alice": sandbox.user("Alice", language="fr", user_id=ALICE),
        "bob": sandbox.user("Bob", language="fr", user_id=BOB),
        "marie": sandbox.user("Marie", language="fr", user_id=MARIE),
        "admin": sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID),
    }


async def add_honey(person, pots: int = 1) -> None:
    """``person`` finds the honey by typing and adds ``pots`` pots from its card."""
    await person.send("miel")
    await person.press("Miel de châtaignier")
    for _ in range(pots - 1):
        await person.press("➕")
    await person.press("Ajouter")


async def confirm(person) -> str:
    """``person`` opens the basket and confirms; the order number the receipt gives."""
    await person.send("/panier")
    await person.press("Confirmer la commande")
    found = re.search(r"n° (\d+)", person.last_message.text)
    return f"n° {found.group(1)}" if found else ""


async def shortage(marie, text: str) -> None:
    """Marie reports a shortage after the close and confirms it."""
    await marie.send(f"/manque {text}")
    await marie.press("Confirmer le manque")


# -- prepaid balance --------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [BALANCE], indirect=True)
async def test_a_member_pays_from_her_balance_and_a_shortage_is_credited_back(
    app, sandbox, session, week
):
    alice, admin, marie = week["alice"], week["admin"], week["marie"]
    await admin.send("/crediter Alice 20 virement reçu le 3/12")
    assert euros("👛 20,00 € crédités à Alice (virement). Nouveau solde : 20,00 €.") in (
        admin.last_message.text
    )
    await alice.send("/solde")
    assert euros("Votre porte-monnaie : 20,00 €") in alice.last_message.text
    assert euros("Crédit (virement) — reçu le 3/12 : +20,00 €") in alice.last_message.text

    # Three pots (25,50 €) are more than her balance: confirming is refused, and says why.
    await add_honey(alice, 3)
    await alice.send("/panier")
    await alice.press("Confirmer la commande")
    assert (
        euros(
            "Votre porte-monnaie ne couvre pas cette commande : elle ferait 25,50 €, il reste "
            "20,00 € disponibles."
        )
        in alice.last_message.text
    )
    # Two pots fit: the order holds 17,00 € of the balance until the close.
    await alice.send("/panier")
    await alice.press("➖")
    number = await confirm(alice)
    assert number
    assert "confirmée" in alice.last_message.text
    await alice.send("/solde")
    assert euros("Dont 17,00 € réservés pour votre commande en cours : 3,00 € disponibles.") in (
        alice.last_message.text
    )
    # A third pot added to the confirmed order would pass the balance: refused on the card.
    await add_honey(alice)
    assert "ne couvre pas cette commande" in alice.last_message.text

    await cycle_run.close_and_dispatch(app, week["cycle"].id)
    receipt = next(m.text for m in reversed(alice.messages) if "définitive" in (m.text or ""))
    assert euros("Payée avec votre porte-monnaie : 17,00 €") in receipt
    await alice.send("/solde")
    assert euros("Votre porte-monnaie : 3,00 €") in alice.last_message.text
    assert euros(f"Commande {number} : −17,00 €") in alice.last_message.text

    # Marie has one pot only: Alice's order loses one, and her balance gets it back by itself.
    await shortage(marie, "miel 1")
    await alice.send("/solde")
    assert euros("Votre porte-monnaie : 11,50 €") in alice.last_message.text
    assert euros(f"Remboursement {number} : +8,50 €") in alice.last_message.text

    # Nothing to collect at the counter.
    await admin.send("/retraits")
    await admin.press("Halle centrale")
    assert [b for row in admin.last_message.buttons for b in row if "Alice" in b] == [
        f"⬜ Alice · {number} — payé"
    ]
    await check_invariants(session)


# -- online, through Telegram Payments --------------------------------------------------------


async def payments_count(session) -> int:
    count = await session.scalar(select(func.count(Payment.id)))
    await session.commit()
    return int(count or 0)


@pytest.mark.parametrize("settings", [ONLINE], indirect=True)
async def test_an_online_payment_sent_twice_by_telegram_counts_once(app, sandbox, session, week):
    alice, admin = week["alice"], week["admin"]
    await add_honey(alice, 2)
    number = await confirm(alice)
    await cycle_run.close_and_dispatch(app, week["cycle"].id)
    invoice = alice.last_message
    assert invoice.invoice is not None
    assert invoice.invoice["title"] == f"Commande {number}"
    assert (invoice.invoice["currency"], invoice.invoice["total_amount"]) == ("EUR", 1700)
    receipt = alice.messages[-2].text
    assert euros("À payer en ligne : 17,00 €, avec la facture qui suit (ou /payer).") in receipt

    # Telegram delivers the successful_payment twice (its webhook call looked lost): one payment.
    query = await alice.pay(repeat=2)
    assert query.answered
    assert query.ok
    thanks = [m.text for m in alice.messages if (m.text or "").startswith("✅ Paiement reçu")]
    assert thanks == [euros(f"✅ Paiement reçu : 17,00 € pour la commande {number}. Merci !")]
    assert await payments_count(session) == 1
    await alice.send("/payer")
    assert alice.last_message.text == "Vous n’avez rien à payer pour le moment. Merci !"
    await admin.send("/impayes")
    assert admin.last_message.text == "✅ Tout est payé."
    await check_invariants(session)


@pytest.mark.parametrize("settings", [ONLINE], indirect=True)
async def test_an_invoice_whose_amount_changed_is_refused_then_a_shortage_after_paying_is_credited(
    app, sandbox, session, week
):
    alice, marie = week["alice"], week["marie"]
    await add_honey(alice, 2)
    number = await confirm(alice)
    await cycle_run.close_and_dispatch(app, week["cycle"].id)
    first_invoice = alice.last_message
    # A shortage before she pays: the old invoice is refused before any money moves.
    await shortage(marie, "miel 1")
    refused = await alice.pay(message=first_invoice)
    assert refused.answered
    assert not refused.ok
    assert refused.error_message == euros(
        f"Le montant de la commande {number} a changé : 8,50 € à payer. Tapez /payer pour une "
        "nouvelle facture."
    )
    assert await payments_count(session) == 0
    await alice.send("/payer")
    assert alice.last_message.invoice["total_amount"] == 850
    assert (await alice.pay()).ok
    # Then Marie has none at all: the 8,50 € paid go to Alice's balance.
    await shortage(marie, "miel 0")
    await alice.send("/solde")
    assert euros("Votre porte-monnaie : 8,50 €") in alice.last_message.text
    assert euros(f"Remboursement {number} : +8,50 €") in alice.last_message.text
    await check_invariants(session)


# -- at pickup --------------------------------------------------------------------------------


async def test_a_double_tap_at_the_counter_does_not_undo_the_first(app, sandbox, session, week):
    """The counter's buttons set a state, they do not toggle one: a double tap on "Retirée sans
    payer", or on a collected order's line (to take it back), does what one tap does."""
    bob, admin = week["bob"], week["admin"]
    await add_honey(bob)
    bob_number = await confirm(bob)
    await cycle_run.close_and_dispatch(app, week["cycle"].id)
    await admin.send("/retraits")
    await admin.press("Halle centrale")
    await admin.press(f"Bob · {bob_number}")
    asked = admin.last_message
    taken = await admin.press("Retirée sans payer", message=asked)
    await admin.press_data(taken.data, message=asked)  # the second tap of a double tap
    listing = admin.last_message
    assert "✅ Retirée" in listing.text
    labels = [b for row in listing.buttons for b in row]
    assert any(b.startswith(f"✅ Bob · {bob_number}") for b in labels), labels
    order = await session.scalar(
        select(Order)
        .join(Member)
        .where(Member.telegram_id == BOB)
        .execution_options(populate_existing=True)
    )
    assert order.status == OrderStatus.COLLECTED
    await session.commit()

    # Taken back, with a double tap: not collected, once.
    back = await admin.press(f"✅ Bob · {bob_number}", message=listing)
    await admin.press_data(back.data, message=listing)
    assert "Pas encore retirée" in admin.last_message.text
    await session.refresh(order)
    assert order.status == OrderStatus.CONFIRMED
    await check_invariants(session)


async def test_the_check_in_records_who_paid_and_how_and_the_admin_sees_what_is_unpaid(
    app, sandbox, session, week
):
    alice, bob, admin = week["alice"], week["bob"], week["admin"]
    await add_honey(alice, 2)
    alice_number = await confirm(alice)
    await add_honey(bob)
    bob_number = await confirm(bob)
    await cycle_run.close_and_dispatch(app, week["cycle"].id)
    receipt = next(m.text for m in reversed(alice.messages) if "définitive" in (m.text or ""))
    assert euros("À payer au retrait : 17,00 €.") in receipt

    await admin.send("/retraits")
    await admin.press("Halle centrale")
    assert euros("Reste à encaisser : 25,50 €") in admin.last_message.text
    await admin.press(f"Alice · {alice_number}")
    assert euros(f"Alice · {alice_number} : 17,00 € à payer. Payé comment ?") in (
        admin.last_message.text
    )
    await admin.press("Espèces")
    listing = admin.last_message
    assert euros("✅ Retirée, payée 17,00 € (espèces)") in listing.text
    assert euros("Reste à encaisser : 8,50 €") in listing.text
    labels = [b for row in listing.buttons for b in row]
    assert f"✅ Alice · {alice_number} — payé" in labels
    assert euros(f"⬜ Bob · {bob_number} — à payer 8,50 €") in labels

    await admin.send("/exporter")
    await admin.press("Halle centrale")
    page = PdfReader(io.BytesIO(admin.last_message.document.content)).pages[0].extract_text()
    assert euros("Reste à encaisser : 8,50 €") in page
    assert euros("à payer : 8,50 €") in page
    assert "payé" in page

    await admin.send("/exporter")
    await admin.press("Listes de retrait (tableur)")
    rows = list(
        csv.reader(
            io.StringIO(admin.last_message.document.content.decode("utf-8-sig")), delimiter=";"
        )
    )
    assert rows[0][:6] == [
        "Consommateur",
        "Point de retrait",
        "Commande",
        "Téléphone",
        "Total (€)",
        "À payer (€)",
    ]
    assert ["Alice", "Halle centrale", alice_number[3:], "", "17,00", "0,00"] == rows[1][:6]
    assert ["Bob", "Halle centrale", bob_number[3:], "", "8,50", "8,50"] == rows[2][:6]

    await admin.send("/impayes")
    unpaid = admin.last_message.text
    assert euros("Reste à payer : 8,50 €") in unpaid
    assert euros(f"• Bob · {bob_number} — 8,50 €") in unpaid
    assert euros(f"Bob : 8,50 € ({bob_number})") in unpaid
    assert "Alice" not in unpaid

    # Ticked by mistake: pressed again, Alice's order is not collected nor paid any more.
    await admin.send("/retraits")
    await admin.press("Halle centrale")
    await admin.press(f"Alice · {alice_number}")
    await admin.send("/impayes")
    assert euros(f"Alice : 17,00 € ({alice_number})") in admin.last_message.text
    await check_invariants(session)


# -- racing orders against the balance --------------------------------------------------------


@pytest.mark.parametrize("settings", [{**BALANCE, "balance_overdraft_cents": 500}], indirect=True)
async def test_racing_taps_never_take_a_balance_past_its_overdraft(app, sandbox, session, week):
    """20 € on the balance, 5 € of overdraft: a confirmed pot of honey (8,50 €) and ten taps
    on ➕ at once (ten more pots, 85 € asked): only one more pot fits (17,00 € ≤ 25 €)."""
    alice, admin = week["alice"], week["admin"]
    await admin.send("/crediter Alice 20 especes")
    await add_honey(alice)
    await confirm(alice)
    await alice.send("/panier")
    basket = alice.last_message
    plus = next(
        data
        for row, labels in zip(basket.button_data, basket.buttons, strict=True)
        for data, label in zip(row, labels, strict=True)
        if label == "➕"
    )
    await asyncio.gather(*(alice.press_data(plus, message=basket) for _ in range(10)))
    await alice.send("/solde")
    assert euros("Dont 17,00 € réservés pour votre commande en cours : 3,00 € disponibles.") in (
        alice.last_message.text
    )
    await check_invariants(session, overdraft_cents=500)
    await cycle_run.close_and_dispatch(app, week["cycle"].id)
    await alice.send("/solde")
    assert euros("Votre porte-monnaie : 3,00 €") in alice.last_message.text
    await check_invariants(session, overdraft_cents=500)


# -- weighed products: the amount is final once weighed ---------------------------------------


async def add_chicken(session, week) -> None:
    """A whole chicken sold per piece at ≈ 1,8 kg and 9,50 €/kg (≈ 17,10 €), 5 offered."""
    chicken = Product(
        producer=week["producer"],
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
    session.add(Offer(cycle=week["cycle"], product=chicken, offered=Decimal(5)))
    await session.commit()


async def order_chicken(person) -> str:
    await person.send("poulet")
    await person.press("Poulet fermier")
    await person.press("Ajouter")
    return await confirm(person)


@pytest.mark.parametrize("settings", [BALANCE], indirect=True)
async def test_a_weighed_chicken_paid_from_the_balance_is_debited_its_final_amount(
    app, sandbox, session, week
):
    alice, admin, marie = week["alice"], week["admin"], week["marie"]
    await add_chicken(session, week)
    await admin.send("/crediter Alice 30 cheque")
    number = await order_chicken(alice)
    await cycle_run.close_and_dispatch(app, week["cycle"].id)
    await alice.send("/solde")
    assert euros("Votre porte-monnaie : 12,90 €") in alice.last_message.text  # the estimate
    # Weighed at 1,82 kg: 17,29 €, the 0,19 € more are debited too.
    await marie.send("poulet Alice 1,82")
    receipt = next(m.text for m in reversed(alice.messages) if "Montant définitif" in m.text)
    assert euros("Payée avec votre porte-monnaie : 17,29 €") in receipt
    await alice.send("/solde")
    assert euros("Votre porte-monnaie : 12,71 €") in alice.last_message.text
    assert euros(f"Commande {number} : −0,19 €") in alice.last_message.text
    # Corrected to 1,7 kg (16,15 €): the difference comes back.
    await marie.send("poulet Alice 1,7")
    await alice.send("/solde")
    assert euros("Votre porte-monnaie : 13,85 €") in alice.last_message.text
    await check_invariants(session)


@pytest.mark.parametrize("settings", [ONLINE], indirect=True)
async def test_the_invoice_of_a_weighed_order_comes_once_it_is_weighed(app, sandbox, session, week):
    alice, marie = week["alice"], week["marie"]
    await add_chicken(session, week)
    number = await order_chicken(alice)
    await cycle_run.close_and_dispatch(app, week["cycle"].id)
    assert not any(m.invoice for m in alice.messages)
    assert "À payer en ligne une fois vos produits pesés" in alice.last_message.text
    await alice.send("/payer")
    assert alice.last_message.text == "Vous n’avez rien à payer pour le moment. Merci !"
    await marie.send("poulet Alice 1,82")
    invoice = alice.last_message
    assert invoice.invoice["total_amount"] == 1729
    assert invoice.invoice["title"] == f"Commande {number}"
    assert (await alice.pay()).ok
    await check_invariants(session)


@pytest.mark.parametrize("settings", [BALANCE], indirect=True)
async def test_the_credit_usage_reads_in_english_and_its_example_works(app, sandbox, session, week):
    admin = week["admin"]
    await admin.send("/langue")
    await admin.press("English")
    await admin.send("/credit")
    usage = admin.last_message.text
    assert "/credit Alice Martin 50 transfer received on 3/12" in usage
    assert "virement" not in usage
    await admin.send("/credit Alice 50 transfer received on 3/12")
    assert "👛 €50.00 credited to Alice (transfer). New balance: €50.00." in (
        admin.last_message.text
    )
