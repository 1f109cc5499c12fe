"""Per-update plumbing: one database session, the member, and the member's locale.

:func:`serve_update` wraps PTB's own update processing; the application class in
``bot/app.py`` calls it for every update, whether it came from polling, a webhook or the sandbox.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application

from handlers.context import current_member, current_session, services_of
from handlers.i18n import activate, normalize_locale
from models.members import get_or_register
from models.unit_of_work import write_intended

log = logging.getLogger(__name__)


async def release_connection() -> None:
    """End this update's read transaction, so its pooled connection goes back to the pool
    before the bot waits on Telegram; the objects read stay loaded (no expiry on commit), and
    the next query begins a new transaction. Nothing is done outside an update, inside a unit
    of work, or while the session holds changes not yet written (they are the handler's to
    commit or to lose)."""
    session = current_session.get()
    if session is None or not session.in_transaction() or write_intended():
        return
    if session.new or session.dirty or session.deleted:
        return
    await session.commit()


async def serve_update(
    application: Application[Any, Any, Any, Any, Any, Any],
    update: object,
    process: Callable[[object], Awaitable[None]],
) -> None:
    """Run ``process(update)`` with a session open, the sender registered and their locale on.

    Whatever a handler left uncommitted is rolled back: the domain commits its own units of work,
    so a failure never leaves half an operation behind. Updates from groups and channels are
    ignored (the bot only talks in private chats), and so are other bots.
    """
    services = services_of(application)
    if isinstance(update, Update):
        services.backlog.saw(update.update_id)
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is not None and chat.type != ChatType.PRIVATE:
        # The bot talks to people one to one: a group or channel it was added to must not read
        # anyone's basket aloud, nor register the group's members.
        log.info("update %s from a %s chat ignored", getattr(update, "update_id", None), chat.type)
        return
    user = update.effective_user if isinstance(update, Update) else None
    if user is not None and user.is_bot:
        log.info("update %s from bot %s ignored", getattr(update, "update_id", None), user.id)
        return
    async with services.sessions() as session:
        session_token = current_session.set(session)
        member_token = current_member.set(None)
        try:
            if user is not None and not user.is_bot:
                member, _new = await get_or_register(
                    session,
                    telegram_id=user.id,
                    first_name=user.first_name,
                    last_name=user.last_name,
                    username=user.username,
                    locale=normalize_locale(user.language_code, services.default_locale),
                )
                current_member.set(member)
                activate(member.locale)
            else:
                activate(services.default_locale)
            await process(update)
        finally:
            if session.in_transaction():
                await session.rollback()
            current_member.reset(member_token)
            current_session.reset(session_token)
