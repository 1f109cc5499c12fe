"""/cycle and /nouveau_cycle (/new_cycle): the admins steer the week's cycle.

/cycle shows the current (or next) cycle, its times and its orders so far, with buttons to open
it now, close it now (after a confirmation), extend it by an hour or a day, or plan the next one
from the weekly calendar. Everyone else is politely refused, buttons included.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.cycle_run import announce_open, close_and_dispatch, reschedule
from handlers.i18n import (
    _,
    format_date,
    format_datetime,
    format_price,
    format_time,
    lazy_gettext,
    ngettext,
)
from handlers.menu import ADMIN, MENU, Command
from handlers.week_texts import summary_text
from models.closing import cycle_summary
from models.cycle import Cycle, CycleState
from models.cycles import next_cycle
from models.errors import CycleClosed, DomainError, StaleAction
from models.planning import (
    AnotherCycleOpen,
    CannotMove,
    admin_cycle,
    extend_cycle,
    open_now,
    plan_next_cycle,
)
from models.stock import producers_without_stock_names

EXTENSIONS = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}


class ShowCycle(CallbackData, prefix="cyc"):
    """The current or next cycle and what can be done with it."""


class AskOpen(CallbackData, prefix="cyc:open"):
    """The question before opening the planned cycle now."""

    cycle_id: int


class OpenNow(AskOpen, prefix="cyc:open!"):
    """The planned cycle opened at once (the admin said yes)."""


class AskClose(AskOpen, prefix="cyc:close"):
    """The question before closing the cycle now."""


class CloseNow(AskOpen, prefix="cyc:close!"):
    """The cycle closed now (the admin said yes)."""


class Extend(CallbackData, prefix="cyc:ext"):
    """The cycle's close moved later by ``by``: one of :data:`EXTENSIONS` ("1h", "1d")."""

    cycle_id: int
    by: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.by not in EXTENSIONS:
            raise ValueError(f"cyc:ext: {self.by!r} is not an extension")


class PlanNext(CallbackData, prefix="cyc:plan"):
    """The next cycle planned from the weekly calendar."""


SHOW = ShowCycle()
PLAN = PlanNext()

CYCLE_COMMAND = Command("cycle", "cycle", lazy_gettext("Piloter le cycle de la semaine"), ADMIN)
NEW_CYCLE_COMMAND = Command(
    "nouveau_cycle", "new_cycle", lazy_gettext("Planifier le prochain cycle"), ADMIN
)


def state_label(state: CycleState) -> str:
    """The cycle's state in words."""
    return {
        CycleState.PLANNED: _("prévu"),
        CycleState.OPEN: _("ouvert"),
        CycleState.CLOSED: _("clôturé"),
        CycleState.DELIVERED: _("livré"),
        CycleState.SKIPPED: _("sauté (le bot était arrêté)"),
    }[state]


def close_line(context: DesserteContext, cycle: Cycle) -> str:
    """When the cycle closes, or when it really closed (and when it was due, if not then)."""
    tz = context.services.timezone
    due = format_datetime(cycle.closes_at.astimezone(tz))
    if cycle.state in (CycleState.PLANNED, CycleState.OPEN):
        return _("Clôture : {moment}").format(moment=due)
    closed = format_datetime((cycle.closed_at or cycle.closes_at).astimezone(tz))
    if closed == due:
        return _("Clôturé le {moment}").format(moment=closed)
    return _("Clôturé le {moment} (prévu le {due})").format(moment=closed, due=due)


async def cycle_text(context: DesserteContext, cycle: Cycle) -> str:
    """The cycle's times in the network's time zone, and its orders so far."""
    tz = context.services.timezone
    summary = await cycle_summary(context.session, cycle.id)
    return "\n".join(
        [
            # A cycle is named by its delivery day, as everywhere else (reports, exports).
            _("<b>Cycle du {day}</b> — {state}").format(
                day=format_date(cycle.pickup_starts_at.astimezone(tz)),
                state=state_label(cycle.state),
            ),
            _("Ouverture : {moment}").format(moment=format_datetime(cycle.opens_at.astimezone(tz))),
            close_line(context, cycle),
            _("Retrait : {day}, de {start} à {end}").format(
                day=format_date(cycle.pickup_starts_at.astimezone(tz)),
                start=format_time(cycle.pickup_starts_at.astimezone(tz)),
                end=format_time(cycle.pickup_ends_at.astimezone(tz)),
            ),
            ngettext(
                "{count} commande confirmée, {revenue}",
                "{count} commandes confirmées, {revenue}",
                summary.orders,
            ).format(count=summary.orders, revenue=format_price(summary.revenue_cents)),
            *await _without_stock_lines(context, cycle),
        ]
    )


