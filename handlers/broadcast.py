"""/diffusion (/broadcast): an admin writes a message, picks an audience, previews, sends.

The steps (compose → audience → preview → send) are wired in one place, :func:`handlers` and
:func:`early_handlers`. Each step's state is in the database (the text awaited in
``member.awaiting``, then the draft's row), not in a conversation kept in one process, so
whichever worker gets the admin's next message or press serves it. Pressing
send fixes the recipients (one outbox row each) and hands the broadcast to
:mod:`handlers.broadcast_sending`, which sends it in the background.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from babel.support import LazyProxy
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers.admin_only import admin_or_refuse
from handlers.broadcast_sending import launch, progress_text
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import answer_stale, escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, format_quantity, lazy_gettext, ngettext
from handlers.menu import ADMIN, Command
from models import Broadcast
from models.broadcasts import (
    Audience,
    BroadcastProgress,
    TextTooLong,
    cancel_drafts,
    choose_audience,
    create_draft,
    drop_draft,
    start_broadcast,
    started_broadcast,
)
from models.errors import NoOpenCycle, StaleAction
from models.members import await_input, awaited, stop_awaiting
from models.pickup import active_points

COMMAND = Command("diffusion", "broadcast", lazy_gettext("Envoyer un message à un public"), ADMIN)
CANCEL_NAMES = ("annuler", "cancel")


class ChooseAudience(CallbackData, prefix="bc:aud"):
    """The draft's recipients: one of the :class:`Audience` values."""

    draft_id: int
    audience: str

    def __post_init__(self) -> None:
        super().__post_init__()
        Audience(self.audience)  # a ValueError for anything else

    @property
    def chosen(self) -> Audience:
        """The audience, as the domain names it."""
        return Audience(self.audience)


class ChoosePoint(CallbackData, prefix="bc:pt"):
    """The draft's recipients: the members of one pickup point."""

    draft_id: int
    point_id: int


class SendDraft(CallbackData, prefix="bc:send"):
    """The draft sent to the recipients chosen."""

    draft_id: int


class BackToAudience(SendDraft, prefix="bc:back"):
    """Back to the choice of recipients."""


class CancelDraft(SendDraft, prefix="bc:no"):
    """The draft dropped."""


DRAFT_TIMEOUT = timedelta(minutes=15)
"""A broadcast left waiting for its text this long does not take the admin's next message."""
TEXT_KEY = "broadcast_text"
"""What the admin is awaited to type (``models.members.await_input``): the broadcast's text,
``{"prompt": the asking message's id, "at": when}``."""

AUDIENCE_NAMES: dict[Audience, LazyProxy] = {
    Audience.CONSUMERS: lazy_gettext("tous les consommateurs"),
    Audience.PRODUCERS: lazy_gettext("les producteurs"),
    Audience.PICKUP_POINT: lazy_gettext("un point de retrait"),
    Audience.NOT_ORDERED: lazy_gettext("ceux qui n’ont pas encore commandé cette semaine"),
}


# -- keyboards and texts ------------------------------------------------------------------------


def broadcast_text(body_html: str, network: str) -> str:
    """The message recipients get: the network's name, then the admin's text."""
    return f"📣 <b>{escape(network)}</b>\n\n{body_html}"


def audience_keyboard(draft_id: int) -> InlineKeyboardMarkup:
    """One button per audience, and cancel."""
    rows = [
        [InlineKeyboardButton(_("👥 Tous les consommateurs"), callback_data=ChooseAudience(draft_id, Audience.CONSUMERS.value).pack())],
        [InlineKeyboardButton(_("🧑‍🌾 Les producteurs"), callback_data=ChooseAudience(draft_id, Audience.PRODUCERS.value).pack())],
        [InlineKeyboardButton(_("📍 Un point de retrait"), callback_data=ChooseAudience(draft_id, Audience.PICKUP_POINT.value).pack())],
        [InlineKeyboardButton(_("⏰ Ceux qui n’ont pas commandé"), callback_data=ChooseAudience(draft_id, Audience.NOT_ORDERED.value).pack())],
        [InlineKeyboardButton(_("✖️ Annuler"), callback_data=CancelDraft(draft_id).pack())],
    ]  # fmt: skip
    return InlineKeyboardMarkup(rows)


def count_text(count: int) -> str:
    """ "1 800 personnes" with Babel's grouping."""
    return ngettext("{count} personne", "{count} personnes", count).format(
        count=format_quantity(count)
    )


# -- the conversation -----------------------------------------------------------------------------


async def ask_text(update: Update, context: DesserteContext) -> None:
    """Asks the admin for the message to broadcast (anyone else is refused)."""
    if not await admin_or_refuse(update, context):
        return
    prompt = await show(
        update,
        _(
            "📣 <b>Nouvelle diffusion</b>\nÉcrivez le message à envoyer (mise en forme comprise). "
            "/annuler pour abandonner."
        ),
    )
    prompt_id = prompt.message_id if isinstance(prompt, Message) else None
    await _await_text(context, prompt_id)


