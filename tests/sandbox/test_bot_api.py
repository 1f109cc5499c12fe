"""A PTB ``Bot`` against the in-process transport: results, validation, limits, faults."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
)
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.sandbox import BOT_ID, Sandbox, SandboxUser


@pytest.fixture
def alice(sandbox: Sandbox) -> SandboxUser:
    return sandbox.user("Alice", language="fr", username="alice")


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"cb:{label}") for label in labels]]
    )


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.first_name, me.username) == (
        BOT_ID,
        True,
        "Desserte",
        "desserte_bot",
    )


async def test_send_message_round_trip(bot: Bot, alice: SandboxUser) -> None:
    sent = await bot.send_message(alice.id, "Bonjour", reply_markup=keyboard("Légumes", "Œufs"))
    assert isinstance(sent, Message)
    assert sent.chat.id == alice.id
    assert sent.chat.type == "private"
    assert sent.from_user is not None
    assert sent.from_user.id == BOT_ID
    assert sent.text == "Bonjour"
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][1].callback_data == "cb:Œufs"
    assert alice.last_message.message_id == sent.message_id
    assert alice.last_message.buttons == [["Légumes", "Œufs"]]
    assert alice.last_message.button_data == [["cb:Légumes", "cb:Œufs"]]


async def test_callback_data_over_64_bytes_is_refused(bot: Bot, alice: SandboxUser) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 32 + "a")]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(alice.id, "hi", reply_markup=markup)
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 32)]])
    await bot.send_message(alice.id, "hi", reply_markup=ok)  # exactly 64 bytes
    assert alice.messages[-1].button_data == [["é" * 32]]


async def test_keyboard_over_100_buttons_or_8_per_row_is_refused(
    bot: Bot, alice: SandboxUser
) -> None:
    def grid(rows: int, per_row: int) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("x", callback_data=f"{r}:{c}") for c in range(per_row)]
                for r in range(rows)
            ]
        )

    sent = await bot.send_message(alice.id, "hi", reply_markup=grid(25, 4))  # exactly 100
    for markup in (grid(1, 9), grid(26, 4)):
        with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
            await bot.send_message(alice.id, "hi", reply_markup=markup)
        with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
            await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=markup)


async def test_photo_from_an_unreachable_host_is_refused(bot: Bot, alice: SandboxUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)failed to get HTTP URL content"):
        await bot.send_photo(alice.id, "https://photos.invalid/carrots.jpg")
    await bot.send_photo(alice.id, "https://photos.example/carrots.jpg")


async def test_unknown_method_answers_404_like_telegram(bot: Bot, sandbox: Sandbox) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTeleport", {"chat_id": 1})
    with pytest.raises(InvalidToken):  # what Bot._post makes of Telegram's 404
        await bot._post("sendTeleport", {"chat_id": 1})
    response = await sandbox.call("sendTeleport", {})
    assert response.status == 404
    assert response.body == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_known_but_unimplemented_method_is_a_clear_400(bot: Bot, alice: SandboxUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)not supported by the sandbox"):
        await bot.do_api_request("sendDice", {"chat_id": alice.id})


async def test_missing_required_parameter(bot: Bot, alice: SandboxUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat_id is required"):
        await bot.do_api_request("sendMessage", {"text": "hello"})
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.do_api_request("sendMessage", {"chat_id": alice.id})


async def test_wrong_types_are_refused(bot: Bot, sandbox: Sandbox, alice: SandboxUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message("not-a-chat", "x")
    response = await sandbox.call(
        "editMessageText", {"chat_id": alice.id, "message_id": "abc", "text": "x"}
    )
    assert response.status == 400
    response = await sandbox.call(
        "sendMessage", {"chat_id": alice.id, "text": "x", "reply_markup": "{not json"}
    )
    assert response.status == 400
    assert response.body is not None
    assert "reply keyboard markup" in response.body["description"]
    # Unknown parameters are ignored, as Telegram does.
    response = await sandbox.call("sendMessage", {"chat_id": alice.id, "text": "x", "zz": 1})
    assert response.status == 200


async def test_text_limits(bot: Bot, alice: SandboxUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(alice.id, "a" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(alice.id, "   ")
    await bot.send_message(alice.id, "a" * 4096)
    # The limit applies after entity parsing.
    await bot.send_message(alice.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert len(alice.last_message.text or "") == 4096


async def test_html_is_validated_and_stored_as_plain_text(bot: Bot, alice: SandboxUser) -> None:
    sent = await bot.send_message(
        alice.id, '<b>Panier</b> &lt;3 <a href="https://x.org">lien</a>', parse_mode="HTML"
    )
    assert sent.text == "Panier <3 lien"
    assert [e.type for e in sent.entities] == ["bold", "text_link"]
    assert alice.last_message.text == "Panier <3 lien"
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(alice.id, "<b>gras</i>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Unsupported start tag"):
        await bot.send_message(alice.id, "<div>x</div>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(alice.id, "<b>jamais fermé", parse_mode="HTML")
    # Catalog data written into HTML without escaping: a stray "<" or a closing tag.
    for stray in ("sac<5kg", "a < b", "Pain </code>", "<b> la pièce", "2 <kg>"):
        with pytest.raises(BadRequest, match=r"^Can't parse entities: "):
            await bot.send_message(alice.id, stray, parse_mode="HTML")
    # Telegram reads a lone "&" (one that starts no entity) as the character itself.
    sent = await bot.send_message(alice.id, "Bio & Fils &amp; co &nbsp;", parse_mode="HTML")
    assert sent.text == "Bio & Fils & co &nbsp;"
    with pytest.raises(BadRequest, match=r"(?i)reserved"):
        await bot.send_message(alice.id, "Total: 3.50 €", parse_mode="MarkdownV2")


async def test_edit_message_text_edits_in_place(bot: Bot, alice: SandboxUser) -> None:
    sent = await bot.send_message(alice.id, "Panier: 1", reply_markup=keyboard("+"))
    count = len(alice.messages)
    edited = await bot.edit_message_text(
        "Panier: 2", chat_id=alice.id, message_id=sent.message_id, reply_markup=keyboard("+")
    )
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    assert len(alice.messages) == count
    message = alice.last_message
    assert (message.text, message.edits, message.buttons) == ("Panier: 2", 1, [["+"]])
    assert message.history[0]["text"] == "Panier: 1"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Panier: 2", chat_id=alice.id, message_id=sent.message_id, reply_markup=keyboard("+")
        )
    # Without reply_markup Telegram removes the inline keyboard.
    await bot.edit_message_text("Panier: 2", chat_id=alice.id, message_id=sent.message_id)
    assert message.buttons == []
    assert message.edits == 2
    await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=keyboard("-"))
    assert message.buttons == [["-"]]
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=9999)


async def test_delete_message(bot: Bot, sandbox: Sandbox, alice: SandboxUser) -> None:
    first = await bot.send_message(alice.id, "un")
    await bot.send_message(alice.id, "deux")
    assert await bot.delete_message(alice.id, first.message_id)
    assert [m.text for m in alice.messages] == ["deux"]
    assert sandbox.deleted[0].text == "un"
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(alice.id, first.message_id)


async def test_document_upload_keeps_bytes_and_name(bot: Bot, alice: SandboxUser) -> None:
    content = b"produit;prix\nPoireaux;2,50\n\x00\xff"
    sent = await bot.send_document(
        alice.id,
        InputFile(content, filename="commandes.csv"),
        caption="<i>Export</i>",
        parse_mode="HTML",
    )
    assert sent.document is not None
    assert sent.document.file_name == "commandes.csv"
    assert sent.caption == "Export"
    document = alice.last_message.document
    assert document is not None
    assert (document.file_name, document.content) == ("commandes.csv", content)
    # The file can be fetched back through getFile + download.
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == content
    # Re-sending by file_id reuses the stored file.
    await bot.send_document(alice.id, sent.document.file_id)
    assert alice.last_message.document is document


async def test_photo(bot: Bot, alice: SandboxUser) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (640).to_bytes(4) + (480).to_bytes(4)
    sent = await bot.send_photo(alice.id, png, caption="Tomates")
    assert sent.photo[-1].width == 640
    assert sent.photo[-1].height == 480
    photo = alice.last_message.photo
    assert photo is not None
    assert photo.content == png


async def test_blocked_user_answers_403(bot: Bot, alice: SandboxUser) -> None:
    alice.block_bot()
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(alice.id, "Promo !")
    alice.unblock_bot()
    await bot.send_message(alice.id, "Promo !")


async def test_injected_429(bot: Bot, sandbox: Sandbox, alice: SandboxUser) -> None:
    sandbox.faults.inject(method="sendMessage", kind="429", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "x")
    assert caught.value.retry_after in (7, dt.timedelta(seconds=7))
    assert alice.messages == []  # a 429 is not executed
    await bot.send_message(alice.id, "x")  # times=1: the next call goes through
    assert sandbox.stats.too_many_requests == 1


async def test_injected_server_errors_and_drop(
    bot: Bot, sandbox: Sandbox, alice: SandboxUser
) -> None:
    sandbox.faults.inject("sendMessage", "500")
    sandbox.faults.inject("sendMessage", "502")
    sandbox.faults.inject("sendMessage", "drop")
    for _ in range(3):
        with pytest.raises(NetworkError):
            await bot.send_message(alice.id, "x")
    assert alice.messages == []
    assert sandbox.stats.server_errors == 2


async def test_injected_fault_for_one_chat_only(
    bot: Bot, sandbox: Sandbox, alice: SandboxUser
) -> None:
    bob = sandbox.user("Bob")
    sandbox.faults.inject("sendMessage", "429", chat_id=bob.id, times=None)
    await bot.send_message(alice.id, "x")
    for _ in range(2):
        with pytest.raises(RetryAfter):
            await bot.send_message(bob.id, "x")
    sandbox.faults.clear()
    await bot.send_message(bob.id, "x")


async def test_stall_times_out_but_the_message_was_delivered(
    bot: Bot, sandbox: Sandbox, alice: SandboxUser
) -> None:
    sandbox.faults.inject("sendMessage", "stall")
    with pytest.raises(TimedOut):
        await bot.send_message(alice.id, "commande #1", read_timeout=0.1)
    assert [m.text for m in alice.messages] == ["commande #1"]


async def test_strict_limits_answer_429_after_a_burst(alice: SandboxUser) -> None:
    sandbox = Sandbox(strict_limits=True)
    bob = sandbox.user("Bob")
    bot = Bot("123:SANDBOX", request=sandbox.request())
    async with bot:
        results = [await _attempt(bot.send_message(bob.id, "spam")) for _ in range(10)]
        assert isinstance(results[-1], RetryAfter)
        assert 1 <= len(bob.messages) <= 5
        assert sandbox.stats.too_many_requests == 10 - len(bob.messages)
        # Many chats: the global limit (~30/s) kicks in.
        users = [sandbox.user(f"U{i}") for i in range(40)]
        results = await asyncio.gather(
            *(bot.send_message(u.id, "promo") for u in users), return_exceptions=True
        )
        limited = [r for r in results if isinstance(r, RetryAfter)]
        assert 5 <= len(limited) <= 15
        assert sandbox.stats.calls["sendMessage"] == 10 + 40


async def _attempt(call: Awaitable[object]) -> object:
    try:
        return await call
    except RetryAfter as exc:
        return exc


async def test_get_updates_offsets(bot: Bot, sandbox: Sandbox, alice: SandboxUser) -> None:
    await alice.send("/start")
    await alice.send("bonjour")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["/start", "bonjour"]
    first = updates[0]
    assert first.message is not None
    assert first.message.entities[0].type == "bot_command"
    assert first.message.from_user is not None
    assert first.message.from_user.language_code == "fr"
    # Not confirmed yet: fetched again.
    assert len(await bot.get_updates()) == 2
    # Confirming with offset = last update_id + 1 drops them.
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()
    await alice.send("encore")
    again = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert [u.update_id for u in again] == [updates[-1].update_id + 1]


async def test_get_updates_long_polling(bot: Bot, alice: SandboxUser) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await bot.get_updates(timeout=1) == ()  # Integer seconds, as in the Bot API
    assert loop.time() - start >= 0.9
    with pytest.raises(BadRequest, match=r"(?i)timeout"):
        await bot.get_updates(timeout=0.5)  # type: ignore[arg-type]
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    await alice.send("coucou")
    updates = await asyncio.wait_for(poll, 1)
    assert updates[0].message is not None
    assert updates[0].message.text == "coucou"


async def test_commands_are_stored_per_scope_and_language(
    bot: Bot, sandbox: Sandbox, alice: SandboxUser
) -> None:
    await bot.set_my_commands([BotCommand("start", "Commencer")], language_code="fr")
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands(
        [BotCommand("admin", "Administration")], scope=BotCommandScopeChat(alice.id)
    )
    assert sandbox.commands("fr") == [{"command": "start", "description": "Commencer"}]
    assert sandbox.commands() == [{"command": "start", "description": "Start"}]
    assert sandbox.commands(scope={"type": "chat", "chat_id": alice.id})[0]["command"] == "admin"
    assert [c.command for c in await bot.get_my_commands(language_code="fr")] == ["start"]
    await bot.delete_my_commands(language_code="fr")
    assert sandbox.commands("fr") == []
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad Command", "x")])


async def test_misc_methods(bot: Bot, sandbox: Sandbox, alice: SandboxUser) -> None:
    chat = await bot.get_chat(alice.id)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (
        alice.id,
        "private",
        "Alice",
        "alice",
    )
    assert await bot.send_chat_action(alice.id, "typing")
    assert await bot.set_chat_menu_button()
    assert await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    assert await bot.delete_webhook()
    sent = await bot.send_message(alice.id, "à copier")
    copy = await bot.copy_message(alice.id, alice.id, sent.message_id)
    assert alice.last_message.message_id == copy.message_id
    assert alice.last_message.text == "à copier"
    assert sandbox.stats.client_errors == 0
