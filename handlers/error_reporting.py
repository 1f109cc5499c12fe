"""The error handler, and the polite answers to what no other handler took."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError

from handlers.common import answer_stale, escape
from handlers.context import DesserteContext
from handlers.delivery import deliver
from handlers.i18n import _, use_locale
from models.audiences import admin_audience
from models.outbox import Kind, enqueue, parts

log = logging.getLogger(__name__)

# The same failure repeating (a chat whose sends keep failing, a database that went away)
# reaches the admins once per this many seconds, with a count of what was held back.
RELAY_EVERY_SECONDS = 300
_RELAYED_KEY = "errors_relayed"


async def report_error(update: object, context: DesserteContext) -> None:
    """Logs the failure, apologises to the person in their language and tells every admin
    (through the outbox; straight to ``ADMIN_IDS`` when the database is what failed), the same
    kind of error at most once per :data:`RELAY_EVERY_SECONDS`."""
    error = context.error
    log.error("update %r failed", getattr(update, "update_id", None), exc_info=error)
    if isinstance(update, Update):
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(
                    _("Désolé, quelque chose s’est mal passé. Réessayez dans un instant."),
                    show_alert=True,
                )
            except TelegramError:
                log.debug("could not answer the failed callback query")
        elif update.effective_chat is not None:
            try:
                await context.bot.send_message(
                    update.effective_chat.id,
                    _(
                        "Désolé, quelque chose s’est mal passé de mon côté. Réessayez dans un "
                        "instant ; si cela se reproduit, l’équipe a été prévenue."
                    ),
                )
            except TelegramError:
                log.debug("could not apologise to chat %s", update.effective_chat.id)
    token = context.bot.token
    summary = f"{type(error).__name__}: {error}".replace(token, "[token]")[:500]
    held_back = _hold_back(context, type(error).__name__)
    if held_back is None:
        return
    try:
        topic = await _write_relay(context, summary, held_back)
    except (SQLAlchemyError, OSError):
        # The database itself failed: the outbox cannot hold the relay, send it directly.
        log.warning("the outbox is out of reach; error relayed directly to ADMIN_IDS")
        await _send_directly(context, summary, held_back)
        return
    await deliver(context.application, topic)


def _relay_text(summary: str, held_back: int) -> str:
    """The admins' message about an error, in the current language (HTML)."""
    text = _("⚠️ Erreur dans le bot : {error}").format(error=escape(summary))
    if held_back:
        text += "\n" + _("(et {count} fois de plus depuis le dernier message)").format(
            count=held_back
        )
    return text


async def _write_relay(context: DesserteContext, summary: str, held_back: int) -> str:
    """Write the relay into the outbox for every admin, each in their language (an
    :data:`~models.outbox.Kind.ERROR_REPORT` may be dropped); returns its topic."""
    services = context.services
    async with services.sessions() as session:
        admins = await admin_audience(session, services.admin_ids, services.default_locale)
        drafts = []
        for admin in admins:
            with use_locale(admin.locale):
                drafts += parts(
                    admin.telegram_id,
                    admin.locale,
                    _relay_text(summary, held_back),
                    member_id=admin.member_id,
                )
        topic = f"error:{services.now().timestamp():.0f}:{summary[:40]}"
        await enqueue(session, topic, Kind.ERROR_REPORT, drafts)
    return topic


async def _send_directly(context: DesserteContext, summary: str, held_back: int) -> None:
    """The relay sent straight to ``ADMIN_IDS``, in the default language, when the outbox is out
    of reach (the database failed)."""
    for admin_id in context.services.admin_ids:
        try:
            with use_locale(None):
                await context.bot.send_message(
                    admin_id, _relay_text(summary, held_back), parse_mode=ParseMode.HTML
                )
        except Forbidden:
            log.info("admin %s blocked the bot; error not relayed", admin_id)
        except TelegramError:
            log.warning("could not relay the error to admin %s", admin_id)


def _hold_back(context: DesserteContext, kind: str) -> int | None:
    """None when this kind of error was relayed less than RELAY_EVERY_SECONDS ago (it is
    counted instead); otherwise how many were held back since the last relay."""
    relayed: dict[str, tuple[float, int]] = context.bot_data.setdefault(_RELAYED_KEY, {})
    now = context.services.now().timestamp()
    last, count = relayed.get(kind, (float("-inf"), 0))
    if now - last < RELAY_EVERY_SECONDS:
        relayed[kind] = (last, count + 1)
        return None
    relayed[kind] = (now, 0)
    return count


async def answer_unknown_button(update: Update, context: DesserteContext) -> None:
    """A button that no handler knows (from an old message, or forged) gets a polite answer."""
    await answer_stale(update)


async def answer_unknown_command(update: Update, context: DesserteContext) -> None:
    """A command the bot does not have: say so and point at /aide."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            _("Je ne connais pas cette commande. Tapez /aide pour voir ce que je sais faire.")
        )
