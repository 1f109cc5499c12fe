"""/rencontre (/event): the admin invites the members to a tasting, a farm visit, a buffet.

``/rencontre Dégustation de chèvres ; 12/12 15:00 ; Chèvrerie de Chauvigny ; 20`` shows the
invitation as members will read it, with "Inviter les membres"; the invitation goes out through
the outbox with "✅ Je viens" / "↩️ Je ne viens plus", and each tap redraws it with the places
taken ("12 / 20"), "Complet" once full — the capacity is held by one conditional update, so
racing taps never seat more than there are places (:mod:`models.events`). The day before, the
members coming get a reminder (:func:`remind_events`, a step of the scheduler's pass).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show
from handlers.context import DesserteContext, services_of
from handlers.delivery import deliver, markup_json
from handlers.i18n import _, format_date, format_time, lazy_gettext, ngettext, use_locale
from handlers.menu import ADMIN, Command
from models.audiences import event_audience
from models.calendar import local_moment
from models.errors import StaleAction
from models.event import Event
from models.events import (
    REMINDER_BEFORE,
    EventFull,
    EventPast,
    EventView,
    InvalidEvent,
    Seat,
    attendees,
    event_view,
    events_to_remind,
    leave_seat,
    mark_announced,
    plan_event,
    take_seat,
)
from models.outbox import Kind, enqueue, parts

COMMAND = Command("rencontre", "event", lazy_gettext("Inviter les membres à une rencontre"), ADMIN)

_WHEN = re.compile(
    r"^\s*(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\s+(\d{1,2})\s*[h:]\s*(\d{2})?\s*$",
    re.IGNORECASE,
)


class InviteMembers(CallbackData, prefix="evt:inv"):
    """The planned event's invitation sent to the members."""

    event_id: int


class DropEvent(InviteMembers, prefix="evt:drop"):
    """The planned event dropped before anyone was invited."""


class JoinEvent(InviteMembers, prefix="evt:join"):
    """A member takes a place."""


class LeaveEvent(InviteMembers, prefix="evt:leave"):
    """A member gives their place back."""


def topic(event_id: int) -> str:
    """The outbox topic of one event's messages."""
    return f"event:{event_id}"


def read_when(text: str, now: datetime, tz: Any) -> datetime | None:
    """ "12/12 15:00", "12/12/2026 15h", "3.1 9h30" in the network's time zone, the next such
    day when the year is left out; None when it does not read as a date and a time."""
    found = _WHEN.match(text)
    if found is None:
        return None
    day, month, year, hours, minutes = found.groups()
    try:
        at = time(int(hours), int(minutes or 0))
        local_now = now.astimezone(tz)
        if year:
            full_year = int(year) + (2000 if len(year) == 2 else 0)
            return local_moment(date(full_year, int(month), int(day)), at, tz)
        for candidate_year in (local_now.year, local_now.year + 1):
            moment = local_moment(date(candidate_year, int(month), int(day)), at, tz)
            if moment > now:
                return moment
    except ValueError:
        return None
    return None


def _usage() -> str:
    return "\n".join(
        [
            _("📅 <b>Inviter les membres à une rencontre</b>"),
            _("Écrivez en une ligne : le titre, le jour et l’heure, le lieu, le nombre de places."),
            _("Par exemple :"),
            _(
                "<code>/rencontre Dégustation de chèvres ; 12/12 15:00 ; Chèvrerie de "
                "Chauvigny ; 20</code>"
            ),
        ]
    )


