"""Who may do what: every command and every button, pressed by every kind of person.

The commands come from ``handlers.menu.COMMANDS`` plus every ``CommandHandler`` the registry
installs (each by all its names); the buttons from every ``CallbackData`` route declared in ``handlers/*``.
The people: a stranger (a new user each time), a consumer, a producer of another farm, a
producer, an admin. "Allowed" derives from each command's declared roles (everyone is
registered as a consumer on first contact, so a stranger has the consumer role); for buttons,
from the feature the route belongs to, and for buttons naming a thing (an order, a stock update),
from whose thing it is. Anyone not allowed is refused politely in their language — or, for a
button, answered as stale — and nothing changes in the database nor in anyone else's chat.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from telegram.ext import CommandHandler, ConversationHandler

import handlers
from handlers import registry
from handlers.callback_data import CallbackData
from handlers.menu import COMMANDS
from tests.invariants import check_invariants
from tests.reliability.support import (
    ADMIN_REFUSAL,
    ERROR_APOLOGIES,
    PRODUCER_REFUSAL,
    STALE,
    World,
    activity,
    build_world,
    replies_since,
    snapshot,
    translated,
)

ROLES = ("stranger", "consumer", "other_farm", "producer", "admin")
PERSON_ROLES = {
    "stranger": {"consumer"},
    "consumer": {"consumer"},
    "other_farm": {"consumer", "producer"},
    "producer": {"consumer", "producer"},
    "admin": {"consumer", "admin"},
}
STRANGER_LANGUAGES = ("fr", "en")


def command_roles() -> dict[str, frozenset[str]]:
    """Every command name the bot answers, with the roles its declaration names."""
    declared = {name: command.roles for command in COMMANDS for name in command.names}
    installed: set[str] = set()
    for handler in registry.build_handlers():
        entries = handler.entry_points if isinstance(handler, ConversationHandler) else [handler]
        for entry in entries:
            if isinstance(entry, CommandHandler):
                installed |= set(entry.commands)
    missing = installed - set(declared)
    assert not missing, f"commands without declared roles: {sorted(missing)}"
    return {name: declared[name] for name in sorted(installed | set(declared))}


def all_routes() -> dict[str, type[CallbackData]]:
    routes: dict[str, type[CallbackData]] = {}
    for info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, CallbackData)
                and value is not CallbackData
            ):
                routes[value.prefix] = value
    return routes


@dataclass(frozen=True)
class Button:
    data: Callable[[World], str]
    roles: frozenset[str]  # roles allowed by the feature
    owner: str | None = None  # the only person allowed, for a button naming someone's thing
    acts: bool = False  # pressed by an allowed person, it changes something (run last)


EVERYONE = frozenset({"consumer", "producer", "admin"})
ADMIN = frozenset({"admin"})
PRODUCER = frozenset({"producer"})
NOBODY: frozenset[str] = frozenset()

BUTTONS: dict[str, Button] = {
    "menu": Button(lambda w: "menu", EVERYONE),
    "help": Button(lambda w: "help", EVERYONE),
    "lang": Button(lambda w: "lang", EVERYONE),
    "lang:set": Button(lambda w: "lang:set:{lang}", EVERYONE, acts=True),
    "cat": Button(lambda w: "cat", EVERYONE),
    "cat:c": Button(lambda w: f"cat:c:{w.cycle_id}:0:0", EVERYONE),
    "cat:p": Button(lambda w: f"cat:p:{w.cycle_id}:{w.product_id}:1:0:0", EVERYONE),
    "qty": Button(lambda w: f"qty:{w.cycle_id}:{w.product_id}", EVERYONE),
    "cat:a": Button(lambda w: f"cat:a:{w.cycle_id}:{w.product_id}:1:0:0", EVERYONE, acts=True),
    "bsk": Button(lambda w: "bsk", EVERYONE),
    "bsk:more": Button(lambda w: f"bsk:more:{w.cycle_id}:{w.product_id}:0", EVERYONE, acts=True),
    "bsk:less": Button(lambda w: f"bsk:less:{w.cycle_id}:{w.product_id}:0", EVERYONE, acts=True),
    "bsk:rm": Button(lambda w: f"bsk:rm:{w.cycle_id}:{w.product_id}:0", EVERYONE, acts=True),
    "bsk:page": Button(lambda w: f"bsk:page:{w.cycle_id}:1", EVERYONE),
    "bsk:empty": Button(lambda w: f"bsk:empty:{w.cycle_id}", EVERYONE),
    "bsk:empty!": Button(lambda w: f"bsk:empty!:{w.cycle_id}", EVERYONE, acts=True),
    "bsk:ok": Button(lambda w: f"bsk:ok:{w.cycle_id}:0", EVERYONE, acts=True),
    "bsk:again": Button(lambda w: f"bsk:again:{w.cycle_id}", EVERYONE, acts=True),
    # Bob's past order: nobody here may copy it into their basket.
    "bsk:past": Button(lambda w: f"bsk:past:{w.bob_past_order_id}", EVERYONE, owner="bob"),
    "ord": Button(lambda w: "ord", EVERYONE),
    # Bob's orders, this week's and last week's: nobody here may read them.
    "ord:v": Button(lambda w: f"ord:v:{w.bob_order_id}", EVERYONE, owner="bob"),
    "pk": Button(lambda w: "pk", EVERYONE),
    # Whoever holds a farm's invitation may move to it; a code nobody issued moves no one.
    "pj:move": Button(lambda w: "pj:move:0123456789abcdef", EVERYONE),
    "pj:stay": Button(lambda w: "pj:stay", EVERYONE),
    "pk:set": Button(lambda w: f"pk:set:{w.point_id}", EVERYONE, acts=True),
    "ph": Button(lambda w: "ph", EVERYONE),
    "ntf": Button(lambda w: "ntf", EVERYONE),
    "ntf:set": Button(lambda w: "ntf:set:cycle_open:0", EVERYONE, acts=True),
    "cyc": Button(lambda w: "cyc", ADMIN),
    "cyc:open": Button(lambda w: f"cyc:open:{w.cycle_id}", ADMIN),
    "cyc:open!": Button(lambda w: f"cyc:open!:{w.cycle_id}", ADMIN, acts=True),
    "cyc:close": Button(lambda w: f"cyc:close:{w.cycle_id}", ADMIN),
    "cyc:close!": Button(lambda w: f"cyc:close!:{w.cycle_id}", ADMIN, acts=True),
    "cyc:ext": Button(lambda w: f"cyc:ext:{w.cycle_id}:1d", ADMIN, acts=True),
    "cyc:plan": Button(lambda w: "cyc:plan", ADMIN, acts=True),
    "pck": Button(lambda w: "pck", ADMIN),
    "pck:pt": Button(lambda w: f"pck:pt:{w.cycle_id}:{w.point_id}:0", ADMIN),
    "pck:set": Button(lambda w: f"pck:set:{w.bob_past_order_id}:0:1", ADMIN, acts=True),
    "pck:pq": Button(lambda w: f"pck:pq:{w.bob_past_order_id}:0", ADMIN),
    "pck:pm": Button(lambda w: f"pck:pm:{w.bob_past_order_id}:0:cash", ADMIN, acts=True),
    "pck:end": Button(lambda w: f"pck:end:{w.past_cycle_id}:{w.point_id}", ADMIN),
    "pck:end!": Button(lambda w: f"pck:end!:{w.past_cycle_id}:{w.point_id}", ADMIN, acts=True),
    "bc:aud": Button(lambda w: f"bc:aud:{w.draft_id}:consumers", ADMIN, acts=True),
    "bc:pt": Button(lambda w: f"bc:pt:{w.draft_id}:{w.point_id}", ADMIN, acts=True),
    "bc:send": Button(lambda w: f"bc:send:{w.draft_id}", ADMIN, acts=True),
    "bc:back": Button(lambda w: f"bc:back:{w.draft_id}", ADMIN, acts=True),
    "bc:no": Button(lambda w: f"bc:no:{w.draft_id}", ADMIN, acts=True),
    "evt:join": Button(lambda w: f"evt:join:{w.event_id}", EVERYONE, acts=True),
    "evt:leave": Button(lambda w: f"evt:leave:{w.event_id}", EVERYONE, acts=True),
    "evt:inv": Button(lambda w: f"evt:inv:{w.event_id}", ADMIN, acts=True),
    "evt:drop": Button(lambda w: f"evt:drop:{w.event_id}", ADMIN, acts=True),
    "exp:csv": Button(lambda w: f"exp:csv:{w.past_cycle_id}", ADMIN),
    "exp:xlsx": Button(lambda w: f"exp:xlsx:{w.past_cycle_id}", ADMIN),
    "exp:pdf": Button(lambda w: f"exp:pdf:{w.past_cycle_id}:0", ADMIN),
    "exp:pcsv": Button(lambda w: f"exp:pcsv:{w.past_cycle_id}", ADMIN),
    "exp:of": Button(lambda w: f"exp:of:{w.past_cycle_id}", ADMIN),
    "rep": Button(lambda w: f"rep:{w.past_cycle_id}", ADMIN),
    # Marie's pending stock update: only she may validate, fix, cancel or resolve it.
    # Marie's story for her product: only she may confirm or cancel it.
    "card:ok": Button(lambda w: f"card:ok:{w.marie_proposal_id}", EVERYONE, "producer", acts=True),
    "card:no": Button(lambda w: f"card:no:{w.marie_proposal_id}", EVERYONE, "producer", acts=True),
    "stk:ok": Button(lambda w: f"stk:ok:{w.marie_update_id}", PRODUCER, "producer", acts=True),
    "stk:fix": Button(lambda w: f"stk:fix:{w.marie_update_id}", PRODUCER, "producer", acts=True),
    "stk:no": Button(lambda w: f"stk:no:{w.marie_update_id}", PRODUCER, "producer", acts=True),
    "stk:pick": Button(lambda w: f"stk:pick:{w.marie_update_id}:0:0", PRODUCER, "producer"),
    "stk:same": Button(lambda w: "stk:same", PRODUCER, acts=True),
    "sht:ok": Button(lambda w: f"sht:ok:{w.marie_update_id}", PRODUCER, "producer", acts=True),
    "sht:no": Button(lambda w: f"sht:no:{w.marie_update_id}", PRODUCER, "producer", acts=True),
    "sht:stk": Button(lambda w: f"sht:stk:{w.marie_update_id}", PRODUCER, "producer", acts=True),
    "stk:qty": Button(
        lambda w: f"stk:qty:{w.marie_update_id}:{w.product_id}", PRODUCER, "producer", acts=True
    ),
    "sht:from": Button(lambda w: f"sht:from:{w.marie_update_id}", PRODUCER, "producer", acts=True),
    # No price change in the world: anyone else is refused; Marie is told the button is spent.
    "prx:ok": Button(lambda w: f"prx:ok:{w.marie_update_id}", PRODUCER, "producer"),
    "prx:no": Button(lambda w: f"prx:no:{w.marie_update_id}", PRODUCER, "producer"),
    # The collection round's stops: only its driver may tick them, and nobody here drives.
    "rnd:ok": Button(lambda w: "rnd:ok:1", NOBODY, acts=True),
    "rnd:df": Button(lambda w: "rnd:df:1", NOBODY, acts=True),
    "rnd:mi": Button(lambda w: f"rnd:mi:1:{w.product_id}", NOBODY, acts=True),
    "rnd:cf": Button(lambda w: "rnd:cf:1", NOBODY, acts=True),
    "rnd:ls": Button(lambda w: f"rnd:ls:{w.past_cycle_id}", NOBODY),
    # Weighing: the team from a point's list; producers and the team in the guided flow.
    "wgh:pt": Button(lambda w: f"wgh:pt:{w.point_id}", ADMIN, acts=True),
    "wgh:skip": Button(lambda w: "wgh:skip:1", PRODUCER | ADMIN, acts=True),
    "wgh:stop": Button(lambda w: "wgh:stop", PRODUCER | ADMIN, acts=True),
    # Producers' accounts: the team only.
    "acc": Button(lambda w: "acc:2026-12", ADMIN),
    "acc:f": Button(lambda w: "acc:f:2026-12:1", ADMIN),
    "acc:p": Button(lambda w: "acc:p:2026-12:1:100", ADMIN),
    "acc:p!": Button(lambda w: "acc:p!:2026-12:1:100", ADMIN, acts=True),
    "acc:s": Button(lambda w: "acc:s:2026-12", ADMIN, acts=True),
    # /membres: Bob's file and what an admin may do to it.
    "mbr": Button(lambda w: f"mbr:{w.bob_member_id}", ADMIN),
    "mbr:mv": Button(lambda w: f"mbr:mv:{w.bob_member_id}", ADMIN),
    "mbr:mv!": Button(lambda w: f"mbr:mv!:{w.bob_member_id}:{w.point_id}", ADMIN, acts=True),
    "mbr:bl": Button(lambda w: f"mbr:bl:{w.bob_member_id}", ADMIN),
    "mbr:bl!": Button(lambda w: f"mbr:bl!:{w.bob_member_id}", ADMIN, acts=True),
    "mbr:ub": Button(lambda w: f"mbr:ub:{w.bob_member_id}", ADMIN, acts=True),
}

COMMAND_ROLES = command_roles()


def test_every_route_and_command_is_in_the_table():
    assert set(all_routes()) == set(BUTTONS)
    assert len(COMMAND_ROLES) >= 30


def allowed_command(name: str, role: str) -> bool:
    return bool(COMMAND_ROLES[name] & PERSON_ROLES[role])


def allowed_button(prefix: str, role: str) -> bool:
    button = BUTTONS[prefix]
    if button.owner is not None:
        return role == button.owner
    return bool(button.roles & PERSON_ROLES[role])


def refusals(language: str, *, stale: bool) -> list[str]:
    texts = [translated(t, language) for t in (ADMIN_REFUSAL, PRODUCER_REFUSAL)]
    return texts + ([translated(STALE, language)] if stale else [])


def language_of(role: str, world: World, stranger_language: str) -> str:
    return stranger_language if role == "stranger" else world.people[role].language_code


@pytest.fixture
async def world(app, sandbox, session, clock):
    return await build_world(app, sandbox, session, clock)


async def test_every_command_and_button_for_every_role(app, sandbox, session, world):
    """Strangers alternate French and English; the others keep theirs (Alice and Marie French,
    Jean and the admin English)."""
    others = [world.people["bob"]]
    cases = 0
    stranger_language = STRANGER_LANGUAGES[0]

    async def person_for(role: str, action: str):
        nonlocal stranger_language
        if role != "stranger":
            return world.people[role]
        stranger_language = STRANGER_LANGUAGES[cases % 2]
        stranger = world.stranger(sandbox, stranger_language)
        if action.startswith("press"):
            await stranger.send("/start")  # a button needs a message to be pressed on
        return stranger

    async def refused(role: str, action: str, send) -> None:
        nonlocal cases
        person = await person_for(role, action)
        language = language_of(role, world, stranger_language)
        before, watched = await snapshot(session), [activity(o) for o in others]
        mine = activity(person)
        await send(person)
        replies = replies_since(person, mine)
        expected = refusals(language, stale=action.startswith("press"))
        assert any(text in reply for reply in replies for text in expected), (
            role,
            action,
            replies,
        )
        assert await snapshot(session) == before, (role, action)
        assert [activity(o) for o in others] == watched, (role, action)
        assert not world.errors, (role, action, world.errors)
        cases += 1

    async def allowed(role: str, action: str, send) -> None:
        nonlocal cases
        person = await person_for(role, action)
        language = language_of(role, world, stranger_language)
        mine = activity(person)
        await send(person)
        replies = replies_since(person, mine)
        assert replies, (role, action)  # answered
        forbidden = refusals(language, stale=False) + [
            translated(t, language) for t in ERROR_APOLOGIES
        ]
        assert not any(text in reply for reply in replies for text in forbidden), (
            role,
            action,
            replies,
        )
        assert not world.errors, (role, action, world.errors)
        cases += 1

    def command(name: str):
        async def send(person):
            await person.send(f"/{name}")

        return send

    def press(prefix: str):
        async def send(person):
            # lang:set keeps the person's own language, so their next answers stay readable.
            data = BUTTONS[prefix].data(world).replace("{lang}", person.language_code or "fr")
            await person.press_data(data)

        return send

    # Refusals first, while nothing has acted yet.
    for name in COMMAND_ROLES:
        for role in ROLES:
            if not allowed_command(name, role):
                await refused(role, f"/{name}", command(name))
    for prefix in BUTTONS:
        for role in ROLES:
            if not allowed_button(prefix, role):
                await refused(role, f"press {prefix}", press(prefix))
    # Bob's order of last week is as private as this week's.
    for role in ROLES:
        await refused(
            role, "press ord:v (past)", lambda p: p.press_data(f"ord:v:{world.bob_past_order_id}")
        )
    refused_cases = cases

    # Then what each is allowed: answered, never refused, never an error.
    for name in COMMAND_ROLES:
        if name in ("diffusion", "broadcast"):
            continue  # the admin's conversation is open already (the draft): tested elsewhere
        for role in ROLES:
            if allowed_command(name, role):
                await allowed(role, f"/{name}", command(name))
    ordered = sorted(BUTTONS, key=lambda prefix: BUTTONS[prefix].acts)
    for prefix in ordered:
        for role in ROLES:
            if allowed_button(prefix, role) and prefix != "ord:v":
                await allowed(role, f"press {prefix}", press(prefix))
    # Bob reads his own order.
    others.clear()
    await allowed("bob", "press ord:v", lambda p: p.press_data(f"ord:v:{world.bob_order_id}"))
    # The admin's allowed "send" started a broadcast in the background: let it finish.
    from handlers.broadcast_sending import wait_for_broadcasts

    await wait_for_broadcasts(app)
    await check_invariants(session)
    print(f"permission cases: {refused_cases} refused, {cases - refused_cases} allowed")
    assert refused_cases > 150
    assert cases > 300
