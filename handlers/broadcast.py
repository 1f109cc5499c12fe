"""/diffusion (/broadcast): an admin writes a message, picks an audience, previews, sends.

The conversation (compose → audience → preview → send) is wired in one place,
:func:`handlers`. Sending runs in a background task per broadcast (:func:`launch`), apart from
the update that started it:

* the recipients are fixed up front: one outbox row each (:mod:`models.broadcasting`);
* the outbox's one sender (:mod:`handlers.delivery`) claims, paces (below Telegram's 30/s),
  retries and settles each row, so a crash or a second process never makes anyone receive it
  twice; a 403 marks the member unreachable, so later broadcasts skip them;
* the admin sees one message edited as it goes ("640 / 1 800").

:func:`resume_broadcasts` restarts, at start-up, the broadcasts a stopped process left unfinished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from datetime import timedelta
from enum import IntEnum
from typing import Any

from babel.support import LazyProxy
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import answer_stale, escape, show, tell_stale
from handlers.context import DesserteContext, services_of
from handlers.delivery import deliver
from handlers.i18n import _, format_quantity, lazy_gettext, ngettext, use_locale
from handlers.menu import ADMIN, Command, register_command
from models import Broadcast
from models.broadcasting import (
    Audience,
    BroadcastProgress,
    TextTooLong,
    author_of,
    cancel_drafts,
    choose_audience,
    create_draft,
    finish_broadcast,
    interrupted_broadcasts,
    progress,
    start_broadcast,
)
from models.errors import NoOpenCycle, StaleAction
from models.exports import active_points
from models.outbox import OutboxState, broadcast_topic, recover_interrupted

log = logging.getLogger(__name__)

COMMAND = register_command(
    Command("diffusion", "broadcast", lazy_gettext("Envoyer un message à un public"), ADMIN)
)
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


PROGRESS_EVERY = 2.0
"""Seconds between two edits of the admin's progress message."""

DRAFT_TIMEOUT = timedelta(minutes=15)
"""A conversation left unfinished this long is forgotten."""

AUDIENCE_NAMES: dict[Audience, LazyProxy] = {
    Audience.CONSUMERS: lazy_gettext("tous les consommateurs"),
    Audience.PRODUCERS: lazy_gettext("les producteurs"),
    Audience.PICKUP_POINT: lazy_gettext("un point de retrait"),
    Audience.NOT_ORDERED: lazy_gettext("ceux qui n’ont pas encore commandé cette semaine"),
}


PROMPT_KEY = "broadcast_prompt"
"""``chat_data`` key: the id of the message asking for the broadcast's text (the conversation's
own state is in memory too)."""


class Step(IntEnum):
    """Where the admin is in composing a broadcast."""

    TEXT = 1
    AUDIENCE = 2
    CONFIRM = 3


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


def progress_text(state: BroadcastProgress, finished: bool) -> str:
    """The admin's progress message: "640 / 1 800", then the outcome."""
    done, total = format_quantity(state.done), format_quantity(state.total)
    if not finished:
        return _("📣 Diffusion en cours : {done} / {total}").format(done=done, total=total)
    lines = [
        _("✅ Diffusion terminée : {sent} / {total} envoyés.").format(
            sent=format_quantity(state.sent), total=total
        )
    ]
    if state.blocked:
        lines.append(
            ngettext(
                "{count} personne a bloqué le bot : elle ne recevra plus les diffusions.",
                "{count} personnes ont bloqué le bot : elles ne recevront plus les diffusions.",
                state.blocked,
            ).format(count=format_quantity(state.blocked))
        )
    if state.failed:
        lines.append(
            ngettext("{count} envoi a échoué.", "{count} envois ont échoué.", state.failed).format(
                count=format_quantity(state.failed)
            )
        )
    if state.uncertain:
        lines.append(
            ngettext(
                "{count} envoi a été interrompu : il a peut-être été reçu.",
                "{count} envois ont été interrompus : ils ont peut-être été reçus.",
                state.uncertain,
            ).format(count=format_quantity(state.uncertain))
        )
    return "\n".join(lines)


