"""A product's card told by its producer: a photo named by its caption, a story, a recipe tip.

A producer (or an admin) sends a photo whose caption names a product ("tomates anciennes"):
the bot shows the card with that photo and asks; "✅ Valider" makes it the product's photo.
``/histoire tomates anciennes : …`` (``/story``) and ``/astuce …`` (``/tip``) do the same for
the short story and the recipe tip shown on the card. A producer tells their own farm's
products, an admin any product.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.card_texts import story_lines
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, lazy_gettext
from handlers.menu import ADMIN, PRODUCER, Command
from handlers.shop import product_title
from models.card_proposal import CardPart, CardProposal
from models.card_stories import (
    STORY_MAX,
    ProductMatch,
    cancel_proposal,
    confirm_proposal,
    find_product,
    propose,
)
from models.errors import NotAllowed, StaleAction
from models.producer import Product

STORY_COMMAND = Command(
    "histoire", "story", lazy_gettext("Raconter l’histoire d’un produit"), PRODUCER | ADMIN
)
TIP_COMMAND = Command(
    "astuce", "tip", lazy_gettext("Donner une astuce de recette"), PRODUCER | ADMIN
)


class ConfirmCard(CallbackData, prefix="card:ok"):
    """The proposal ``proposal_id`` becomes the product's photo, story or tip."""

    proposal_id: int


class CancelCard(ConfirmCard, prefix="card:no"):
    """The proposal ``proposal_id`` is forgotten; the card stays as it was."""


def _may_tell(context: DesserteContext) -> bool:
    return context.member.producer_id is not None or context.is_admin


def _keyboard(proposal: CardProposal) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("✅ Valider"), callback_data=ConfirmCard(proposal.id).pack()
                ),
                InlineKeyboardButton(_("✖️ Annuler"), callback_data=CancelCard(proposal.id).pack()),
            ]
        ]
    )


def _not_found(text: str, match: ProductMatch) -> str:
    if match.candidates:
        names = ", ".join(f"« {escape(p.name)} »" for p in match.candidates[:8])
        return _(
            "« {text} » peut désigner plusieurs produits : {names}. Renvoyez-le avec le nom exact."
        ).format(text=escape(text), names=names)
    return _(
        "Je ne trouve pas « {text} » parmi vos produits. "
        "Écrivez le nom du produit tel qu’il est au catalogue (/produits les liste)."
    ).format(text=escape(text))


def _preview_text(product: Product, part: CardPart) -> str:
    """The card's head as members will read it, and the question."""
    lines = [product_title(product.name), *story_lines(product), ""]
    question = {
        CardPart.PHOTO: _("C’est la photo de {name} ? Les membres la verront sur sa fiche."),
        CardPart.STORY: _("C’est l’histoire de {name} ? Les membres la liront sur sa fiche."),
        CardPart.TIP: _("C’est l’astuce pour {name} ? Les membres la liront sur sa fiche."),
    }[part]
    lines.append(question.format(name=escape(product.name)))
    return "\n".join(lines)


async def receive_photo(update: Update, context: DesserteContext) -> None:
    """A photo from a producer or an admin: the card it would make, with Valider / Annuler."""
    message = update.effective_message
    if message is None or not message.photo:
        return
    if not _may_tell(context):
        await message.reply_text(
            _(
                "Merci pour la photo ! Je ne sais pas encore quoi en faire : "
                "pour commander, tapez /catalogue."
            )
        )
        return
    caption = (message.caption or "").strip()
    if not caption:
        await message.reply_text(
            _(
                "Belle photo ! Pour qu’elle illustre un produit, renvoyez-la avec son nom en "
                "légende, par exemple « tomates anciennes »."
            )
        )
        return
    match = await find_product(context.session, context.member, caption, everyone=context.is_admin)
    await context.session.commit()
    if match.product is None:
        await message.reply_text(_not_found(caption, match), parse_mode=ParseMode.HTML)
        return
    product = match.product
    file_id = message.photo[-1].file_id  # the largest size
    proposal = await propose(
        context.session, context.member, product, CardPart.PHOTO, file_id, context.services.now()
    )
    await message.reply_photo(
        file_id,
        caption=_preview_text(product, CardPart.PHOTO),
        parse_mode=ParseMode.HTML,
        reply_markup=_keyboard(proposal),
    )