async def _without_stock_lines(context: DesserteContext, cycle: Cycle) -> list[str]:
    """Who has not given stock yet, while stock can still be given for the cycle."""
    if cycle.state not in (CycleState.PLANNED, CycleState.OPEN):
        return []
    names = await producers_without_stock_names(context.session, cycle.id)
    if not names:
        return [_("Tous les producteurs ont donné leur stock.")]
    return [
        ngettext(
            "Pas encore de stock ({count} producteur) : {names}",
            "Pas encore de stock ({count} producteurs) : {names}",
            len(names),
        ).format(count=len(names), names=", ".join(escape(name) for name in names))
    ]


def cycle_keyboard(cycle: Cycle | None, planned: Cycle | None = None) -> InlineKeyboardMarkup:
    """What the admin can do with the cycle in its state; after a close, open the ``planned``
    next one now, or plan one."""
    rows: list[list[InlineKeyboardButton]] = []
    closed = cycle is not None and cycle.state in (CycleState.CLOSED, CycleState.DELIVERED)
    if closed and planned is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    _("▶️ Ouvrir le prochain cycle maintenant"),
                    callback_data=AskOpen(planned.id).pack(),
                )
            ]
        )
        planned_exists = True
    else:
        planned_exists = False
    if cycle is not None and cycle.state == CycleState.PLANNED:
        rows.append(
            [InlineKeyboardButton(_("▶️ Ouvrir maintenant"), callback_data=AskOpen(cycle.id).pack())]
        )
    if cycle is not None and cycle.state == CycleState.OPEN:
        rows.append(
            [
                InlineKeyboardButton(
                    _("🔒 Clôturer maintenant"), callback_data=AskClose(cycle.id).pack()
                )
            ]
        )
    if cycle is not None and cycle.state in (CycleState.PLANNED, CycleState.OPEN):
        rows.append(
            [
                InlineKeyboardButton(_("⏩ +1 heure"), callback_data=Extend(cycle.id, "1h").pack()),
                InlineKeyboardButton(_("⏩ +1 jour"), callback_data=Extend(cycle.id, "1d").pack()),
            ]
        )
    if (cycle is None or cycle.state != CycleState.PLANNED) and not planned_exists:
        rows.append(
            [InlineKeyboardButton(_("🗓 Planifier le prochain cycle"), callback_data=PLAN.pack())]
        )
    rows.append(
        [
            InlineKeyboardButton(_("🔄 Actualiser"), callback_data=SHOW.pack()),
            InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack()),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def render_cycle(
    update: Update, context: DesserteContext, cycle: Cycle | None, note: str | None = None
) -> None:
    """Show the cycle (or say that none is planned), with an optional line on top."""
    if cycle is None:
        text = _("Aucun cycle ouvert ni prévu.")
    else:
        text = await cycle_text(context, cycle)
    if note:
        text = note + "\n\n" + text
    planned = await next_cycle(context.session, context.services.now())
    await show(update, text, cycle_keyboard(cycle, planned))


async def show_cycle(update: Update, context: DesserteContext) -> None:
    """The admin sees the current or next cycle and what can be done with it."""
    if not await admin_or_refuse(update, context):
        return
    cycle = await admin_cycle(context.session, context.services.now())
    await render_cycle(update, context, cycle)


def refusal_text(error: DomainError) -> str:
    """A domain refusal of a cycle action, as a sentence."""
    if isinstance(error, AnotherCycleOpen):
        return _("Un autre cycle est encore ouvert : clôturez-le d’abord.")
    if isinstance(error, CannotMove):
        return _("Impossible : la clôture doit rester après l’ouverture et avant le retrait.")
    if isinstance(error, CycleClosed):
        return _("Ce cycle est déjà clôturé.")
    return _("Ce bouton n’est plus valable. Tapez /cycle pour repartir.")


async def refuse_in_place(update: Update, context: DesserteContext, error: DomainError) -> None:
    """The cycle shown again, the refusal on top (the press was already answered)."""
    cycle = await admin_cycle(context.session, context.services.now())
    await render_cycle(update, context, cycle, refusal_text(error))


async def _ask_first(update: Update, question: str, yes: str, yes_data: str) -> None:
    """A question before acting on the cycle: the admin's yes, or back to the cycle."""
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(yes, callback_data=yes_data)],
            [InlineKeyboardButton(_("↩️ Annuler"), callback_data=SHOW.pack())],
        ]
    )
    await show(update, question, keyboard)


