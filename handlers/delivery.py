"""The one sender: every message the product sends on its own leaves through :func:`deliver`.

A feature writes its messages into the outbox (:mod:`models.outbox`: one row per recipient and
part, rendered in the recipient's language) and calls :func:`deliver` with its topic. The
sender, alike for every kind:

* paces: 29 messages a second overall, never more than 29 within one second, and one
  a second per chat, with a small burst (:class:`Pacer`); a 429 holds back the chat it names
  for its ``retry_after``, not the others;
* claims each row (committed) just before it goes out and settles it just after, so two senders
  (two processes during a deploy, a resumption beside a live run) never send one row twice;
* retries what Telegram did not receive: 5xx and dropped connections, a timeout before the
  request was sent, a 429 after ``retry_after``; at most :data:`MAX_ATTEMPTS` times;
* a 403 (the person blocked the bot) marks the member unreachable and settles the rest of that
  message; a 400 (refused) is final;
* a timeout after the request went out may or may not have delivered it: a must-arrive kind is
  sent again, marked as a resend ("you may have received this already"); others are marked
  uncertain;
* rows left ``sending`` by a process that died are resolved by the same policy
  (:func:`models.outbox.recover_interrupted`) before each pass;
* when a pass ends, the admins get one message listing what could not be delivered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from babel.support import LazyProxy
from telegram import InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from handlers.common import escape
from handlers.context import Services, services_of
from handlers.i18n import _, lazy_gettext, ngettext, use_locale
from handlers.money import invoice_of, send_invoice
from handlers.pages import split_html
from models.audiences import admin_audience
from models.outbox import (
    Kind,
    OutboxState,
    Outgoing,
    Undelivered,
    claim,
    enqueue,
    family,
    group_parts,
    must_arrive,
    parts,
    pending_recipients,
    recover_interrupted,
    settle,
    still_mine,
    take_undelivered,
)

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

SEND_RATE = 29.0
"""Messages per second, every kind together, evenly spaced (one every 34.5 ms): just under
Telegram's 30/s, the message per second left over absorbing the jitter on the way to Telegram
and the bot's replies."""
IN_ANY_SECOND = 29
"""Messages let go within any one second (a sliding window), which the even spacing alone does
not promise once late senders catch up (see :meth:`Pacer.take`). Telegram counts 30 as they
arrive, and the time from here to Telegram varies (the rate limiter, the connection): one
message under the limit absorbs that jitter. At 30, a run with 150 ms answers once put 31
arrivals in one second."""
PER_CHAT_RATE = 1.0
PER_CHAT_BURST = 3
"""Telegram asks for about one message a second in one chat, and tolerates a short burst (a
purchase order's text and its CSV)."""
WORKERS = 10
"""Recipients served at once. A real send takes 50–150 ms to come back from Telegram, and a
sender waits for each answer before its next message: holding the pace (one every 34 ms) takes
as many senders as the pace times the longest answer, 9 at 300 ms. With 3 (before), 100 ms
answers brought a broadcast down to 26 messages a second."""
MAX_ATTEMPTS = 5
BACKOFF = 0.25
"""Seconds before the second attempt after a 5xx or a lost connection; doubled each time."""
REPORT_LINES = 20
"""Undelivered messages named in one report (the rest are counted)."""

KIND_NAMES: dict[str, LazyProxy] = {
    Kind.CYCLE_OPEN: lazy_gettext("annonce d’ouverture"),
    Kind.STOCK_PROMPT: lazy_gettext("demande de stock"),
    Kind.STOCK_NUDGE: lazy_gettext("rappel de stock"),
    Kind.CLOSE_REMINDER: lazy_gettext("rappel avant clôture"),
    Kind.PICKUP_REMINDER: lazy_gettext("rappel de retrait"),
    Kind.PURCHASE_ORDER: lazy_gettext("bon de commande"),
    Kind.CLOSE_SUMMARY: lazy_gettext("bilan de clôture"),
    Kind.FINAL_RECEIPT: lazy_gettext("reçu définitif"),
    Kind.BASKET_RELEASED: lazy_gettext("avis de panier libéré"),
    Kind.SHORTAGE_NOTICE: lazy_gettext("avis de manque"),
    Kind.BROADCAST: lazy_gettext("diffusion"),
    Kind.EVENT_INVITATION: lazy_gettext("invitation à une rencontre"),
    Kind.EVENT_REMINDER: lazy_gettext("rappel de rencontre"),
    Kind.DELIVERY_REPORT: lazy_gettext("rapport d’envoi"),
    Kind.FARM_LEFT_ALONE: lazy_gettext("avis de ferme sans producteur relié"),
    Kind.MISSED_CYCLES: lazy_gettext("avis de cycles manqués"),
    Kind.ERROR_REPORT: lazy_gettext("rapport d’erreur"),
    Kind.COLLECTION_ROUND: lazy_gettext("tournée de collecte"),
    Kind.INVOICE: lazy_gettext("facture à payer en ligne"),
    Kind.PRODUCER_STATEMENT: lazy_gettext("relevé de compte producteur"),
    Kind.PRODUCTION_SHEET: lazy_gettext("fiche de production de la cuisine"),
}


