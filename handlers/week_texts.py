"""The texts the week sends on its own: the opening announcement, the reminders before close
and on pickup day, the admins' close summary, and the buttons under them; how an order is named
("n° 42"), its status, and what a change to a confirmed one says, wherever an order is
shown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from babel.support import LazyProxy
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.common import escape
from handlers.context import Services
from handlers.i18n import (
    _,
    format_date,
    format_datetime,
    format_price,
    format_time,
    lazy_gettext,
    ngettext,
)
from handlers.menu import BASKET, CATALOG
from handlers.routes import REORDER_NOW
from handlers.units import amount_phrase
from handlers.vocabulary import name_in_language
from models.audiences import CloseNotice, CloseReminder, PickupReminder
from models.closing import CloseSummary
from models.cycle import Cycle
from models.order import OrderStatus
from models.payment import PaymentMode


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
            f"• {escape(name_in_language(item.name, item.name_en))} × "
            f"{escape(amount_phrase(item.quantity, item.sale_unit))}"
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


def summary_text(
    services: Services, cycle: Cycle, summary: CloseSummary, rounds: str | None = None
) -> str:
    """The close summary for the admins; ``rounds``, when given, is the collection rounds' line
    (already in the admin's language)."""
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
    if rounds:
        lines += ["", rounds]
    return "\n".join(lines)


def missed_cycles_text(services: Services, skipped: Sequence[Cycle], late: Sequence[Cycle]) -> str:
    """The admins' notice after a downtime: the cycles skipped (never opened) and the cycles
    closed only after their pickup time (no pickup day took place, nobody marked absent)."""
    lines = [_("⚠️ <b>Le bot était arrêté</b> : voici ce qui s’est passé à son retour.")]
    if skipped:
        lines.append(
            ngettext(
                "{count} cycle n’a jamais ouvert, il est sauté :",
                "{count} cycles n’ont jamais ouvert, ils sont sautés :",
                len(skipped),
            ).format(count=len(skipped))
        )
        lines += [
            _("• cycle du {day}").format(day=format_date(_local(services, c.pickup_starts_at)))
            for c in skipped
        ]
    for cycle in late:
        lines.append(
            _(
                "Le cycle du {day} n’a été clôturé qu’après son heure de retrait : le retrait "
                "n’a pas eu lieu, ses commandes restent confirmées et personne n’est noté "
                "« non venu ». Prévenez les clients ; si vous remettez les commandes, notez-les "
                "dans /retraits."
            ).format(day=format_date(_local(services, cycle.pickup_starts_at)))
        )
    lines.append(_("Le prochain cycle : tapez /cycle."))
    return "\n".join(lines)


ORDER_STATUSES: dict[OrderStatus, LazyProxy] = {
    OrderStatus.BASKET: lazy_gettext("panier non confirmé"),
    OrderStatus.CONFIRMED: lazy_gettext("confirmée"),
    OrderStatus.ABANDONED: lazy_gettext("abandonnée"),
    OrderStatus.COLLECTED: lazy_gettext("retirée"),
    OrderStatus.NO_SHOW: lazy_gettext("non retirée"),
}


def order_status(status: OrderStatus) -> str:
    """An order's status as people read it: "confirmée", "retirée", "non retirée"…"""
    return str(ORDER_STATUSES[status])


def order_number(order_id: int) -> str:
    """How an order is named to people: "n° 42" ("no. 42")."""
    return _("n° {number}").format(number=order_id)


def order_updated_text(order_id: int, total_cents: int) -> str:
    """What a change to a confirmed order says: it counts at once, here is the new total."""
    return _(
        "🧾 Commande {number} mise à jour — nouveau total : {total}. Elle reste confirmée."
    ).format(number=order_number(order_id), total=format_price(total_cents))


def close_notice_text(services: Services, cycle: Cycle, notice: CloseNotice) -> str:
    """What the close means for one consumer: the final receipt (number, amount, where and when
    to collect), or that the basket was never confirmed and has been released."""
    if not notice.final:
        return "\n".join(
            [
                ngettext(
                    "🧺 <b>Votre panier n’a pas été confirmé avant la clôture</b> : son produit a "
                    "été remis en vente.",
                    "🧺 <b>Votre panier n’a pas été confirmé avant la clôture</b> : ses {count} "
                    "produits ont été remis en vente.",
                    notice.lines,
                ).format(count=notice.lines),
                _(
                    "Aucune commande n’est enregistrée pour vous cette semaine. À la semaine prochaine !"
                ),
            ]
        )
    start = _local(services, cycle.pickup_starts_at)
    point = notice.point
    if point is not None:
        place = f"<b>{escape(point.name)}</b>, {escape(point.address)}"
        window = _("de {start} à {end}").format(
            start=format_time(point.window_start), end=format_time(point.window_end)
        )
    else:
        place = _("au point de retrait")
        window = _("de {start} à {end}").format(
            start=format_time(start),
            end=format_time(_local(services, cycle.pickup_ends_at)),
        )
    if notice.to_weigh:
        head = [
            _("🧾 <b>Votre commande {number} est définitive</b> : ≈ {total}.").format(
                number=order_number(notice.order_id), total=format_price(notice.total_cents)
            ),
            _(
                "Le montant est estimé : vos produits vendus au poids seront pesés, et vous "
                "recevrez alors le montant définitif."
            ),
        ]
    else:
        head = [
            _("🧾 <b>Votre commande {number} est définitive</b> : {total}.").format(
                number=order_number(notice.order_id), total=format_price(notice.total_cents)
            )
        ]
    return "\n".join(
        [
            *head,
            _("Retrait le {day}, {window}.").format(day=format_date(start), window=window),
            _("Où : {place}").format(place=place),
            *payment_lines(services, notice),
            _("Merci, et à bientôt !"),
        ]
    )


def payment_lines(services: Services, notice: CloseNotice) -> list[str]:
    """How the final receipt is paid, as the network's payment mode says."""
    return [
        payment_line(services, notice.total_cents, notice.paid_cents, estimate=notice.to_weigh > 0)
    ]


def payment_line(services: Services, total_cents: int, paid_cents: int, *, estimate: bool) -> str:
    """One line: paid from the balance, to pay online (the invoice follows, or once weighed),
    or to pay at pickup."""
    owed = max(total_cents - paid_cents, 0)
    if paid_cents > 0 and owed == 0:
        if services.payments.mode != PaymentMode.BALANCE:
            return _("✅ Déjà payée : {amount}.").format(amount=format_price(paid_cents))
        return _("💶 Payée avec votre porte-monnaie : {amount} (voir /solde).").format(
            amount=format_price(paid_cents)
        )
    if services.payments.mode == PaymentMode.ONLINE:
        if estimate:
            return _("💳 À payer en ligne une fois vos produits pesés : la facture suivra.")
        return _("💳 À payer en ligne : {amount}, avec la facture qui suit (ou /payer).").format(
            amount=format_price(owed)
        )
    if estimate:  # the weighing gives the amount: the final receipt will say it
        return _("💶 À payer au retrait : ≈ {amount}.").format(amount=format_price(owed))
    return _("💶 À payer au retrait : {amount}.").format(amount=format_price(owed))
