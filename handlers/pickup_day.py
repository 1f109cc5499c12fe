"""Pickup day for admins: /retraits (/pickups) and /invite_retrait (/invite_pickup).

/retraits POINT lists that point's orders of the cycle being picked up, one button per consumer
to mark the order collected (pressed again, not collected), edited in place; "Terminer" records
the orders nobody collected as no-shows (the scheduler does it for every point at the end of the
pickup window). /invite_retrait SLUG gives the invitation link of a company pickup point.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, format_date, format_price, format_time, lazy_gettext, ngettext
from handlers.menu import ADMIN, Command
from models.cycle import CycleState
from models.errors import StaleAction
from models.order import OrderStatus
from models.pickup import active_points
from models.pickup_day import (
    PickupEntry,
    PickupList,
    finish_pickup,
    invitation_code,
    pickup_cycle,
    pickup_list,
    point_by_slug,
    toggle_collected,
)


class ShowPickups(CallbackData, prefix="pck"):
    """The points to pick a pickup list from."""


class ShowPoint(CallbackData, prefix="pck:pt"):
    """A page of a point's pickup list."""

    cycle_id: int
    point_id: int
    page: int


class ToggleCollected(CallbackData, prefix="pck:tog"):
    """An order marked collected (or not any more); the list's ``page`` shown again."""

    order_id: int
    page: int


class AskEndPickup(CallbackData, prefix="pck:end"):
    """The question before ending the pickup at a point."""

    cycle_id: int
    point_id: int


class EndPickup(AskEndPickup, prefix="pck:end!"):
    """The pickup at the point ended: what was not collected is a no-show."""


POINTS = ShowPickups()

PAGE_SIZE = 20

PICKUPS_COMMAND = Command("retraits", "pickups", lazy_gettext("Listes de retrait du jour"), ADMIN)
INVITE_COMMAND = Command(
    "invite_retrait",
    "invite_pickup",
    lazy_gettext("Lien d’invitation d’un point de retrait d’entreprise"),
    ADMIN,
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
                callback_data=ToggleCollected(entry.order_id, page).pack(),
            )
        ]
        for entry in shown
    ]
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton("◀️", callback_data=ShowPoint(cycle.id, point.id, page - 1).pack())
        )
    if (page + 1) * PAGE_SIZE < len(listing.entries):
        nav.append(
            InlineKeyboardButton("▶️", callback_data=ShowPoint(cycle.id, point.id, page + 1).pack())
        )
    if nav:
        rows.append(nav)
    if cycle.state == CycleState.CLOSED:
        rows.append(
            [
                InlineKeyboardButton(
                    _("🏁 Terminer le retrait"),
                    callback_data=AskEndPickup(cycle.id, point.id).pack(),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                _("🔄 Actualiser"), callback_data=ShowPoint(cycle.id, point.id, page).pack()
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
    if not await admin_or_refuse(update, context):
        return
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
            [
                InlineKeyboardButton(
                    point.name, callback_data=ShowPoint(cycle.id, point.id, 0).pack()
                )
            ]
            for point in points
        ]
    )
    await show(update, _("Quel point de retrait ?"), keyboard)


async def show_point(update: Update, context: DesserteContext, data: ShowPoint) -> None:
    """A page of a point's pickup list, in place."""
    try:
        await render_list(update, context, data.cycle_id, data.point_id, data.page)
    except StaleAction:
        await tell_stale(update)


async def toggle_order(update: Update, context: DesserteContext, data: ToggleCollected) -> None:
    """Marks a consumer's order collected (or not any more), in place, and says which."""
    try:
        order = await toggle_collected(context.session, data.order_id)
    except StaleAction:
        await tell(update, _("Ce retrait est terminé."))
        return
    note = _("✅ Retirée") if order.status == OrderStatus.COLLECTED else _("⬜ Pas encore retirée")
    assert order.pickup_point_id is not None
    await render_list(update, context, order.cycle_id, order.pickup_point_id, data.page, note)


async def ask_end(update: Update, context: DesserteContext, data: AskEndPickup) -> None:
    """Asks before ending the pickup at a point."""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("🏁 Oui, terminer"),
                    callback_data=EndPickup(data.cycle_id, data.point_id).pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    _("↩️ Annuler"),
                    callback_data=ShowPoint(data.cycle_id, data.point_id, 0).pack(),
                )
            ],
        ]
    )
    await show(
        update,
        _("Terminer le retrait ici ? Les commandes non retirées seront notées « non venues »."),
        keyboard,
    )


async def end_pickup(update: Update, context: DesserteContext, data: EndPickup) -> None:
    """Ends the pickup at the point: what was not collected is recorded as a no-show."""
    try:
        no_shows = await finish_pickup(
            context.session, data.cycle_id, context.services.now(), point_id=data.point_id
        )
    except StaleAction:
        await tell_stale(update)
        return
    note = ngettext(
        "🏁 Retrait terminé : {count} commande non retirée.",
        "🏁 Retrait terminé : {count} commandes non retirées.",
        no_shows,
    ).format(count=no_shows)
    await render_list(update, context, data.cycle_id, data.point_id, 0, note)


# -- /invite_retrait ------------------------------------------------------------------------


async def invite_pickup(update: Update, context: DesserteContext) -> None:
    """Gives the invitation deep link of a company pickup point (/invite_retrait SLUG)."""
    if not await admin_or_refuse(update, context):
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
        button(ShowPickups, show_pickups, admin=True),
        button(ShowPoint, show_point, admin=True),
        button(ToggleCollected, toggle_order, admin=True),
        button(AskEndPickup, ask_end, admin=True),
        button(EndPickup, end_pickup, admin=True),
    ]
