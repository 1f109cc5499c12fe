"""Producers joining: an admin's single-use invitation link links a person to their farm.

``/invite_producteur SLUG`` (admins) gives ``https://t.me/<bot>?start=f-<code>``; ``/start``
hands the ``f-`` payload to :func:`handle_producer_invitation`.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.i18n import _, lazy_gettext
from handlers.menu import (
    ADMIN,
    PRODUCER,
    Command,
    commands_for,
)
from handlers.pages import show_texts, split_html
from handlers.team import team_contact_line
from models.errors import StaleAction
from models.producers import (
    INVITE_PREFIX,
    accept_invitation,
    all_producers,
    invitation_code,
    producer_by_slug,
)

INVITE_COMMAND = Command(
    "invite_producteur",
    "invite_producer",
    lazy_gettext("Inviter un producteur (lien à usage unique)"),
    ADMIN,
)


async def invite_producer(update: Update, context: DesserteContext) -> None:
    """/invite_producteur SLUG: the producer's single-use invitation link (admins only)."""
    if not await admin_or_refuse(update, context):
        return
    slug = " ".join(context.args or []).strip()
    producer = await producer_by_slug(context.session, slug) if slug else None
    if producer is None:
        producers = await all_producers(context.session)
        parts = [
            _("Je ne connais pas le producteur « {slug} ».").format(slug=escape(slug))
            if slug
            else _("Pour quel producteur ?"),
            _("Tapez /{command} suivi de son identifiant :").format(
                command=INVITE_COMMAND.localized_name()
            ),
            *(f"• <code>{escape(p.slug)}</code> — {escape(p.name)}" for p in producers),
        ]
        await show_texts(update, split_html(parts))
        return
    code = await invitation_code(context.session, producer)
    link = f"https://t.me/{context.bot.username}?start={INVITE_PREFIX}{code}"
    await show(
        update,
        _(
            "Lien d’invitation pour <b>{producer}</b>, valable une seule fois : transmettez-le à "
            "la personne qui gérera le stock.\n{link}"
        ).format(producer=escape(producer.name), link=escape(link)),
    )


async def handle_producer_invitation(update: Update, context: DesserteContext, code: str) -> bool:
    """``/start f-<code>``: link the sender to the producer and welcome them as such, or say
    politely that the link was already used or is unknown. Returns True: it always answered."""
    try:
        producer = await accept_invitation(context.session, context.member, code)
    except StaleAction:
        await show(
            update,
            "\n".join(
                [
                    _(
                        "Ce lien d’invitation producteur a déjà servi ou n’est plus valable. "
                        "Demandez-en un nouveau à l’équipe du réseau."
                    ),
                    team_contact_line(context),
                ]
            ),
        )
        return True
    await show(
        update,
        "\n".join(
            [
                _("Bienvenue {name} ! Vous êtes maintenant relié(e) à <b>{producer}</b>.").format(
                    name=escape(context.member.first_name), producer=escape(producer.name)
                ),
                _(
                    "Pour donner votre stock, envoyez-moi simplement un message, par exemple "
                    "« tomates 12 kg, plus de radis » : je vous montre ce que j’ai compris et "
                    "vous validez d’un geste."
                ),
                *(
                    f"/{command.localized_name()} — {command.description}"
                    for command in commands_for(PRODUCER)
                    if command.producer_tool
                ),
            ]
        ),
    )
    return True


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/invite_producteur."""
    return [CommandHandler(list(INVITE_COMMAND.names), invite_producer)]
