"""/start, /aide and /langue through the sandbox, as a person would use them."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_TELEGRAM_ID


async def test_start_greets_in_french(app, sandbox):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    text = alice.messages[0].text
    assert "Bonjour Alice" in text
    assert "La Desserte Locale" in text


async def test_the_greeting_tells_this_networks_reach(app, sandbox, session):
    """No claim the network cannot back: before any catalog, "local producers"; then how many
    sell in it and how far the farthest farm is (the demo network: 8, 50 km)."""
    from tests.factories import load_demo_network

    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    assert "les produits frais des producteurs du coin" in alice.last_message.text
    await load_demo_network(session)
    await alice.send("/start")
    assert "les produits frais de 8 producteurs à 50 km au plus" in alice.last_message.text
    jean = sandbox.user("Jean", language="en")
    await jean.send("/start")
    assert "fresh produce from 8 producers at most 50 km away" in jean.last_message.text


async def test_start_greets_in_english_from_language_code(app, sandbox):
    bob = sandbox.user("Bob", language="en-GB")
    await bob.send("/start")
    assert "Hello Bob" in bob.messages[0].text


async def test_unknown_language_falls_back_to_french(app, sandbox):
    hans = sandbox.user("Hans", language="de")
    await hans.send("/start")
    assert "Bonjour Hans" in hans.messages[0].text


async def test_help_lists_commands_in_the_members_language(app, sandbox):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/aide")
    assert "/langue" in alice.last_message.text
    bob = sandbox.user("Bob", language="en")
    await bob.send("/help")
    assert "/language" in bob.last_message.text
    assert "/langue" not in bob.last_message.text


async def test_language_switch_edits_in_place_and_sticks(app, sandbox):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/langue")
    asked = alice.last_message
    assert any("English" in b for row in asked.buttons for b in row)
    count = len(alice.messages)
    await alice.press("English")
    assert len(alice.messages) == count  # edited in place
    assert alice.last_message.edits == 1
    assert "English" in alice.last_message.text
    await alice.send("/start")
    assert "Hello Alice" in alice.last_message.text
    await alice.send("/language")
    await alice.press("Français")
    await alice.send("/start")
    assert "Bonjour Alice" in alice.last_message.text


async def test_command_menu_is_published_per_language(app, sandbox):
    french = [c["command"] for c in sandbox.commands(language_code="fr")]
    english = [c["command"] for c in sandbox.commands(language_code="en")]
    assert "aide" in french
    assert "help" in english
    assert french != english


async def test_unknown_command_and_forged_button_get_polite_answers(app, sandbox):
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/teleporter")
    assert "Je ne connais pas cette commande" in alice.last_message.text
    await alice.send("/start")
    await alice.press_data("nimporte:quoi:42")
    assert "plus valable" in alice.answers[-1].text


async def test_error_is_apologised_for_and_reported_to_admins(app, sandbox, monkeypatch):
    from handlers import help as help_module

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/start")

    def broken(context):
        raise RuntimeError("boom")

    monkeypatch.setattr(help_module, "help_text", broken)
    bob = sandbox.user("Bob", language="en")
    await bob.send("/help")
    assert "Sorry, something went wrong" in bob.last_message.text
    assert "RuntimeError: boom" in admin.last_message.text


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_main_menu_buttons_work(app, sandbox, language):
    carol = sandbox.user("Carol", language=language)
    await carol.send("/start")
    await carol.press("❓", message=carol.messages[0])
    assert "/start" in carol.messages[0].text
    await carol.press("Menu", message=carol.messages[0])
    assert "Carol" in carol.messages[0].text


async def test_a_repeating_error_reaches_the_admins_once_per_five_minutes(
    app, sandbox, monkeypatch, clock
):
    from handlers import help as help_module

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/start")
    before = len(admin.messages)

    def broken(context):
        raise RuntimeError("boom")

    monkeypatch.setattr(help_module, "help_text", broken)
    bob = sandbox.user("Bob", language="fr")
    for _ in range(3):
        await bob.send("/aide")
    assert len(admin.messages) == before + 1  # one relay, two held back
    clock.advance(minutes=6)
    await bob.send("/aide")
    assert "et 2 fois de plus" in admin.last_message.text
    assert len(bob.messages) == 4  # every person still gets an apology


async def test_an_error_reaches_every_admin_through_the_outbox(app, sandbox, session, monkeypatch):
    """An admin by role (not in ADMIN_IDS) hears of the error too, in her language, and the
    relay is written in the outbox like every message the bot sends on its own."""
    from sqlalchemy import select, update

    from handlers import help as help_module
    from models import Member, OutboxMessage

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    emma = sandbox.user("Emma", language="en")
    for person in (admin, emma):
        await person.send("/start")
    await session.execute(update(Member).where(Member.telegram_id == emma.id).values(is_admin=True))
    await session.commit()

    def broken(context):
        raise RuntimeError("boom <b>")

    monkeypatch.setattr(help_module, "help_text", broken)
    bob = sandbox.user("Bob", language="fr")
    await bob.send("/aide")
    assert "RuntimeError: boom <b>" in admin.last_message.text
    assert "Error in the bot" in emma.last_message.text
    assert "RuntimeError: boom <b>" in emma.last_message.text
    relayed = list(
        await session.scalars(
            select(OutboxMessage.telegram_id).where(OutboxMessage.kind == "error_report")
        )
    )
    await session.commit()
    assert sorted(relayed) == sorted([admin.id, emma.id])


async def test_when_the_database_fails_the_error_goes_straight_to_admin_ids(
    app, sandbox, monkeypatch, tmp_path
):
    """The database goes away in the middle of an update: the outbox cannot be written, so the
    relay goes straight to ADMIN_IDS."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from handlers import help as help_module
    from handlers.context import services_of

    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/start")
    before = len(admin.messages)
    services = services_of(app)
    gone = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/db.sqlite3")

    def broken(context):
        monkeypatch.setattr(services, "sessions", async_sessionmaker(gone))
        raise OperationalError("SELECT 1", {}, Exception("database is gone"))

    monkeypatch.setattr(help_module, "help_text", broken)
    bob = sandbox.user("Bob", language="fr")
    await bob.send("/aide")
    assert "Désolé" in bob.last_message.text
    assert len(admin.messages) == before + 1
    assert "OperationalError" in admin.last_message.text
    assert "database is gone" in admin.last_message.text
    await gone.dispose()
