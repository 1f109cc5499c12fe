"""The weekly cycle running itself: everything due at ``services.now()``, and the messages it sends.

:func:`run_due_work` is the one entry point of the scheduler (``bot/scheduling.py`` calls it from
its jobs) and of the tests and the demo: it closes what is due, ends the pickup, plans the next
cycles, opens the next one, sends the reminders before close and on pickup day. Every step and
every message is claimed in the database first, so a second run — or a restart after a crash,
or two runs at once — does nothing twice. One failed message never stops the others; a member
who blocked the bot (403) is marked unreachable.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application

from handlers.basket import REORDER_NOW
from handlers.common import escape
from handlers.context import Services, services_of
from handlers.i18n import (
    _,
    format_date,
    format_datetime,
    format_price,
    format_time,
    ngettext,
    use_locale,
)
from handlers.menu import BASKET, CATALOG
from handlers.units import amount_phrase
from models.calendar import WeeklyCalendar
from models.closing import CloseSummary, close_cycle
from models.cycle import Cycle, CycleState
from models.cycle_event import NotificationStatus
from models.notifications import (
    CloseReminder,
    PickupReminder,
    Recipient,
    admin_audience,
    claim_message,
    claim_step,
    close_reminder_audience,
    cycle_open_audience,
    pickup_reminder_audience,
    record_outcome,
    step_done,
)
from models.pickup_day import finish_pickup
from models.planning import cycles_to_watch, open_planned, plan_cycles

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

# Cycle-wide steps (CycleEvent kinds).
OPEN_ANNOUNCED = "open_announced"
PRODUCER_PROMPTS = "producer_prompts"
PURCHASE_ORDERS = "purchase_orders"
CLOSE_DISPATCHED = "close_dispatched"
PICKUP_REMINDED = "pickup_reminder"
# Per-person message kinds (CycleNotification kinds).
CLOSE_SUMMARY = "close_summary"
TELEGRAM_LIMIT = 4096


@dataclass
class DueReport:
    """What one :func:`run_due_work` did (cycle ids per step)."""

    closed: list[int] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)
    planned: list[int] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
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
            or self.opened
            or self.reminded
            or self.pickup_reminded
            or self.messages
        )


def calendar_of(services: Services) -> WeeklyCalendar:
    """The network's weekly calendar, from its settings (cached in ``services.extra``)."""
    calendar = services.extra.get("calendar")
    if isinstance(calendar, WeeklyCalendar):
        return calendar
    settings = services.extra.get("settings")
    calendar = WeeklyCalendar.from_settings(
        cycle_opens=getattr(settings, "cycle_opens", "fri 12:00"),
        cycle_closes=getattr(settings, "cycle_closes", "tue 23:59"),
        pickup=getattr(settings, "pickup", "thu 17:00-19:30"),
        reminders=getattr(settings, "reminders", "24h,3h"),
        timezone=services.timezone,
    )
    services.extra["calendar"] = calendar
    return calendar


def _seam(module: str, name: str) -> Callable[[AnyApplication, int], Awaitable[Any]] | None:
    """Another feature's function the cycle calls, if that feature is installed."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        return None
    function = getattr(found, name, None)
    return function if callable(function) else None


def weekly_prompts_seam() -> Callable[[AnyApplication, int], Awaitable[Any]] | None:
    """``handlers.stock_messages.send_weekly_prompts``, when it exists."""
    return _seam("handlers.stock_messages", "send_weekly_prompts")


def purchase_orders_seam() -> Callable[[AnyApplication, int], Awaitable[Any]] | None:
    """``handlers.purchase_orders.send_purchase_orders``, when it exists."""
    return _seam("handlers.purchase_orders", "send_purchase_orders")


async def _call_seam(
    application: AnyApplication,
    seam: Callable[[AnyApplication, int], Awaitable[Any]] | None,
    cycle_id: int,
    step: str,
) -> None:
    """Run another feature's step once per cycle (claimed first: at most once)."""
    services = services_of(application)
    async with services.sessions() as session:
        if seam is None or not await claim_step(session, cycle_id, step):
            return
    try:
        await seam(application, cycle_id)
    except Exception:
        log.exception("%s for cycle %s failed", step, cycle_id)


async def _call_resumable_seam(
    application: AnyApplication,
    seam: Callable[[AnyApplication, int], Awaitable[Any]] | None,
    cycle_id: int,
    step: str,
) -> None:
    """Run another feature's step until it has completed once; the seam claims each of its
    messages itself, so a run interrupted midway (crash, restart) is finished by the next one
    without sending anything twice. The step is recorded when the seam returns."""
    services = services_of(application)
    async with services.sessions() as session:
        if seam is None or await step_done(session, cycle_id, step):
            return
    try:
        await seam(application, cycle_id)
    except Exception:
        log.exception("%s for cycle %s failed", step, cycle_id)
        return
    async with services.sessions() as session:
        await claim_step(session, cycle_id, step)


