"""The week's steps: everything due at ``services.now()``, and the messages each step sends.

:func:`run_due_work` is the one entry point of the scheduler (``bot/scheduling.py`` calls it from
its jobs), of the tests and of the demo: it closes what is due, ends the pickup, plans the next
cycles, opens the next one, sends the reminders before close and on pickup day, and reminds the
producers who gave no stock (``STOCK_NUDGE`` after the opening).

Each step writes its messages into the outbox and records itself as done in one unit of work
(:func:`_write_step`), then the outbox's sender delivers them (:func:`handlers.delivery.deliver`):
a second run, a restart after a crash, or two runs at once do no step twice and send no message
twice; what a crash left unsent is sent by the next pass. The texts are in
:mod:`handlers.week_texts`; the calendar and the planning in :mod:`models.calendar` and
:mod:`models.planning`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application

from handlers.context import Services, services_of
from handlers.delivery import deliver, markup_json
from handlers.events import remind_events
from handlers.i18n import use_locale
from handlers.kitchen import production_sheet_parts
from handlers.money import invoice_part
from handlers.purchase_orders import purchase_order_parts
from handlers.rounds import plan_line, round_parts
from handlers.stock_messages import stock_nudge_parts, weekly_prompt_parts
from handlers.week_texts import (
    close_notice_text,
    close_reminder_text,
    missed_cycles_text,
    open_text,
    pickup_reminder_text,
    shopping_buttons,
    summary_text,
)
from models.audiences import (
    CloseNotice,
    Recipient,
    add_step,
    admin_audience,
    claim_step,
    close_notice_audience,
    close_reminder_audience,
    cycle_open_audience,
    pickup_reminder_audience,
    step_done,
)
from models.closing import CloseSummary, close_cycle
from models.cycle import Cycle, CycleState
from models.outbox import Kind, Part, add_messages, cycle_topic, parts
from models.payment import PaymentMode
from models.pickup_day import finish_pickup, pickup_missed
from models.planning import cycles_to_watch, open_planned, plan_cycles, skip_missed
from models.price_change import apply_due_prices
from models.query_statistics import refresh_query_statistics
from models.stock import add_prompted, stock_readiness
from models.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

# Cycle-wide steps (CycleEvent kinds).
PRODUCER_PROMPTS = "producer_prompts"
OPEN_ANNOUNCED = "open_announced"
CLOSE_DISPATCHED = "close_dispatched"
PICKUP_REMINDED = "pickup_reminder"
STOCK_NUDGED = Kind.STOCK_NUDGE.value
CLOSE_SUMMARY = Kind.CLOSE_SUMMARY.value
PICKUP_MISSED = "pickup_missed"


@dataclass
class DueReport:
    """What one :func:`run_due_work` did (cycle ids per step)."""

    closed: list[int] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)
    planned: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    announced: list[int] = field(default_factory=list)
    reminded: list[tuple[int, str]] = field(default_factory=list)
    pickup_reminded: list[int] = field(default_factory=list)
    messages: int = 0

    @property
    def idle(self) -> bool:
        """Whether nothing was due."""
        return not (
            self.closed
            or self.delivered
            or self.planned
            or self.skipped
            or self.opened
            or self.announced
            or self.reminded
            or self.pickup_reminded
            or self.messages
        )


T = TypeVar("T")

Drafts = list[tuple[str, list[Part]]]
"""A step's messages: (kind, parts) pairs."""


def _to_each(
    items: Sequence[T],
    render: Callable[[T], tuple[str, Any]],
    recipient_of: Callable[[T], Recipient] = lambda item: item,  # type: ignore[assignment,return-value]
) -> list[Part]:
    """One message per item to its recipient (the item itself, or ``recipient_of(item)``: a
    reminder's person), rendered in their language (a text and its buttons)."""
    drafts: list[Part] = []
    for item in items:
        recipient = recipient_of(item)
        with use_locale(recipient.locale):
            text, markup = render(item)
            drafts += parts(
                recipient.telegram_id,
                recipient.locale,
                [text],
                markup=markup_json(markup),
                member_id=recipient.member_id,
            )
    return drafts


def invoice_parts(services: Services, notices: Sequence[CloseNotice]) -> list[Part]:
    """In the online payment mode, an invoice for each final order whose amount is known (no
    weighed product still to weigh) and that still owes money (sent after the final receipt;
    the weighing sends the others' once they are final)."""
    if services.payments.mode != PaymentMode.ONLINE:
        return []
    return [
        invoice_part(
            notice.recipient.telegram_id,
            notice.recipient.locale,
            notice.recipient.member_id,
            notice.order_id,
            notice.total_cents - notice.paid_cents,
            services.payments,
        )
        for notice in notices
        if notice.final and not notice.to_weigh and notice.total_cents > notice.paid_cents
    ]