async def _tell(update: Update, context: DesserteContext, part: CardPart) -> None:
    """/histoire or /astuce: ``product : text`` previewed with Valider / Annuler."""
    message = update.effective_message
    if message is None:
        return
    if not _may_tell(context):
        await message.reply_text(_("Cette commande est réservée aux producteurs du réseau."))
        return
    command = STORY_COMMAND if part == CardPart.STORY else TIP_COMMAND
    name, _colon, told = " ".join(context.args or []).partition(":")
    name, told = name.strip(), " ".join(told.split())
    if not name or not told:
        await message.reply_text(
            _(
                "Écrivez le produit, deux-points, puis le texte, par exemple :\n"
                "/{command} tomates anciennes : {example}"
            ).format(
                command=command.localized_name(),
                example=_("semées depuis 30 ans avec nos propres graines.")
                if part == CardPart.STORY
                else _("en salade avec un filet d’huile de noix."),
            )
        )
        return
    if len(told) > STORY_MAX:
        await message.reply_text(
            _("C’est un peu long pour une fiche : {maximum} caractères au plus, merci.").format(
                maximum=STORY_MAX
            )
        )
        return
    match = await find_product(context.session, context.member, name, everyone=context.is_admin)
    await context.session.commit()
    if match.product is None:
        await message.reply_text(_not_found(name, match), parse_mode=ParseMode.HTML)
        return
    product = match.product
    proposal = await propose(
        context.session, context.member, product, part, told, context.services.now()
    )
    # The preview reads as the card will: the product as it is, with the new text in place.
    shown = _preview_product(product, part, told)
    await message.reply_text(
        _preview_text(shown, part), parse_mode=ParseMode.HTML, reply_markup=_keyboard(proposal)
    )


def _preview_product(product: Product, part: CardPart, told: str) -> Product:
    """A detached copy of the product's texts with ``told`` in place (nothing is saved)."""
    return Product(
        name=product.name,
        story=told if part == CardPart.STORY else product.story,
        tip=told if part == CardPart.TIP else product.tip,
    )


async def tell_story(update: Update, context: DesserteContext) -> None:
    """/histoire product : story."""
    await _tell(update, context, CardPart.STORY)


async def tell_tip(update: Update, context: DesserteContext) -> None:
    """/astuce product : tip."""
    await _tell(update, context, CardPart.TIP)


async def confirm(update: Update, context: DesserteContext, data: ConfirmCard) -> None:
    """Valider: the photo, story or tip is the product's; the preview says so."""
    try:
        proposal = await confirm_proposal(
            context.session, context.member, data.proposal_id, context.services.now()
        )
    except NotAllowed:
        await tell_stale(update)
        return
    except StaleAction:
        await show(update, _("Ce choix a déjà été fait : rien n’a changé."))
        return
    name = escape(proposal.product.name)
    done = {
        CardPart.PHOTO: _("✅ La photo de {name} est enregistrée : elle illustre sa fiche."),
        CardPart.STORY: _("✅ L’histoire de {name} est sur sa fiche."),
        CardPart.TIP: _("✅ L’astuce pour {name} est sur sa fiche."),
    }[proposal.part]
    await show(update, done.format(name=name))


async def cancel(update: Update, context: DesserteContext, data: CancelCard) -> None:
    """Annuler: nothing changes on the card."""
    try:
        proposal = await cancel_proposal(
            context.session, context.member, data.proposal_id, context.services.now()
        )
    except NotAllowed:
        await tell_stale(update)
        return
    except StaleAction:
        await show(update, _("Ce choix a déjà été fait : rien n’a changé."))
        return
    await show(
        update,
        _("C’est annulé : la fiche de {name} reste comme elle était.").format(
            name=escape(proposal.product.name)
        ),
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Photos with a caption, /histoire and /astuce, and their previews' buttons."""
    return [
        MessageHandler(filters.UpdateType.MESSAGE & filters.PHOTO, receive_photo),
        CommandHandler(list(STORY_COMMAND.names), tell_story),
        CommandHandler(list(TIP_COMMAND.names), tell_tip),
        button(ConfirmCard, confirm),
        button(CancelCard, cancel),
    ]
