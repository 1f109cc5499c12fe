"""A product's card told by its producer, through the sandbox: a photo named by its caption
becomes the product's photo after a preview; a story and a recipe tip appear on the card;
bad input gets a clear answer, in French and in English."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

import pytest

from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network, open_cycle_with_stock
from tests.handlers.test_producer_stock import consumer, english, link

pytestmark = pytest.mark.database

MARIE, JOHN = 630_001, 630_002


def png(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def test_a_photo_named_by_its_caption_becomes_the_products_photo(
    app, sandbox, session, clock
):
    await load_demo_network(session)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    await link(session, MARIE, "jardins-lusignan", name="Marie")
    marie = sandbox.user("Marie", language="fr", user_id=MARIE)
    _alice, alice = await consumer(session, sandbox, 630_010, "Alice", "halle-centrale")
    # Before: the tomatoes' card is text.
    await alice.send("tomates anciennes")
    await alice.press("Tomates anciennes")
    assert not alice.last_message.photo

    # No caption, a caption naming nothing of hers, a caption naming two products: told.
    await marie.send_photo(png())
    assert "renvoyez-la avec son nom en légende" in marie.last_message.text
    await marie.send_photo(png(), caption="ananas")
    assert "Je ne trouve pas « ananas » parmi vos produits" in marie.last_message.text
    await marie.send_photo(png(), caption="tomates")
    assert "peut désigner plusieurs produits" in marie.last_message.text
    assert "Tomates cerises" in marie.last_message.text
    # Another farm's product is not hers to illustrate.
    await marie.send_photo(png(), caption="chabichou")
    assert "Je ne trouve pas « chabichou »" in marie.last_message.text

    # The preview: the photo, the card's head, the question; Annuler keeps the card as it was.
    await marie.send_photo(png(), caption="Tomates Anciennes")
    preview = marie.last_message
    assert preview.photo
    assert "C’est la photo de Tomates anciennes ?" in preview.caption
    await marie.press("✖️ Annuler")
    assert "la fiche de Tomates anciennes reste comme elle était" in marie.last_message.text
    await alice.send("tomates anciennes")
    await alice.press("Tomates anciennes")
    assert not alice.last_message.photo

    # Sent again and confirmed: the members' card is now a photo.
    sent = await marie.send_photo(png(8, 6), caption="tomates anciennes")
    await marie.press("✅ Valider")
    assert "La photo de Tomates anciennes est enregistrée" in marie.last_message.text
    await alice.send("tomates anciennes")
    await alice.press("Tomates anciennes")
    card = alice.last_message
    assert card.photo
    assert card.photo.file_id == sent.photo.file_id
    assert "Tomates anciennes" in card.caption

    # A consumer's photo is not a product's.
    await alice.send_photo(png(), caption="tomates anciennes")
    assert "pour commander, tapez /catalogue" in alice.last_message.text


async def test_a_story_and_a_tip_on_the_card_in_french_and_english(app, sandbox, session, clock):
    await load_demo_network(session)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    await link(session, MARIE, "jardins-lusignan", name="Marie")
    await link(session, JOHN, "chevrerie-chauvigny", name="John", locale="en")
    marie = sandbox.user("Marie", language="fr", user_id=MARIE)
    john = sandbox.user("John", language="en", user_id=JOHN)
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    _alice, alice = await consumer(session, sandbox, 630_011, "Alice", "halle-centrale")
    _bob, bob = await consumer(session, sandbox, 630_012, "Bob", "halle-centrale", locale="en")

    # Without the text, the command says how; a consumer may not.
    await marie.send("/histoire tomates anciennes")
    assert "/histoire tomates anciennes : semées depuis 30 ans" in marie.last_message.text
    await alice.send("/histoire tomates anciennes : les meilleures")
    assert "réservée aux producteurs" in alice.last_message.text
    await marie.send("/histoire tomates anciennes : " + "très " * 200)
    assert "600 caractères au plus" in marie.last_message.text

    await marie.send(
        "/histoire tomates anciennes : Cœur de bœuf et noire de Crimée, semées depuis 30 ans"
    )
    assert "C’est l’histoire de Tomates anciennes ?" in marie.last_message.text
    assert "📖 Cœur de bœuf et noire de Crimée" in marie.last_message.text
    await marie.press("✅ Valider")
    assert "L’histoire de Tomates anciennes est sur sa fiche" in marie.last_message.text
    # A second tap on the same preview changes nothing and says so.
    await marie.press_data(f"card:ok:{await _last_proposal(session)}")
    assert "Ce choix a déjà été fait" in marie.last_message.text

    # John, in English, gives a tip for his cheese.
    await john.send("/tip chabichou : with a drizzle of chestnut honey")
    assert (
        english("C’est l’astuce pour {name} ? Les membres la liront sur sa fiche.").format(
            name="Chabichou du Poitou"
        )
        in john.last_message.text
    )
    await john.press(english("✅ Valider"))
    assert (
        english("✅ L’astuce pour {name} est sur sa fiche.").format(name="Chabichou du Poitou")
        in john.last_message.text
    )
    # The admin may tell any product's card.
    await admin.send("/astuce tomates anciennes : en salade avec un filet d’huile de noix")
    await admin.press("✅ Valider")
    assert "L’astuce pour Tomates anciennes est sur sa fiche" in admin.last_message.text

    await alice.send("tomates anciennes")
    await alice.press("Tomates anciennes")
    card = alice.last_message.text
    assert "📖 Cœur de bœuf et noire de Crimée, semées depuis 30 ans" in card
    assert "👩‍🍳 Astuce : en salade avec un filet d’huile de noix" in card
    await bob.send("chabichou")
    await bob.press("Chabichou du Poitou")
    tip = english("👩‍🍳 Astuce : {tip}").format(tip="with a drizzle of chestnut honey")
    assert tip in bob.last_message.text
    assert tip != "👩‍🍳 Astuce : with a drizzle of chestnut honey"  # translated


async def _last_proposal(session) -> int:
    from sqlalchemy import func, select

    from models import CardProposal

    value = await session.scalar(select(func.max(CardProposal.id)))
    await session.commit()
    return int(value)
