"""A person who blocks the bot is unreachable until they unblock it.

Telegram says so with a ``my_chat_member`` update in the private chat: the bot's new status
``kicked`` (blocked) or ``member`` (unblocked, or a first /start). Unreachable members are left
out of the messages the bot sends on its own (``models.audiences``), so nothing is sent only to
be refused with a 403.
"""

from __future__ import annotations

from typing import Any

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, ChatMemberHandler

from handlers.context import DesserteContext
from models.members import set_reachable


async def bot_status_changed(update: Update, context: DesserteContext) -> None:
    """Marks the member unreachable when they blocked the bot, reachable when they unblocked it
    (other statuses change nothing); sends nothing."""
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        await set_reachable(context.session, context.member, False)
    elif status == ChatMember.MEMBER:
        await set_reachable(context.session, context.member, True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The bot's own status in a private chat."""
    return [ChatMemberHandler(bot_status_changed, ChatMemberHandler.MY_CHAT_MEMBER)]
