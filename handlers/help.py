"""/aide (/help): what the bot can do for this member, by role."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.callback_data import CallbackData
from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.i18n import _, current_locale
from handlers.menu import MENU, commands_for


class OpenHelp(CallbackData, prefix="help"):
    """What the bot can do for this member."""


HELP = OpenHelp()


def payment_text(context: DesserteContext) -> str:
    """How and when to pay, in the member's language (``PAYMENT_INFO``, else the default)."""
    services = context.services
    written = services.payment_info_en if current_locale() == "en" else None
    written = written or services.payment_info
    if written:
        return escape(written)
    return _("à la remise de la commande, en espèces, chèque ou carte")


def payment_line(context: DesserteContext) -> str:
    """One line saying how and when to pay."""
    return _("💶 Paiement : {how}.").format(how=payment_text(context))


def team_contact_line(context: DesserteContext) -> str:
    """One line saying how to reach the team (``TEAM_CONTACT``), or how else when unset."""
    contact = context.services.team_contact
    if contact:
        return _("📞 L’équipe du réseau : {contact}").format(contact=escape(contact))
    return _("📞 L’équipe du réseau : demandez-lui au prochain retrait.")


def help_text(context: DesserteContext) -> str:
    """The commands this member may use, each with one line saying what it does."""
    member = context.member
    roles = set(member.roles)
    if context.is_admin:
        roles.add("admin")
    lines = [_("<b>Ce que je sais faire</b>")]
    for command in commands_for(roles):
        lines.append(f"/{command.localized_name()} — {command.description}")
    lines.append("")
    lines.append(
        _("Vous pouvez aussi écrire le nom d’un produit (« tomates », « miel ») pour le trouver.")
    )
    lines.append("")
    lines.append(payment_line(context))
    lines.append(team_contact_line(context))
    return "\n".join(lines)


async def show_help(update: Update, context: DesserteContext) -> None:
    """Lists what the member can do, in their language."""
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())]]
    )
    await show(update, help_text(context), keyboard)
