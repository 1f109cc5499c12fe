"""/cycle and /nouveau_cycle (/new_cycle): the admins steer the week's cycle.

/cycle shows the current (or next) cycle, its times and its orders so far, with buttons to open
it now, close it now (after a confirmation), extend it by an hour or a day, or plan the next one
from the weekly calendar. Everyone else is politely refused, buttons included.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers.callback_data import CallbackDataError, Route
from handlers.common import answer_stale, show
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
from handlers.menu import ADMIN, MENU, Command, register_command
from handlers.week_texts import summary_text
from models.closing import cycle_summary
from models.cycle import Cycle, CycleState
from models.errors import CycleClosed, DomainError, StaleAction
from models.planning import (
    AnotherCycleOpen,
    CannotMove,
    admin_cycle,
    extend_cycle,
    open_now,
    plan_next_cycle,
)

SHOW = Route("cyc")
OPEN = Route("cyc:open", (int,))
ASK_CLOSE = Route("cyc:close", (int,))
CLOSE = Route("cyc:close!", (int,))
EXTEND = Route("cyc:ext", (int, str))  # cycle, "1h" | "1d"
PLAN = Route("cyc:plan")

EXTENSIONS = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}

CYCLE_COMMAND = register_command(
    Command("cycle", "cycle", lazy_gettext("Piloter le cycle de la semaine"), ADMIN)
)
NEW_CYCLE_COMMAND = register_command(
    Command("nouveau_cycle", "new_cycle", lazy_gettext("Planifier le prochain cycle"), ADMIN)
)


def admins_only_text() -> str:
    """The polite refusal for someone who is not an admin."""
    return _("Cette commande est réservée à l’équipe du réseau.")


async def refuse_unless_admin(update: Update, context: DesserteContext) -> bool:
    """Refuse (and say so) when the member is not an admin; True when refused."""
    if context.is_admin:
        return False
    if update.callback_query is not None:
        await update.callback_query.answer(admins_only_text(), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(admins_only_text())
    return True


def state_label(state: CycleState) -> str:
    """The cycle's state in words."""
    return {
        CycleState.PLANNED: _("prévu"),
        CycleState.OPEN: _("ouvert"),
        CycleState.CLOSED: _("clôturé"),
        CycleState.DELIVERED: _("livré"),
    }[state]


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
            _("Clôture : {moment}").format(moment=format_datetime(cycle.closes_at.astimezone(tz))),
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
        ]
    )


def cycle_keyboard(cycle: Cycle | None) -> InlineKeyboardMarkup:
    """What the admin can do with the cycle in its state."""
    rows: list[list[InlineKeyboardButton]] = []
    if cycle is not None and cycle.state == CycleState.PLANNED:
        rows.append(
            [InlineKeyboardButton(_("▶️ Ouvrir maintenant"), callback_data=OPEN.pack(cycle.id))]
        )
    if cycle is not None and cycle.state == CycleState.OPEN:
        rows.append(
            [
                InlineKeyboardButton(
                    _("🔒 Clôturer maintenant"), callback_data=ASK_CLOSE.pack(cycle.id)
                )
            ]
        )
    if cycle is not None and cycle.state in (CycleState.PLANNED, CycleState.OPEN):
        rows.append(
            [
                InlineKeyboardButton(_("⏩ +1 heure"), callback_data=EXTEND.pack(cycle.id, "1h")),
                InlineKeyboardButton(_("⏩ +1 jour"), callback_data=EXTEND.pack(cycle.id, "1d")),
            ]
        )
    if cycle is None or cycle.state != CycleState.PLANNED:
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
    await show(update, text, cycle_keyboard(cycle))


async def show_cycle(update: Update, context: DesserteContext) -> None:
    """The admin sees the current or next cycle and what can be done with it."""
    if await refuse_unless_admin(update, context):
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    cycle = await admin_cycle(context.session, context.services.now())
    await render_cycle(update, context, cycle)


async def _pressed(
    update: Update, context: DesserteContext, route: Route
) -> tuple[CallbackQuery, tuple[int | str, ...]] | None:
    """An admin's press on ``route`` and its values; anyone else is refused, a forged or
    malformed button answered as stale, and None returned for both."""
    if await refuse_unless_admin(update, context):
        return None
    query = update.callback_query
    try:
        values = route.unpack(query.data if query else None)
    except CallbackDataError:
        values = None
    if query is None or values is None:
        await answer_stale(update)
        return None
    return query, values


