"""The sandbox refuses what Telegram refuses (bot/sandbox/README.md lists each behaviour)."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Update,
)
from telegram.error import BadRequest, InvalidToken, RetryAfter
from telegram.ext import CallbackQueryHandler, ChatMemberHandler

from bot.sandbox import Sandbox, SandboxUser
from bot.sandbox.limits import RateLimiter, RateLimits

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03\x08\x02\x00\x00\x00"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Sandbox:
    return Sandbox(clock=clock)


@pytest.fixture
def alice(sandbox: Sandbox) -> SandboxUser:
    return sandbox.user("Alice", language="fr")


def grid(rows: int, per_row: int, data: str = "x") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(f"{r}.{c}", callback_data=f"{data}{r}.{c}")
                for c in range(per_row)
            ]
            for r in range(rows)
        ]
    )


async def test_keyboard_of_100_buttons_passes_101_is_too_long(bot: Bot, alice: SandboxUser) -> None:
    await bot.send_message(alice.id, "ok", reply_markup=grid(25, 4))
    with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
        await bot.send_message(alice.id, "trop", reply_markup=grid(101, 1))
    message = await bot.send_message(alice.id, "edit me")
    with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
        await bot.edit_message_reply_markup(alice.id, message.message_id, reply_markup=grid(51, 2))


async def test_rows_of_8_pass_9_is_too_long(bot: Bot, alice: SandboxUser) -> None:
    await bot.send_message(alice.id, "ok", reply_markup=grid(1, 8))
    with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
        await bot.send_message(alice.id, "trop", reply_markup=grid(1, 9))


async def test_markup_over_10_kb_is_too_long(bot: Bot, alice: SandboxUser) -> None:
    wide = InlineKeyboardMarkup(
        [[InlineKeyboardButton("é" * 60, callback_data=f"{i:02d}" * 32)] for i in range(60)]
    )
    with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
        await bot.send_message(alice.id, "trop", reply_markup=wide)


async def test_callback_data_must_be_1_to_64_bytes(bot: Bot, alice: SandboxUser) -> None:
    await bot.send_message(
        alice.id,
        "ok",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="é" * 32)]]),
    )
    for data in ("", "é" * 33):
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(
                alice.id,
                "non",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("a", callback_data=data)]]
                ),
            )


async def test_a_press_answered_too_late_is_refused(
    sandbox: Sandbox, clock: Clock, bot: Bot, alice: SandboxUser
) -> None:
    await bot.send_message(alice.id, "?", reply_markup=grid(1, 2))
    first = await alice.press("0.0")
    second = await alice.press("0.1")
    clock.now += sandbox.callback_query_timeout - 1
    assert await bot.answer_callback_query(first.id, "à temps")
    clock.now += 2
    with pytest.raises(BadRequest, match=r"(?i)query is too old and response timeout expired"):
        await bot.answer_callback_query(second.id, "trop tard")
    assert [a.text for a in alice.answers] == ["à temps"]


async def test_the_press_timeout_is_configurable(clock: Clock) -> None:
    sandbox = Sandbox(clock=clock, callback_query_timeout=60)
    alice = sandbox.user("Alice")
    async with Bot("1:A", request=sandbox.request(), get_updates_request=sandbox.request()) as bot:
        await bot.send_message(alice.id, "?", reply_markup=grid(1, 1))
        press = await alice.press("0.0")
        clock.now += 59
        assert await bot.answer_callback_query(press.id)


async def test_delete_refused_after_48_hours(clock: Clock, bot: Bot, alice: SandboxUser) -> None:
    young = await bot.send_message(alice.id, "jeune")
    old = await bot.send_message(alice.id, "vieux")
    clock.now += 48 * 3600 - 1
    assert await bot.delete_message(alice.id, young.message_id)
    clock.now += 1
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted for everyone"):
        await bot.delete_message(alice.id, old.message_id)
    # deleteMessages skips what cannot be deleted, as the Bot API says.
    assert await bot.delete_messages(alice.id, [old.message_id])
    assert [m.text for m in alice.messages] == ["vieux"]


async def test_edit_message_media_caption_and_markup(bot: Bot, alice: SandboxUser) -> None:
    sent = await bot.send_photo(alice.id, InputFile(PNG, filename="a.png"), caption="Avant")
    edited = await bot.edit_message_media(
        InputMediaPhoto(PNG, caption="Après", filename="b.png"),
        chat_id=alice.id,
        message_id=sent.message_id,
        reply_markup=grid(1, 1),
    )
    assert edited.caption == "Après"
    record = alice.last_message
    assert (record.photo is not None, record.caption, record.buttons, record.edits) == (
        True,
        "Après",
        [["0.0"]],
        1,
    )
    await bot.edit_message_caption(alice.id, sent.message_id, caption="Encore")
    assert alice.last_message.caption == "Encore"
    assert alice.last_message.buttons == []  # omitted markup: Telegram removes it
    await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=grid(1, 2))
    assert alice.last_message.buttons == [["0.0", "0.1"]]
    text = await bot.send_message(alice.id, "texte")
    with pytest.raises(BadRequest, match=r"(?i)there is no media in the message to edit"):
        await bot.edit_message_media(
            InputMediaPhoto(PNG), chat_id=alice.id, message_id=text.message_id
        )


async def test_unfetchable_urls(sandbox: Sandbox, bot: Bot, alice: SandboxUser) -> None:
    await bot.send_photo(alice.id, "https://example.org/ok.jpg")
    sandbox.unfetchable("https://example.org/gone.jpg")
    sandbox.unfetchable("https://example.org/broken.jpg", content=True)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier/HTTP URL specified"):
        await bot.send_photo(alice.id, "https://example.org/gone.jpg")
    with pytest.raises(BadRequest, match=r"(?i)failed to get HTTP URL content"):
        await bot.send_photo(alice.id, "https://example.org/broken.jpg")
    assert len(alice.messages) == 1


async def test_blocking_sends_my_chat_member(sandbox: Sandbox) -> None:
    seen: list[tuple[str, str]] = []

    async def member(update: Update, context: object) -> None:
        change = update.my_chat_member
        assert change is not None
        seen.append((change.old_chat_member.status, change.new_chat_member.status))

    app = sandbox.builder().build()
    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CallbackQueryHandler(lambda u, c: None))
    async with app:
        sandbox.attach(app)
        alice = sandbox.user("Alice")
        await alice.block_bot()
        await alice.unblock_bot()
    assert seen == [("member", "kicked"), ("kicked", "member")]


async def test_a_sandbox_with_a_token_refuses_others() -> None:
    sandbox = Sandbox(token="42:RIGHT")
    async with Bot("42:RIGHT", request=sandbox.request()) as bot:
        assert (await bot.get_me()).username == "desserte_bot"
    with pytest.raises(InvalidToken):
        async with Bot("42:WRONG", request=sandbox.request()):
            pass
    answer = await sandbox.call("getMe")  # the core itself does not check tokens
    assert answer.status == 200


async def test_strict_per_chat_limit_counts_edits() -> None:
    sandbox = Sandbox(strict_limits=True, limits=RateLimits(per_chat_burst=2))
    alice = sandbox.user("Alice")
    async with Bot("1:A", request=sandbox.request()) as bot:
        message = await bot.send_message(alice.id, "1")
        await bot.edit_message_text("2", alice.id, message.message_id)
        with pytest.raises(RetryAfter):
            await bot.edit_message_text("3", alice.id, message.message_id)


def test_groups_get_20_messages_a_minute() -> None:
    now = [0.0]
    limiter = RateLimiter(
        RateLimits(per_chat_burst=100, per_chat_per_second=100), clock=lambda: now[0]
    )
    assert all(limiter.acquire(-100123) is None for _ in range(20))
    assert limiter.acquire(-100123) == 3  # one more token in 60/20 = 3 s
    assert limiter.acquire(555) is None  # a private chat is not held back by the group
    now[0] += 3
    assert limiter.acquire(-100123) is None
