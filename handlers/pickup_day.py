"""Pickup day for admins: /retraits (/pickups) and /invite_retrait (/invite_pickup).

/retraits POINT lists that point's orders of the cycle being picked up, by surname, in pages,
one button per order (name, order number, amount) to mark it collected (pressed again, not
collected), edited in place; "Terminer" records the orders nobody collected as no-shows (the
scheduler does it for every point at the end of the pickup window). /retraits POINT WORDS, or
a text typed while a list is shown, finds the orders by name or number.
/invite_retrait SLUG gives the invitation link of a company pickup point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, format_date, format_price, format_time, lazy_gettext, ngettext
from handlers.menu import ADMIN, Command
from handlers.money import METHOD_ICONS, method_name
from handlers.pages import navigation_row, page_of
from handlers.routes import StartWeighing
from handlers.week_texts import order_number
from models.cycle import CycleState
from models.errors import StaleAction
from models.members import await_input, awaited, stop_awaiting
from models.order import OrderStatus
from models.payment import COUNTER_METHODS, PaymentMethod
from models.payments import pay_at_pickup
from models.pickup import active_points
from models.pickup_day import (
    PickupEntry,
    PickupList,
    finish_pickup,
    invitation_code,
    pickup_cycle,
    pickup_entry,
    pickup_list,
    point_by_slug,
    set_collected,
)


class ShowPickups(CallbackData, prefix="pck"):
    """The points to pick a pickup list from."""


class ShowPoint(CallbackData, prefix="pck:pt"):
    """A page of a point's pickup list."""

    cycle_id: int
    point_id: int
    page: int


class MarkCollected(CallbackData, prefix="pck:set"):
    """An order marked collected (``collected`` 1) or not any more (0): the state the button
    was shown to set, so that a double tap does not undo the first; the list's ``page`` shown
    again (``-1``: the page holding that order, after a search)."""

    order_id: int
    page: int
    collected: int


class AskPayment(CallbackData, prefix="pck:pq"):
    """An order that owes money pressed at the check-in: how did the consumer pay?"""

    order_id: int
    page: int


class PayAtCounter(CallbackData, prefix="pck:pm"):
    """The consumer paid what the order owes (``method``: cash, cheque, card) and took it."""

    order_id: int
    page: int
    method: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in {m.value for m in COUNTER_METHODS}:
            raise ValueError(self.method)


class AskEndPickup(CallbackData, prefix="pck:end"):
    """The question before ending the pickup at a point."""

    cycle_id: int
    point_id: int


class EndPickup(AskEndPickup, prefix="pck:end!"):
    """The pickup at the point ended: what was not collected is a no-show."""


POINTS = ShowPickups()

PAGE_SIZE = 30
"""Orders per page: with the navigation and the other buttons, well within Telegram's 100."""
HOLDING_PAGE = -1
OPEN_LIST = "pickup_list"
"""What the admin is awaited to type (``models.members.await_input``): a search in the pickup
list they have in front of them, ``[cycle id, point id]``."""

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
        _("{orders}, {collected}").format(
            orders=ngettext("{count} commande", "{count} commandes", len(listing.entries)).format(
                count=len(listing.entries)
            ),
            collected=ngettext("{count} retirée", "{count} retirées", listing.collected).format(
                count=listing.collected
            ),
        ),
    ]
    if listing.to_pay_cents:
        lines.append(
            _("Reste à encaisser : {amount}").format(amount=format_price(listing.to_pay_cents))
        )
    if not listing.entries:
        lines.append(_("Aucune commande pour ce point."))
    else:
        lines.append(_("Touchez un nom quand la personne repart avec sa commande."))
        lines.append(_("Pour trouver quelqu’un, écrivez son nom ou son numéro de commande."))
    if listing.to_weigh:
        lines.append(
            ngettext(
                "⚖️ {count} produit à peser : « ≈ » marque un montant estimé.",
                "⚖️ {count} produits à peser : « ≈ » marque un montant estimé.",
                listing.to_weigh,
            ).format(count=listing.to_weigh)
        )
    if cycle.state == CycleState.DELIVERED:
        lines.append(_("<i>Retrait terminé.</i>"))
    shown, page, pages = page_of(listing.entries, page, PAGE_SIZE)
    lines += _phones(shown)
    if pages > 1:
        lines.append(_("Page {page}/{pages}").format(page=page + 1, pages=pages))
    return "\n".join(lines)


def _phones(entries: Sequence[PickupEntry]) -> list[str]:
    """A line per shown order whose consumer shared a phone number."""
    return [
        _("☎️ {name} ({number}) : {phone}").format(
            name=escape(entry.member_name),
            number=order_number(entry.order_id),
            phone=escape(entry.phone),
        )
        for entry in entries
        if entry.phone
    ]


