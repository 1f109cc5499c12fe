"""Small helpers every handler module shares: replying in place and answering stale buttons."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from handlers.i18n import _

log = logging.getLogger(__name__)


async def show(
    update: Update,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Message | bool:
    """Edit the pressed message in place (a button press), or send a new message (a command).

    A chat must not grow by one message per tap. Editing to the same content is not an error.
    """
    query = update.callback_query
    if query is not None and query.message is not None and isinstance(query.message, Message):
        if query.message.photo or query.message.document:
            # A message with media cannot become a text message: replace it.
            await query.message.delete()
            return await query.message.chat.send_message(
                text, reply_markup=keyboard, parse_mode=ParseMode.HTML, **kwargs
            )
        try:
            return await query.edit_message_text(
                text, reply_markup=keyboard, parse_mode=ParseMode.HTML, **kwargs
            )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return query.message
            raise
    message = update.effective_message
    if message is None:
        raise ValueError("nothing to reply to")
    return await message.reply_text(
        text, reply_markup=keyboard, parse_mode=ParseMode.HTML, **kwargs
    )


async def answer_stale(update: Update) -> None:
    """Tell the person this button no longer does anything, without acting on it."""
    query = update.callback_query
    if query is not None:
        await query.answer(
            _("Ce bouton n’est plus valable. Tapez /start pour repartir."), show_alert=True
        )


def escape(text: str | None) -> str:
    """Text made safe for Telegram's HTML parse mode."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