def refusal_text(error: DomainError) -> str:
    """A domain refusal of a cycle action, as a sentence."""
    if isinstance(error, AnotherCycleOpen):
        return _("Un autre cycle est encore ouvert : clôturez-le d’abord.")
    if isinstance(error, CannotMove):
        return _("Impossible : la clôture doit rester après l’ouverture et avant le retrait.")
    if isinstance(error, CycleClosed):
        return _("Ce cycle est déjà clôturé.")
    return _("Ce bouton n’est plus valable. Tapez /cycle pour repartir.")


async def open_cycle_now(update: Update, context: DesserteContext) -> None:
    """Opens the planned cycle at once; consumers and producers are told."""
    pressed = await _pressed(update, context, OPEN)
    if pressed is None:
        return
    query, (cycle_id,) = pressed
    try:
        cycle = await open_now(context.session, int(cycle_id), context.services.now())
    except DomainError as error:
        await query.answer(refusal_text(error), show_alert=True)
        return
    await query.answer()
    await announce_open(context.application, cycle.id)
    await reschedule(context.application)
    await render_cycle(update, context, cycle, _("✅ Cycle ouvert."))


async def ask_close(update: Update, context: DesserteContext) -> None:
    """Asks the admin to confirm closing the cycle now."""
    pressed = await _pressed(update, context, ASK_CLOSE)
    if pressed is None:
        return
    query, (cycle_id,) = pressed
    await query.answer()
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("✅ Oui, clôturer"), callback_data=CLOSE.pack(cycle_id))],
            [InlineKeyboardButton(_("↩️ Annuler"), callback_data=SHOW.pack())],
        ]
    )
    await show(
        update,
        _(
            "Clôturer le cycle maintenant ? Les paniers non confirmés seront abandonnés et les "
            "producteurs recevront leurs bons de commande."
        ),
        keyboard,
    )


async def close_cycle_now(update: Update, context: DesserteContext) -> None:
    """Closes the cycle (once) and shows its summary in place."""
    pressed = await _pressed(update, context, CLOSE)
    if pressed is None:
        return
    query, (cycle_id,) = pressed
    try:
        summary = await close_and_dispatch(context.application, int(cycle_id))
    except StaleAction:
        await query.answer(refusal_text(StaleAction()), show_alert=True)
        return
    await query.answer()
    await reschedule(context.application)
    cycle = await context.session.get(Cycle, summary.cycle_id, populate_existing=True)
    await context.session.commit()
    assert cycle is not None
    note = _("Ce cycle était déjà clôturé.") if summary.already_closed else None
    text = summary_text(context.services, cycle, summary)
    if note:
        text = note + "\n\n" + text
    await show(update, text, cycle_keyboard(cycle))


async def extend_cycle_by(update: Update, context: DesserteContext) -> None:
    """Moves the cycle's close later by an hour or a day, and shows the new times."""
    pressed = await _pressed(update, context, EXTEND)
    if pressed is None:
        return
    query, (cycle_id, key) = pressed
    if key not in EXTENSIONS:
        await answer_stale(update)
        return
    try:
        cycle = await extend_cycle(
            context.session, int(cycle_id), EXTENSIONS[str(key)], context.services.now()
        )
    except DomainError as error:
        await query.answer(refusal_text(error), show_alert=True)
        return
    await query.answer()
    await reschedule(context.application)
    tz = context.services.timezone
    note = _("⏩ Clôture repoussée au {moment}.").format(
        moment=format_datetime(cycle.closes_at.astimezone(tz))
    )
    await render_cycle(update, context, cycle, note)


async def plan_cycle(update: Update, context: DesserteContext) -> None:
    """Plans the next cycle from the weekly calendar (or shows the one already planned)."""
    if await refuse_unless_admin(update, context):
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
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
        CallbackQueryHandler(show_cycle, pattern=SHOW.pattern),
        CallbackQueryHandler(open_cycle_now, pattern=OPEN.pattern),
        CallbackQueryHandler(ask_close, pattern=ASK_CLOSE.pattern),
        CallbackQueryHandler(close_cycle_now, pattern=CLOSE.pattern),
        CallbackQueryHandler(extend_cycle_by, pattern=EXTEND.pattern),
        CallbackQueryHandler(plan_cycle, pattern=PLAN.pattern),
    ]