def to_pay_text(entry: PickupEntry) -> str:
    """The "to pay" column: what the consumer still owes, or that it is paid."""
    if entry.to_pay_cents <= 0:
        return _("payé")
    amount = format_price(entry.to_pay_cents)
    if entry.to_weigh:
        amount = _("≈ {total}").format(total=amount)
    return _("à payer {amount}").format(amount=amount)


def _entry_button(entry: PickupEntry, page: int) -> list[InlineKeyboardButton]:
    label = _("{mark} {name} · {number} — {amount}").format(
        mark=_mark(entry),
        name=entry.member_name,
        number=order_number(entry.order_id),
        amount=to_pay_text(entry),
    )
    collected = entry.status == OrderStatus.COLLECTED
    route: CallbackData = MarkCollected(entry.order_id, page, 0 if collected else 1)
    if entry.to_pay_cents > 0 and not collected:
        route = AskPayment(entry.order_id, page)
    return [InlineKeyboardButton(label, callback_data=route.pack())]


def pickup_keyboard(listing: PickupList, page: int) -> InlineKeyboardMarkup:
    """A button per order of the page, the pages, and "Terminer"."""
    cycle, point = listing.cycle, listing.point
    shown, page, pages = page_of(listing.entries, page, PAGE_SIZE)
    rows = [_entry_button(entry, page) for entry in shown]
    nav = navigation_row(page, pages, lambda n: ShowPoint(cycle.id, point.id, n))
    if nav:
        rows.append(nav)
    if listing.to_weigh:
        rows.append(
            [
                InlineKeyboardButton(
                    _("⚖️ Peser ({count})").format(count=listing.to_weigh),
                    callback_data=StartWeighing(point.id).pack(),
                )
            ]
        )
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
    order_id: int | None = None,
) -> None:
    """Show the point's pickup list, page ``page`` (:data:`HOLDING_PAGE` with ``order_id``:
    the page holding that order); a text the admin types next searches it."""
    listing = await pickup_list(context.session, cycle_id, point_id)
    if page == HOLDING_PAGE:
        ids = [entry.order_id for entry in listing.entries]
        page = ids.index(order_id) // PAGE_SIZE if order_id in ids else 0
    text = pickup_text(context, listing, page)
    await show(update, (note + "\n\n" + text) if note else text, pickup_keyboard(listing, page))
    await await_input(context.session, context.member, OPEN_LIST, [cycle_id, point_id])


async def render_search(
    update: Update, context: DesserteContext, cycle_id: int, point_id: int, query: str
) -> None:
    """The orders of the point's list that ``query`` finds (a name, an order number), a button
    each, and the way back to the whole list."""
    listing = await pickup_list(context.session, cycle_id, point_id)
    found = listing.matching(query)
    lines = [_("<b>Retraits — {point}</b>").format(point=escape(listing.point.name))]
    if not found:
        lines.append(_("Aucune commande trouvée pour « {query} ».").format(query=escape(query)))
        lines.append(_("Essayez un autre nom, ou le numéro de la commande."))
    else:
        lines.append(
            ngettext(
                "{count} commande trouvée pour « {query} ».",
                "{count} commandes trouvées pour « {query} ».",
                len(found),
            ).format(count=len(found), query=escape(query))
        )
    if len(found) > PAGE_SIZE:
        lines.append(
            _("Voici les {count} premières : précisez pour en voir moins.").format(count=PAGE_SIZE)
        )
    shown = found[:PAGE_SIZE]
    lines += _phones(shown)
    rows = [_entry_button(entry, HOLDING_PAGE) for entry in shown]
    rows.append(
        [
            InlineKeyboardButton(
                _("📋 Toute la liste"), callback_data=ShowPoint(cycle_id, point_id, 0).pack()
            ),
            InlineKeyboardButton(_("📍 Points"), callback_data=POINTS.pack()),
        ]
    )
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows))
    await await_input(context.session, context.member, OPEN_LIST, [cycle_id, point_id])


async def show_pickups(update: Update, context: DesserteContext) -> None:
    """The admin picks a point (or names it: /retraits halle) and sees its list."""
    if not await admin_or_refuse(update, context):
        return
    cycle = await pickup_cycle(context.session)
    if cycle is None:
        await show(update, _("Aucun cycle clôturé : il n’y a pas encore de retrait à préparer."))
        return
    words = list(context.args or []) if update.callback_query is None else []
    if words:
        slug, query = words[0], " ".join(words[1:]).strip()
        point = await point_by_slug(context.session, slug)
        if point is None:
            await show(
                update, _("Je ne connais pas le point « {slug} ».").format(slug=escape(slug))
            )
            return
        if query:
            await render_search(update, context, cycle.id, point.id, query)
        else:
            await render_list(update, context, cycle.id, point.id, 0)
        return
    await stop_awaiting(context.session, context.member, OPEN_LIST)
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


