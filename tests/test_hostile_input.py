"""Hostile input through the sandbox, generated with hypothesis.

Random text and unicode, 4,096-character messages, huge, negative, zero and non-numeric
quantities, commands with junk arguments, forged and replayed callback data (every route's
prefix with wrong, foreign or malformed values), edited messages, stickers and documents.
Whatever arrives: no exception reaches the error handler, every update gets an answer, and the
stock invariants hold.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handlers
from handlers.callback_data import CallbackData
from tests.factories import load_demo_network, open_cycle_with_stock
from tests.invariants import check_invariants

UPDATES_PER_EXAMPLE = 30
EXAMPLES = 100  # 3,000 generated updates


def all_routes() -> list[type[CallbackData]]:
    """Every callback route the bot declares, found in the handler modules."""
    routes = {}
    for info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, CallbackData)
                and value is not CallbackData
            ):
                routes[value.prefix] = value
    return list(routes.values())


ROUTES = all_routes()
COMMANDS = [
    "/start",
    "/aide",
    "/help",
    "/langue",
    "/catalogue",
    "/panier",
    "/commandes",
    "/retrait",
    "/memepanier",
    "/cycle",
    "/diffusion",
    "/rapport",
    "/export",
    "/stock",
    "/mes_produits",
    "/manque",
    "/notifications",
    "/retraits",
    "/invite_producteur",
    "/invite_retrait",
    "/annuler",
    "/annuler_stock",
    "/start p-",
    "/start f-",
    "/nimportequoi",
]
FIELD_VALUES = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(["0", "-1", "1e9", "NaN", "inf", "0.0001", "999999", "", "é", "1.5", "abc"]),
    # No lone surrogates: Telegram's callback data is UTF-8, which cannot carry them.
    st.text(
        alphabet=st.characters(blacklist_characters=":", blacklist_categories=("Cs",)), max_size=6
    ),
)


@st.composite
def forged_callback(draw) -> str:
    route = draw(st.sampled_from(ROUTES))
    count = draw(st.sampled_from([len(route.fields), len(route.fields), 0, len(route.fields) + 1]))
    values = [draw(FIELD_VALUES) for _ in range(count)]
    data = ":".join([route.prefix, *values]) if values else route.prefix
    return data.encode()[:64].decode(errors="ignore") or "x"


TEXTS = st.one_of(
    st.text(max_size=80),
    st.text(min_size=4000, max_size=4096),
    st.sampled_from(
        [
            "tomates 12 kg",
            "-5 poireaux",
            "0",
            "99999999999 oeufs",
            "miel",
            "😀🍅",
            "<b>gras</b>",
            "&amp;",
            "\u200f\u202e",
            "   ",
            "annuler la dernière mise à jour",
        ]
    ),
    st.builds(lambda c, junk: f"{c} {junk}", st.sampled_from(COMMANDS), st.text(max_size=40)),
)

ACTIONS = st.one_of(
    st.tuples(st.just("text"), TEXTS),
    st.tuples(st.just("press"), st.integers(min_value=0, max_value=50)),
    st.tuples(st.just("forge"), forged_callback()),
    st.tuples(st.just("edit"), st.text(max_size=30)),
    st.tuples(st.just("photo"), st.none()),
    st.tuples(st.just("document"), st.binary(max_size=200)),
)


@pytest.fixture
async def world(app, sandbox, session, clock):
    await load_demo_network(session)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=5)
    errors: list[BaseException] = []

    async def record(update, context):
        errors.append(context.error)

    app.add_error_handler(record)
    people = [sandbox.user(f"P{i}", language=lang) for i, lang in enumerate(["fr", "en", "de"])]
    for person in people:
        await person.send("/start")
    return people, errors


def _answered(person, before_messages: int, before_edits: int, before_answers: int) -> bool:
    edits = sum(m.edits for m in person.messages)
    return (
        len(person.messages) > before_messages
        or edits > before_edits
        or len(person.answers) > before_answers
        or any(m.deleted for m in person.messages)
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTIONS, min_size=UPDATES_PER_EXAMPLE, max_size=UPDATES_PER_EXAMPLE))
async def test_hostile_updates_always_get_a_polite_answer(world, session, actions):
    people, errors = world
    rng = random.Random(len(actions))
    for kind, value in actions:
        person = rng.choice(people)
        before = (len(person.messages), sum(m.edits for m in person.messages), len(person.answers))
        if kind == "text":
            await person.send(value if value.strip() else value + ".")
        elif kind == "press":
            keyboards = [m for m in person.messages if m.button_data and not m.deleted]
            if not keyboards:
                await person.send("/start")
                continue
            message = keyboards[value % len(keyboards)]
            data = [d for row in message.button_data for d in row if d]
            await person.press_data(data[value % len(data)], message=message)
        elif kind == "forge":
            await person.press_data(value)
        elif kind == "edit":
            mine = [m for m in person.history if not m.from_bot and m.text]
            if not mine:
                continue
            await person.edit(mine[-1], value or ".")
        elif kind == "photo":
            await person.send_photo(b"\x89PNG\r\n\x1a\n" + b"0" * 20)
        else:
            await person.send_document(value, "fichier.bin")
        assert not errors, f"{kind} {value!r} reached the error handler: {errors[-1]!r}"
        assert _answered(person, *before), f"{kind} {value!r} got no answer"
    await check_invariants(session)
