"""Collection rounds in the chat: the driver's invitation, the round sent at the close, and the
stops ticked on pickup day.

``/invite_chauffeur`` (admins) gives ``https://t.me/<bot>?start=d-<code>``; ``/start`` hands the
``d-`` payload to :func:`handle_driver_invitation`. At the close, :func:`round_parts` plans the
rounds (:mod:`models.rounds`) and writes, for each driver (the admins when there is none), the
numbered stops with a map link and what to collect, a checklist with a button per stop, and a
picture of the rounds. "⚠️ Différence" counts what is missing, product by product; confirmed,
it is the farm's shortage: orders shrink first-confirmed first-served, the consumers are told.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext, Services
from handlers.delivery import deliver, markup_json
from handlers.documents.round_map import round_map
from handlers.i18n import _, format_date, format_quantity, lazy_gettext, ngettext, use_locale
from handlers.menu import ADMIN, Command
from handlers.pages import split_html
from handlers.shortage_notices import shortage_notices
from handlers.stock_views import orders_changed, quantity
from handlers.team import team_contact_line
from models.audiences import Recipient, admin_audience
from models.collection_round import CollectionRound, RoundStop, StopStatus
from models.cycle import Cycle
from models.errors import StaleAction
from models.outbox import Kind, Part, enqueue, parts
from models.rounds import (
    DRIVER_PREFIX,
    RoundsPlan,
    accept_driver_invitation,
    confirm_missing,
    count_missing,
    cycle_rounds,
    driver_invitation,
    drivers,
    mark_collected,
    plan_rounds,
    round_stop,
    stop_lines,
)

INVITE_DRIVER_COMMAND = Command(
    "invite_chauffeur",
    "invite_driver",
    lazy_gettext("Inviter un chauffeur de tournée (lien à usage unique)"),
    ADMIN,
)


class StopCollected(CallbackData, prefix="rnd:ok"):
    """The stop ``stop_id`` collected in full."""

    stop_id: int


class StopDifference(CallbackData, prefix="rnd:df"):
    """Report what is missing at the stop ``stop_id``."""

    stop_id: int


class StopMissing(CallbackData, prefix="rnd:mi"):
    """One more unit of ``product_id`` missing at the stop (0: count again from nothing)."""

    stop_id: int
    product_id: int


class StopConfirmMissing(CallbackData, prefix="rnd:cf"):
    """The counted difference applied as the farm's shortage."""

    stop_id: int


class ShowRounds(CallbackData, prefix="rnd:ls"):
    """The checklist of the cycle's rounds."""

    cycle_id: int


def map_link(lat: float, lon: float) -> str:
    """An OpenStreetMap link that puts a marker on the place."""
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=15/{lat:.5f}/{lon:.5f}"
    )


def _km(metres: int) -> str:
    return format_quantity(Decimal(round(metres / 100)) / 10)


def _clock(minute: int | None) -> str:
    if minute is None:
        return ""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def plan_line(plan: RoundsPlan) -> str:
    """The admins' line: the rounds' kilometres against each farm driving to the depot."""
    farms = sum(len(r.stops) for r in plan.rounds)
    line = ngettext(
        "🚚 Tournée de collecte : {km} km pour {count} ferme, au lieu de {direct} km si elle "
        "venait au dépôt et repartait.",
        "🚚 Tournées de collecte : {km} km pour {count} fermes, au lieu de {direct} km si "
        "chacune venait au dépôt et repartait.",
        farms,
    ).format(km=_km(plan.distance_m), count=farms, direct=_km(plan.direct_m))
    if not plan.feasible:
        line += "\n" + _(
            "⚠️ La capacité des véhicules ou les horaires des fermes ne tiennent pas tous : "
            "voyez la tournée avec le chauffeur."
        )
    return line


