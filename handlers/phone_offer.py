"""The offer to share one's phone number, so that the team can find a member at the counter:
a reply keyboard with Telegram's contact button and a "Non merci". /retrait and the first
receipt offer it; handlers.phone answers what the member does with it."""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup

from handlers.i18n import SUPPORTED_LOCALES, _, use_locale


def share_label() -> str:
    """The contact button's text."""
    return _("📱 Partager mon numéro")


def decline_label() -> str:
    """The button that says no."""
    return _("Non merci")


def decline_labels() -> list[str]:
    """ "Non merci" in every language the bot speaks (what a tap on it sends)."""
    labels = []
    for locale in SUPPORTED_LOCALES:
        with use_locale(locale):
            labels.append(decline_label())
    return labels


def phone_keyboard() -> ReplyKeyboardMarkup:
    """Telegram's contact button and "Non merci", gone after one tap."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(share_label(), request_contact=True)], [KeyboardButton(decline_label())]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


def offer_text() -> str:
    """Why the number helps, and that it is optional."""
    return _(
        "📱 Voulez-vous partager votre numéro de téléphone ? L’équipe pourra vous joindre le "
        "jour du retrait si besoin. C’est facultatif : touchez un bouton ci-dessous."
    )
