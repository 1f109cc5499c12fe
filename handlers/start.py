"""/start: the greeting, the network in two lines, and the main menu."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.help import HELP
from handlers.i18n import _
from handlers.language import LANGUAGE


def main_menu_keyboard() -> InlineKeyboardMarkup:
    """The buttons under the greeting."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("❓ Aide"), callback_data=HELP.pack())],
            [InlineKeyboardButton(_("🌐 Langue"), callback_data=LANGUAGE.pack())],
        ]
    )


def greeting_text(context: DesserteContext) -> str:
    """The welcome: who the bot is for, in two lines."""
    member = context.member
    return "\n".join(
        [
            _("Bonjour {name} !").format(name=escape(member.first_name)),
            _(
                "<b>{network}</b> : les produits frais d’une quarantaine de producteurs à moins "
                "de 100 km, bio d’abord, commandés ici chaque semaine."
            ).format(network=escape(context.services.network_name)),
            _("Retrait au point de collecte le jour de livraison. Tapez /aide pour tout savoir."),
        ]
    )


async def start(update: Update, context: DesserteContext) -> None:
    """Greets the member in their language and shows the main menu."""
    await show(update, greeting_text(context), main_menu_keyboard())


async def show_menu(update: Update, context: DesserteContext) -> None:
    """The main menu again, in place of the pressed message."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(update, greeting_text(context), main_menu_keyboard())