# -- the conversation -----------------------------------------------------------------------------


async def ask_text(update: Update, context: DesserteContext) -> int:
    """Asks the admin for the message to broadcast (anyone else is refused)."""
    if not await admin_or_refuse(update, context):
        return ConversationHandler.END
    prompt = await show(
        update,
        _(
            "📣 <b>Nouvelle diffusion</b>\nÉcrivez le message à envoyer (mise en forme comprise). "
            "/annuler pour abandonner."
        ),
    )
    if isinstance(prompt, Message) and context.chat_data is not None:
        context.chat_data[PROMPT_KEY] = prompt.message_id
    return Step.TEXT


def _answers_the_prompt(context: DesserteContext, message: Message) -> bool:
    """Whether ``message`` comes right after the broadcast's prompt: when other commands and
    their answers came in between, the admin may have moved on (a search, not a broadcast)."""
    prompt_id = context.chat_data.pop(PROMPT_KEY, None) if context.chat_data is not None else None
    return not isinstance(prompt_id, int) or message.message_id == prompt_id + 1


async def take_text(update: Update, context: DesserteContext) -> int:
    """Keeps the text as a draft and asks who should get it."""
    message = update.effective_message
    assert message is not None
    if not context.is_admin:
        return ConversationHandler.END
    try:
        draft = await create_draft(context.session, context.member, message.text_html)
    except TextTooLong as refused:
        refusal = await message.reply_text(
            _(
                "Ce message est trop long ({length} caractères, {maximum} au plus). "
                "Raccourcissez-le et renvoyez-le, ou /annuler."
            ).format(**refused.params)
        )
        if context.chat_data is not None:  # the admin's next text answers this refusal
            context.chat_data[PROMPT_KEY] = refusal.message_id
        return Step.TEXT
    question = (
        _("À qui faut-il l’envoyer ?")
        if _answers_the_prompt(context, message)
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
    return Step.AUDIENCE


async def ask_text_only(update: Update, context: DesserteContext) -> int:
    """Anything but text while composing: only text can be broadcast."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            _("Je ne diffuse que du texte. Écrivez le message, ou /annuler.")
        )
    return Step.TEXT


async def _preview(
    update: Update, context: DesserteContext, broadcast: Broadcast, count: int, audience: str
) -> int:
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
    return Step.CONFIRM


async def pick_audience(update: Update, context: DesserteContext, data: ChooseAudience) -> int:
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
        return Step.AUDIENCE
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
        return Step.AUDIENCE
    except StaleAction:
        await tell_stale(update)
        return ConversationHandler.END
    return await _preview(update, context, broadcast, count, str(AUDIENCE_NAMES[audience]))


async def pick_point(update: Update, context: DesserteContext, data: ChoosePoint) -> int:
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
        return ConversationHandler.END
    names = {p.id: p.name for p in await active_points(context.session)}
    label = _("le point de retrait {name}").format(name=names.get(data.point_id, "?"))
    return await _preview(update, context, broadcast, count, label)


async def back_to_audience(update: Update, context: DesserteContext, data: BackToAudience) -> int:
    """Back to the choice of recipients."""
    await show(update, _("À qui faut-il l’envoyer ?"), audience_keyboard(data.draft_id))
    return Step.AUDIENCE


async def send(update: Update, context: DesserteContext, data: SendDraft) -> int:
    """Starts sending: the preview becomes the progress message."""
    try:
        network = context.services.network_name
        total = await start_broadcast(
            context.session,
            data.draft_id,
            context.member,
            lambda body: broadcast_text(body, network),
        )
    except (StaleAction, NoOpenCycle):
        await tell_stale(update)
        return ConversationHandler.END
    state = BroadcastProgress(total=total, sent=0, blocked=0, failed=0, uncertain=0, pending=total)
    message = await show(update, progress_text(state, finished=False))
    chat_id = update.effective_chat.id if update.effective_chat else None
    message_id = getattr(message, "message_id", None)
    launch(context.application, data.draft_id, chat_id, message_id)
    return ConversationHandler.END


async def cancel(update: Update, context: DesserteContext) -> int:
    """Drops the draft (/annuler)."""
    if context.is_admin:
        await cancel_drafts(context.session, context.member)
    await show(update, _("Diffusion abandonnée : rien n’a été envoyé."))
    return ConversationHandler.END


async def cancel_by_button(update: Update, context: DesserteContext, data: CancelDraft) -> int:
    """Drops the draft (its Annuler button)."""
    return await cancel(update, context)


async def answer_outside(update: Update, context: DesserteContext) -> None:
    """A broadcast button outside its conversation: refused, or stale for an admin."""
    if await admin_or_refuse(update, context):
        await answer_stale(update)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The broadcast conversation, and the answer to its buttons once it is over."""
    # The flow mixes a text step with button steps, so it is tracked per chat and user, not per
    # message: PTB warns about exactly that mix, which is what we want here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CommandHandler(list(COMMAND.names), ask_text)],
            states={
                Step.TEXT: [
                    MessageHandler(filters.TEXT & ~filters.COMMAND, take_text),
                    MessageHandler(~filters.COMMAND, ask_text_only),
                ],
                Step.AUDIENCE: [
                    # A forged audience leaves the admin choosing; anything else refused ends.
                    button(ChooseAudience, pick_audience, admin=True),
                    button(ChoosePoint, pick_point, admin=True, refused=ConversationHandler.END),
                    button(BackToAudience, back_to_audience, refused=ConversationHandler.END),
                ],
                Step.CONFIRM: [
                    button(SendDraft, send, admin=True, refused=ConversationHandler.END),
                    button(BackToAudience, back_to_audience, refused=ConversationHandler.END),
                ],
            },
            fallbacks=[
                CommandHandler(list(CANCEL_NAMES), cancel),
                button(CancelDraft, cancel_by_button),
            ],
            name="broadcast",
            allow_reentry=True,
            # A forgotten draft must not take the admin's next text (a search) for a broadcast.
            conversation_timeout=DRAFT_TIMEOUT,
        )
    return [conversation, CallbackQueryHandler(answer_outside, pattern=r"^bc:")]