def event_text(view: EventView, tz: Any, *, notice: str = "") -> str:
    """The invitation as people read it: what, when, where, the places taken."""
    moment = view.starts_at.astimezone(tz)
    lines = [notice, ""] if notice else []
    lines += [
        f"📅 <b>{escape(view.title)}</b>",
        _("{day} à {time}").format(day=format_date(moment), time=format_time(moment)),
        _("📍 {place}").format(place=escape(view.place)),
    ]
    if view.description:
        lines.append(escape(view.description))
    lines.append(
        ngettext(
            "👥 {taken} / {capacity} place prise",
            "👥 {taken} / {capacity} places prises",
            view.taken,
        ).format(taken=view.taken, capacity=view.capacity)
    )
    if view.coming:
        lines.append(_("✅ Vous venez."))
    elif view.full:
        lines.append(_("🚫 Complet."))
    return "\n".join(lines)


def seat_keyboard(view: EventView) -> InlineKeyboardMarkup | None:
    """ "I'm coming" while places are left, "I'm not coming any more" once seated; no buttons
    for a full event (an edit without a keyboard takes the old one away)."""
    if view.coming:
        row = [
            InlineKeyboardButton(_("↩️ Je ne viens plus"), callback_data=LeaveEvent(view.id).pack())
        ]
    elif not view.full:
        row = [InlineKeyboardButton(_("✅ Je viens"), callback_data=JoinEvent(view.id).pack())]
    else:
        return None
    return InlineKeyboardMarkup([row])


async def plan(update: Update, context: DesserteContext) -> None:
    """/rencontre TITLE ; WHEN ; PLACE ; PLACES: the invitation previewed for the admin."""
    if not await admin_or_refuse(update, context):
        return
    text = " ".join(context.args or [])
    fields = [field.strip() for field in re.split(r"[;|]", text)] if text.strip() else []
    if len(fields) != 4:
        await show(update, _usage())
        return
    title, when_text, place, places = fields
    services = context.services
    starts_at = read_when(when_text, services.now(), services.timezone)
    number = re.match(r"^\s*(\d{1,6})", places)
    try:
        if starts_at is None:
            raise InvalidEvent(reason="date")
        if number is None:
            raise InvalidEvent(reason="capacity")
        event = await plan_event(
            context.session,
            context.member,
            title=title,
            place=place,
            starts_at=starts_at,
            capacity=int(number.group(1)),
            now=services.now(),
        )
    except InvalidEvent as error:
        await show(update, _refusal(error) + "\n\n" + _usage())
        return
    view = await event_view(context.session, event.id, None)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("📣 Inviter les membres"), callback_data=InviteMembers(event.id).pack()
                )
            ],
            [InlineKeyboardButton(_("✖️ Annuler"), callback_data=DropEvent(event.id).pack())],
        ]
    )
    preview = _("Aperçu de l’invitation :")
    await show(update, preview + "\n\n" + event_text(view, services.timezone), keyboard)


def _refusal(error: InvalidEvent) -> str:
    reason = error.params.get("reason")
    if reason == "date":
        return _("⚠️ Je n’ai pas compris le jour et l’heure, ou ils sont passés.")
    if reason == "capacity":
        return _("⚠️ Le nombre de places doit être un nombre entre 1 et {maximum}.").format(
            maximum=error.params.get("maximum", 10_000)
        )
    if reason == "title":
        return _("⚠️ Il manque le titre (120 caractères au plus).")
    return _("⚠️ Il manque le lieu (200 caractères au plus).")


async def invite(update: Update, context: DesserteContext, data: InviteMembers) -> None:
    """The invitation written to every consumer who wants invitations, then delivered."""
    services = context.services
    if not await mark_announced(context.session, data.event_id, services.now()):
        await show(update, _("Cette invitation est déjà partie."))
        return
    view = await event_view(context.session, data.event_id, None)
    members = await event_audience(context.session)
    drafts = []
    for member in members:
        with use_locale(member.locale):
            drafts += parts(
                member.telegram_id,
                member.locale,
                [event_text(view, services.timezone)],
                markup=markup_json(seat_keyboard(view)),
                member_id=member.member_id,
            )
    await enqueue(context.session, topic(data.event_id), Kind.EVENT_INVITATION, drafts)
    await show(
        update,
        ngettext(
            "📣 Invitation envoyée à {count} membre.",
            "📣 Invitation envoyée à {count} membres.",
            len(members),
        ).format(count=len(members))
        + "\n\n"
        + event_text(view, services.timezone),
    )
    await deliver(context.application, topic(data.event_id))


