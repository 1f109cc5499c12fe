"""What a consumer types that is not a product: greetings, thanks, help, paying, reaching the
team, cancelling an order, a lone number. Each gets a short useful answer instead of a search.

:func:`answer_small_talk` is called by :mod:`handlers.free_text` before the catalog search.
"""

from __future__ import annotations

import re
from enum import Enum, auto

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.i18n import _
from handlers.menu import BASKET, BASKET_COMMAND, CATALOG, CATALOG_COMMAND, HELP_COMMAND, MENU
from handlers.routes import HELP
from handlers.shop import when
from handlers.team import payment_line, team_contact_line
from models.catalog import search_form as fold
from models.cycles import open_cycle


class Topic(Enum):
    """What a short message is about."""

    GREETING = auto()
    THANKS = auto()
    HELP = auto()
    PAYMENT = auto()
    CONTACT = auto()
    CANCEL = auto()
    NUMBER = auto()


GREETINGS = frozenset(
    {
        "bonjour", "bonsoir", "salut", "coucou", "bjr", "slt", "hello", "hi", "hey",
        "good", "morning", "afternoon", "evening", "there", "everyone", "all",
        "tout", "tous", "le", "monde", "madame", "monsieur", "a",
    }
)  # fmt: skip
GREETING_HEADS = frozenset(
    {"bonjour", "bonsoir", "salut", "coucou", "bjr", "slt", "hello", "hi", "hey", "good"}
)
THANKS = frozenset(
    {
        "merci", "mercii", "thanks", "thank", "thx", "ty", "ok", "okay", "daccord", "d",
        "accord", "parfait", "super", "top", "genial", "cool", "great", "perfect", "nice",
        "beaucoup", "bcp", "bien", "tres", "you", "so", "much", "very", "a", "vous", "toi",
    }
)  # fmt: skip
THANKS_HEADS = frozenset(
    {"merci", "mercii", "thanks", "thank", "thx", "ty", "ok", "okay", "accord", "parfait"}
    | {"super", "top", "genial", "cool", "great", "perfect", "nice"}
)
HELP_WORDS = frozenset({"aide", "aidez", "aider", "help", "secours", "sos"})
HELP_PHRASES = frozenset(
    {
        "comment ca marche", "comment ca fonctionne", "comment faire", "comment commander",
        "how does it work", "how to order", "how do i order", "menu", "que faire", "quoi faire",
    }
)  # fmt: skip
PAYMENT_WORDS = frozenset(
    {
        "payer", "paye", "paie", "paiement", "paiements", "payement", "regler", "reglement",
        "pay", "payment", "paying", "cheque", "especes", "cb",
    }
)  # fmt: skip
CONTACT_WORDS = frozenset(
    {
        "contact", "contacter", "joindre", "telephone", "tel", "mail", "email", "equipe",
        "organisateur", "organisatrice", "humain", "team", "organiser", "phone", "human",
    }
)  # fmt: skip
CANCEL_HEADS = ("annul", "cancel", "supprim", "delete")
NUMBER = re.compile(r"^\s*\d+(?:[.,]\d+)?\s*(?:x|×|kg|g|pieces?|pièces?)?\s*$", re.IGNORECASE)
MAX_WORDS = 8


def topic_of(text: str) -> Topic | None:
    """The topic of a short message, or None when it may be a product (left to the search)."""
    if NUMBER.match(text):
        return Topic.NUMBER
    if text.strip() in {"?", "??", "???"}:
        return Topic.HELP
    folded = fold(text)
    words = folded.split()
    if not words or len(words) > MAX_WORDS:
        return None
    if any(word.startswith(CANCEL_HEADS) for word in words):
        return Topic.CANCEL
    if any(word in HELP_WORDS for word in words) or folded in HELP_PHRASES:
        return Topic.HELP
    if any(word in PAYMENT_WORDS for word in words):
        return Topic.PAYMENT
    if any(word in CONTACT_WORDS for word in words):
        return Topic.CONTACT
    if words[0] in GREETING_HEADS and all(word in GREETINGS for word in words):
        return Topic.GREETING
    if any(word in THANKS_HEADS for word in words) and all(word in THANKS for word in words):
        return Topic.THANKS
    return None


def _command(name: str) -> str:
    return "/" + name


async def _cancel_text(context: DesserteContext) -> tuple[str, bool]:
    """How to cancel this week's order, and whether the basket can still be opened."""
    cycle = await open_cycle(context.session)
    if cycle is None:
        return (
            "\n".join(
                [
                    _(
                        "Les commandes de la semaine sont closes : je ne peux plus annuler "
                        "moi-même. Prévenez l’équipe au plus vite."
                    ),
                    team_contact_line(context),
                ]
            ),
            False,
        )
    return (
        _(
            "Pour annuler votre commande, ouvrez {basket} puis « 🗑 Vider le panier » : les "
            "produits retournent au stock. C’est possible jusqu’à la clôture, le {when}."
        ).format(
            basket=_command(BASKET_COMMAND.localized_name()), when=when(context, cycle.closes_at)
        ),
        True,
    )


async def answer_small_talk(update: Update, context: DesserteContext, text: str) -> bool:
    """Answer ``text`` when it is small talk (True), or leave it to the search (False)."""
    topic = topic_of(text)
    if topic is None:
        return False
    help_command = _command(HELP_COMMAND.localized_name())
    catalog_command = _command(CATALOG_COMMAND.localized_name())
    rows = [
        [
            InlineKeyboardButton(_("🛍 Catalogue"), callback_data=CATALOG.pack()),
            InlineKeyboardButton(_("🧺 Panier"), callback_data=BASKET.pack()),
        ]
    ]
    if topic is Topic.GREETING:
        reply = _(
            "Bonjour {name} ! Écrivez le nom d’un produit (« tomates », « fromage ») ou "
            "ouvrez le catalogue. {help} vous dit tout ce que je sais faire."
        ).format(name=escape(context.member.first_name), help=help_command)
    elif topic is Topic.THANKS:
        reply = _("Avec plaisir ! Bonne semaine.")
        rows = [[InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())]]
    elif topic is Topic.HELP:
        reply = "\n".join(
            [
                _(
                    "Pour commander : ouvrez {catalog}, choisissez un produit et sa quantité, "
                    "puis confirmez votre {basket}. Vous pouvez aussi écrire le nom d’un produit."
                ).format(
                    catalog=catalog_command,
                    basket=_command(BASKET_COMMAND.localized_name()),
                ),
                _("Toutes les commandes : {help}").format(help=help_command),
                payment_line(context),
                team_contact_line(context),
            ]
        )
        rows.append([InlineKeyboardButton(_("❓ Aide"), callback_data=HELP.pack())])
    elif topic is Topic.PAYMENT:
        reply = payment_line(context)
    elif topic is Topic.CONTACT:
        reply = team_contact_line(context)
    elif topic is Topic.CANCEL:
        reply, open_basket = await _cancel_text(context)
        if not open_basket:
            rows = [[InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())]]
    else:
        reply = _(
            "De quel produit ? Écrivez son nom (« tomates », « miel ») : vous choisirez la "
            "quantité sur sa fiche."
        )
    await show(update, reply, InlineKeyboardMarkup(rows))
    return True
