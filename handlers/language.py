"""/langue (/language): the member picks French or English."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.callback_data import CallbackData
from handlers.common import show
from handlers.context import DesserteContext
from handlers.i18n import SUPPORTED_LOCALES, _, activate
from handlers.menu import MENU
from models.members import set_locale


class SetLanguage(CallbackData, prefix="lang:set"):
    """The member speaks ``code`` from now on."""

    code: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.code not in SUPPORTED_LOCALES:
            raise ValueError(f"lang:set: {self.code!r} is not a supported language")


LANGUAGE_NAMES = {"fr": "🇫🇷 Français", "en": "🇬🇧 English"}


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    """One button per language, the current one ticked."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    ("✅ " if code == current else "") + LANGUAGE_NAMES[code],
                    callback_data=SetLanguage(code).pack(),
                )
                for code in SUPPORTED_LOCALES
            ],
            [InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())],
        ]
    )


async def ask_language(update: Update, context: DesserteContext) -> None:
    """Shows the languages to choose from."""
    await show(
        update,
        _("Dans quelle langue voulez-vous que je vous parle ?"),
        language_keyboard(context.member.locale),
    )


async def choose_language(update: Update, context: DesserteContext, data: SetLanguage) -> None:
    """Stores the chosen language and answers in it, in place."""
    await set_locale(context.session, context.member, data.code)
    activate(data.code)
    await show(update, _("C’est noté, je vous parlerai en français."), language_keyboard(data.code))
