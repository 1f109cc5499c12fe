"""Small helpers every handler module shares: replying in place and answering stale buttons."""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from handlers.i18n import _

log = logging.getLogger(__name__)

POPUP_LIMIT = 200
"""Telegram's limit for an ``answerCallbackQuery`` text, in characters."""

_ELLIPSIS = "…"
_ZWJ = "\u200d"


def cut_popup(text: str) -> str:
    """``text`` as a pop-up may show it: at most 200 characters (counted as Telegram does, in
    UTF-16 units), ending with "…" when it had to be cut — never inside a character, an emoji
    sequence or a letter and its accent."""
    if _utf16_length(text) <= POPUP_LIMIT:
        return text
    budget = POPUP_LIMIT - _utf16_length(_ELLIPSIS)
    end = 0
    while end < len(text) and budget >= _utf16_length(text[end]):
        budget -= _utf16_length(text[end])
        end += 1
    # Back off while the cut would part what the eye sees as one character.
    while end > 0 and (_joins(text[end]) or text[end - 1] == _ZWJ):
        end -= 1
    return text[:end].rstrip() + _ELLIPSIS


def _joins(char: str) -> bool:
    """True for a character that belongs to the one before it (accent, joiner, variation)."""
    return bool(unicodedata.combining(char)) or char in (_ZWJ, "\ufe0f", "\ufe0e")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def show(
    update: Update,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Message | bool:
    """Edit the pressed message in place (a button press), or send a new message (a command).

    A chat must not grow by one message per tap. Editing to the same content is not an error.
    A pressed photo or document cannot become text: the text is sent, then the pressed message
    deleted — never before, so the person always sees a view; a delete Telegram refuses (a
    message 48 hours old) leaves it in the chat.
    """
    query = update.callback_query
    if query is not None and query.message is not None and isinstance(query.message, Message):
        pressed = query.message
        if pressed.photo or pressed.document:
            sent = await pressed.chat.send_message(
                text, reply_markup=keyboard, parse_mode=ParseMode.HTML, **kwargs
            )
            try:
                await pressed.delete()
            except BadRequest:  # older than 48 hours, or already gone: it stays
                log.info("could not delete message %s after replacing it", pressed.message_id)
            return sent
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
            cut_popup(_("Ce bouton n’est plus valable. Tapez /start pour repartir.")),
            show_alert=True,
        )


async def tell(update: Update, text: str) -> None:
    """Say ``text`` in a new message of the chat: for what a button's callback learnt after the
    press was answered and that has no view to be shown in (a refusal, a button gone stale)."""
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(text)


async def tell_stale(update: Update) -> None:
    """:func:`tell` that the button no longer does anything (the domain found it stale)."""
    await tell(update, _("Ce bouton n’est plus valable. Tapez /start pour repartir."))


def escape(text: str | None) -> str:
    """Text made safe for Telegram's HTML parse mode."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