async def _round_lines(session: AsyncSession, plan: RoundsPlan, item: CollectionRound) -> list[str]:
    """One round, stop by stop: where, when, how heavy, what to collect."""
    point = plan.depot
    lines = [
        ngettext(
            "🚚 <b>Tournée {number}</b> — {count} arrêt, {km} km",
            "🚚 <b>Tournée {number}</b> — {count} arrêts, {km} km",
            len(item.stops),
        ).format(number=item.vehicle, count=len(item.stops), km=_km(item.distance_m)),
        _("Départ du dépôt <b>{name}</b>, {address}, à {time}").format(
            name=escape(point.name), address=escape(point.address), time=_clock(item.start_minute)
        ),
    ]
    for stop in item.stops:
        farm = stop.producer
        lines += [
            "",
            _("<b>{position}. {farm}</b> — {town} · {kg} kg · vers {time}").format(
                position=stop.position,
                farm=escape(farm.name),
                town=escape(farm.town or ""),
                kg=format_quantity(stop.load_kg.quantize(Decimal("0.1"))),
                time=_clock(stop.arrival_minute),
            ),
        ]
        if farm.ready_from is not None or farm.ready_until is not None:
            lines.append(
                _("prête de {start} à {end}").format(
                    start=_clock(
                        None
                        if farm.ready_from is None
                        else farm.ready_from.hour * 60 + farm.ready_from.minute
                    )
                    or "00:00",
                    end=_clock(
                        None
                        if farm.ready_until is None
                        else farm.ready_until.hour * 60 + farm.ready_until.minute
                    )
                    or "24:00",
                )
            )
        lines.append(
            '📍 <a href="{link}">{label}</a>'.format(
                link=escape(map_link(farm.lat or 0.0, farm.lon or 0.0)),
                label=_("Voir sur la carte"),
            )
        )
        lines += [
            f"• {escape(product.name)} × {quantity(amount, product.sale_unit)}"
            for product, amount in await stop_lines(session, item.cycle_id, stop.producer_id)
        ]
    lines += ["", _("Retour au dépôt <b>{name}</b>.").format(name=escape(point.name))]
    return lines


_STATUS = {StopStatus.PENDING: "⬜", StopStatus.COLLECTED: "✅", StopStatus.SHORT: "⚠️"}


def _checklist(cycle: Cycle, services: Services, rounds: list[CollectionRound]) -> tuple[str, Any]:
    """The stops to tick, and a button pair under each one still to do."""
    lines = [
        _("📋 <b>Collecte du {day}</b> : cochez chaque arrêt.").format(
            day=format_date(cycle.pickup_starts_at.astimezone(services.timezone))
        )
    ]
    rows = []
    many = len(rounds) > 1
    for item in rounds:
        for stop in item.stops:
            number = f"{item.vehicle}.{stop.position}" if many else str(stop.position)
            lines.append(f"{_STATUS[stop.status]} {number}. {escape(stop.producer.name)}")
            if stop.status == StopStatus.PENDING:
                rows.append(
                    [
                        InlineKeyboardButton(
                            _("✅ {number}. Collecté").format(number=number),
                            callback_data=StopCollected(stop.id).pack(),
                        ),
                        InlineKeyboardButton(
                            _("⚠️ {number}. Différence").format(number=number),
                            callback_data=StopDifference(stop.id).pack(),
                        ),
                    ]
                )
    if not rows:
        lines.append(_("Tout est collecté. Bonne route vers le dépôt !"))
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


async def round_parts(
    session: AsyncSession, services: Services, cycle: Cycle
) -> tuple[RoundsPlan | None, list[Part]]:
    """Plan the cycle's rounds (once) and render, for each driver in their language (the admins
    when no driver joined yet), the round, its checklist and its picture. Nothing to send
    when there is no round (no depot with coordinates, no collected farm ordered from)."""
    plan = await plan_rounds(session, cycle.id, services.rounds)
    if plan is None:
        return None, []
    people = [
        Recipient(m.telegram_id, m.locale, m.id, m.first_name) for m in await drivers(session)
    ] or await admin_audience(session, services.admin_ids, services.default_locale)
    drafts: list[Part] = []
    for person in people:
        with use_locale(person.locale):
            lines: list[str] = []
            for item in plan.rounds:
                lines += [*await _round_lines(session, plan, item), ""]
            text, markup = _checklist(cycle, services, plan.rounds)
            # The round, its picture, then the checklist last: the message the driver keeps
            # pressing stays at the bottom of the chat.
            message = parts(
                person.telegram_id,
                person.locale,
                split_html(lines),
                document=round_map(plan),
                filename=_("tournee") + f"-{cycle.id}.png",
                caption=_("🗺 La tournée : le dépôt (carré noir), les fermes dans l’ordre."),
                member_id=person.member_id,
            )
            message.append(
                Part(
                    person.telegram_id,
                    person.locale,
                    text=text,
                    markup=markup_json(markup),
                    member_id=person.member_id,
                    part=len(message),
                )
            )
            drafts += message
    await session.commit()
    return plan, drafts


