"""A member's phone number: the contact button's answer is stored, someone else's contact is
refused politely, "Non merci" is respected; the offer itself lives in handlers.phone_offer."""

from __future__ import annotations

from typing import Any

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from handlers.buttons import button
from handlers.context import DesserteContext
from handlers.i18n import _
from handlers.phone_offer import decline_labels, offer_text, phone_keyboard
from handlers.routes import AskPhone
from models.members import normalize_phone, set_phone


async def ask_phone(update: Update, context: DesserteContext) -> None:
    """The offer, as a new message with the contact button (a reply keyboard)."""
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(offer_text(), reply_markup=phone_keyboard())


async def receive_contact(update: Update, context: DesserteContext) -> None:
    """The member's own contact: the number is stored and the member thanked; someone else's
    contact (or a number that is not one) is refused politely and changes nothing."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None
    assert message.contact is not None
    assert user is not None
    contact = message.contact
    if contact.user_id != user.id:
        await message.reply_text(
            _(
                "Je ne peux enregistrer que votre propre numéro : touchez « 📱 Partager mon "
                "numéro » plutôt que d’envoyer le contact de quelqu’un d’autre."
            ),
            reply_markup=phone_keyboard(),
        )
        return
    phone = normalize_phone(contact.phone_number)
    if phone is None:
        await message.reply_text(
            _("Ce numéro ne ressemble pas à un numéro de téléphone : rien n’a été enregistré."),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    await set_phone(context.session, context.member, phone)
    await message.reply_text(
        _(
            "Merci ! Votre numéro {phone} est noté : l’équipe pourra vous joindre le jour du "
            "retrait."
        ).format(phone=phone),
        reply_markup=ReplyKeyboardRemove(),
    )


async def decline_phone(update: Update, context: DesserteContext) -> None:
    """ "Non merci": nothing stored, the keyboard goes."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        _(
            "Entendu, je ne garde pas votre numéro. Vous pourrez le partager plus tard avec /retrait."
        ),
        reply_markup=ReplyKeyboardRemove(),
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The contact's answer, "Non merci", and the button that offers to share."""
    return [
        button(AskPhone, ask_phone),
        MessageHandler(filters.CONTACT, receive_contact),
        MessageHandler(filters.Text(decline_labels()), decline_phone),
    ]
