"""Talking like a person: greetings, thanks, help, paying, cancelling, a lone number."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network, open_cycle_with_stock


@pytest.fixture
def settings(engine):
    from bot.settings import load_settings

    return load_settings(
        _env_file=None,
        database_url=str(engine.url.render_as_string(hide_password=False)),
        admin_ids=str(ADMIN_TELEGRAM_ID),
        telegram_bot_token=None,
        team_contact="Claire, 06 12 34 56 78",
    )


@pytest.fixture
async def shop(app, session, clock):
    await load_demo_network(session)
    return await open_cycle_with_stock(session, clock() - timedelta(hours=1))


def buttons(message) -> list[str]:
    return [text for row in message.buttons for text in row]


async def test_small_talk_in_french(app, sandbox, shop):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("Bonjour !")
    assert "Bonjour Alice" in alice.last_message.text
    assert "rien trouvé" not in alice.last_message.text
    assert "🛍 Catalogue" in buttons(alice.last_message)
    await alice.send("merci beaucoup")
    assert "Avec plaisir" in alice.last_message.text
    await alice.send("je veux annuler ma commande")
    text = alice.last_message.text
    assert "/panier" in text
    assert "Vider le panier" in text
    assert "clôture" in text
    await alice.send("aide")
    text = alice.last_message.text
    assert "/catalogue" in text
    assert "/aide" in text
    assert "à la remise de la commande, en espèces, chèque ou carte" in text
    assert "Claire, 06 12 34 56 78" in text
    await alice.send("3")
    assert "De quel produit" in alice.last_message.text
    await alice.send("comment payer ?")
    assert "Paiement" in alice.last_message.text
    # A product is still a product.
    await alice.send("tomates")
    assert "Tomates anciennes" in alice.last_message.text


async def test_small_talk_in_english(app, sandbox, shop):
    bob = sandbox.user("Bob", language="en")
    await bob.send("hello")
    assert "Hello Bob" in bob.last_message.text
    await bob.send("thanks!")
    assert "pleasure" in bob.last_message.text
    await bob.send("I want to cancel my order")
    text = bob.last_message.text
    assert "/basket" in text
    assert "Empty the basket" in text
    await bob.send("help")
    text = bob.last_message.text
    assert "/catalog" in text
    assert "/help" in text
    assert "on collection, in cash, by cheque or by card" in text
    assert "Claire, 06 12 34 56 78" in text
    await bob.send("12")
    assert "Which product" in bob.last_message.text


async def test_cancel_after_the_close_gives_the_team(app, sandbox, session, clock):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("annuler")
    text = alice.last_message.text
    assert "closes" in text
    assert "Claire, 06 12 34 56 78" in text


async def test_help_command_tells_how_to_pay_and_whom_to_ask(app, sandbox):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/aide")
    assert "Paiement : à la remise de la commande" in alice.last_message.text
    assert "Claire, 06 12 34 56 78" in alice.last_message.text


async def test_payment_info_setting_per_language(engine, sandbox, clock):
    from bot.settings import load_settings
    from tests.admin_support import running_app

    settings = load_settings(
        _env_file=None,
        database_url=str(engine.url.render_as_string(hide_password=False)),
        telegram_bot_token=None,
        payment_info="par virement avant jeudi",
        payment_info_en="by bank transfer before Thursday",
    )
    async with running_app(settings, engine, sandbox, clock, rate_limiter=False):
        alice = sandbox.user("Alice", language="fr")
        await alice.send("/aide")
        assert "par virement avant jeudi" in alice.last_message.text
        bob = sandbox.user("Bob", language="en")
        await bob.send("/help")
        assert "by bank transfer before Thursday" in bob.last_message.text
        assert "demandez" not in bob.last_message.text


async def test_search_by_kind_and_english_names(app, sandbox, session, shop):
    from sqlalchemy import update

    from models import Product

    await session.execute(
        update(Product).where(Product.sku == "CRO-FRA").values(name_en="Fresh goat crottin")
    )
    await session.commit()
    alice = sandbox.user("Alice", language="fr")
    await alice.send("chèvre")
    assert "Chabichou du Poitou" in alice.last_message.text
    assert "Crottin frais" in alice.last_message.text
    bob = sandbox.user("Bob", language="en")
    await bob.send("cheese")
    assert "Fresh goat crottin" in bob.last_message.text
    assert "Fresh goat crottin" in buttons(bob.last_message)
    assert "Crottin frais" not in bob.last_message.text