async def mark_order(update: Update, context: DesserteContext, data: MarkCollected) -> None:
    """Marks a consumer's order collected (or not any more), in place, and says which."""
    try:
        order = await set_collected(
            context.session, data.order_id, bool(data.collected), context.services.now()
        )
    except StaleAction:
        await tell(update, _("Ce retrait est terminé."))
        return
    note = _("✅ Retirée") if order.status == OrderStatus.COLLECTED else _("⬜ Pas encore retirée")
    assert order.pickup_point_id is not None
    await render_list(
        update, context, order.cycle_id, order.pickup_point_id, data.page, note, order.id
    )


async def ask_payment(update: Update, context: DesserteContext, data: AskPayment) -> None:
    """The check-in of an order that owes money: paid how (cash, cheque, card), or taken
    without paying."""
    try:
        entry, order = await pickup_entry(context.session, data.order_id)
    except StaleAction:
        await tell(update, _("Ce retrait est terminé."))
        return
    assert order.pickup_point_id is not None
    rows = [
        [
            InlineKeyboardButton(
                f"{METHOD_ICONS[method]} {method_name(method).capitalize()}",
                callback_data=PayAtCounter(entry.order_id, data.page, method.value).pack(),
            )
            for method in COUNTER_METHODS
        ],
        [
            InlineKeyboardButton(
                _("📦 Retirée sans payer"),
                callback_data=MarkCollected(entry.order_id, data.page, 1).pack(),
            )
        ],
        [
            InlineKeyboardButton(
                _("↩️ Retour à la liste"),
                callback_data=ShowPoint(order.cycle_id, order.pickup_point_id, data.page).pack(),
            )
        ],
    ]
    await show(
        update,
        _("<b>{name}</b> · {number} : {amount} à payer. Payé comment ?").format(
            name=escape(entry.member_name),
            number=order_number(entry.order_id),
            amount=format_price(entry.to_pay_cents),
        ),
        InlineKeyboardMarkup(rows),
    )


async def pay_at_counter(update: Update, context: DesserteContext, data: PayAtCounter) -> None:
    """Records the payment and the collection together, and shows the list again."""
    method = PaymentMethod(data.method)
    try:
        order, amount = await pay_at_pickup(
            context.session, data.order_id, method, context.member, context.services.now()
        )
    except StaleAction:
        await tell(update, _("Ce retrait est terminé."))
        return
    note = _("✅ Retirée, payée {amount} ({method})").format(
        amount=format_price(amount), method=method_name(method)
    )
    if amount == 0:
        note = _("✅ Retirée (déjà payée)")
    assert order.pickup_point_id is not None
    await render_list(
        update, context, order.cycle_id, order.pickup_point_id, data.page, note, order.id
    )


async def search_open_list(update: Update, context: DesserteContext) -> None:
    """A text an admin types while a pickup list is shown: the orders it finds in that list.
    Any other text goes on to the other handlers."""
    message = update.effective_message
    if message is None or not message.text or update.effective_user is None:
        return
    opened = awaited(context.member, OPEN_LIST)
    if opened is None or not context.is_admin:
        return
    cycle_id, point_id = opened
    try:
        await render_search(update, context, cycle_id, point_id, message.text.strip()[:100])
    except StaleAction:
        await stop_awaiting(context.session, context.member, OPEN_LIST)
        return
    raise ApplicationHandlerStop


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


async def leave_open_list(update: Update, context: DesserteContext) -> None:
    """A command, or a button of another feature: the pickup list is no longer in front of the
    admin, so their next text is not a search any more. The update goes on to its handler."""
    if update.effective_user is not None:
        await stop_awaiting(context.session, context.member, OPEN_LIST)


def early_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """What must see an update before the others (in an earlier group): a text typed while a
    pickup list is shown searches it; a command or another feature's button closes it."""
    return [
        MessageHandler(filters.TEXT & ~filters.COMMAND, search_open_list),
        MessageHandler(filters.COMMAND, leave_open_list),
        CallbackQueryHandler(leave_open_list, pattern=r"^(?!pck)"),
    ]


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Pickup lists, their buttons, and invitations."""
    return [
        CommandHandler(list(PICKUPS_COMMAND.names), show_pickups),
        CommandHandler(list(INVITE_COMMAND.names), invite_pickup),
        button(ShowPickups, show_pickups, admin=True),
        button(ShowPoint, show_point, admin=True),
        button(MarkCollected, mark_order, admin=True),
        button(AskPayment, ask_payment, admin=True),
        button(PayAtCounter, pay_at_counter, admin=True),
        button(AskEndPickup, ask_end, admin=True),
        button(EndPickup, end_pickup, admin=True),
    ]