async def _write_step(
    session: AsyncSession,
    cycle_id: int,
    step: str,
    drafts: Drafts,
    also: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> int:
    """Record ``step`` and write its messages (and ``also``'s writes) in one unit of work;
    returns how many people it writes to, 0 when the step was already done."""
    async with unit_of_work(session):
        if not await add_step(session, cycle_id, step):
            return 0
        if also is not None:
            await also(session)
        people: set[tuple[str, int]] = set()
        for kind, items in drafts:
            await add_messages(session, cycle_topic(cycle_id), kind, items, cycle_id=cycle_id)
            people |= {(kind, item.telegram_id) for item in items}
    return len(people)


async def _cycle(services: Services, cycle_id: int) -> Cycle | None:
    async with services.sessions() as session:
        cycle = await session.get(Cycle, cycle_id, populate_existing=True)
        await session.commit()
        return cycle


# -- the steps ------------------------------------------------------------------------------


async def prompt_producers(application: AnyApplication, cycle_id: int) -> int:
    """Ask every producer's people for the cycle's stock; once per cycle. Returns how many
    people were asked."""
    services = services_of(application)
    async with services.sessions() as session:
        if await step_done(session, cycle_id, PRODUCER_PROMPTS):
            return 0
        await apply_due_prices(session, services.now())  # any a close left (a crash between)
        cycle = await session.get(Cycle, cycle_id, populate_existing=True)
        if cycle is None:
            return 0
        producer_ids, prompts = await weekly_prompt_parts(session, services, cycle)

        async def prompted(session: AsyncSession) -> None:
            await add_prompted(session, producer_ids, cycle_id)

        written = await _write_step(
            session, cycle_id, PRODUCER_PROMPTS, [(Kind.STOCK_PROMPT, prompts)], prompted
        )
    await deliver(application, cycle_topic(cycle_id))
    return written


async def announce_to_consumers(
    application: AnyApplication, cycle_id: int, *, now: bool = False
) -> int:
    """Tell the consumers that ordering is open, once the catalog is ready (the network's
    ``ANNOUNCE``: a share of the producers asked gave stock, or a delay after the opening,
    whichever first) or at once with ``now``; once per cycle. Returns how many were told."""
    services = services_of(application)
    async with services.sessions() as session:
        if await step_done(session, cycle_id, OPEN_ANNOUNCED):
            return 0
        cycle = await session.get(Cycle, cycle_id, populate_existing=True)
        if cycle is None or cycle.state != CycleState.OPEN:
            return 0
        given, asked = await stock_readiness(session, cycle_id)
        opened_at = cycle.opened_at or cycle.opens_at
        if not now and not services.calendar.announce.due(opened_at, services.now(), given, asked):
            return 0
        consumers = await cycle_open_audience(session)
        announcements = _to_each(
            consumers, lambda _r: (open_text(services, cycle), shopping_buttons(reorder=True))
        )
        written = await _write_step(
            session, cycle_id, OPEN_ANNOUNCED, [(Kind.CYCLE_OPEN, announcements)]
        )
    await deliver(application, cycle_topic(cycle_id))
    return len(consumers) if written else 0


async def announce_open(application: AnyApplication, cycle_id: int) -> int:
    """What follows an opening: the producers asked for stock first, the consumers told when
    the catalog is ready (see :func:`announce_to_consumers`). Returns how many consumers were
    told now."""
    await prompt_producers(application, cycle_id)
    return await announce_to_consumers(application, cycle_id)


async def dispatch_close(
    application: AnyApplication, cycle_id: int, summary: CloseSummary | None = None
) -> int:
    """After a close: producers get their purchase orders (text and CSV), the kitchen its
    production sheet (:mod:`handlers.kitchen`), drivers the
    collection rounds (planned now: :func:`handlers.rounds.round_parts`), admins the summary,
    each consumer with an order its final receipt and each with an unconfirmed basket that it
    was released; once per cycle. Returns how many admins were told."""
    services = services_of(application)
    async with services.sessions() as session:
        if await step_done(session, cycle_id, CLOSE_DISPATCHED):
            return 0
        cycle = await session.get(Cycle, cycle_id, populate_existing=True)
        if cycle is None:
            return 0
        await session.commit()
        if summary is None:
            summary = await close_cycle(session, cycle_id, services.now())
        orders = await purchase_order_parts(session, services, cycle_id)
        sheets = await production_sheet_parts(session, services, cycle)
        plan, rounds = await round_parts(session, services, cycle)
        admins = await admin_audience(session, services.admin_ids, services.default_locale)
        closed = summary
        summaries = _to_each(
            admins,
            lambda _r: (
                summary_text(services, cycle, closed, plan_line(plan) if plan else None),
                None,
            ),
        )
        notices = await close_notice_audience(session, cycle_id)
        drafts = {
            kind: _to_each(
                [notice for notice in notices if notice.final == final],
                lambda notice: (close_notice_text(services, cycle, notice), None),
                lambda notice: notice.recipient,
            )
            for kind, final in ((Kind.FINAL_RECEIPT, True), (Kind.BASKET_RELEASED, False))
        }
        written = await _write_step(
            session,
            cycle_id,
            CLOSE_DISPATCHED,
            [
                (Kind.PURCHASE_ORDER, orders),
                (Kind.PRODUCTION_SHEET, sheets),
                (Kind.COLLECTION_ROUND, rounds),
                (Kind.CLOSE_SUMMARY, summaries),
                (Kind.FINAL_RECEIPT, drafts[Kind.FINAL_RECEIPT]),
                (Kind.BASKET_RELEASED, drafts[Kind.BASKET_RELEASED]),
                (Kind.INVOICE, invoice_parts(services, notices)),
            ],
        )
    await deliver(application, cycle_topic(cycle_id))
    return len(admins) if written else 0


async def close_and_dispatch(application: AnyApplication, cycle_id: int) -> CloseSummary:
    """Close the cycle now (once) and, the first time, send what follows a close; the week's
    lines joined the history, so SQLite's planner gets statistics that count them."""
    services = services_of(application)
    async with services.sessions() as session:
        summary = await close_cycle(session, cycle_id, services.now())
        await apply_due_prices(session, services.now())  # the prices asked "from next cycle"
        try:
            await refresh_query_statistics(session)
        except Exception:  # a comfort for the weeks to come: the close goes on without it
            log.exception("could not refresh the query planner's statistics")
    await dispatch_close(application, cycle_id, summary)
    return summary


async def open_and_announce(application: AnyApplication, cycle_id: int) -> bool:
    """Open the planned cycle (once) and announce it; whether this call opened it."""
    services = services_of(application)
    async with services.sessions() as session:
        opened = await open_planned(session, cycle_id, services.now())
    await announce_open(application, cycle_id)
    return opened


async def _remind_once(
    application: AnyApplication,
    cycle: Cycle,
    step: str,
    kind: str,
    audience: Callable[[AsyncSession], Awaitable[Sequence[Any]]],
    render: Callable[[Any], tuple[str, Any]],
) -> int:
    """Send ``render(reminder)`` to each of ``audience``, once per cycle for ``step``; returns
    how many people this call wrote to."""
    services = services_of(application)
    async with services.sessions() as session:
        if await step_done(session, cycle.id, step):
            return 0
        reminders = list(await audience(session))
        drafts = _to_each(reminders, render, lambda reminder: reminder.recipient)
        written = await _write_step(session, cycle.id, step, [(kind, drafts)])
    await deliver(application, cycle_topic(cycle.id))
    return written


async def send_close_reminders(application: AnyApplication, cycle: Cycle, key: str) -> int:
    """The reminder round ``key`` before the cycle's close; returns how many were written."""
    services = services_of(application)
    step = f"close_reminder:{key}"
    return await _remind_once(
        application,
        cycle,
        step,
        step,
        lambda session: close_reminder_audience(session, cycle.id),
        lambda reminder: (
            close_reminder_text(services, cycle, reminder),
            shopping_buttons(basket=bool(reminder.items)),
        ),
    )


async def send_pickup_reminders(application: AnyApplication, cycle: Cycle) -> int:
    """The pickup-day reminder to each consumer with a confirmed order; returns how many."""
    services = services_of(application)
    return await _remind_once(
        application,
        cycle,
        PICKUP_REMINDED,
        Kind.PICKUP_REMINDER,
        lambda session: pickup_reminder_audience(session, cycle.id),
        lambda reminder: (pickup_reminder_text(services, cycle, reminder), None),
    )


async def send_stock_nudges(application: AnyApplication, cycle: Cycle, now: datetime) -> int:
    """Once per cycle, ``services.stock_nudge`` after the opening (the weekly prompt) and
    before the close: the producers who gave no stock yet are reminded. Returns how many
    people were written to."""
    services = services_of(application)
    delay = services.stock_nudge
    if delay is None or not cycle.opens_at + delay <= now < cycle.closes_at:
        return 0
    async with services.sessions() as session:
        if await step_done(session, cycle.id, STOCK_NUDGED):
            return 0
        nudges = await stock_nudge_parts(session, services, cycle)
        written = await _write_step(session, cycle.id, STOCK_NUDGED, [(Kind.STOCK_NUDGE, nudges)])
    await deliver(application, cycle_topic(cycle.id))
    return written


async def run_due_work(application: AnyApplication) -> DueReport:
    """Do everything due at ``services.now()``: close, end pickups, plan, open, remind, and
    deliver what earlier passes left in the outbox.

    Safe to call as often as wanted (each step is recorded once done); a close missed while the
    bot was down runs once, and only the latest reminder that fell due is sent.
    """
    services = services_of(application)
    calendar = services.calendar
    now = services.now()
    report = DueReport()

    for cycle in await _watched(services):
        if cycle.state == CycleState.OPEN and cycle.closes_at <= now:
            summary = await close_and_dispatch(application, cycle.id)
            if not summary.already_closed:
                report.closed.append(cycle.id)
        elif cycle.state == CycleState.CLOSED:
            # A close whose follow-up was interrupted (crash, restart) is completed.
            report.messages += await dispatch_close(application, cycle.id)

    missed_pickups: list[Cycle] = []
    for cycle in await _watched(services):
        if cycle.state == CycleState.CLOSED and cycle.pickup_ends_at <= now:
            if pickup_missed(cycle):
                # Closed late (the bot was down): no pickup day took place, nobody is a
                # no-show; the admins hear of it once and may still record it in /retraits.
                missed_pickups.append(cycle)
                continue
            async with services.sessions() as session:
                await finish_pickup(session, cycle.id, now)
            report.delivered.append(cycle.id)

    async with services.sessions() as session:
        skipped = await skip_missed(session, now)
        report.skipped = [c.id for c in skipped]
        report.messages += await _tell_missed(application, session, skipped, missed_pickups)
        report.planned = [c.id for c in await plan_cycles(session, calendar, now)]

    cycles = await _watched(services)
    if not any(c.state == CycleState.OPEN for c in cycles):
        for cycle in cycles:
            if cycle.state != CycleState.PLANNED or cycle.opens_at > now:
                continue
            if await open_and_announce(application, cycle.id):
                report.opened.append(cycle.id)
            break

    for cycle in await _watched(services):
        if cycle.state == CycleState.OPEN:
            # Producers asked (an opening by an admin interrupted is finished), consumers told
            # once the catalog is ready.
            told = await announce_open(application, cycle.id)
            if told:
                report.announced.append(cycle.id)
            report.messages += told
            if cycle.closes_at > now:
                report.messages += await _due_reminder(application, cycle, now, report)
                report.messages += await send_stock_nudges(application, cycle, now)
        elif cycle.state == CycleState.CLOSED:
            remind_at = calendar.pickup_reminder_at(cycle.closes_at, cycle.pickup_starts_at)
            if remind_at <= now < cycle.pickup_ends_at:
                sent = await send_pickup_reminders(application, cycle)
                if sent:
                    report.pickup_reminded.append(cycle.id)
                report.messages += sent
    report.messages += await remind_events(application)
    leftovers = await deliver(application)
    report.messages += leftovers.sent
    return report


async def _tell_missed(
    application: AnyApplication,
    session: AsyncSession,
    skipped: Sequence[Cycle],
    missed_pickups: Sequence[Cycle],
) -> int:
    """Tell the admins, once, which cycles were skipped while the bot was down and which close
    came after its pickup time (each late close is told once: a step of its cycle). Returns how
    many admins were written to now."""
    services = services_of(application)
    missed_pickups = [
        c for c in missed_pickups if not await step_done(session, c.id, PICKUP_MISSED)
    ]
    if not skipped and not missed_pickups:
        return 0
    admins = await admin_audience(session, services.admin_ids, services.default_locale)
    async with unit_of_work(session):
        late = [c for c in missed_pickups if await add_step(session, c.id, PICKUP_MISSED)]
        if not skipped and not late:
            return 0
        drafts = _to_each(admins, lambda _r: (missed_cycles_text(services, skipped, late), None))
        topic = f"missed:{min(c.id for c in [*skipped, *late])}"
        await add_messages(session, topic, Kind.MISSED_CYCLES, drafts)
    await deliver(application, topic)
    return len(admins)


async def _due_reminder(
    application: AnyApplication, cycle: Cycle, now: datetime, report: DueReport
) -> int:
    """Send the latest reminder that fell due; older ones missed meanwhile are skipped."""
    services = services_of(application)
    moments = services.calendar.reminder_moments(cycle.closes_at)
    due = [key for key, moment in moments if moment <= now]
    if not due:
        return 0
    *missed, latest = due
    async with services.sessions() as session:
        for key in missed:
            await claim_step(session, cycle.id, f"close_reminder:{key}")
    sent = await send_close_reminders(application, cycle, latest)
    if sent:
        report.reminded.append((cycle.id, latest))
    return sent


async def _watched(services: Services) -> list[Cycle]:
    async with services.sessions() as session:
        return await cycles_to_watch(session)


async def reschedule(application: AnyApplication) -> None:
    """Ask the scheduler (if one is installed) to plan its jobs again from the database."""
    hook = services_of(application).reschedule
    if hook is not None:
        await hook(application)
