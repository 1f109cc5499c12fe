"""A tiny PTB Application attached to the sandbox, driven as a person would."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot.sandbox import Sandbox, SandboxEvent

from .tiny_shop import add_handlers


@pytest.fixture
async def app(sandbox: Sandbox) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    application = (
        ApplicationBuilder()
        .token("123:SANDBOX")
        .request(sandbox.request())
        .get_updates_request(sandbox.request())
        .build()
    )
    add_handlers(application)
    async with application:
        sandbox.attach(application)
        yield application


@pytest.mark.usefixtures("app")
async def test_start_press_and_back(sandbox: Sandbox) -> None:
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    assert alice.last_message.text == "Bonjour Alice"
    assert alice.last_message.buttons == [["Légumes"], ["Fruits"], ["Œufs"], ["Site"]]
    assert alice.last_message.button_data[3] == ["https://example.org"]

    await alice.press("Légumes")
    menu = alice.last_message
    assert (menu.text, menu.edits, len(alice.messages)) == ("Rayon Légumes", 1, 1)
    assert [a.text for a in alice.answers] == ["Légumes !"]
    await alice.press("Retour")  # unique substring of "« Retour"
    assert alice.last_message.text == "Menu"
    assert menu.edits == 2
    assert all(q.answer is not None for q in sandbox.callback_queries.values())


@pytest.mark.usefixtures("app")
async def test_forget_drops_a_finished_chat_only(sandbox: Sandbox) -> None:
    alice, bob = sandbox.user("Alice", language="fr"), sandbox.user("Bob", language="fr")
    for person in (alice, bob):
        await person.send("/start")
        await person.press("Légumes")
    before = alice.last_message.message_id

    sandbox.forget_chat(alice.id)

    assert (alice.history, alice.answers) == ([], [])
    assert {q.user_id for q in sandbox.callback_queries.values()} == {bob.id}
    assert (len(bob.history), len(bob.answers)) == (2, 1)
    await alice.send("/start")  # the chat goes on, its message ids keep counting
    assert alice.last_message.text == "Bonjour Alice"
    assert alice.last_message.message_id > before


@pytest.mark.usefixtures("app")
async def test_deep_link_and_language(sandbox: Sandbox) -> None:
    bob = sandbox.user("Bob", language="en", last_name="Martin", username="bobm")
    await bob.send("/start promo42")
    assert bob.last_message.text == "Hello Bob (via promo42)"


@pytest.mark.usefixtures("app")
async def test_press_errors_list_the_buttons(sandbox: Sandbox) -> None:
    alice = sandbox.user("Alice")
    with pytest.raises(AssertionError, match="no bot message with an inline keyboard"):
        await alice.press("Légumes")
    await alice.send("/start")
    with pytest.raises(AssertionError, match="Fruits"):
        await alice.press("Fromages")
    with pytest.raises(AssertionError, match="3 buttons"):
        await alice.press("u")  # Légumes, Fruits, Œufs
    with pytest.raises(AssertionError, match="not a callback button"):
        await alice.press("Site")


@pytest.mark.usefixtures("app")
async def test_forged_callback_data(sandbox: Sandbox) -> None:
    mallory = sandbox.user("Mallory")
    await mallory.send("/start")
    await mallory.press_data("cat:../../etc")
    assert mallory.answers[-1].text == "Catégorie inconnue"
    assert mallory.answers[-1].show_alert
    assert mallory.last_message.edits == 0


@pytest.mark.usefixtures("app")
async def test_document_and_edit(sandbox: Sandbox) -> None:
    alice = sandbox.user("Alice")
    await alice.send_document(b"a;b\n1;2\n", "stock.csv")
    assert alice.last_message.text == "Reçu stock.csv: 8 o"
    sent = await alice.send("bonjour")
    await alice.edit(sent, "bonsoir")
    assert alice.last_message.text == "Modifié: bonsoir"


async def test_events_and_clock(
    sandbox: Sandbox, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    events: list[SandboxEvent] = []
    sandbox.on_event(events.append)
    sandbox.clock = lambda: 1_700_000_000.0
    alice = sandbox.user("Alice", language="fr")
    seen: list[Update] = []

    async def spy(update: Update, _: object) -> None:
        seen.append(update)

    from telegram.ext import TypeHandler

    app.add_handler(TypeHandler(Update, spy), group=-1)
    await alice.send("/start")
    await alice.press("Fruits")
    assert [e.kind for e in events] == [
        "user_text",
        "bot_message",
        "press",
        "bot_answer",
        "bot_edit",
    ]
    assert events[1].who == "Desserte"
    assert events[1].buttons[0] == ("Légumes",)
    assert events[2].data == "cat:fruit"
    message = seen[0].message
    assert message is not None
    assert message.date.timestamp() == 1_700_000_000
    assert seen[1].update_id == seen[0].update_id + 1
    query = seen[1].callback_query
    assert query is not None
    assert query.message is not None
    assert query.chat_instance
    assert alice.last_message.date == 1_700_000_000
    sandbox.clock = lambda: dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)
    await alice.send("/start")
    assert alice.last_message.date == int(dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC).timestamp())


def test_users_are_cheap() -> None:
    sandbox = Sandbox()
    users = [sandbox.user(f"U{i}", language="fr") for i in range(2000)]
    assert len({u.id for u in users}) == 2000
    assert users[5].chat_id == users[5].id


async def test_polling_in_process_with_idle(sandbox: Sandbox) -> None:
    application = sandbox.builder().build()
    add_handlers(application)
    async with application:
        assert application.updater is not None
        await application.start()
        await application.updater.start_polling(poll_interval=0)
        try:
            alice = sandbox.user("Alice", language="fr")
            await alice.send("/start", wait=True)
            assert alice.last_message.text == "Bonjour Alice"
            await alice.press("Fruits")
            await sandbox.idle()
            assert alice.last_message.text == "Rayon Fruits"
        finally:
            await application.updater.stop()
            await application.stop()
    assert sandbox.pending_updates == 0


async def test_a_call_listener_hears_each_call_first_and_can_stop_it(
    sandbox: Sandbox, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    heard: list[tuple[str, object]] = []
    sandbox.before_each_call(lambda method, params, files: heard.append((method, dict(params))))
    alice = sandbox.user("Alice", language="fr")
    await alice.send("/start")
    assert [method for method, _params in heard] == ["sendMessage"]
    assert "Bonjour" in str(heard[0][1]["text"])

    class Refused(Exception):
        pass

    def refuse(method: str, params: object, files: object) -> None:
        raise Refused(method)

    sandbox.before_each_call(refuse)
    with pytest.raises(Refused):  # raised to the caller, not swallowed as an event's would be
        await sandbox.call("sendMessage", {"chat_id": alice.id, "text": "jamais"})
    assert alice.last_message.text != "jamais"  # the call never ran
    sandbox.remove_call_listener(refuse)
    await sandbox.call("sendMessage", {"chat_id": alice.id, "text": "enfin"})
    assert alice.last_message.text == "enfin"