class Pacer:
    """Spaces sends at most ``rate`` a second overall and ``per_chat`` a second in one chat
    (after a burst of ``burst``); a 429 holds back the one chat it was about.

    Each caller reserves the next free slot, so concurrent senders never bunch up; a slot
    missed while every sender was busy is not made up by sending faster (:meth:`take`); and
    never more than ``in_any_second`` messages go within one second.
    """

    def __init__(
        self,
        rate: float = SEND_RATE,
        per_chat: float = PER_CHAT_RATE,
        burst: int = PER_CHAT_BURST,
        in_any_second: int = IN_ANY_SECOND,
    ) -> None:
        self.interval = 1.0 / rate
        self.chat_interval = 1.0 / per_chat if per_chat > 0 else 0.0
        self.burst = burst
        self._recent: deque[float] = deque(maxlen=in_any_second)
        """When the last ``in_any_second`` messages went, oldest first."""
        self._next = 0.0
        self._chats: dict[int, float] = {}  # chat -> the instant its burst allowance is back
        self._held: dict[int, float] = {}

    async def wait(self, chat_id: int) -> None:
        """Return when one message may go to ``chat_id``."""
        loop = asyncio.get_running_loop()
        # A loop, not an Event: after each sleep the slot is asked again (another sender may
        # have taken it, or a 429 held the chat meanwhile).
        while (delay := self.take(chat_id, loop.time())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    def take(self, chat_id: int, now: float) -> float:
        """At ``now``, the seconds until a message may go to ``chat_id``; 0 when it may go now,
        its slot then taken.

        A sender woken a little late (an event loop never wakes a sleeper exactly on time)
        takes its slot without moving the schedule on: the next slot is one interval after
        this one was due, not after the late wake-up, so the lateness is not added to every
        message after it (1 ms a message made 29.5 a second into 28.5). A slot missed by a
        whole interval or more, while every sender was busy, is not made up.

        Keeping the schedule lets a message follow a late one by less than an interval: a
        second that begins with a late message may hold one slot more than the rate. So a
        message also waits until the ``in_any_second``-th before it is a second old.
        """
        held = self._held.get(chat_id, 0.0)
        # The chat's "virtual time": each message pushes it one interval on; a burst is
        # allowed while it is less than ``burst - 1`` intervals ahead of now.
        chat_at = max(now, self._chats.get(chat_id, 0.0))
        chat_ready = chat_at - self.chat_interval * (self.burst - 1)
        window_open = self._recent[0] + 1.0 if len(self._recent) == self._recent.maxlen else now
        slot = max(now, self._next, held, chat_ready, window_open)
        if slot > now:
            return slot - now
        due = self._next if now - self._next < self.interval else now
        self._next = due + self.interval
        self._recent.append(now)
        self._chats[chat_id] = chat_at + self.chat_interval
        if len(self._chats) > 50_000:  # forget the chats whose allowance is back
            self._chats = {c: t for c, t in self._chats.items() if t > now}
        return 0.0

    def hold(self, chat_id: int, seconds: float) -> None:
        """Send nothing to ``chat_id`` for ``seconds`` (Telegram's ``retry_after``)."""
        until = asyncio.get_running_loop().time() + seconds
        self._held[chat_id] = max(self._held.get(chat_id, 0.0), until)


@dataclass
class DeliveryReport:
    """What one :func:`deliver` pass did, in parts."""

    sent: int = 0
    blocked: int = 0
    failed: int = 0
    uncertain: int = 0
    resent: int = 0
    recovered: dict[str, int] = field(default_factory=dict)

    @property
    def settled(self) -> int:
        """Parts this pass settled, resends included."""
        return self.sent + self.blocked + self.failed + self.uncertain + self.resent

    def add(self, state: OutboxState) -> None:
        """Count one settled part."""
        if state is OutboxState.SENT:
            self.sent += 1
        elif state is OutboxState.BLOCKED:
            self.blocked += 1
        elif state is OutboxState.FAILED:
            self.failed += 1
        elif state is OutboxState.UNCERTAIN:
            self.uncertain += 1


@dataclass
class Delivery:
    """The sender's state in one process (``services.delivery``)."""

    pacer: Pacer = field(default_factory=Pacer)
    backoff: float = BACKOFF
    tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)


