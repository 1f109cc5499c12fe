"""Two networks on one deployment: the same people (same Telegram ids, the same admin) in
both, each network with its own bot. Every button of network A, its ids forged into the
callback data, pressed on network B's bot by every kind of person changes nothing in A, and
nothing in B either when it names A's things; the people of A hear nothing of it."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.db import sessionmaker
from bot.networks import network_settings
from bot.sandbox import Sandbox
from models import OutboxMessage
from models.network import ALL_NETWORKS
from models.networks import add_network
from tests.admin_support import running_app
from tests.reliability.support import ERROR_APOLOGIES, activity, build_world, snapshot, translated
from tests.reliability.test_permissions import BUTTONS

PEOPLE = ("consumer", "bob", "producer", "other_farm", "admin")


async def _outbox_count(session) -> int:
    count = await session.scalar(select(func.count()).select_from(OutboxMessage))
    await session.commit()
    return int(count or 0)


async def test_network_a_buttons_pressed_on_network_b_change_nothing(
    app, sandbox, session, engine, settings, clock
):
    world_a = await build_world(app, sandbox, session, clock)
    async with sessionmaker(engine, ALL_NETWORKS)() as operator:
        niort = await add_network(operator, "niort", name="Le Panier Niortais", bot_token=None)
    sandbox_b = Sandbox()
    settings_b = network_settings(settings, niort)
    async with (
        running_app(
            settings_b, engine, sandbox_b, clock, rate_limiter=False, network_id=niort.id
        ) as app_b,
        sessionmaker(engine, niort.id)() as session_b,
    ):
        world_b = await build_world(app_b, sandbox_b, session_b, clock)
        # Same people, different rows: nothing of A's ids means anything in B.
        assert world_a.cycle_id != world_b.cycle_id
        assert world_a.product_id != world_b.product_id
        before_a = await snapshot(session)
        outbox_a = await _outbox_count(session)
        chats_a = {role: activity(person) for role, person in world_a.people.items()}
        pressed = forged = 0
        for prefix, button in BUTTONS.items():
            data_a = button.data(world_a).replace("{lang}", "fr")
            data_b = button.data(world_b).replace("{lang}", "fr")
            for role in PEOPLE:
                person = world_b.people[role]
                before_b = await snapshot(session_b)
                mine = activity(person)
                await person.press_data(data_a)
                pressed += 1
                assert activity(person) != mine, (prefix, role)  # answered, never silent
                texts = [m.text or "" for m in person.messages] + [
                    a.text or "" for a in person.answers
                ]
                apologies = [translated(t, person.language_code) for t in ERROR_APOLOGIES]
                assert not any(a in t for t in texts for a in apologies), (prefix, role)
                if data_a != data_b:  # names A's things: B is left as it was
                    forged += 1
                    assert await snapshot(session_b) == before_b, (prefix, role, data_a)
        assert not world_b.errors, world_b.errors
        assert not world_a.errors, world_a.errors
        assert await snapshot(session) == before_a
        assert await _outbox_count(session) == outbox_a
        assert {role: activity(p) for role, p in world_a.people.items()} == chats_a
        # The people of B did get their own network: its name, not A's.
        await world_b.people["consumer"].send("/start")
        assert "Le Panier Niortais" in world_b.people["consumer"].messages[-1].text
    print(f"network presses: {pressed}, naming A's things: {forged}")
    assert forged > 150
