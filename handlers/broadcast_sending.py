"""Sending a broadcast: a background task per broadcast, apart from the update that started it.

* the recipients were fixed up front: one outbox row each (:mod:`models.broadcasts`);
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
from typing import Any

from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from handlers.context import services_of
from handlers.delivery import deliver
from handlers.i18n import _, format_quantity, ngettext, use_locale
from models import Broadcast
from models.broadcasts import (
    BroadcastProgress,
    author_of,
    finish_broadcast,
    interrupted_broadcasts,
    progress,
)
from models.errors import StaleAction
from models.outbox import OutboxState, broadcast_topic, recover_interrupted
from models.worker_locks import BROADCAST, exclusive, taken

log = logging.getLogger(__name__)

PROGRESS_EVERY = 2.0
"""Seconds between two edits of the admin's progress message."""


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
    # The progress edits share the chat's pace with the messages the outbox sends there.
    await services_of(application).delivery.pacer.wait(chat_id)
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

    async with exclusive(services.engine, BROADCAST, broadcast_id, wait=False) as mine:
        if not mine:  # another worker sends it (and edits its progress message)
            async with services.sessions() as session:
                return await progress(session, broadcast_id)
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
            if await taken(services.engine, BROADCAST, broadcast.id):
                continue  # another worker is sending it
            recovered = await recover_interrupted(
                session, services.now(), topic, services.outbox_lease
            )
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
                    await services.delivery.pacer.wait(author.telegram_id)
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
