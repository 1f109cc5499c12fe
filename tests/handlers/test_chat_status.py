"""A person who blocks the bot is marked unreachable; unblocking makes them reachable again."""

from __future__ import annotations

from sqlalchemy import select

from bot.serve import ALLOWED_UPDATES
from models import Member
from tests.factories import make_member

LEA = 610_001


async def _reachable(session, telegram_id: int) -> bool:
    reachable = await session.scalar(
        select(Member.reachable).where(Member.telegram_id == telegram_id)
    )
    await session.commit()  # the next look sees what the bot wrote since
    return reachable


async def test_blocking_and_unblocking_the_bot(app, sandbox, session):
    await make_member(session, LEA, name="Léa")
    lea = sandbox.user("Léa", language="fr", user_id=LEA)
    await lea.send("/start")
    sent = len(lea.messages)
    await lea.block_bot()
    assert await _reachable(session, LEA) is False
    await lea.unblock_bot()
    assert await _reachable(session, LEA) is True
    assert len(lea.messages) == sent  # the bot says nothing about it
    assert sandbox.stats.refusals == []


async def test_a_block_stays_a_block_across_other_updates(app, sandbox, session):
    await make_member(session, LEA, name="Léa")
    lea = sandbox.user("Léa", language="fr", user_id=LEA)
    await lea.block_bot()
    await lea.block_bot()  # Telegram may repeat it
    assert await _reachable(session, LEA) is False


def test_the_bot_asks_telegram_for_my_chat_member():
    assert "my_chat_member" in ALLOWED_UPDATES
