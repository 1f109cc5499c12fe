"""One way to answer a button: answered before the work, refusals as pop-ups cut to 200."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram.ext import CallbackQueryHandler, ConversationHandler

from handlers import catalog, registry
from handlers.common import POPUP_LIMIT, cut_popup
from tests.factories import load_demo_network, open_cycle_with_stock


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(
    "text",
    [
        "a" * 300,
        "é" * 250,
        "e\u0301" * 150,  # a letter and its combining accent
        "👍" * 150,  # two UTF-16 units each
        "x" + "👨\u200d👩\u200d👧" * 40,  # emoji sequences joined by ZWJ
        "mot " * 80,
    ],
)
def test_a_long_popup_is_cut_on_a_character_boundary(text):
    cut = cut_popup(text)
    assert utf16(cut) <= POPUP_LIMIT
    assert cut.endswith("…")
    kept = cut[:-1]
    assert text.startswith(kept)
    rest = text[len(kept) :].lstrip()
    # Nothing that belongs to the last kept character was left behind.
    assert not rest or rest[0] not in "\u0301\u200d"
    assert not kept.endswith("\u200d")


def test_a_popup_that_fits_is_left_alone():
    assert cut_popup("x" * POPUP_LIMIT) == "x" * POPUP_LIMIT
    assert cut_popup("Ajouté !") == "Ajouté !"


def _callback_handlers(handlers):
    for handler in handlers:
        if isinstance(handler, ConversationHandler):
            nested = [*handler.entry_points, *handler.fallbacks]
            for state in handler.states.values():
                nested.extend(state)
            yield from _callback_handlers(nested)
        elif isinstance(handler, CallbackQueryHandler):
            yield handler


def test_every_button_goes_through_the_one_helper():
    """Only the catch-alls for unknown buttons answer without a route."""
    outside = []
    for handler in _callback_handlers(registry.build_handlers()):
        if handler.callback.__module__ != "handlers.buttons":
            outside.append(handler.callback.__qualname__)
    assert sorted(outside) == ["answer_outside", "answer_unknown_button"]


async def test_the_press_is_answered_before_the_basket_changes(
    app, sandbox, session, clock, monkeypatch
):
    await load_demo_network(session)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    alice = sandbox.user("Alice", language="fr")
    answered_before_work = []
    real_add = catalog.add_to_basket

    async def add_to_basket(*args, **kwargs):
        answered_before_work.append(len(alice.answers))
        return await real_add(*args, **kwargs)

    monkeypatch.setattr(catalog, "add_to_basket", add_to_basket)
    await alice.send("/start")
    await alice.press("La Desserte — halle centrale")
    await alice.send("miel")
    await alice.press("Miel de châtaignier")
    answers = len(alice.answers)
    await alice.press("Ajouter")
    assert answered_before_work == [answers + 1]
    # The answer shows nothing; what happened is on the card itself.
    assert alice.answers[-1].text is None
    card = alice.last_message
    assert "Ajouté au panier : Miel de châtaignier" in (card.text or card.caption)


async def test_a_button_from_a_closed_week_is_refused_before_any_work(
    app, sandbox, session, clock, monkeypatch
):
    from sqlalchemy import update

    from models import Cycle, CycleState

    await load_demo_network(session)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    bob = sandbox.user("Bob", language="en")
    calls = []

    async def add_to_basket(*args, **kwargs):
        calls.append(args)

    monkeypatch.setattr(catalog, "add_to_basket", add_to_basket)
    await bob.send("/start")
    await bob.press("La Desserte — halle centrale")
    await bob.send("miel")
    await bob.press("Miel de châtaignier")
    await session.execute(update(Cycle).values(state=CycleState.CLOSED))
    await session.commit()
    await bob.press("Add")
    assert not calls
    assert bob.answers[-1].show_alert
    assert "closed" in bob.answers[-1].text