# -- sending --------------------------------------------------------------------------------


async def notify(
    application: AnyApplication,
    recipient: Recipient,
    cycle_id: int,
    kind: str,
    render: Callable[[], str | tuple[str, InlineKeyboardMarkup]],
) -> bool:
    """Send ``render()`` (in the recipient's language; a text, or a text and its buttons) once
    for (cycle, kind, person).

    Returns whether this call sent it. A 403 marks the member unreachable; any other failure is
    logged and recorded; neither is raised.
    """
    services = services_of(application)
    async with services.sessions() as session:
        if not await claim_message(session, cycle_id, kind, recipient.telegram_id):
            return False
        status = NotificationStatus.SENT
        try:
            with use_locale(recipient.locale):
                rendered = render()
            text, buttons = rendered if isinstance(rendered, tuple) else (rendered, None)
            await application.bot.send_message(
                recipient.telegram_id,
                text[:TELEGRAM_LIMIT],
                parse_mode=ParseMode.HTML,
                reply_markup=buttons,
            )
        except Forbidden:
            status = NotificationStatus.BLOCKED
            log.info("%s blocked the bot: no %s", recipient.telegram_id, kind)
        except TelegramError:
            status = NotificationStatus.FAILED
            log.warning("%s to %s failed", kind, recipient.telegram_id, exc_info=True)
        except Exception:
            status = NotificationStatus.FAILED
            log.exception("%s to %s failed", kind, recipient.telegram_id)
        await record_outcome(session, cycle_id, kind, recipient.telegram_id, status)
    return status == NotificationStatus.SENT


async def _notify_all(
    application: AnyApplication,
    recipients: Sequence[Recipient],
    cycle_id: int,
    kind: str,
    render: Callable[[Recipient], str | tuple[str, InlineKeyboardMarkup]],
) -> int:
    sent = 0
    for recipient in recipients:
        if await notify(application, recipient, cycle_id, kind, lambda r=recipient: render(r)):
            sent += 1
    return sent


# -- texts ----------------------------------------------------------------------------------


def _local(services: Services, moment: datetime) -> datetime:
    return moment.astimezone(services.timezone)


def shopping_buttons(*, basket: bool = False, reorder: bool = False) -> InlineKeyboardMarkup:
    """The buttons under an announcement or a reminder: straight to the shop."""
    row = [InlineKeyboardButton(_("🛍 Catalogue"), callback_data=CATALOG.pack())]
    if basket:
        row.append(InlineKeyboardButton(_("🧺 Panier"), callback_data=BASKET.pack()))
    rows = [row]
    if reorder:
        rows.append(
            [
                InlineKeyboardButton(
                    _("🔁 Même panier que la semaine dernière"), callback_data=REORDER_NOW.pack()
                )
            ]
        )
    return InlineKeyboardMarkup(rows)


def open_text(services: Services, cycle: Cycle) -> str:
    """The announcement that ordering is open."""
    return "\n".join(
        [
            _("🧺 <b>Les commandes de la semaine sont ouvertes !</b>"),
            _("Commandez jusqu’au {close}, retrait le {pickup}.").format(
                close=format_datetime(_local(services, cycle.closes_at)),
                pickup=format_date(_local(services, cycle.pickup_starts_at)),
            ),
            _("Tapez /catalogue pour voir les produits de la semaine."),
            "",
            _("<i>Ne plus recevoir ces messages : /notifications</i>"),
        ]
    )


def close_reminder_text(services: Services, cycle: Cycle, reminder: CloseReminder) -> str:
    """The reminder before close: the basket's contents, or an invitation to order."""
    close = format_datetime(_local(services, cycle.closes_at))
    if reminder.items:
        items = "\n".join(
            f"• {escape(item.name)} × {escape(amount_phrase(item.quantity, item.sale_unit))}"
            for item in reminder.items
        )
        lines = [
            _("⏰ <b>Votre panier n’est pas encore confirmé</b> ({total}) :").format(
                total=format_price(reminder.total_cents)
            ),
            items,
            _(
                "Les commandes ferment le {close}. Tapez /panier pour le confirmer ; sans "
                "confirmation, il sera abandonné."
            ).format(close=close),
        ]
    else:
        lines = [
            _("⏰ <b>Vous n’avez pas encore commandé cette semaine.</b>"),
            _("Les commandes ferment le {close}. Tapez /catalogue pour voir les produits.").format(
                close=close
            ),
        ]
    lines += ["", _("<i>Ne plus recevoir ces rappels : /notifications</i>")]
    return "\n".join(lines)


