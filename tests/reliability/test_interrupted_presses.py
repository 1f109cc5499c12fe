"""Presses made while the bot was away are not acted on: after a restart the person is told and
shown the view as it is now; presses made after start-up work as usual."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from sqlalchemy import select

from bot.app import build_application, start_application, stop_application
from models import Order, OrderLine, OrderStatus
from tests.admin_support import running_app
from tests.factories import make_member, make_network

LEA = 620_001
QUIET = 0.5  # polled updates are handled a moment after they are fetched
PATIENCE = 10.0


@contextlib.asynccontextmanager
async def polling_app(settings, engine, sandbox, clock) -> AsyncIterator[object]:
    """The application started again, fetching what Telegram kept with ``getUpdates``."""
    application = build_application(
        settings,
        request=sandbox.request(),
        get_updates_request=sandbox.request(),
        engine=engine,
        clock=clock,
        rate_limiter=False,
    )
    await start_application(application)
    await application.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await stop_application(application)


async def _settle(sandbox, done: Callable[[], bool]) -> None:
    """Wait until ``done()`` holds, the sandbox quiet each time it is asked: a polled update
    is handled after it is fetched, and on a loaded machine its handler may not have made its
    first call within ``QUIET`` (the update fetched, nothing in flight, the sandbox looked idle).
    Returns when ``done()`` holds or after ``PATIENCE`` seconds; the caller asserts."""
    deadline = time.monotonic() + PATIENCE
    await sandbox.idle(quiet=QUIET)
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(QUIET / 5)
        await sandbox.idle(quiet=QUIET)


async def _basket(session) -> tuple[OrderStatus, list[str]]:
    order = await session.scalar(select(Order))
    lines = await session.scalars(select(OrderLine.quantity).where(OrderLine.order_id == order.id))
    state = order.status, [str(q) for q in lines]
    await session.commit()  # the next look sees what the bot wrote since
    return state


async def test_presses_queued_while_the_bot_was_down_change_nothing(
    settings, engine, sandbox, session, clock
):
    network = await make_network(session, clock())
    await make_member(session, LEA, pickup=network["central"], name="Léa")
    lea = sandbox.user("Léa", language="fr", user_id=LEA)
    async with running_app(settings, engine, sandbox, clock, rate_limiter=False):
        await lea.send("/catalogue")
        await lea.press("Légumes")
        await lea.press("Tomates cerises")
        await lea.press("Ajouter")
        card = lea.last_message
        await lea.send("/panier")
        basket = lea.last_message
    sandbox.detach()
    before = await _basket(session)
    assert before[0] == OrderStatus.BASKET

    # The bot is down: Telegram keeps the presses until it asks for them.
    await lea.press("Confirmer la commande", message=basket)
    await lea.press("Ajouter", message=card)
    assert sandbox.pending_updates == 2

    async with polling_app(settings, engine, sandbox, clock):
        await _settle(
            sandbox,
            lambda: (
                sum("interruption" in (a.text or "") for a in lea.answers) >= 2
                and "interruption" in basket.text
                and "interruption" in (card.caption or card.text)
            ),
        )
        assert sandbox.pending_updates == 0
        assert await _basket(session) == before  # not confirmed, nothing added
        assert "interruption" in basket.text
        assert "Confirmer la commande" in str(basket.buttons)  # the current basket, unconfirmed
        assert "interruption" in (card.caption or card.text)
        assert [a.text for a in lea.answers[-2:]] == [
            "⏸ Ce bouton date d’avant une interruption du service : je n’en ai rien fait. "
            "Voici ce qui est à jour."
        ] * 2

        # Pressed now, the same buttons act.
        await lea.press("Ajouter", message=card)
        await _settle(sandbox, lambda: "Ajouté au panier" in (card.caption or card.text))
        assert "Ajouté au panier" in (card.caption or card.text)
        await lea.send("/panier")
        await _settle(sandbox, lambda: lea.last_message not in (card, basket))
        await lea.press("Confirmer la commande")
        await _settle(sandbox, lambda: "confirmée" in (lea.last_message.text or ""))
        status, lines = await _basket(session)
        assert status == OrderStatus.CONFIRMED
        assert lines != before[1]