# -- the driver's invitation -------------------------------------------------------------


async def invite_driver(update: Update, context: DesserteContext) -> None:
    """/invite_chauffeur: a single-use link that makes its first user the rounds' driver."""
    if not await admin_or_refuse(update, context):
        return
    code = await driver_invitation(context.session)
    link = f"https://t.me/{context.bot.username}?start={DRIVER_PREFIX}{code}"
    await show(
        update,
        _(
            "Lien d’invitation pour un <b>chauffeur</b>, valable une seule fois : il recevra "
            "la tournée de collecte à chaque clôture.\n{link}"
        ).format(link=escape(link)),
    )


async def handle_driver_invitation(update: Update, context: DesserteContext, code: str) -> bool:
    """``/start d-<code>``: the sender becomes a driver, or hears that the link is spent.
    Returns True: it always answered."""
    try:
        await accept_driver_invitation(context.session, context.member, code)
    except StaleAction:
        await show(
            update,
            "\n".join(
                [
                    _(
                        "Ce lien d’invitation chauffeur a déjà servi ou n’est plus valable. "
                        "Demandez-en un nouveau à l’équipe du réseau."
                    ),
                    team_contact_line(context),
                ]
            ),
        )
        return True
    await show(
        update,
        _(
            "Bienvenue {name} ! Vous êtes chauffeur de la tournée de collecte : à chaque "
            "clôture, je vous envoie les arrêts dans l’ordre, ce qu’il faut charger, et un "
            "bouton par arrêt pour le cocher ou signaler ce qui manque."
        ).format(name=escape(context.member.first_name)),
    )
    return True


# -- ticking the stops ---------------------------------------------------------------------


async def _show_checklist(
    update: Update, context: DesserteContext, cycle_id: int, notice: str | None = None
) -> None:
    cycle = await context.session.get(Cycle, cycle_id)
    rounds = await cycle_rounds(context.session, cycle_id)
    if cycle is None or not rounds:
        await tell_stale(update)
        return
    text, markup = _checklist(cycle, context.services, rounds)
    await show(update, f"{notice}\n\n{text}" if notice else text, markup)


async def _tell_recorded(update: Update, context: DesserteContext, stop_id: int) -> None:
    """A driver's button on a stop already settled (a double tap, a checklist shown before):
    what was recorded there, with the checklist as it is; anyone else, or a stop unknown, is
    told the button is stale."""
    stop = await round_stop(context.session, stop_id)
    if stop is None or not context.member.is_driver or stop.status == StopStatus.PENDING:
        await tell_stale(update)
        return
    farm = escape(stop.producer.name)
    notice = (
        _("⚠️ {farm} : ce manque est déjà enregistré, rien n’a changé.")
        if stop.status == StopStatus.SHORT
        else _("✅ {farm} : déjà noté collecté, rien n’a changé.")
    ).format(farm=farm)
    await _show_checklist(update, context, stop.round.cycle_id, notice)


async def stop_collected(update: Update, context: DesserteContext, data: StopCollected) -> None:
    """✅ Collecté: the stop ticked, the checklist redrawn."""
    try:
        stop = await mark_collected(context.session, context.member, data.stop_id)
    except StaleAction:
        await _tell_recorded(update, context, data.stop_id)
        return
    notice = _("✅ {farm} : collecté.").format(farm=escape(stop.producer.name))
    await _show_checklist(update, context, stop.round.cycle_id, notice)