def markup_json(markup: InlineKeyboardMarkup | None) -> dict[str, Any] | None:
    """Buttons as the outbox stores them (the Bot API's JSON)."""
    return None if markup is None else markup.to_dict()


def resend_mark(locale: str) -> str:
    """The line above a message sent again after an interruption."""
    with use_locale(locale):
        return _("🔁 <i>Envoi répété après une interruption : vous l’avez peut-être déjà reçu.</i>")


def _text_of(item: Outgoing) -> str | None:
    if not item.resend:
        return item.text
    mark = resend_mark(item.locale)
    return f"{mark}\n\n{item.text}" if item.text else mark


async def _call(application: AnyApplication, item: Outgoing) -> None:
    invoice = invoice_of(item.markup)
    if invoice is not None:
        await send_invoice(
            application.bot, item.telegram_id, invoice, services_of(application).payments
        )
        return
    text = _text_of(item)
    if item.document is not None:
        await application.bot.send_document(
            item.telegram_id,
            InputFile(item.document, filename=item.filename or "document"),
            caption=text,
            parse_mode=ParseMode.HTML if text else None,
        )
        return
    markup = InlineKeyboardMarkup.de_json(item.markup, application.bot) if item.markup else None
    await application.bot.send_message(
        item.telegram_id, text or "", parse_mode=ParseMode.HTML, reply_markup=markup
    )


def retry_seconds(error: RetryAfter) -> float:
    """Telegram's ``retry_after`` in seconds (PTB 22 gives an int or a timedelta)."""
    value = getattr(error, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    raw = error.retry_after
    return raw.total_seconds() if isinstance(raw, timedelta) else float(raw)


def never_sent(error: TimedOut) -> bool:
    """Whether a timeout happened before the request left (so a retry cannot duplicate it)."""
    return isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)


async def _attempts(
    application: AnyApplication,
    delivery: Delivery,
    item: Outgoing,
    refresh: Callable[[], Awaitable[None]],
) -> tuple[OutboxState, str | None]:
    """Send one part, retrying what did not reach Telegram; the state to record."""
    error: str | None = None
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            await refresh()
        await delivery.pacer.wait(item.telegram_id)
        try:
            await _call(application, item)
        except RetryAfter as exc:  # not delivered: this chat waits as told
            delivery.pacer.hold(item.telegram_id, retry_seconds(exc) + 0.1)
            error = str(exc)
            continue
        except Forbidden as exc:  # blocked the bot, or the account is gone
            return OutboxState.BLOCKED, str(exc)
        except TimedOut as exc:
            if never_sent(exc):
                error = str(exc) or "timed out"
                await asyncio.sleep(delivery.backoff * 2**attempt)
                continue
            # The request may have arrived: only what must arrive is sent again (marked).
            log.warning("%s to %s timed out in flight", item.kind, item.telegram_id)
            if must_arrive(item.kind):
                return OutboxState.PENDING, "timed out"
            return OutboxState.UNCERTAIN, "timed out"
        except BadRequest as exc:  # refused (chat not found, text refused…): final
            log.warning("%s to %s refused: %s", item.kind, item.telegram_id, exc)
            return OutboxState.FAILED, str(exc)
        except NetworkError as exc:  # 5xx or a dropped connection: nothing was done
            error = str(exc)
            await asyncio.sleep(delivery.backoff * 2**attempt)
            continue
        except TelegramError as exc:
            log.warning("%s to %s failed: %s", item.kind, item.telegram_id, exc)
            return OutboxState.FAILED, str(exc)
        return OutboxState.SENT, None
    log.warning(
        "%s to %s not delivered after %s attempts", item.kind, item.telegram_id, MAX_ATTEMPTS
    )
    return OutboxState.FAILED, error or "no answer"


