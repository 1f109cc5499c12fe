"""Being found at the counter: an optional phone number, shared with Telegram's contact button."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Member
from tests.factories import load_demo_network, open_cycle_with_stock


@pytest.fixture
async def shop(app, session, clock):
    await load_demo_network(session)
    return await open_cycle_with_stock(session, clock() - timedelta(hours=1))


async def _phone(session, person) -> str | None:
    phone = await session.scalar(select(Member.phone).where(Member.telegram_id == person.id))
    await session.commit()
    return phone


async def _order_honey(person):
    """The person finds honey, adds it and confirms the basket: the receipt."""
    await person.send("miel")
    await person.press("Miel de châtaignier")
    await person.press("Ajouter")
    await person.send("/panier")
    await person.press("Confirmer la commande")
    return person.last_message


async def test_the_first_receipt_offers_the_contact_button_and_the_number_is_kept(
    app, sandbox, session, shop
):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    await alice.press("La Desserte — halle centrale")
    receipt = await _order_honey(alice)
    assert "confirmée — merci" in receipt.text
    assert "Voulez-vous partager votre numéro de téléphone ?" in receipt.text
    assert receipt.keyboard == [["📱 Partager mon numéro"], ["Non merci"]]
    assert receipt.reply_keyboard["keyboard"][0][0]["request_contact"] is True
    assert receipt.reply_keyboard["one_time_keyboard"] is True

    await alice.share_contact("33 6 12 34 56 78")
    assert "Merci ! Votre numéro +33612345678 est noté" in alice.last_message.text
    assert alice.last_message.reply_keyboard == {"remove_keyboard": True}
    assert await _phone(session, alice) == "+33612345678"
    await alice.send("/retrait")
    assert "Partager mon numéro" not in str(alice.last_message.buttons)


async def test_someone_elses_contact_is_refused_and_no_thanks_is_heard(app, sandbox, session, shop):
    bob = sandbox.user("Bob", language="en")
    carol = sandbox.user("Carol", language="fr")
    await bob.send("/start")
    await bob.send("/pickup")
    assert "Friday 11 December, 5:00\u202fPM–7:30\u202fPM" in bob.last_message.text
    await bob.press("📱 Share my phone number")
    assert "Would you like to share your phone number?" in bob.last_message.text
    assert bob.last_message.keyboard == [["📱 Share my phone number"], ["No thanks"]]
    await bob.share_contact("+33 6 99 99 99 99", user_id=carol.id, first_name="Carol")
    assert "I can only save your own number" in bob.last_message.text
    assert await _phone(session, bob) is None
    await bob.send("No thanks")
    assert "All right, I keep no number" in bob.last_message.text
    assert await _phone(session, bob) is None

    await carol.send("/start")
    await carol.share_contact("not a number")
    assert "ne ressemble pas à un numéro" in carol.last_message.text
    assert await _phone(session, carol) is None


async def test_the_offer_comes_with_the_first_order_only(app, sandbox, session, shop, clock):
    """A member's second week's receipt carries no offer, though no number was ever given."""
    from models.closing import close_cycle

    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    await alice.press("La Desserte — halle centrale")
    for week in range(2):
        receipt = await _order_honey(alice)
        assert "confirmée — merci" in receipt.text
        if week == 0:
            assert "Voulez-vous partager votre numéro de téléphone ?" in receipt.text
            await alice.send("Non merci")
            await close_cycle(session, shop.id, clock.advance(days=5))
            await session.commit()
            await open_cycle_with_stock(session, clock.advance(days=2))
    assert "partager votre numéro" not in receipt.text
    assert receipt.reply_keyboard is None
    assert await _phone(session, alice) is None
