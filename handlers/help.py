"""/aide (/help): what the bot can do for this member, by role."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.common import show
from handlers.context import DesserteContext
from handlers.i18n import _
from handlers.menu import MENU, commands_for, producer_tools_lines
from handlers.team import payment_line, team_contact_line


def help_text(context: DesserteContext) -> str:
    """The commands this member may use, each with one line saying what it does."""
    member = context.member
    roles = set(member.roles)
    if context.is_admin:
        roles.add("admin")
    lines = [_("<b>Ce que je sais faire</b>")]
    commands = commands_for(roles)
    tools = [command for command in commands if command.producer_tool]
    if tools:
        lines.extend(producer_tools_lines(tools))
        lines.append("")
        lines.append(_("<b>Pour vos achats</b>"))
    for command in commands:
        if command not in tools:
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