async def ask_open(update: Update, context: DesserteContext, data: AskOpen) -> None:
    """Asks the admin to confirm opening the planned cycle now."""
    await _ask_first(
        update,
        _(
            "Ouvrir le cycle maintenant ? Les producteurs seront invités à donner leur stock ; "
            "les consommateurs seront prévenus quand le catalogue sera prêt."
        ),
        _("✅ Oui, ouvrir"),
        OpenNow(data.cycle_id).pack(),
    )


async def open_cycle_now(update: Update, context: DesserteContext, data: OpenNow) -> None:
    """Opens the planned cycle at once; producers are asked for stock, consumers told when the
    catalog is ready."""
    try:
        cycle = await open_now(context.session, data.cycle_id, context.services.now())
    except DomainError as error:
        await refuse_in_place(update, context, error)
        return
    await announce_open(context.application, cycle.id)
    await reschedule(context.application)
    await render_cycle(update, context, cycle, _("✅ Cycle ouvert."))


async def ask_close(update: Update, context: DesserteContext, data: AskClose) -> None:
    """Asks the admin to confirm closing the cycle now."""
    await _ask_first(
        update,
        _(
            "Clôturer le cycle maintenant ? Les paniers non confirmés seront abandonnés et les "
            "producteurs recevront leurs bons de commande."
        ),
        _("✅ Oui, clôturer"),
        CloseNow(data.cycle_id).pack(),
    )


async def close_cycle_now(update: Update, context: DesserteContext, data: CloseNow) -> None:
    """Closes the cycle (once) and shows its summary in place."""
    try:
        summary = await close_and_dispatch(context.application, data.cycle_id)
    except StaleAction as error:
        await refuse_in_place(update, context, error)
        return
    await reschedule(context.application)
    # The close ran in its own session: end this one's read so the new state is seen.
    await context.session.commit()
    cycle = await context.session.get(Cycle, summary.cycle_id, populate_existing=True)
    await context.session.commit()
    assert cycle is not None
    note = _("Ce cycle était déjà clôturé.") if summary.already_closed else None
    text = summary_text(context.services, cycle, summary)
    if note:
        text = note + "\n\n" + text
    planned = await next_cycle(context.session, context.services.now())
    await context.session.commit()
    await show(update, text, cycle_keyboard(cycle, planned))


async def extend_cycle_by(update: Update, context: DesserteContext, data: Extend) -> None:
    """Moves the cycle's close later by an hour or a day, and shows the new times."""
    try:
        cycle = await extend_cycle(
            context.session, data.cycle_id, EXTENSIONS[data.by], context.services.now()
        )
    except DomainError as error:
        await refuse_in_place(update, context, error)
        return
    await reschedule(context.application)
    tz = context.services.timezone
    note = _("⏩ Clôture repoussée au {moment}.").format(
        moment=format_datetime(cycle.closes_at.astimezone(tz))
    )
    await render_cycle(update, context, cycle, note)


async def plan_cycle(update: Update, context: DesserteContext) -> None:
    """Plans the next cycle from the weekly calendar (or shows the one already planned)."""
    if not await admin_or_refuse(update, context):
        return
    calendar = context.services.calendar
    cycle, created = await plan_next_cycle(context.session, calendar, context.services.now())
    await reschedule(context.application)
    note = _("🗓 Prochain cycle planifié.") if created else _("Un cycle est déjà prévu.")
    await render_cycle(update, context, cycle, note)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The admin's cycle commands and buttons."""
    return [
        CommandHandler(list(CYCLE_COMMAND.names), show_cycle),
        CommandHandler(list(NEW_CYCLE_COMMAND.names), plan_cycle),
        button(ShowCycle, show_cycle, admin=True),
        button(AskOpen, ask_open, admin=True),
        button(OpenNow, open_cycle_now, admin=True),
        button(AskClose, ask_close, admin=True),
        button(CloseNow, close_cycle_now, admin=True),
        button(Extend, extend_cycle_by, admin=True),
        button(PlanNext, plan_cycle, admin=True),
    ]
