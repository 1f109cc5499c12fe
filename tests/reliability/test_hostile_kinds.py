"""Hostile input that tests/test_hostile_input.py does not generate:

* updates of kinds the bot does not use (``my_chat_member``, ``channel_post``, ``poll``,
  ``inline_query``, ``chosen_inline_result``, ``chat_join_request``, ``message_reaction``,
  ``poll_answer``, group messages, ``edited_channel_post``, ``chat_boost``…): none reaches the
  error handler; where nobody can be answered in a private chat, nothing is sent;
* forged callback data naming other people's things (another member's order, another farm's
  stock update) or a closed cycle, with ids that exist, generated with hypothesis: refused or
  answered as stale, and nothing changes;
* malformed text: NUL bytes, bidi overrides, BOMs, combining marks, callback data at the 64-byte
  limit and numbers Python reads but the routes must not (``0x10``, `` 1``, ``1e3``).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.invariants import check_invariants
from tests.reliability.support import (
    STALE,
    activity,
    build_world,
    replies_since,
    snapshot,
    translated,
)

EXAMPLES = 25
UPDATES_PER_EXAMPLE = 8  # 200 generated updates


@pytest.fixture
async def world(app, sandbox, session, clock):
    return await build_world(app, sandbox, session, clock)


def _user_json(user_id: int, name: str = "Mallory", language: str = "fr") -> dict:
    return {"id": user_id, "is_bot": False, "first_name": name, "language_code": language}


def unused_kinds(user_id: int) -> list[tuple[str, dict, bool]]:
    """(name, payload, whether a person in a private chat sent it)."""
    user = _user_json(user_id)
    private = {"id": user_id, "type": "private", "first_name": "Mallory"}
    channel = {"id": -100_123, "type": "channel", "title": "Canal"}
    group = {"id": -4_567, "type": "group", "title": "Groupe"}
    member = {
        "user": {"id": 1, "is_bot": True, "first_name": "Desserte"},
        "status": "kicked",
        "until_date": 0,
    }
    before = {**member, "status": "member"}
    poll = {
        "id": "p1",
        "question": "Tomates ?",
        "options": [
            {"persistent_id": "a", "text": "oui", "voter_count": 1},
            {"persistent_id": "b", "text": "non", "voter_count": 0},
        ],
        "total_voter_count": 1,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }
    return [
        (
            "my_chat_member (blocked)",
            {
                "my_chat_member": {
                    "chat": private,
                    "from": user,
                    "date": 1,
                    "old_chat_member": before,
                    "new_chat_member": member,
                }
            },
            False,
        ),
        (
            "my_chat_member (added to a group)",
            {
                "my_chat_member": {
                    "chat": group,
                    "from": user,
                    "date": 1,
                    "old_chat_member": member,
                    "new_chat_member": before,
                }
            },
            False,
        ),
        (
            "channel_post",
            {"channel_post": {"message_id": 1, "date": 1, "chat": channel, "text": "/start"}},
            False,
        ),
        (
            "edited_channel_post",
            {
                "edited_channel_post": {
                    "message_id": 1,
                    "date": 1,
                    "edit_date": 2,
                    "chat": channel,
                    "text": "/panier",
                }
            },
            False,
        ),
        ("poll", {"poll": poll}, False),
        (
            "poll_answer",
            {
                "poll_answer": {
                    "poll_id": "p1",
                    "user": user,
                    "option_ids": [0],
                    "option_persistent_ids": ["a"],
                }
            },
            False,
        ),
        (
            "inline_query",
            {"inline_query": {"id": "q1", "from": user, "query": "tomates", "offset": ""}},
            False,
        ),
        (
            "chosen_inline_result",
            {"chosen_inline_result": {"result_id": "r", "from": user, "query": "miel"}},
            False,
        ),
        (
            "chat_join_request",
            {
                "chat_join_request": {
                    "chat": group,
                    "from": user,
                    "user_chat_id": user_id,
                    "date": 1,
                }
            },
            False,
        ),
        (
            "message_reaction",
            {
                "message_reaction": {
                    "chat": private,
                    "message_id": 1,
                    "user": user,
                    "date": 1,
                    "old_reaction": [],
                    "new_reaction": [{"type": "emoji", "emoji": "👍"}],
                }
            },
            False,
        ),
        (
            "group message",
            {
                "message": {
                    "message_id": 5,
                    "date": 1,
                    "chat": group,
                    "from": user,
                    "text": "/panier",
                }
            },
            False,
        ),
        (
            "group command to the bot",
            {
                "message": {
                    "message_id": 6,
                    "date": 1,
                    "chat": group,
                    "from": user,
                    "text": "/cycle@desserte_bot",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 19}],
                }
            },
            False,
        ),
        (
            "contact",
            {
                "message": {
                    "message_id": 7,
                    "date": 1,
                    "chat": private,
                    "from": user,
                    "contact": {"phone_number": "+33600000000", "first_name": "X"},
                }
            },
            True,
        ),
        (
            "location",
            {
                "message": {
                    "message_id": 8,
                    "date": 1,
                    "chat": private,
                    "from": user,
                    "location": {"latitude": 46.58, "longitude": 0.34},
                }
            },
            True,
        ),
        (
            "sticker",
            {
                "message": {
                    "message_id": 9,
                    "date": 1,
                    "chat": private,
                    "from": user,
                    "sticker": {
                        "file_id": "s",
                        "file_unique_id": "s",
                        "type": "regular",
                        "width": 1,
                        "height": 1,
                        "is_animated": False,
                        "is_video": False,
                    },
                }
            },
            True,
        ),
        (
            "message from another bot",
            {
                "message": {
                    "message_id": 10,
                    "date": 1,
                    "chat": private,
                    "from": {"id": 777, "is_bot": True, "first_name": "Bot"},
                    "text": "/start",
                }
            },
            False,
        ),
    ]


async def test_updates_of_kinds_the_bot_does_not_use(app, sandbox, session, world):
    mallory = sandbox.user("Mallory", language="fr")
    await mallory.send("/start")
    others = list(world.people.values())
    kinds = unused_kinds(mallory.id)
    for name, payload, from_a_person in kinds:
        before = activity(mallory)
        watched = [activity(person) for person in others]
        await sandbox.deliver_raw(payload)
        await sandbox.idle()
        assert not world.errors, (name, world.errors)
        # Nobody else hears of it; a person writing in private gets an answer (or, for what
        # carries no request, nothing); channels, groups, polls and inline queries get nothing.
        assert [activity(person) for person in others] == watched, name
        if not from_a_person:
            assert activity(mallory) == before or name == "group message", name
    assert len(kinds) == 16
    await check_invariants(session)


async def test_malformed_text_and_data(app, sandbox, session, world):
    mallory = sandbox.user("Mallory", language="en")
    # (Lone surrogates are left out: Telegram only delivers valid UTF-8.)
    for text in (
        "\x00",
        "tomates\x00miel",
        "\u202emiel\u202c",
        "/start \x00",
        "/panier \x7f",
        "🍅" * 1000,
        "\U0010ffff",
        "\ufeff/aide",
        "m\u0301iel",
    ):
        before = activity(mallory)
        await mallory.send(text)
        assert not world.errors, (repr(text), world.errors)
        assert replies_since(mallory, before), repr(text)
    for data in (
        "cat:a:" + "9" * 58,
        "bsk:ok:\x00:\x00",
        "\ufffd",
        "ord:v:-0",
        "ord:v:0x10",
        "ord:v: 1",
        "ord:v:1e3",
        "::::",
        "ord:v:" + "1" * 40,
    ):
        before = activity(mallory)
        await mallory.press_data(data)
        assert not world.errors, (repr(data), world.errors)
        assert replies_since(mallory, before), repr(data)
    await check_invariants(session)


def _foreign(world) -> list[str]:
    """Buttons naming things that exist but are not the presser's, or a closed cycle's."""
    w = world
    return [
        f"ord:v:{w.bob_order_id}",
        f"ord:v:{w.bob_past_order_id}",
        f"stk:ok:{w.marie_update_id}",
        f"stk:fix:{w.marie_update_id}",
        f"stk:no:{w.marie_update_id}",
        f"stk:pick:{w.marie_update_id}:0:0",
        f"sht:ok:{w.marie_update_id}",
        f"sht:stk:{w.marie_update_id}",
        f"cat:a:{w.past_cycle_id}:{w.product_id}:1:0:0",
        f"cat:c:{w.past_cycle_id}:0:0",
        f"bsk:more:{w.past_cycle_id}:{w.product_id}",
        f"bsk:rm:{w.past_cycle_id}:{w.product_id}",
        f"bsk:empty!:{w.past_cycle_id}",
        f"bsk:ok:{w.past_cycle_id}:0",
        f"bsk:again:{w.past_cycle_id}",
        f"pck:set:{w.bob_order_id}:0:1",
        f"cyc:close!:{w.cycle_id}",
        f"bc:send:{w.draft_id}",
    ]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    presses=st.lists(
        st.tuples(st.integers(0, 17), st.sampled_from(["consumer", "other_farm", "stranger"])),
        min_size=UPDATES_PER_EXAMPLE,
        max_size=UPDATES_PER_EXAMPLE,
    )
)
async def test_forged_buttons_naming_other_peoples_things(app, sandbox, session, world, presses):
    foreign = _foreign(world)
    rng = random.Random(len(presses))
    for index, role in presses:
        if role == "stranger":
            person = world.stranger(sandbox, rng.choice(["fr", "en"]))
            await person.send("/start")
        else:
            person = world.people[role]
        before_state = await snapshot(session)
        watched = [activity(p) for key, p in world.people.items() if key != role]
        before = activity(person)
        await person.press_data(foreign[index])
        replies = replies_since(person, before)
        assert not world.errors, (role, foreign[index], world.errors)
        assert replies, (role, foreign[index])
        assert await snapshot(session) == before_state, (role, foreign[index])
        assert [activity(p) for key, p in world.people.items() if key != role] == watched
        # Another person's order is never shown: its total and lines stay private.
        if foreign[index].startswith("ord:v"):
            language = person.language_code or "fr"
            assert any(translated(STALE, language) in r for r in replies), replies
    await check_invariants(session)