def pickup_reminder_text(services: Services, cycle: Cycle, reminder: PickupReminder) -> str:
    """The pickup-day reminder: where, when, how much."""
    point = reminder.point
    if point is not None:
        place = f"<b>{escape(point.name)}</b>, {escape(point.address)}"
        window = _("de {start} à {end}").format(
            start=format_time(point.window_start), end=format_time(point.window_end)
        )
    else:
        place = _("au point de retrait")
        window = _("de {start} à {end}").format(
            start=format_time(_local(services, cycle.pickup_starts_at)),
            end=format_time(_local(services, cycle.pickup_ends_at)),
        )
    return "\n".join(
        [
            _("📦 <b>C’est aujourd’hui : votre commande vous attend !</b>"),
            _("Où : {place}").format(place=place),
            _("Quand : {day}, {window}").format(
                day=format_date(_local(services, cycle.pickup_starts_at)), window=window
            ),
            _("Montant : {total}").format(total=format_price(reminder.total_cents)),
        ]
    )


def summary_text(services: Services, cycle: Cycle, summary: CloseSummary) -> str:
    """The close summary for the admins."""
    lines = [
        _("🔒 <b>Cycle du {day} clôturé</b>").format(
            day=format_date(_local(services, cycle.pickup_starts_at))
        ),
        ngettext("{count} commande", "{count} commandes", summary.orders).format(
            count=summary.orders
        )
        + " — "
        + format_price(summary.revenue_cents)
        + " — "
        + ngettext("{count} ligne", "{count} lignes", summary.lines).format(count=summary.lines),
    ]
    if summary.abandoned:
        lines.append(
            ngettext(
                "{count} panier non confirmé abandonné",
                "{count} paniers non confirmés abandonnés",
                summary.abandoned,
            ).format(count=summary.abandoned)
        )
    if summary.producers:
        lines += ["", _("<b>Par producteur</b>")]
        lines += [
            f"• {escape(p.name)} : {format_price(p.revenue_cents)}" for p in summary.producers
        ]
    if summary.pickup_points:
        lines += ["", _("<b>Par point de retrait</b>")]
        lines += [
            "• {name} : {orders} — {total}".format(
                name=escape(p.name or _("sans point de retrait")),
                orders=ngettext("{count} commande", "{count} commandes", p.orders).format(
                    count=p.orders
                ),
                total=format_price(p.revenue_cents),
            )
            for p in summary.pickup_points
        ]
    return "\n".join(lines)


# -- the steps ------------------------------------------------------------------------------


async def _cycle(services: Services, cycle_id: int) -> Cycle | None:
    async with services.sessions() as session:
        cycle = await session.get(Cycle, cycle_id, populate_existing=True)
        await session.commit()
        return cycle


async def announce_open(application: AnyApplication, cycle_id: int) -> int:
    """Tell the producers (their weekly stock prompt) and the consumers that the cycle opened.
    Once per cycle; returns how many consumers were told."""
    services = services_of(application)
    async with services.sessions() as session:
        if await step_done(session, cycle_id, OPEN_ANNOUNCED):
            return 0
    await _call_seam(application, weekly_prompts_seam(), cycle_id, PRODUCER_PROMPTS)
    cycle = await _cycle(services, cycle_id)
    if cycle is None:
        return 0
    async with services.sessions() as session:
        audience = await cycle_open_audience(session)
    sent = await _notify_all(
        application,
        audience,
        cycle_id,
        "cycle_open",
        lambda _r: (open_text(services, cycle), shopping_buttons(reorder=True)),
    )
    async with services.sessions() as session:
        await claim_step(session, cycle_id, OPEN_ANNOUNCED)
    return sent


async def dispatch_close(
    application: AnyApplication, cycle_id: int, summary: CloseSummary | None = None
) -> int:
    """After a close: producers get their purchase orders, admins the summary. Once per cycle;
    returns how many admins were told."""
    services = services_of(application)
    async with services.sessions() as session:
        if await step_done(session, cycle_id, CLOSE_DISPATCHED):
            return 0
    await _call_resumable_seam(application, purchase_orders_seam(), cycle_id, PURCHASE_ORDERS)
    cycle = await _cycle(services, cycle_id)
    if cycle is None:
        return 0
    async with services.sessions() as session:
        if summary is None:
            summary = await close_cycle(session, cycle_id, services.now())
        admins = await admin_audience(
            session, services.admin_ids, str(services.extra.get("default_locale", "fr"))
        )
    text_summary = summary
    sent = await _notify_all(
        application,
        admins,
        cycle_id,
        CLOSE_SUMMARY,
        lambda _r: summary_text(services, cycle, text_summary),
    )
    async with services.sessions() as session:
        await claim_step(session, cycle_id, CLOSE_DISPATCHED)
    return sent