async def _show_difference(update: Update, context: DesserteContext, stop: RoundStop) -> None:
    """What was to be collected at the stop, what is counted missing, a button per product."""
    missing = {int(k): Decimal(v) for k, v in (stop.missing or {}).items()}
    lines = [
        _("⚠️ <b>{farm}</b> : qu’est-ce qui manque ? Un appui = une unité de moins.").format(
            farm=escape(stop.producer.name)
        )
    ]
    rows = []
    for product, amount in await stop_lines(context.session, stop.round.cycle_id, stop.producer_id):
        less = missing.get(product.id, Decimal(0))
        lines.append(
            _("• {name} : {amount} à charger, il en manque {missing}").format(
                name=escape(product.name),
                amount=quantity(amount, product.sale_unit),
                missing=quantity(less, product.sale_unit),
            )
            if less
            else _("• {name} : {amount} à charger").format(
                name=escape(product.name), amount=quantity(amount, product.sale_unit)
            )
        )
        rows.append(
            [
                InlineKeyboardButton(
                    _("➖ {name}").format(name=product.name[:40]),
                    callback_data=StopMissing(stop.id, product.id).pack(),
                )
            ]
        )
    last = [
        InlineKeyboardButton(_("↩️ Retour"), callback_data=ShowRounds(stop.round.cycle_id).pack())
    ]
    if missing:
        rows.append(
            [
                InlineKeyboardButton(
                    _("✅ Confirmer le manque"), callback_data=StopConfirmMissing(stop.id).pack()
                )
            ]
        )
        last.append(
            InlineKeyboardButton(_("🔄 Recompter"), callback_data=StopMissing(stop.id, 0).pack())
        )
    rows.append(last)
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows))


async def stop_difference(update: Update, context: DesserteContext, data: StopDifference) -> None:
    """⚠️ Différence: the stop's products, to count what is missing."""
    try:
        stop = await count_missing(context.session, context.member, data.stop_id, 0)
    except StaleAction:
        await _tell_recorded(update, context, data.stop_id)
        return
    await _show_difference(update, context, stop)


async def stop_missing(update: Update, context: DesserteContext, data: StopMissing) -> None:
    """➖ a product: one more unit missing, the count redrawn."""
    try:
        stop = await count_missing(context.session, context.member, data.stop_id, data.product_id)
    except StaleAction:
        await _tell_recorded(update, context, data.stop_id)
        return
    await _show_difference(update, context, stop)


async def stop_confirm_missing(
    update: Update, context: DesserteContext, data: StopConfirmMissing
) -> None:
    """Confirmer le manque: the farm's shortage applied, the consumers told, the stop ticked."""
    stop = await round_stop(context.session, data.stop_id)
    if stop is None:
        await tell_stale(update)
        return
    lines = await stop_lines(context.session, stop.round.cycle_id, stop.producer_id)
    counted = {int(k): Decimal(v) for k, v in (stop.missing or {}).items()}
    said = _("Il manque : {items}").format(
        items=", ".join(
            f"{product.name} {format_quantity(counted[product.id])}"
            for product, _amount in lines
            if counted.get(product.id)
        )
    )
    try:
        stop, report = await confirm_missing(
            context.session, context.member, data.stop_id, said, context.services.now()
        )
    except StaleAction:
        await _tell_recorded(update, context, data.stop_id)
        return
    topic = f"round_shortage:{stop.id}"
    notices = await shortage_notices(context, report, stop.producer.name)
    await enqueue(context.session, topic, Kind.SHORTAGE_NOTICE, notices)
    notice = "\n".join(
        [
            _("⚠️ {farm} : manque enregistré.").format(farm=escape(stop.producer.name)),
            escape(said),
            orders_changed(len(report.orders)),
        ]
    )
    await _show_checklist(update, context, stop.round.cycle_id, notice)
    await deliver(context.application, topic)


async def show_rounds(update: Update, context: DesserteContext, data: ShowRounds) -> None:
    """↩️ Retour: the checklist."""
    if not context.member.is_driver and not context.is_admin:
        await tell_stale(update)
        return
    await _show_checklist(update, context, data.cycle_id)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/invite_chauffeur and the round's buttons."""
    return [
        CommandHandler(list(INVITE_DRIVER_COMMAND.names), invite_driver),
        button(StopCollected, stop_collected),
        button(StopDifference, stop_difference),
        button(StopMissing, stop_missing),
        button(StopConfirmMissing, stop_confirm_missing),
        button(ShowRounds, show_rounds),
    ]
