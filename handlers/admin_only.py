"""The gate of admin commands and buttons: anyone else is refused politely, in their language."""

from __future__ import annotations

from telegram import Update

from handlers.context import DesserteContext
from handlers.i18n import _


def refusal() -> str:
    """What a member who is not an admin reads."""
    return _("Désolé, cette commande est réservée à l’équipe qui anime le réseau.")


async def admin_or_refuse(update: Update, context: DesserteContext) -> bool:
    """True for an admin; anyone else gets the refusal (an alert for a button) and False."""
    if context.is_admin:
        return True
    query = update.callback_query
    if query is not None:
        await query.answer(refusal(), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(refusal())
    return False
