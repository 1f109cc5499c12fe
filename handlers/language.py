"""/langue (/language): the member picks French or English."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.callback_data import CallbackDataError, Route
from handlers.common import answer_stale, show
from handlers.context import DesserteContext
from handlers.i18n import SUPPORTED_LOCALES, _, activate
from handlers.menu import MENU
from models.members import set_locale

LANGUAGE = Route("lang")
SET_LANGUAGE = Route("lang:set", (str,))

LANGUAGE_NAMES = {"fr": "🇫🇷 Français", "en": "🇬🇧 English"}


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    """One button per language, the current one ticked."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    ("✅ " if code == current else "") + LANGUAGE_NAMES[code],
                    callback_data=SET_LANGUAGE.pack(code),
                )
                for code in SUPPORTED_LOCALES
            ],
            [InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())],
        ]
    )


async def ask_language(update: Update, context: DesserteContext) -> None:
    """Shows the languages to choose from."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(
        update,
        _("Dans quelle langue voulez-vous que je vous parle ?"),
        language_keyboard(context.member.locale),
    )


async def choose_language(update: Update, context: DesserteContext) -> None:
    """Stores the chosen language and answers in it, in place."""
    query = update.callback_query
    assert query is not None
    try:
        (code,) = SET_LANGUAGE.unpack(query.data)
    except CallbackDataError:
        await answer_stale(update)
        return
    if code not in SUPPORTED_LOCALES:
        await answer_stale(update)
        return
    await set_locale(context.session, context.member, str(code))
    activate(str(code))
    await query.answer()
    await show(update, _("C’est noté, je vous parlerai en français."), language_keyboard(str(code)))
