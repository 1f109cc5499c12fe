"""The outbox's pace (``handlers.delivery.Pacer``), slot by slot at given instants: the schedule
holds through late wake-ups, missed slots are not made up, a chat keeps its own pace."""

from __future__ import annotations

import asyncio

import pytest

from handlers.delivery import Pacer
from tests.reliability.workers import highest_pace


def pacer() -> Pacer:
    """Eight messages a second overall (one every 125 ms, exact in binary), one a second per
    chat, burst 3."""
    return Pacer(rate=8, per_chat=1, burst=3)


def test_slots_are_one_interval_apart() -> None:
    pace = pacer()
    assert pace.take(1, 0.0) == 0
    assert pace.take(2, 0.0) == 0.125
    assert pace.take(2, 0.125) == 0
    assert pace.take(3, 0.125) == 0.125


def test_a_late_wake_up_does_not_move_the_schedule_on() -> None:
    pace = pacer()
    now = 0.0
    assert pace.take(0, now) == 0
    for chat in range(1, 101):
        # Each sender sleeps until its slot and wakes 3 ms late, as event loops do.
        now += pace.take(chat, now) + 0.003
        assert pace.take(chat, now) == 0
    # 101 messages in 12.5 s and 3 ms: the pace held at eight a second, not 1 / 0.128.
    assert now == pytest.approx(12.503)


def test_a_slot_missed_while_every_sender_was_busy_is_not_made_up() -> None:
    pace = pacer()
    assert pace.take(1, 0.0) == 0
    # Nobody sent for five seconds: the next message goes now, the one after it a whole
    # interval later (no burst of the 39 slots missed).
    assert pace.take(2, 5.0) == 0
    assert pace.take(3, 5.0) == 0.125


def test_one_chat_keeps_its_own_pace_after_its_burst() -> None:
    pace = pacer()
    assert pace.take(7, 0.0) == 0
    assert pace.take(7, 0.125) == 0
    assert pace.take(7, 0.25) == 0  # three at the overall pace: the burst
    assert pace.take(7, 0.375) == 0.625  # then one a second: the fourth at 1.0
    assert pace.take(8, 0.375) == 0  # meanwhile other chats go on


async def test_a_held_chat_waits_out_its_retry_after_alone() -> None:
    pace = pacer()
    pace.hold(5, 2.0)
    now = asyncio.get_running_loop().time()
    assert pace.take(5, now) == pytest.approx(2.0, abs=0.01)
    assert pace.take(6, now) == 0


def _sent(pace: Pacer, lateness: dict[int, float], messages: int) -> list[float]:
    """When each of ``messages`` messages (one chat each) went out through one sender that
    sleeps until its slot and wakes ``lateness[chat]`` seconds late."""
    now, sent = 0.0, []
    for chat in range(messages):
        while (delay := pace.take(chat, now)) > 0:
            now += delay + lateness.get(chat, 0.0)
        sent.append(now)
    return sent


def test_a_late_message_followed_on_schedule_never_makes_more_than_the_limit_in_a_second() -> None:
    late = {1: 0.125 - 1 / 128}  # woken late by almost a whole interval
    # Keeping the schedule, the eight on-time messages after the late one fall within a
    # second of it: nine in one second at eight a second.
    unguarded = _sent(Pacer(rate=8, per_chat=1000, burst=3, in_any_second=1000), late, 20)
    assert highest_pace(unguarded) == 9
    guarded = _sent(Pacer(rate=8, per_chat=1000, burst=3, in_any_second=8), late, 20)
    assert highest_pace(guarded) == 8
    assert guarded[-1] - unguarded[-1] < 0.125  # held back for a moment, not slowed for good
