"""Plain text outside any conversation: a weight (:mod:`handlers.weighing`, the producers' and the
team's), a producer's stock message, else small talk
(:mod:`handlers.small_talk`), else a catalog search.

Also answers edited messages (the bot only reads new ones) and update kinds it does not use.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.i18n import _
from handlers.menu import BASKET, CATALOG
from handlers.routes import NO_CATEGORY, ShowCard
from handlers.shop import closed_shop_text
from handlers.small_talk import answer_small_talk
from handlers.stock_messages import handle_stock_text
from handlers.units import price_phrase
from handlers.vocabulary import product_name
from handlers.weighing import handle_weighing_text
from models import catalog
from models.cycles import open_cycle

MAX_QUERY = 200


async def read_text(update: Update, context: DesserteContext) -> None:
    """Stock update for producers; a short answer to small talk; otherwise the matching
    products, or the categories."""
    message = update.effective_message
    if message is None or not message.text:
        return
    if await handle_weighing_text(update, context):
        return
    if context.member.producer_id is not None and await handle_stock_text(update, context):
        return
    query = message.text.strip()[:MAX_QUERY]
    if await answer_small_talk(update, context, query):
        return
    cycle = await open_cycle(context.session)
    if cycle is None:
        await message.reply_text(await closed_shop_text(context))
        return
    views = catalog.search(await catalog.offers(context.session, cycle.id), query)
    if not views:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("🛍 Voir les rayons"), callback_data=CATALOG.pack())]]
        )
        await show(
            update,
            _("Je n’ai rien trouvé pour « {query} » cette semaine. Voici les rayons :").format(
                query=escape(query[:60])
            ),
            keyboard,
        )
        return
    lines = [_("<b>Résultats pour « {query} »</b>").format(query=escape(query[:60]))]
    rows = []
    for view in views:
        suffix = _(" (épuisé)") if view.sold_out else ""
        name = product_name(view.product)
        lines.append(f"• {escape(name)} — {escape(price_phrase(view.product))}{suffix}")
        rows.append(
            [
                InlineKeyboardButton(
                    name,
                    callback_data=ShowCard(
                        cycle.id, view.product.id, str(view.product.step), NO_CATEGORY, 0
                    ).pack(),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(_("🛍 Rayons"), callback_data=CATALOG.pack()),
            InlineKeyboardButton(_("🧺 Panier"), callback_data=BASKET.pack()),
        ]
    )
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows))


async def answer_edit(update: Update, context: DesserteContext) -> None:
    """An edited message is not acted upon: say so, politely."""
    message = update.edited_message
    if message is not None:
        await message.reply_text(
            _(
                "J’ai vu votre modification, mais je ne lis que les nouveaux messages : renvoyez-le si besoin."
            )
        )


async def answer_other(update: Update, context: DesserteContext) -> None:
    """Stickers, photos, voice notes…: say what the bot understands."""
    message = update.effective_message
    if message is not None and update.message is not None:
        await message.reply_text(
            _(
                "Je ne sais lire que du texte et des boutons. Tapez /aide pour voir ce que je sais faire."
            )
        )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Free text, edits and the rest, after every other feature."""
    return [
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, answer_edit),
        MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, read_text),
        MessageHandler(filters.UpdateType.MESSAGE & ~filters.COMMAND, answer_other),
    ]