async def drop(update: Update, context: DesserteContext, data: DropEvent) -> None:
    """The preview dropped: the event is forgotten if nobody was invited."""
    event = await context.session.get(Event, data.event_id)
    if event is not None and event.announced_at is None:
        await context.session.delete(event)
        await context.session.commit()
        await show(update, _("Rencontre abandonnée : aucune invitation n’est partie."))
        return
    await show(update, _("Cette invitation est déjà partie."))


async def join(update: Update, context: DesserteContext, data: JoinEvent) -> None:
    """ "Je viens": a place taken if one is left; the invitation redrawn with the count."""
    await _seat(update, context, data.event_id, take=True)


async def leave(update: Update, context: DesserteContext, data: LeaveEvent) -> None:
    """ "Je ne viens plus": the place given back."""
    await _seat(update, context, data.event_id, take=False)


async def _seat(update: Update, context: DesserteContext, event_id: int, *, take: bool) -> None:
    services = context.services
    member = context.member
    try:
        if take:
            outcome = await take_seat(context.session, member, event_id, services.now())
        else:
            outcome = await leave_seat(context.session, member, event_id, services.now())
        notice = {
            Seat.TAKEN: _("✅ C’est noté, à bientôt !"),
            Seat.ALREADY: _("Votre place est déjà réservée pour cette rencontre."),
            Seat.LEFT: _("↩️ C’est noté : votre place est libérée."),
            Seat.NOT_COMING: _("Vous n’aviez pas de place à cette rencontre."),
        }[outcome]
    except EventFull:
        notice = ""  # unless this person's other tap took the last place: see below
    except EventPast:
        notice = _("Cette rencontre a commencé : les inscriptions sont closes.")
    except StaleAction:
        await show(update, _("Cette rencontre n’existe plus."))
        return
    view = await event_view(context.session, event_id, member)
    if not notice:  # full: said so, unless the same person's other tap took a place
        notice = (
            _("Votre place est déjà réservée pour cette rencontre.")
            if view.coming
            else _("Désolé, c’est complet.")
        )
    past = view.starts_at <= services.now()
    keyboard = None if past else seat_keyboard(view)
    await show(update, event_text(view, services.timezone, notice=notice), keyboard)


async def remind_events(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """The day before an event, the reminder to each member coming (once each: the outbox's
    key), never in the quiet hours; returns how many were written now."""
    services = services_of(application)
    now = services.now()
    written = 0
    async with services.sessions() as session:
        # The night before counts: a reminder due in the quiet hours goes out the evening before.
        events = await events_to_remind(session, now, REMINDER_BEFORE + timedelta(hours=12))
        for event in events:
            due = services.calendar.awake(event.starts_at - REMINDER_BEFORE)
            if due > now or event.starts_at <= now:
                continue
            view = await event_view(session, event.id, None)
            drafts = []
            for person in await attendees(session, event.id):
                with use_locale(person.locale):
                    notice = _("⏰ <b>Rappel</b> : vous venez à cette rencontre.")
                    drafts += parts(
                        person.telegram_id,
                        person.locale,
                        [event_text(view, services.timezone, notice=notice)],
                        member_id=person.member_id,
                    )
            written += await enqueue(session, topic(event.id), Kind.EVENT_REMINDER, drafts)
            await deliver(application, topic(event.id))
    return written


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The admin's /rencontre, the invitation's buttons."""
    return [
        CommandHandler(list(COMMAND.names), plan),
        button(InviteMembers, invite, admin=True),
        button(DropEvent, drop, admin=True),
        button(JoinEvent, join),
        button(LeaveEvent, leave),
    ]
