"""Producers joining: an admin's single-use invitation link links a person to their farm.

``/invite_producteur SLUG`` (admins) gives ``https://t.me/<bot>?start=f-<code>``; ``/start``
hands the ``f-`` payload to :func:`handle_producer_invitation`.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.delivery import deliver
from handlers.i18n import _, lazy_gettext, of_name, to_name, use_locale
from handlers.menu import (
    ADMIN,
    PRODUCER,
    Command,
    commands_for,
)
from handlers.pages import show_texts, split_html
from handlers.team import team_contact_line
from models.audiences import admin_audience
from models.errors import StaleAction
from models.outbox import Kind, enqueue, parts
from models.producer import Producer
from models.producers import (
    INVITE_PREFIX,
    accept_invitation,
    all_producers,
    invitation_code,
    invited_to,
    producer_by_slug,
)

BOLD = "<b>{}</b>"


class MoveToFarm(CallbackData, prefix="pj:move"):
    """« Passer à … »: accept the invitation ``code`` and leave the current farm."""

    code: str


class StayWithFarm(CallbackData, prefix="pj:stay"):
    """« Rester … »: keep the current farm, the invitation stays unused."""


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


def _used_up(context: DesserteContext) -> str:
    return "\n".join(
        [
            _(
                "Ce lien d’invitation producteur a déjà servi ou n’est plus valable. "
                "Demandez-en un nouveau à l’équipe du réseau."
            ),
            team_contact_line(context),
        ]
    )


async def handle_producer_invitation(update: Update, context: DesserteContext, code: str) -> bool:
    """``/start f-<code>``: link the sender to the producer and welcome them as such; someone
    already linked to another farm is asked first (nothing changes until they press); a link
    already used or unknown gets a polite refusal. Returns True: it always answered."""
    producer = await invited_to(context.session, code)
    current = context.member.producer
    if producer is None:
        await show(update, _used_up(context))
        return True
    if current is not None and current.id != producer.id:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("Passer {to_producer}").format(to_producer=to_name(producer.name)),
                        callback_data=MoveToFarm(code).pack(),
                    )
                ],
                [
                    InlineKeyboardButton(
                        _("Rester avec {producer}").format(producer=current.name),
                        callback_data=StayWithFarm().pack(),
                    )
                ],
            ]
        )
        await show(
            update,
            _(
                "Votre compte est relié {to_current}. Passer {to_producer} ? "
                "Vous ne recevrez plus les commandes {of_current}."
            ).format(
                to_current=to_name(escape(current.name), BOLD),
                to_producer=to_name(escape(producer.name), BOLD),
                of_current=of_name(escape(current.name)),
                current=escape(current.name),
            ),
            keyboard,
        )
        return True
    await _join(update, context, code)
    return True


async def move_to_farm(update: Update, context: DesserteContext, data: MoveToFarm) -> None:
    """« Passer à … » pressed: the invitation is accepted (if still valid)."""
    await _join(update, context, data.code)


async def stay_with_farm(update: Update, context: DesserteContext) -> None:
    """« Rester … » pressed: nothing changes."""
    current = context.member.producer
    if current is None:
        await tell_stale(update)
        return
    await show(
        update,
        _("C’est noté : votre compte reste relié {to_producer}.").format(
            to_producer=to_name(escape(current.name), BOLD)
        ),
    )


async def _join(update: Update, context: DesserteContext, code: str) -> None:
    """Accept the invitation and welcome the producer; tell the admins when the farm left has
    nobody linked any more."""
    try:
        joined = await accept_invitation(context.session, context.member, code)
    except StaleAction:
        await show(update, _used_up(context))
        return
    producer = joined.producer
    await show(
        update,
        "\n".join(
            [
                _("Bienvenue {name} ! Votre compte est maintenant relié {to_producer}.").format(
                    name=escape(context.member.first_name),
                    to_producer=to_name(escape(producer.name), BOLD),
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
    if joined.left_alone is not None:
        await _tell_admins_left_alone(context, joined.left_alone, producer, code)


async def _tell_admins_left_alone(
    context: DesserteContext, farm: Producer, joined: Producer, code: str
) -> None:
    """Every admin hears, through the outbox, that ``farm`` has nobody to receive its orders."""
    services = context.services
    admins = await admin_audience(context.session, services.admin_ids, services.default_locale)
    drafts = []
    for admin in admins:
        with use_locale(admin.locale):
            text = _(
                "⚠️ <b>{farm}</b> n’a plus personne de relié : {name} a rejoint la ferme "
                "{joined}. Ses bons de commande n’arriveront à personne. Envoyez une invitation "
                "avec /{command} {slug}"
            ).format(
                farm=escape(farm.name),
                name=escape(context.member.display_name),
                joined=escape(joined.name),
                command=INVITE_COMMAND.localized_name(),
                slug=escape(farm.slug),
            )
            drafts += parts(admin.telegram_id, admin.locale, text, member_id=admin.member_id)
    topic = f"farm_left:{farm.id}:{code.removeprefix(INVITE_PREFIX)}"
    await enqueue(context.session, topic, Kind.FARM_LEFT_ALONE, drafts)
    await deliver(context.application, topic)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/invite_producteur, and the buttons that confirm moving to another farm."""
    return [
        CommandHandler(list(INVITE_COMMAND.names), invite_producer),
        button(MoveToFarm, move_to_farm),
        button(StayWithFarm, stay_with_farm),
    ]
