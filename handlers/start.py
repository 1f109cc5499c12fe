"""/start: the greeting, the network in two lines, the main menu, and invitation links.

``/start p-CODE`` joins a company pickup point; ``/start f-CODE`` links a producer (see
``handlers.producer_join``); ``/start d-CODE`` makes a driver (``handlers.rounds``). A member without a pickup point is asked for one.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.i18n import _, ngettext
from handlers.menu import BASKET, CATALOG, producer_tools_lines
from handlers.pickup_points import points_message
from handlers.routes import HELP, LANGUAGE, ORDERS, PICKUP, REORDER_NOW
from handlers.team import team_contact_line
from models.catalog import network_reach
from models.pickup import join_by_invitation, points_for

COMPANY_PREFIX = "p-"


def main_menu_keyboard() -> InlineKeyboardMarkup:
    """The buttons under the greeting."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("🛍 Catalogue"), callback_data=CATALOG.pack()),
                InlineKeyboardButton(_("🧺 Panier"), callback_data=BASKET.pack()),
            ],
            [
                InlineKeyboardButton(
                    _("🔁 Même panier que la semaine dernière"), callback_data=REORDER_NOW.pack()
                )
            ],
            [
                InlineKeyboardButton(_("📦 Mes commandes"), callback_data=ORDERS.pack()),
                InlineKeyboardButton(_("📍 Retrait"), callback_data=PICKUP.pack()),
            ],
            [
                InlineKeyboardButton(_("🌐 Langue"), callback_data=LANGUAGE.pack()),
                InlineKeyboardButton(_("❓ Aide"), callback_data=HELP.pack()),
            ],
        ]
    )


async def greeting_text(context: DesserteContext) -> str:
    """The welcome: who the bot is for, in two lines (a producer's tools first), true of this
    network: how many producers sell in it and how far the farthest is."""
    member = context.member
    tools = [*producer_tools_lines(), ""] if member.producer_id is not None else []
    reach = await network_reach(context.session)
    network = escape(context.services.network_name)
    if not reach.producers:
        about = _(
            "<b>{network}</b> : les produits frais des producteurs du coin, commandés ici chaque semaine."
        ).format(network=network)
    elif reach.farthest_km is None:
        about = ngettext(
            "<b>{network}</b> : les produits frais de {count} producteur, commandés ici chaque semaine.",
            "<b>{network}</b> : les produits frais de {count} producteurs, commandés ici chaque semaine.",
            reach.producers,
        ).format(network=network, count=reach.producers)
    else:
        about = ngettext(
            "<b>{network}</b> : les produits frais de {count} producteur à {km} km au plus, commandés ici chaque semaine.",
            "<b>{network}</b> : les produits frais de {count} producteurs à {km} km au plus, commandés ici chaque semaine.",
            reach.producers,
        ).format(network=network, count=reach.producers, km=reach.farthest_km)
    return "\n".join(
        [
            _("Bonjour {name} !").format(name=escape(member.first_name)),
            *tools,
            about,
            _("Retrait au point de collecte le jour de livraison. Tapez /aide pour tout savoir."),
        ]
    )


async def _follow_invitation(update: Update, context: DesserteContext, payload: str) -> bool:
    """Act on a deep-link payload; True when it answered the member itself."""
    if payload.startswith(COMPANY_PREFIX):
        point = await join_by_invitation(
            context.session, context.member, payload[len(COMPANY_PREFIX) :]
        )
        if point is not None:
            await show(
                update,
                _(
                    "Bienvenue ! Vous avez rejoint le point de retrait <b>{point}</b> ({company}) : "
                    "vos commandes y seront livrées."
                ).format(point=escape(point.name), company=escape(point.company or "")),
                main_menu_keyboard(),
            )
            return True
    await show(
        update,
        "\n".join(
            [
                _("Ce lien d’invitation n’est plus valable. Demandez-en un nouveau à l’équipe."),
                team_contact_line(context),
            ]
        ),
    )
    return False


async def start(update: Update, context: DesserteContext) -> None:
    """Greets the member in their language, shows the main menu, asks for a pickup point."""
    payload = " ".join(context.args or []).strip()
    if payload and await _follow_invitation(update, context, payload):
        return
    member = context.member
    if (
        member.pickup_point_id is None
        and member.producer_id is None
        and await points_for(context.session, member)
    ):
        # First visit: the greeting and the one question that matters, in one message.
        text, keyboard = await points_message(
            context, _("<b>Pour commencer, où voulez-vous retirer vos commandes ?</b>")
        )
        await show(update, f"{await greeting_text(context)}\n\n{text}", keyboard)
        return
    await show(update, await greeting_text(context), main_menu_keyboard())


async def show_menu(update: Update, context: DesserteContext) -> None:
    """The main menu again, in place of the pressed message."""
    await show(update, await greeting_text(context), main_menu_keyboard())
