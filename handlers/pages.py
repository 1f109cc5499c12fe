"""Texts and keyboards that grow with the network, held to what Telegram accepts.

Telegram refuses a message of more than 4,096 characters (a caption: 1,024) and an inline
keyboard of more than 100 buttons (8 in a row). :func:`split_html` cuts a long HTML text into
messages at line boundaries; :func:`show_texts` shows them; :func:`page_of` and
:func:`navigation_row` page a list whose buttons would not fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from handlers.callback_data import CallbackData
from handlers.common import show

TEXT_LIMIT = 4096
"""Telegram's limit for a message's text, in characters (UTF-16 units)."""
CAPTION_LIMIT = 1024
"""Telegram's limit for a photo's or a document's caption."""
MAX_BUTTONS = 100
"""Telegram's limit for the buttons of one inline keyboard."""

T = TypeVar("T")

# A tag, an entity, or one character: the units a cut must never go inside of.
_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[\s\S]", re.ASCII)
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][\w-]*)")


def _width(text: str) -> int:
    """Length as Telegram counts it, in UTF-16 units (counting markup too: never less)."""
    return len(text.encode("utf-16-le")) // 2


def split_html(lines: Sequence[str], limit: int = TEXT_LIMIT) -> list[str]:
    """``lines`` (HTML parse mode) joined by line breaks, as messages of at most ``limit``
    characters each, counted with their markup. Each message ends at a line break when one
    lies in it (else at a space, else anywhere but inside a tag, an entity or a character);
    a tag open at the cut is closed at the end of the message and opened again at the start
    of the next, so each message is well-formed HTML on its own. Empty lines at a cut are
    dropped. An empty text gives no message."""
    text = "\n".join(lines)
    if _width(text) <= limit:
        return [text] if text.strip() else []
    messages: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)
    tokens = _TOKEN.findall(text)
    start = 0
    while start < len(tokens):
        prefix = "".join(tag for _, tag in open_tags)
        stack = list(open_tags)
        size = _width(prefix)
        end = start
        best: tuple[int, list[tuple[str, str]]] | None = None  # after a line break
        fallback: tuple[int, list[tuple[str, str]]] | None = None  # after a space
        while end < len(tokens):
            token = tokens[end]
            closing = sum(len(name) + 3 for name, _ in stack)
            if size + _width(token) + closing > limit and end > start:
                break
            size += _width(token)
            _track(stack, token)
            end += 1
            if token == "\n":
                best = (end, list(stack))
            elif token == " ":
                fallback = (end, list(stack))
        else:
            best = (end, list(stack))
        cut, after = best or fallback or (end, stack)
        body = prefix + "".join(tokens[start:cut])
        closers = "".join(f"</{name}>" for name, _ in reversed(after))
        message = (body.rstrip("\n") + closers) if closers else body.rstrip("\n")
        if _TAG.sub("", message).strip():
            messages.append(message)
        open_tags = after
        start = cut
        while start < len(tokens) and tokens[start] == "\n":
            start += 1
    return messages


def _track(stack: list[tuple[str, str]], token: str) -> None:
    if not token.startswith("<"):
        return
    match = _TAG.match(token)
    if match is None:
        return
    closing, name = match.group(1), match.group(2).lower()
    if not closing:
        stack.append((name, token))
        return
    for index in range(len(stack) - 1, -1, -1):
        if stack[index][0] == name:
            del stack[index]
            return


async def show_texts(
    update: Update,
    texts: str | Sequence[str],
    keyboard: InlineKeyboardMarkup | None = None,
) -> Message | bool:
    """Show several messages as :func:`handlers.common.show` shows one: the first in place of
    the pressed message (or as a reply to a command), the others after it; the keyboard goes
    under the last. Returns the last message. (A single text is one message, never a sequence
    of its characters.)"""
    if isinstance(texts, str):
        texts = [texts]
    if len(texts) <= 1:
        return await show(update, texts[0] if texts else "…", keyboard)
    await show(update, texts[0])
    chat = update.effective_chat
    assert chat is not None
    sent: Message | bool = True
    for index, text in enumerate(texts[1:], start=2):
        sent = await chat.send_message(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard if index == len(texts) else None,
        )
    return sent


def page_of(items: Sequence[T], page: int, per_page: int) -> tuple[Sequence[T], int, int]:
    """The ``page``-th slice of ``items`` (held to the pages there are), its number and the
    number of pages (at least one)."""
    pages = max(1, -(-len(items) // per_page))
    page = min(max(page, 0), pages - 1)
    return items[page * per_page : (page + 1) * per_page], page, pages


def choice_rows(
    choices: Sequence[tuple[str, CallbackData]], chosen: str | None = None, per_row: int = 3
) -> list[list[InlineKeyboardButton]]:
    """Buttons for a few choices (label, route), ``per_row`` to a row; the label ``chosen`` is
    marked with a dot, so the person sees which one the message is about."""
    buttons = [
        InlineKeyboardButton(f"• {label}" if label == chosen else label, callback_data=route.pack())
        for label, route in choices
    ]
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def navigation_row(
    page: int, pages: int, route: Callable[[int], CallbackData]
) -> list[InlineKeyboardButton]:
    """◀️ page/pages ▶️ buttons for a paged list (empty when it has one page); ``route(n)``
    gives the callback data of page ``n``."""
    if pages <= 1:
        return []
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◀️", callback_data=route(page - 1).pack()))
    row.append(InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=route(page).pack()))
    if page + 1 < pages:
        row.append(InlineKeyboardButton("▶️", callback_data=route(page + 1).pack()))
    return row