async def _serve_group(
    application: AnyApplication,
    services: Services,
    group: tuple[str, str, int],
    report: DeliveryReport,
) -> None:
    """Send one recipient's pending parts of one message, in order."""
    topic, kind, telegram_id = group
    delivery = services.delivery
    async with services.sessions() as session:
        for message_id in await group_parts(session, topic, kind, telegram_id):
            this = asyncio.current_task()
            if this is not None and this.cancelling():
                # Python 3.11's wait_for (PTB's requests use it) can swallow a cancellation
                # that lands as a call completes: stop here rather than send on.
                raise asyncio.CancelledError
            item = await claim(session, message_id, services.now())
            if item is None:
                continue

            async def refresh(message_id: int = message_id) -> None:
                await still_mine(session, message_id, services.now())

            state, error = await _attempts(application, delivery, item, refresh)
            if state is OutboxState.PENDING and item.resend is False:
                report.resent += 1
            elif state is OutboxState.PENDING:
                state = OutboxState.FAILED  # already a resend: a second loss is reported
            await settle(session, item, state, services.now(), error)
            report.add(state)
            if state is OutboxState.BLOCKED:
                return


async def deliver(application: AnyApplication, topic: str | None = None) -> DeliveryReport:
    """Send every pending message of ``topic`` (every topic if None) and report what could not
    be delivered to the admins; returns what this pass did. Safe to call from several places
    and processes at once: each part goes to one sender."""
    services = services_of(application)
    report = DeliveryReport()
    async with services.sessions() as session:
        recovered = await recover_interrupted(session, services.now(), topic, services.outbox_lease)
    report.recovered = {state.value: n for state, n in recovered.items() if n}
    while True:
        async with services.sessions() as session:
            groups = await pending_recipients(session, topic)
        if not groups:
            break
        before = report.settled
        # One chat's messages go out one after the other, in the order they were written.
        chats: dict[int, list[tuple[str, str, int]]] = {}
        for group in groups:
            chats.setdefault(group[2], []).append(group)
        queue: asyncio.Queue[list[tuple[str, str, int]]] = asyncio.Queue()
        for chat_groups in chats.values():
            queue.put_nowait(chat_groups)

        async def worker(queue: asyncio.Queue[list[tuple[str, str, int]]] = queue) -> None:
            while True:
                try:
                    chat_groups = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                for group in chat_groups:
                    try:
                        await _serve_group(application, services, group, report)
                    except Exception:  # one recipient's trouble never stops the others
                        log.exception("delivering %s failed", group)

        try:
            async with asyncio.TaskGroup() as tasks:
                for _ in range(min(WORKERS, len(chats))):
                    tasks.create_task(worker())
        except BaseExceptionGroup as group:  # the workers catch every Exception: this is an exit
            raise group.exceptions[0] from None
        if report.settled == before:  # nothing could be claimed: another sender has them
            break
    await report_undelivered(application)
    return report


def _describe(item: Undelivered) -> str:
    who = escape(item.name) if item.name else str(item.telegram_id)
    what = KIND_NAMES.get(family(item.kind))
    label = str(what) if what is not None else item.kind
    if item.state is OutboxState.BLOCKED:
        why = _("a bloqué le bot")
    else:
        why = escape((item.error or _("sans réponse de Telegram"))[:60])
    return _("• {what} à {who} : {why}").format(what=label, who=who, why=why)


def undelivered_text(items: list[Undelivered]) -> list[str]:
    """The admins' report of messages that could not be delivered after the retries, as
    messages Telegram accepts (:func:`handlers.pages.split_html`)."""
    count = len(items)
    lines = [
        ngettext(
            "⚠️ <b>{count} message n’a pas pu être remis</b>, malgré les nouvelles tentatives :",
            "⚠️ <b>{count} messages n’ont pas pu être remis</b>, malgré les nouvelles tentatives :",
            count,
        ).format(count=count)
    ]
    lines += [_describe(item) for item in items[:REPORT_LINES]]
    if count > REPORT_LINES:
        rest = count - REPORT_LINES
        lines.append(
            ngettext("… et {count} autre.", "… et {count} autres.", rest).format(count=rest)
        )
    lines.append(_("Prévenez ces personnes autrement (téléphone, courriel)."))
    return split_html(lines)


async def report_undelivered(application: AnyApplication) -> int:
    """Tell the admins, in one message each, what did not arrive and they have not heard of;
    returns how many messages the report names."""
    services = services_of(application)
    async with services.sessions() as session:
        items = await take_undelivered(session)
        if not items:
            return 0
        admins = await admin_audience(session, services.admin_ids, services.default_locale)
        drafts = []
        for admin in admins:
            with use_locale(admin.locale):
                drafts += parts(
                    admin.telegram_id,
                    admin.locale,
                    undelivered_text(items),
                    member_id=admin.member_id,
                )
        topic = f"report:{items[0].id}"
        await enqueue(session, topic, Kind.DELIVERY_REPORT, drafts)
    await deliver(application, topic)
    return len(items)
