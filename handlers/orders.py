"""/commandes (/orders): the member's past orders; open one to see its lines."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, format_date, format_price, lazy_gettext
from handlers.menu import CONSUMER, MENU, Command
from handlers.routes import ORDERS, ReorderPast, ShowOrders
from handlers.shop import local, order_lines, pickup_window
from handlers.week_texts import order_number, order_status
from models import Order
from models.cycles import open_cycle
from models.errors import StaleAction
from models.ordering import order_history, order_of_member


class ShowOrder(CallbackData, prefix="ord:v"):
    """One of the member's orders."""

    order_id: int


COMMAND = Command("commandes", "orders", lazy_gettext("Vos commandes"), CONSUMER)


def _day(context: DesserteContext, order: Order) -> str:
    return format_date(local(context, order.cycle.pickup_starts_at))


async def show_orders(update: Update, context: DesserteContext) -> None:
    """The list: pickup day, point, total and status; a button per order."""
    orders = await order_history(context.session, context.member)
    if not orders:
        await show(
            update,
            _("Vous n’avez pas encore passé de commande. Le catalogue vous attend : /catalogue"),
            InlineKeyboardMarkup([[InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())]]),
        )
        return
    lines = [_("<b>Vos commandes</b>"), ""]
    rows = []
    for order in orders:
        point = escape(order.pickup_point.name) if order.pickup_point else "—"
        status = order_status(order.status)
        lines.append(
            _("• {number} — {day} — {point} — {total} — {status}").format(
                number=order_number(order.id),
                day=_day(context, order),
                point=point,
                total=format_price(order.total_cents),
                status=status,
            )
        )
        rows.append(
            [
                InlineKeyboardButton(
                    _("{day} · {total}").format(
                        day=_day(context, order), total=format_price(order.total_cents)
                    ),
                    callback_data=ShowOrder(order.id).pack(),
                )
            ]
        )
    rows.append([InlineKeyboardButton(_("⬅️ Menu"), callback_data=MENU.pack())])
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows))


async def show_order(update: Update, context: DesserteContext, data: ShowOrder) -> None:
    """One order's lines; someone else's order is answered as a stale button."""
    try:
        order = await order_of_member(context.session, context.member, data.order_id)
    except StaleAction:
        await tell_stale(update)
        return
    lines = [
        _("<b>Commande {number} du {day}</b>").format(
            number=order_number(order.id), day=_day(context, order)
        ),
        _("Statut : {status}").format(status=order_status(order.status)),
    ]
    if order.pickup_point is not None:
        lines.append(
            _("📍 {point} — {window}").format(
                point=escape(order.pickup_point.name),
                window=pickup_window(context, order.cycle, order.pickup_point),
            )
        )
    lines.append("")
    lines.extend(order_lines(order))
    rows = []
    cycle = await open_cycle(context.session)
    if cycle is not None and cycle.id != order.cycle_id:
        rows.append(
            [
                InlineKeyboardButton(
                    _("🔁 Commander à nouveau"), callback_data=ReorderPast(order.id).pack()
                )
            ]
        )
    rows.append([InlineKeyboardButton(_("⬅️ Vos commandes"), callback_data=ORDERS.pack())])
    keyboard = InlineKeyboardMarkup(rows)
    await show(update, "\n".join(lines), keyboard)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The order history's command and buttons."""
    return [
        CommandHandler(list(COMMAND.names), show_orders),
        button(ShowOrders, show_orders),
        button(ShowOrder, show_order),
    ]
