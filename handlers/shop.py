"""What the consumer features share: the open cycle, stale buttons, and refusals as sentences."""

from __future__ import annotations

from datetime import datetime

from telegram import Update

from handlers.common import escape, show, tell
from handlers.context import DesserteContext
from handlers.i18n import _, format_date, format_price, format_time
from handlers.units import (
    amount_phrase,
    estimate_note,
    line_amount_phrase,
    order_total_phrase,
    quantity_phrase,
)
from handlers.vocabulary import product_name
from models import Cycle, Order, PickupPoint
from models.amounts import order_is_final
from models.cycles import next_cycle, open_cycle
from models.errors import (
    AboveMaximum,
    BalanceTooLow,
    BelowMinimum,
    CycleClosed,
    DomainError,
    EmptyBasket,
    InvalidQuantity,
    MemberBlocked,
    NoOpenCycle,
    NoPickupPoint,
    SoldOut,
    StaleAction,
)


def local(context: DesserteContext, moment: datetime) -> datetime:
    """``moment`` in the network's time zone."""
    return moment.astimezone(context.services.timezone)


def when(context: DesserteContext, moment: datetime) -> str:
    """ "mardi 8 décembre à 23:59" in the network's time zone."""
    moment = local(context, moment)
    return _("{day} à {time}").format(day=format_date(moment), time=format_time(moment))


def pickup_window(context: DesserteContext, cycle: Cycle, point: PickupPoint | None = None) -> str:
    """The cycle's pickup day with the point's own hours: "jeudi 10 décembre, 17:00–19:30"."""
    start, end = local(context, cycle.pickup_starts_at), local(context, cycle.pickup_ends_at)
    if point is not None:
        return _("{day}, {start}–{end}").format(
            day=format_date(start),
            start=format_time(point.window_start),
            end=format_time(point.window_end),
        )
    return _("{day}, {start}–{end}").format(
        day=format_date(start), start=format_time(start), end=format_time(end)
    )


async def closed_shop_text(context: DesserteContext) -> str:
    """What to say when no cycle is open: when the next one opens, if one is planned."""
    upcoming = await next_cycle(context.session, context.services.now())
    if upcoming is None:
        return _("Les commandes sont fermées pour le moment. Je vous préviendrai dès l’ouverture.")
    return _("Les commandes sont fermées pour le moment. Prochaine ouverture : {when}.").format(
        when=when(context, upcoming.opens_at)
    )


async def current_cycle(update: Update, context: DesserteContext) -> Cycle | None:
    """The open cycle, or None after telling the member when the next one opens."""
    cycle = await open_cycle(context.session)
    if cycle is None:
        await show(update, await closed_shop_text(context))
    return cycle


def refusal(error: DomainError, context: DesserteContext) -> str:
    """A refusal from the domain as a polite sentence in the member's language."""
    if isinstance(error, CycleClosed):
        return _("Les commandes de cette semaine sont closes : votre panier ne peut plus changer.")
    if isinstance(error, NoOpenCycle):
        return _("Les commandes sont fermées pour le moment.")
    if isinstance(error, SoldOut):
        return _("Désolé, il n’en reste plus.")
    if isinstance(error, AboveMaximum):
        return _("C’est au plus {maximum} par personne, et votre panier en a déjà {held}.").format(
            maximum=amount_phrase(error.params["maximum"], error.params["sale_unit"]),
            held=amount_phrase(error.params["held"], error.params["sale_unit"]),
        )
    if isinstance(error, MemberBlocked):
        contact = context.services.team_contact
        if contact:
            return _(
                "Désolé, vous ne pouvez pas commander pour le moment. "
                "Pour en savoir plus, contactez l’équipe du réseau : {contact}."
            ).format(contact=contact)
        return _(
            "Désolé, vous ne pouvez pas commander pour le moment. "
            "Pour en savoir plus, parlez-en à l’équipe du réseau au prochain retrait."
        )
    if isinstance(error, InvalidQuantity):
        return _("Cette quantité n’est pas possible pour ce produit.")
    if isinstance(error, EmptyBasket):
        return _("Votre panier est vide : ajoutez d’abord des produits depuis le catalogue.")
    if isinstance(error, BelowMinimum):
        minimum, total = int(error.params["minimum"]), int(error.params["total"])
        if error.params.get("confirmed"):
            return _(
                "Votre commande confirmée doit rester d’au moins {minimum} (elle ferait {total}) : "
                "pour l’annuler, videz le panier."
            ).format(minimum=format_price(minimum), total=format_price(total))
        return _("Encore {missing} pour atteindre le minimum de {minimum}.").format(
            missing=format_price(minimum - total), minimum=format_price(minimum)
        )
    if isinstance(error, BalanceTooLow):
        return balance_refusal(error)
    if isinstance(error, NoPickupPoint):
        return _("Choisissez d’abord votre point de retrait avec /retrait.")
    if isinstance(error, StaleAction):
        return _("Ce bouton n’est plus valable. Tapez /start pour repartir.")
    return _("Ce n’est pas possible pour le moment.")


def balance_refusal(error: BalanceTooLow) -> str:
    """Why a balance cannot pay for the order, with what it can still pay."""
    needed, available = int(error.params["needed"]), int(error.params["available"])
    text = _(
        "Votre porte-monnaie ne couvre pas cette commande : elle ferait {needed}, "
        "il reste {available} disponibles."
    ).format(needed=format_price(needed), available=format_price(available))
    return text + " " + _("Voyez /solde, ou demandez à l’équipe de le créditer.")


async def answer_refusal(update: Update, context: DesserteContext, error: DomainError) -> None:
    """Say the refusal in the chat (a button press was already answered), changing nothing."""
    await tell(update, refusal(error, context))


def order_lines(order: Order) -> list[str]:
    """The order's lines and its total, as the receipt and the history show them."""
    lines = [
        _("• {product} — {quantity} : {total}").format(
            product=escape(product_name(line.product)),
            quantity=escape(quantity_phrase(line.product, line.quantity)),
            total=escape(line_amount_phrase(line)),
        )
        for line in order.lines
    ]
    lines.append("")
    lines.append(_("<b>Total : {total}</b>").format(total=order_total_phrase(order)))
    if not order_is_final(order):
        lines.append(estimate_note())
    return lines


def product_title(name: str) -> str:
    """A product name made safe for HTML and bolded."""
    return f"<b>{escape(name)}</b>"
