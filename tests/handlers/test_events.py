"""Events through the sandbox: the admin invites, members take a place with one tap, the
capacity is never exceeded (racing taps included), the members coming are reminded the day
before, once."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from handlers import cycle_run
from handlers.events import JoinEvent
from models import Event, Member
from models.events import seats_taken
from tests.admin_support import make_members
from tests.conftest import ADMIN_TELEGRAM_ID

PARIS = ZoneInfo("Europe/Paris")


def invitation(user):
    return next(m for m in reversed(user.messages) if "Dégustation" in (m.text or ""))


async def plan(admin, places: int = 2) -> None:
    await admin.send(f"/rencontre Dégustation de chèvres ; 12/12 15:00 ; Chèvrerie ; {places}")
    await admin.press("Inviter les membres")


async def test_the_admin_invites_and_members_take_the_places(app, sandbox, session, clock):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    pairs = await make_members(session, sandbox, 3)
    (alice, _a), (bob, _b), (carol, _c) = pairs
    await admin.send("/rencontre")
    assert "le titre, le jour et l’heure, le lieu, le nombre de places" in admin.last_message.text
    await admin.send("/rencontre Dégustation ; demain ; Chèvrerie ; 20")
    assert "Je n’ai pas compris le jour et l’heure" in admin.last_message.text
    await admin.send("/rencontre Dégustation de chèvres ; 12/12 15:00 ; Chèvrerie ; 2")
    preview = admin.last_message
    assert "samedi 12 décembre à 15:00" in preview.text
    assert "0 / 2 place prise" in preview.text
    assert not any("Dégustation" in (m.text or "") for m in alice.messages)  # a preview only
    await admin.press("Inviter les membres")
    assert "Invitation envoyée à 4 membres" in preview.text  # the admin buys too
    for user in (alice, bob, carol):
        assert invitation(user).buttons == [["✅ Je viens"]]

    await alice.press("Je viens", message=invitation(alice))
    card = invitation(alice)
    assert "C’est noté, à bientôt" in card.text
    assert "1 / 2 place prise" in card.text
    assert "Vous venez" in card.text
    assert card.buttons == [["↩️ Je ne viens plus"]]
    await bob.press("Je viens", message=invitation(bob))
    assert "2 / 2 places prises" in invitation(bob).text
    await carol.press("Je viens", message=invitation(carol))
    assert "Désolé, c’est complet." in invitation(carol).text
    assert invitation(carol).buttons == []
    # Alice cannot come after all: her place is Carol's for the taking.
    await alice.press("Je ne viens plus", message=invitation(alice))
    assert "votre place est libérée" in invitation(alice).text
    await carol.press_data(JoinEvent(1).pack(), message=invitation(carol))
    assert "Vous venez" in invitation(carol).text
    event = await session.scalar(select(Event))
    assert event.taken == 2
    assert await seats_taken(session, event.id) == 2
    # Only admins plan and invite.
    await bob.send("/rencontre Fête ; 20/12 12:00 ; Halle ; 50")
    assert "réservée à l’équipe" in bob.last_message.text


async def test_racing_taps_fill_an_event_to_exactly_its_capacity(app, sandbox, session, clock):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    pairs = await make_members(session, sandbox, 20)
    await plan(admin, places=5)
    event = await session.scalar(select(Event))
    await session.commit()
    data = JoinEvent(event.id).pack()
    # Everyone taps at once, some twice.
    taps = [user.press_data(data, message=invitation(user)) for user, _m in pairs]
    taps += [user.press_data(data, message=invitation(user)) for user, _m in pairs[:5]]
    await asyncio.gather(*taps)
    await session.refresh(event)
    assert event.taken == 5
    assert await seats_taken(session, event.id) == 5
    coming = [user for user, _m in pairs if "Vous venez" in invitation(user).text]
    assert len(coming) == 5
    assert sum("complet" in invitation(user).text for user, _m in pairs) == 15


async def test_the_members_coming_are_reminded_the_day_before_once(app, sandbox, session, clock):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    pairs = await make_members(session, sandbox, 3)
    (alice, _a), (bob, _b), (carol, _c) = pairs
    await plan(admin, places=10)
    for user in (alice, bob):
        await user.press("Je viens", message=invitation(user))
    counts = {user.id: len(user.messages) for user, _m in pairs}
    clock.set(datetime(2026, 12, 11, 14, 59, tzinfo=PARIS))
    await cycle_run.run_due_work(app)
    assert all(len(user.messages) == counts[user.id] for user, _m in pairs)  # not yet
    clock.set(datetime(2026, 12, 11, 15, 0, tzinfo=PARIS))
    await cycle_run.run_due_work(app)
    for user in (alice, bob):
        assert "Rappel : vous venez à cette rencontre." in user.last_message.text
        assert len(user.messages) == counts[user.id] + 1
    assert len(carol.messages) == counts[carol.id]
    await cycle_run.run_due_work(app)
    assert len(alice.messages) == counts[alice.id] + 1  # once


async def test_a_member_who_turned_invitations_off_gets_none(app, sandbox, session, clock):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    (alice, member), (bob, _b) = await make_members(session, sandbox, 2)
    await alice.send("/notifications")
    await alice.press("Invitations aux rencontres")
    refreshed = await session.get(Member, member.id, populate_existing=True)
    assert "events" in refreshed.notifications_off
    await session.commit()
    await plan(admin)
    assert not any("Dégustation" in (m.text or "") for m in alice.messages)
    assert any("Dégustation" in (m.text or "") for m in bob.messages)
