"""Text with control characters (a NUL, which PostgreSQL refuses) is read politely and stored
without them: invitation links, a producer's stock message, a broadcast draft."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Broadcast, StockUpdate
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import load_demo_network
from tests.handlers.test_producer_stock import MARIE, link


@pytest.fixture
def errors(app):
    seen: list[BaseException] = []

    async def record(update, context):
        seen.append(context.error)

    app.add_error_handler(record)
    return seen


@pytest.mark.parametrize("payload", ["f-\x00abc", "p-\x00", "d-ab\x00c", "f-" + "x" * 200])
async def test_an_invitation_link_with_control_characters_is_a_polite_no(
    app, sandbox, session, errors, payload
):
    await load_demo_network(session)
    alice = sandbox.user("Alice", language="fr")
    await alice.send(f"/start {payload}")
    assert any("n’est plus valable" in (m.text or "") for m in alice.messages)
    assert not errors


async def test_a_stock_message_and_a_broadcast_keep_no_nul(app, sandbox, session, clock, errors):
    from datetime import timedelta

    from tests.factories import open_cycle_with_stock

    await load_demo_network(session)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    await link(session, MARIE, "jardins-lusignan", name="Marie")
    marie = sandbox.user("Marie", language="fr", user_id=MARIE)
    await marie.send("tomates anciennes\x00 12 kg")
    assert "Tomates anciennes" in marie.last_message.text
    await session.commit()
    stored = await session.scalar(select(StockUpdate.text).order_by(StockUpdate.id.desc()))
    assert stored == "tomates anciennes 12 kg"
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/diffusion")
    await admin.send("Marché\x00 de Noël")
    assert "À qui faut-il l’envoyer ?" in admin.last_message.text
    await session.commit()  # end the earlier read: see what the bot wrote since
    draft = await session.scalar(select(Broadcast.text).order_by(Broadcast.id.desc()))
    assert draft == "Marché de Noël"
    assert not errors