# -- sending --------------------------------------------------------------------------------------


async def _edit_progress(
    application: Application[Any, Any, Any, Any, Any, Any],
    chat_id: int | None,
    message_id: int | None,
    text: str,
    note: str | None = None,
) -> None:
    if chat_id is None or message_id is None:
        return
    if note:
        text = f"{note}\n\n{text}"
    try:
        await application.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            log.info("progress message not updated: %s", error)
    except TelegramError as error:  # progress is a comfort: never stop a broadcast for it
        log.info("progress message not updated: %s", error)


async def send_broadcast(
    application: Application[Any, Any, Any, Any, Any, Any],
    broadcast_id: int,
    chat_id: int | None = None,
    message_id: int | None = None,
    note: str | None = None,
) -> BroadcastProgress:
    """Deliver the broadcast's outbox rows (:func:`handlers.delivery.deliver`), then mark it
    done; returns the counts. Rows another sender holds are waited for (or, if that sender
    died, resolved once their lease lapses).

    ``chat_id``/``message_id`` name the admin's progress message, edited as it goes (``note``,
    if any, kept above the figures).
    """
    services = services_of(application)
    topic = broadcast_topic(broadcast_id)
    async with services.sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        if broadcast is None:
            raise StaleAction(broadcast_id=broadcast_id)
        author = await author_of(session, broadcast)
        await session.commit()
    locale = author.locale if author is not None else None

    async def report_progress() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            async with services.sessions() as session:
                state = await progress(session, broadcast_id)
            with use_locale(locale):
                text = progress_text(state, finished=False)
            await _edit_progress(application, chat_id, message_id, text, note)

    reporter = asyncio.get_running_loop().create_task(report_progress())
    try:
        while True:
            await deliver(application, topic)
            async with services.sessions() as session:
                if await finish_broadcast(session, broadcast_id, services.now()):
                    break
            await asyncio.sleep(PROGRESS_EVERY)  # rows in another sender's hands
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    async with services.sessions() as session:
        final = await progress(session, broadcast_id)
    with use_locale(locale):
        await _edit_progress(
            application, chat_id, message_id, progress_text(final, finished=True), note
        )
    log.info("broadcast %s done: %s", broadcast_id, final)
    return final