async def _await_text(context: DesserteContext, prompt_id: int | None) -> None:
    """The admin's next message is the broadcast's text (asked by ``prompt_id``), in the
    database: whichever worker receives it reads it."""
    asked = {"prompt": prompt_id, "at": context.services.now().isoformat()}
    await await_input(context.session, context.member, TEXT_KEY, asked)


async def take_text(update: Update, context: DesserteContext) -> None:
    """The admin's message while a broadcast waits for its text: kept as a draft, then who
    should get it is asked; anything but text is refused. Any other message goes on to the
    other handlers."""
    message = update.effective_message
    member = context.member
    if message is None or member is None or not context.is_admin:
        return
    asked = awaited(member, TEXT_KEY)
    if not isinstance(asked, dict):
        return
    if datetime.fromisoformat(asked["at"]) + DRAFT_TIMEOUT < context.services.now():
        await stop_awaiting(context.session, member, TEXT_KEY)  # forgotten: not a broadcast
        return
    if not message.text:
        await message.reply_text(_("Je ne diffuse que du texte. Écrivez le message, ou /annuler."))
        raise ApplicationHandlerStop
    try:
        draft = await create_draft(context.session, member, message.text_html)
    except TextTooLong as refused:
        refusal = await message.reply_text(
            _(
                "Ce message est trop long ({length} caractères, {maximum} au plus). "
                "Raccourcissez-le et renvoyez-le, ou /annuler."
            ).format(**refused.params)
        )
        await _await_text(context, refusal.message_id)  # the next text answers this refusal
        raise ApplicationHandlerStop from None
    await stop_awaiting(context.session, member, TEXT_KEY)
    # When other commands and their answers came in between, the admin may have moved on
    # (a search, not a broadcast): ask.
    prompt_id = asked.get("prompt")
    right_after = not isinstance(prompt_id, int) or message.message_id == prompt_id + 1
    question = (
        _("À qui faut-il l’envoyer ?")
        if right_after
        else _(
            "📣 Vous aviez commencé une diffusion. Faut-il diffuser ce message ? Choisissez à "
            "qui, ou ✖️ Annuler si vous vouliez autre chose."
        )
    )
    await message.reply_text(
        question,
        reply_markup=audience_keyboard(draft.id),
        parse_mode=ParseMode.HTML,
    )
    raise ApplicationHandlerStop


async def _preview(
    update: Update, context: DesserteContext, broadcast: Broadcast, count: int, audience: str
) -> None:
    lines = [
        _("<b>Aperçu</b>"),
        "",
        broadcast_text(broadcast.text, context.services.network_name),
        "",
        "———",
        _("Destinataires : {audience} — {count}.").format(
            audience=escape(audience), count=count_text(count)
        ),
    ]
    rows = []
    if count:
        rows.append(
            [
                InlineKeyboardButton(
                    ngettext(
                        "✅ Envoyer à {count} personne", "✅ Envoyer à {count} personnes", count
                    ).format(count=format_quantity(count)),
                    callback_data=SendDraft(broadcast.id).pack(),
                )
            ]
        )
    else:
        lines.append(_("Personne à qui l’envoyer : choisissez d’autres destinataires."))
    rows.append(
        [
            InlineKeyboardButton(
                _("↩️ Changer les destinataires"),
                callback_data=BackToAudience(broadcast.id).pack(),
            )
        ]
    )
    rows.append(
        [InlineKeyboardButton(_("✖️ Annuler"), callback_data=CancelDraft(broadcast.id).pack())]
    )
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows))


async def pick_audience(update: Update, context: DesserteContext, data: ChooseAudience) -> None:
    """Shows the preview for the chosen audience (or the pickup points to choose from)."""
    audience = data.chosen
    if audience is Audience.PICKUP_POINT:
        points = await active_points(context.session)
        rows = [
            [
                InlineKeyboardButton(
                    point.name, callback_data=ChoosePoint(data.draft_id, point.id).pack()
                )
            ]
            for point in points
        ]
        rows.append(
            [
                InlineKeyboardButton(
                    _("↩️ Retour"), callback_data=BackToAudience(data.draft_id).pack()
                )
            ]
        )
        await show(update, _("Quel point de retrait ?"), InlineKeyboardMarkup(rows))
        return
    try:
        broadcast, count = await choose_audience(
            context.session, data.draft_id, context.member, audience
        )
    except NoOpenCycle:
        notice = _(
            "Aucun cycle n’est ouvert : tout le monde « n’a pas commandé ». Choisissez un autre public."
        )
        text = "\n\n".join([f"⚠️ {notice}", _("À qui faut-il l’envoyer ?")])
        await show(update, text, audience_keyboard(data.draft_id))
        return
    except StaleAction:
        await tell_stale(update)
        return
    await _preview(update, context, broadcast, count, str(AUDIENCE_NAMES[audience]))


