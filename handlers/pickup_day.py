"""Pickup day for admins: /retraits (/pickups) and /invite_retrait (/invite_pickup).

/retraits POINT lists that point's orders of the cycle being picked up, one button per consumer
to mark the order collected (pressed again, not collected), edited in place; "Terminer" records
the orders nobody collected as no-shows (the scheduler does it for every point at the end of the
pickup window). /invite_retrait SLUG gives the invitation link of a company pickup point.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers.callback_data import CallbackDataError, Route
from handlers.common import answer_stale, escape, show
from handlers.context import DesserteContext
from handlers.cycle_admin import refuse_unless_admin
from handlers.i18n import _, format_date, format_price, format_time, lazy_gettext, ngettext
from handlers.menu import ADMIN, Command, register_command
from models.cycle import CycleState
from models.errors import StaleAction
from models.order import OrderStatus
from models.pickup_day import (
    PickupEntry,
    PickupList,
    active_points,
    finish_pickup,
    invitation_code,
    pickup_cycle,
    pickup_list,
    point_by_slug,
    toggle_collected,
)

POINTS = Route("pck")
POINT = Route("pck:pt", (int, int, int))  # cycle, point, page
TOGGLE = Route("pck:tog", (int, int))  # order, page
ASK_END = Route("pck:end", (int, int))  # cycle, point
END = Route("pck:end!", (int, int))

PAGE_SIZE = 20

PICKUPS_COMMAND = register_command(
    Command("retraits", "pickups", lazy_gettext("Listes de retrait du jour"), ADMIN)
)
INVITE_COMMAND = register_command(
    Command(
        "invite_retrait",
        "invite_pickup",
        lazy_gettext("Lien d’invitation d’un point de retrait d’entreprise"),
        ADMIN,
    )
)


# -- /retraits ------------------------------------------------------------------------------


def _mark(entry: PickupEntry) -> str:
    if entry.status == OrderStatus.COLLECTED:
        return "✅"
    if entry.status == OrderStatus.NO_SHOW:
        return "❌"
    return "⬜"


def pickup_text(context: DesserteContext, listing: PickupList, page: int) -> str:
    """The point, its window on pickup day, and how many orders were collected."""
    tz = context.services.timezone
    point, cycle = listing.point, listing.cycle
    lines = [
        _("<b>Retraits — {point}</b>").format(point=escape(point.name)),
        _("{day}, de {start} à {end}").format(
            day=format_date(cycle.pickup_starts_at.astimezone(tz)),
            start=format_time(point.window_start),
            end=format_time(point.window_end),
        ),
        ngettext(
            "{count} commande, {collected} retirée(s)",
            "{count} commandes, {collected} retirée(s)",
            len(listing.entries),
        ).format(count=len(listing.entries), collected=listing.collected),
    ]
    if not listing.entries:
        lines.append(_("Aucune commande pour ce point."))
    else:
        lines.append(_("Touchez un nom quand la personne repart avec sa commande."))
    if cycle.state == CycleState.DELIVERED:
        lines.append(_("<i>Retrait terminé.</i>"))
    pages = max(1, -(-len(listing.entries) // PAGE_SIZE))
    if pages > 1:
        lines.append(_("Page {page}/{pages}").format(page=page + 1, pages=pages))
    return "\n".join(lines)


def pickup_keyboard(listing: PickupList, page: int) -> InlineKeyboardMarkup:
    """A button per order of the page, the pages, and "Terminer"."""
    cycle, point = listing.cycle, listing.point
    shown = listing.entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [
        [
            InlineKeyboardButton(
                f"{_mark(entry)} {entry.member_name} — {format_price(entry.total_cents)}",
                callback_data=TOGGLE.pack(entry.order_id, page),
            )
        ]
        for entry in shown
    ]
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton("◀️", callback_data=POINT.pack(cycle.id, point.id, page - 1))
        )
    if (page + 1) * PAGE_SIZE < len(listing.entries):
        nav.append(
            InlineKeyboardButton("▶️", callback_data=POINT.pack(cycle.id, point.id, page + 1))
        )
    if nav:
        rows.append(nav)
    if cycle.state == CycleState.CLOSED:
        rows.append(
            [
                InlineKeyboardButton(
                    _("🏁 Terminer le retrait"), callback_data=ASK_END.pack(cycle.id, point.id)
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                _("🔄 Actualiser"), callback_data=POINT.pack(cycle.id, point.id, page)
            ),
            InlineKeyboardButton(_("📍 Points"), callback_data=POINTS.pack()),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def render_list(
    update: Update,
    context: DesserteContext,
    cycle_id: int,
    point_id: int,
    page: int,
    note: str = "",
) -> None:
    """Show the point's pickup list, page ``page``."""
    listing = await pickup_list(context.session, cycle_id, point_id)
    last_page = max(0, (len(listing.entries) - 1) // PAGE_SIZE)
    page = min(max(page, 0), last_page)
    text = pickup_text(context, listing, page)
    await show(update, (note + "\n\n" + text) if note else text, pickup_keyboard(listing, page))


async def show_pickups(update: Update, context: DesserteContext) -> None:
    """The admin picks a point (or names it: /retraits halle) and sees its list."""
    if await refuse_unless_admin(update, context):
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    cycle = await pickup_cycle(context.session)
    if cycle is None:
        await show(update, _("Aucun cycle clôturé : il n’y a pas encore de retrait à préparer."))
        return
    slug = " ".join(context.args or []).strip() if update.callback_query is None else ""
    if slug:
        point = await point_by_slug(context.session, slug)
        if point is None:
            await show(
                update, _("Je ne connais pas le point « {slug} ».").format(slug=escape(slug))
            )
            return
        await render_list(update, context, cycle.id, point.id, 0)
        return
    points = await active_points(context.session)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(point.name, callback_data=POINT.pack(cycle.id, point.id, 0))]
            for point in points
        ]
    )
    await show(update, _("Quel point de retrait ?"), keyboard)