def launch(
    application: Application[Any, Any, Any, Any, Any, Any],
    broadcast_id: int,
    chat_id: int | None = None,
    message_id: int | None = None,
    note: str | None = None,
) -> asyncio.Task[BroadcastProgress]:
    """Send the broadcast in the background (once per process: a running one is returned)."""
    tasks = services_of(application).delivery.tasks
    key = broadcast_topic(broadcast_id)
    running = tasks.get(key)
    if running is not None and not running.done():
        return running
    task = asyncio.get_running_loop().create_task(
        send_broadcast(application, broadcast_id, chat_id, message_id, note),
        name=f"broadcast-{broadcast_id}",
    )
    tasks[key] = task

    def forget(done: asyncio.Task[BroadcastProgress]) -> None:
        if tasks.get(key) is done:
            del tasks[key]
        if not done.cancelled() and done.exception() is not None:
            log.error("broadcast %s stopped", broadcast_id, exc_info=done.exception())

    task.add_done_callback(forget)
    return task


async def resume_broadcasts(
    application: Application[Any, Any, Any, Any, Any, Any],
) -> list[asyncio.Task[BroadcastProgress]]:
    """Restart the broadcasts a stopped process left unfinished; returns their tasks.

    Call it once the bot is initialised (``post_init`` or the scheduler's start-up catch-up;
    calling it twice is harmless). Deliveries that were in flight when the process stopped are
    marked uncertain, never re-sent; the author gets a new progress message saying so.
    """
    services = services_of(application)
    running = services.delivery.tasks
    launched = []
    async with services.sessions() as session:
        for broadcast in await interrupted_broadcasts(session):
            topic = broadcast_topic(broadcast.id)
            if topic in running and not running[topic].done():
                continue
            recovered = await recover_interrupted(session, services.now(), topic)
            uncertain = recovered[OutboxState.UNCERTAIN]
            author = await author_of(session, broadcast)
            chat_id = message_id = None
            note = None
            if author is not None:
                with use_locale(author.locale):
                    text = _("📣 Reprise de la diffusion interrompue.")
                    if uncertain:
                        text += "\n" + ngettext(
                            "{count} envoi était en cours à l’arrêt : il n’est pas refait "
                            "(il a peut-être été reçu).",
                            "{count} envois étaient en cours à l’arrêt : ils ne sont pas refaits "
                            "(ils ont peut-être été reçus).",
                            uncertain,
                        ).format(count=format_quantity(uncertain))
                    note = text
                    state = await progress(session, broadcast.id)
                    text = note + "\n\n" + progress_text(state, finished=False)
                try:
                    # One message (Telegram allows about one a second per chat), edited as it
                    # goes with the notice kept on top.
                    message = await application.bot.send_message(author.telegram_id, text)
                    chat_id, message_id = message.chat_id, message.message_id
                except TelegramError as error:
                    log.info("could not tell admin %s: %s", author.telegram_id, error)
            log.info("resuming broadcast %s (%s uncertain)", broadcast.id, uncertain)
            launched.append(launch(application, broadcast.id, chat_id, message_id, note))
    return launched


async def wait_for_broadcasts(
    application: Application[Any, Any, Any, Any, Any, Any],
) -> list[BroadcastProgress]:
    """Wait until every broadcast this process is sending is done (tests, demo)."""
    tasks = [
        task
        for topic, task in services_of(application).delivery.tasks.items()
        if topic.startswith("broadcast:")
    ]
    return list(await asyncio.gather(*tasks)) if tasks else []