async def close_and_dispatch(application: AnyApplication, cycle_id: int) -> CloseSummary:
    """Close the cycle now (once) and, the first time, send what follows a close."""
    services = services_of(application)
    async with services.sessions() as session:
        summary = await close_cycle(session, cycle_id, services.now())
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
    render: Callable[[Any], str | tuple[str, InlineKeyboardMarkup]],
) -> int:
    """Send ``render(reminder)`` to each of ``audience``, once per cycle for ``step`` (and once
    per person for ``kind``); returns how many were sent now."""
    services = services_of(application)
    async with services.sessions() as session:
        if await step_done(session, cycle.id, step):
            return 0
        reminders = await audience(session)
    sent = 0
    for reminder in reminders:
        if await notify(
            application, reminder.recipient, cycle.id, kind, lambda r=reminder: render(r)
        ):
            sent += 1
    async with services.sessions() as session:
        await claim_step(session, cycle.id, step)
    return sent


async def send_close_reminders(application: AnyApplication, cycle: Cycle, key: str) -> int:
    """The reminder round ``key`` before the cycle's close; returns how many were sent."""
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
        "pickup_reminder",
        lambda session: pickup_reminder_audience(session, cycle.id),
        lambda reminder: pickup_reminder_text(services, cycle, reminder),
    )


async def run_due_work(application: AnyApplication) -> DueReport:
    """Do everything due at ``services.now()``: close, end pickups, plan, open, remind.

    Safe to call as often as wanted (each step is recorded once done); a close missed while the
    bot was down runs once, and only the latest reminder that fell due is sent.
    """
    services = services_of(application)
    calendar = calendar_of(services)
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

    for cycle in await _watched(services):
        if cycle.state == CycleState.CLOSED and cycle.pickup_ends_at <= now:
            async with services.sessions() as session:
                await finish_pickup(session, cycle.id, now)
            report.delivered.append(cycle.id)

    async with services.sessions() as session:
        report.planned = [c.id for c in await plan_cycles(session, calendar, now)]

    cycles = await _watched(services)
    if not any(c.state == CycleState.OPEN for c in cycles):
        for cycle in cycles:
            if cycle.state != CycleState.PLANNED or cycle.opens_at > now:
                continue
            if cycle.closes_at <= now:
                log.warning("cycle %s was never opened and its close has passed", cycle.id)
                continue
            if await open_and_announce(application, cycle.id):
                report.opened.append(cycle.id)
            break

    for cycle in await _watched(services):
        if cycle.state == CycleState.OPEN:
            # A cycle opened by an admin whose announcement was interrupted is announced now.
            report.messages += await announce_open(application, cycle.id)
            if cycle.closes_at > now:
                report.messages += await _due_reminder(application, calendar, cycle, now, report)
        elif cycle.state == CycleState.CLOSED:
            remind_at = calendar.pickup_reminder_at(cycle.closes_at, cycle.pickup_starts_at)
            if remind_at <= now < cycle.pickup_ends_at:
                sent = await send_pickup_reminders(application, cycle)
                if sent:
                    report.pickup_reminded.append(cycle.id)
                report.messages += sent
    return report


async def _due_reminder(
    application: AnyApplication,
    calendar: WeeklyCalendar,
    cycle: Cycle,
    now: datetime,
    report: DueReport,
) -> int:
    """Send the latest reminder that fell due; older ones missed meanwhile are skipped."""
    services = services_of(application)
    due = [key for key, moment in calendar.reminder_moments(cycle.closes_at) if moment <= now]
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


def upcoming_moments(
    calendar: WeeklyCalendar, cycles: Sequence[Cycle], now: datetime
) -> list[tuple[str, datetime]]:
    """The instants after ``now`` at which :func:`run_due_work` has something to do, each with
    a job name (the scheduler plans one job per instant)."""
    moments: list[tuple[str, datetime]] = []
    for cycle in cycles:
        prefix = f"cycle:{cycle.id}:"
        if cycle.state == CycleState.PLANNED:
            moments.append((prefix + "open", cycle.opens_at))
        if cycle.state in (CycleState.PLANNED, CycleState.OPEN):
            moments += [
                (prefix + "remind:" + key, moment)
                for key, moment in calendar.reminder_moments(cycle.closes_at)
            ]
            moments.append((prefix + "close", cycle.closes_at))
        if cycle.state in (CycleState.PLANNED, CycleState.OPEN, CycleState.CLOSED):
            moments.append(
                (
                    prefix + "pickup",
                    calendar.pickup_reminder_at(cycle.closes_at, cycle.pickup_starts_at),
                )
            )
            moments.append((prefix + "delivered", cycle.pickup_ends_at))
    return sorted(
        ((name, moment) for name, moment in moments if moment > now), key=lambda item: item[1]
    )


async def reschedule(application: AnyApplication) -> None:
    """Ask the scheduler (if one is installed) to plan its jobs again from the database."""
    hook = services_of(application).extra.get("reschedule")
    if hook is not None:
        await hook(application)