async def show_point(update: Update, context: DesserteContext) -> None:
    """A page of a point's pickup list, in place."""
    if await refuse_unless_admin(update, context):
        return
    query = update.callback_query
    assert query is not None
    try:
        cycle_id, point_id, page = (int(v) for v in POINT.unpack(query.data))
        await query.answer()
        await render_list(update, context, cycle_id, point_id, page)
    except (CallbackDataError, StaleAction):
        await answer_stale(update)


async def toggle_order(update: Update, context: DesserteContext) -> None:
    """Marks a consumer's order collected (or not any more), in place."""
    if await refuse_unless_admin(update, context):
        return
    query = update.callback_query
    assert query is not None
    try:
        order_id, page = (int(v) for v in TOGGLE.unpack(query.data))
        order = await toggle_collected(context.session, order_id)
    except CallbackDataError:
        await answer_stale(update)
        return
    except StaleAction:
        await query.answer(_("Ce retrait est terminé."), show_alert=True)
        return
    await query.answer(
        _("✅ Retirée") if order.status == OrderStatus.COLLECTED else _("⬜ Pas encore retirée")
    )
    assert order.pickup_point_id is not None
    await render_list(update, context, order.cycle_id, order.pickup_point_id, page)


async def ask_end(update: Update, context: DesserteContext) -> None:
    """Asks before ending the pickup at a point."""
    if await refuse_unless_admin(update, context):
        return
    query = update.callback_query
    assert query is not None
    try:
        cycle_id, point_id = (int(v) for v in ASK_END.unpack(query.data))
    except CallbackDataError:
        await answer_stale(update)
        return
    await query.answer()
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("🏁 Oui, terminer"), callback_data=END.pack(cycle_id, point_id)
                )
            ],
            [InlineKeyboardButton(_("↩️ Annuler"), callback_data=POINT.pack(cycle_id, point_id, 0))],
        ]
    )
    await show(
        update,
        _("Terminer le retrait ici ? Les commandes non retirées seront notées « non venues »."),
        keyboard,
    )


async def end_pickup(update: Update, context: DesserteContext) -> None:
    """Ends the pickup at the point: what was not collected is recorded as a no-show."""
    if await refuse_unless_admin(update, context):
        return
    query = update.callback_query
    assert query is not None
    try:
        cycle_id, point_id = (int(v) for v in END.unpack(query.data))
        no_shows = await finish_pickup(
            context.session, cycle_id, context.services.now(), point_id=point_id
        )
    except (CallbackDataError, StaleAction):
        await answer_stale(update)
        return
    await query.answer()
    note = ngettext(
        "🏁 Retrait terminé : {count} commande non retirée.",
        "🏁 Retrait terminé : {count} commandes non retirées.",
        no_shows,
    ).format(count=no_shows)
    await render_list(update, context, cycle_id, point_id, 0, note)


# -- /invite_retrait ------------------------------------------------------------------------


async def invite_pickup(update: Update, context: DesserteContext) -> None:
    """Gives the invitation deep link of a company pickup point (/invite_retrait SLUG)."""
    if await refuse_unless_admin(update, context):
        return
    slug = " ".join(context.args or []).strip()
    if not slug:
        points = [p for p in await active_points(context.session) if not p.is_public]
        lines = [_("Tapez /invite_retrait suivi du point, par exemple :")]
        lines += [
            f"<code>/{INVITE_COMMAND.localized_name()} {escape(p.slug)}</code> — {escape(p.name)}"
            for p in points
        ]
        if not points:
            lines = [_("Aucun point de retrait d’entreprise pour le moment.")]
        await show(update, "\n".join(lines))
        return
    point = await point_by_slug(context.session, slug)
    if point is None:
        await show(update, _("Je ne connais pas le point « {slug} ».").format(slug=escape(slug)))
        return
    if point.is_public:
        await show(
            update,
            _(
                "« {point} » est un point public : tout le monde peut le choisir, sans invitation."
            ).format(point=escape(point.name)),
        )
        return
    code = await invitation_code(context.session, point)
    link = f"https://t.me/{context.bot.username}?start=p-{code}"
    await show(
        update,
        "\n".join(
            [
                _("Lien d’invitation pour <b>{point}</b> :").format(point=escape(point.name)),
                link,
                _("À transmettre aux salariés : en l’ouvrant, ils rejoignent ce point de retrait."),
            ]
        ),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Pickup lists, their buttons, and invitations."""
    return [
        CommandHandler(list(PICKUPS_COMMAND.names), show_pickups),
        CommandHandler(list(INVITE_COMMAND.names), invite_pickup),
        CallbackQueryHandler(show_pickups, pattern=POINTS.pattern),
        CallbackQueryHandler(show_point, pattern=POINT.pattern),
        CallbackQueryHandler(toggle_order, pattern=TOGGLE.pattern),
        CallbackQueryHandler(ask_end, pattern=ASK_END.pattern),
        CallbackQueryHandler(end_pickup, pattern=END.pattern),
    ]