async def pick_point(update: Update, context: DesserteContext, data: ChoosePoint) -> None:
    """Shows the preview for one pickup point's members."""
    try:
        broadcast, count = await choose_audience(
            context.session,
            data.draft_id,
            context.member,
            Audience.PICKUP_POINT,
            str(data.point_id),
        )
    except StaleAction:
        await tell_stale(update)
        return
    names = {p.id: p.name for p in await active_points(context.session)}
    label = _("le point de retrait {name}").format(name=names.get(data.point_id, "?"))
    await _preview(update, context, broadcast, count, label)


async def back_to_audience(update: Update, context: DesserteContext, data: BackToAudience) -> None:
    """Back to the choice of recipients."""
    await show(update, _("À qui faut-il l’envoyer ?"), audience_keyboard(data.draft_id))


async def send(update: Update, context: DesserteContext, data: SendDraft) -> None:
    """Starts sending: the preview becomes the progress message."""
    try:
        network = context.services.network_name
        total = await start_broadcast(
            context.session,
            data.draft_id,
            context.member,
            lambda body: broadcast_text(body, network),
        )
    except StaleAction:
        await _already_sent(update, context, data.draft_id)
        return
    except NoOpenCycle:
        await tell_stale(update)
        return
    state = BroadcastProgress(total=total, sent=0, blocked=0, failed=0, uncertain=0, pending=total)
    message = await show(update, progress_text(state, finished=False))
    chat_id = update.effective_chat.id if update.effective_chat else None
    message_id = getattr(message, "message_id", None)
    launch(context.application, data.draft_id, chat_id, message_id)


async def _already_sent(update: Update, context: DesserteContext, broadcast_id: int) -> None:
    """ "Envoyer" on a broadcast no longer a draft: when it is this admin's and sent off (a
    double tap, or a press after the process died once it started), said so with where it
    stands — sent once, never again — and, still going, followed here; otherwise stale."""
    try:
        done, state = await started_broadcast(context.session, broadcast_id, context.member)
    except StaleAction:
        await tell_stale(update)
        return
    notice = _("Cette diffusion est déjà partie : elle n’est pas envoyée une seconde fois.")
    message = await show(update, f"{notice}\n\n{progress_text(state, finished=done)}")
    if not done:  # sent by this process or another; here, its progress is shown as it goes
        chat_id = update.effective_chat.id if update.effective_chat else None
        launch(
            context.application,
            broadcast_id,
            chat_id,
            getattr(message, "message_id", None),
            note=notice,
        )


async def cancel(update: Update, context: DesserteContext) -> None:
    """Drops the admin's draft (/annuler while composing); any other /annuler goes on to the
    other handlers."""
    member = context.member
    if member is None or not context.is_admin:
        return
    composing = awaited(member, TEXT_KEY) is not None
    await stop_awaiting(context.session, member, TEXT_KEY)
    if not await cancel_drafts(context.session, member) and not composing:
        return
    await show(update, _("Diffusion abandonnée : rien n’a été envoyé."))
    raise ApplicationHandlerStop


async def cancel_by_button(update: Update, context: DesserteContext, data: CancelDraft) -> None:
    """Drops the draft (its Annuler button); a draft already sent or gone is stale."""
    if context.member is None:
        return
    await stop_awaiting(context.session, context.member, TEXT_KEY)
    try:
        await drop_draft(context.session, data.draft_id, context.member)
    except StaleAction:
        await tell_stale(update)
        return
    await show(update, _("Diffusion abandonnée : rien n’a été envoyé."))


async def answer_outside(update: Update, context: DesserteContext) -> None:
    """A broadcast button no route knows: refused, or stale for an admin."""
    if await admin_or_refuse(update, context):
        await answer_stale(update)


def early_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """What sees an admin's message before the others (in an earlier group): while a
    broadcast waits for its text, the message is its text; /annuler drops the draft."""
    return [
        CommandHandler(list(CANCEL_NAMES), cancel),
        MessageHandler(filters.UpdateType.MESSAGE & ~filters.COMMAND, take_text),
    ]


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The broadcast's steps. Each is a database row's state, not a conversation in memory:
    any worker serves any step (compose with :func:`early_handlers`, audience, preview,
    send)."""
    return [
        CommandHandler(list(COMMAND.names), ask_text),
        # A forged audience leaves the admin choosing; a draft already sent or dropped is stale.
        button(ChooseAudience, pick_audience, admin=True),
        button(ChoosePoint, pick_point, admin=True),
        button(BackToAudience, back_to_audience, admin=True),
        button(SendDraft, send, admin=True),
        button(CancelDraft, cancel_by_button, admin=True),
        CallbackQueryHandler(answer_outside, pattern=r"^bc:"),
    ]
