"""The weekly calendar: local wall-clock times hold across daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.calendar import (
    CalendarError,
    WeeklyCalendar,
    delay_key,
    parse_delays,
    parse_pickup,
    parse_weekly_time,
)

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def calendar() -> WeeklyCalendar:
    return WeeklyCalendar.from_settings(
        cycle_opens="fri 12:00",
        cycle_closes="tue 23:59",
        pickup="thu 17:00-19:30",
        reminders="24h,3h",
        timezone="Europe/Paris",
    )


def local(moment: datetime) -> tuple[int, int, int, int, int]:
    here = moment.astimezone(PARIS)
    return (here.month, here.day, here.hour, here.minute, here.weekday())


def test_parsing():
    assert parse_weekly_time("fri 12:00").weekday == 4
    assert parse_weekly_time(" TUE 23:59 ").at == time(23, 59)
    slot = parse_pickup("thu 17:00-19:30")
    assert (slot.weekday, slot.start, slot.end) == (3, time(17), time(19, 30))
    assert parse_delays("3h, 24h,90m,1d") == (
        timedelta(days=1),
        timedelta(hours=3),
        timedelta(minutes=90),
    )
    assert delay_key(timedelta(hours=24)) == "1440m"
    for wrong in ("friday 12:00", "fri 25:00", "fri"):
        with pytest.raises(CalendarError):
            parse_weekly_time(wrong)
    with pytest.raises(CalendarError):
        parse_pickup("thu 19:00-17:00")
    with pytest.raises(CalendarError):
        parse_delays("24 hours")


def test_an_ordinary_week(calendar):
    saturday = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    times = calendar.next_cycle(saturday)
    assert local(times.opens_at) == (12, 11, 12, 0, 4)
    assert local(times.closes_at) == (12, 15, 23, 59, 1)
    assert local(times.pickup_starts_at) == (12, 17, 17, 0, 3)
    assert local(times.pickup_ends_at) == (12, 17, 19, 30, 3)
    assert times.opens_at.tzinfo is not None


def test_exactly_at_opening_time_opens_now(calendar):
    friday_noon = datetime(2026, 12, 11, 12, 0, tzinfo=PARIS)
    assert calendar.next_cycle(friday_noon).opens_at == friday_noon


def test_spring_forward_keeps_wall_clock(calendar):
    # Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST, inside the cycle.
    times = calendar.next_cycle(datetime(2026, 3, 25, tzinfo=UTC))
    assert local(times.opens_at) == (3, 27, 12, 0, 4)
    assert times.opens_at == datetime(2026, 3, 27, 11, 0, tzinfo=UTC)  # UTC+1
    assert local(times.closes_at) == (3, 31, 23, 59, 1)
    assert times.closes_at == datetime(2026, 3, 31, 21, 59, tzinfo=UTC)  # UTC+2
    assert local(times.pickup_starts_at) == (4, 2, 17, 0, 3)
    # One hour less of real time than the wall clock says.
    assert times.closes_at - times.opens_at == timedelta(days=4, hours=10, minutes=59)


def test_fall_back_keeps_wall_clock(calendar):
    # Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET.
    times = calendar.next_cycle(datetime(2026, 10, 21, tzinfo=UTC))
    assert local(times.opens_at) == (10, 23, 12, 0, 4)
    assert times.opens_at == datetime(2026, 10, 23, 10, 0, tzinfo=UTC)  # UTC+2
    assert local(times.closes_at) == (10, 27, 23, 59, 1)
    assert times.closes_at == datetime(2026, 10, 27, 22, 59, tzinfo=UTC)  # UTC+1
    assert times.closes_at - times.opens_at == timedelta(days=4, hours=12, minutes=59)


def test_upcoming_cycles_cross_both_changes(calendar):
    weeks = calendar.upcoming(datetime(2026, 3, 1, tzinfo=UTC), 40)
    assert len(weeks) == 40
    for week in weeks:
        assert local(week.opens_at)[2:] == (12, 0, 4)
        assert local(week.closes_at)[2:] == (23, 59, 1)
        assert local(week.pickup_starts_at)[2:] == (17, 0, 3)
        assert local(week.pickup_ends_at)[2:] == (19, 30, 3)
        assert week.opens_at < week.closes_at <= week.pickup_starts_at < week.pickup_ends_at
    for before, after in itertools.pairwise(weeks):
        assert after.opens_at - before.opens_at in (
            timedelta(days=7),
            timedelta(days=7, hours=1),
            timedelta(days=7, hours=-1),
        )


def test_reminders_and_pickup_reminder(calendar):
    times = calendar.next_cycle(datetime(2026, 3, 25, tzinfo=UTC))
    moments = calendar.reminder_moments(times.closes_at)
    assert [key for key, _ in moments] == ["1440m", "180m"]
    # 24 h before Tuesday 23:59 is Monday 23:59, in the quiet hours: Monday 21:00 instead.
    assert local(moments[0][1]) == (3, 30, 21, 0, 0)
    assert local(moments[1][1])[2:4] == (20, 59)
    awake_all_night = WeeklyCalendar.from_settings(quiet_hours="off")
    moments = awake_all_night.reminder_moments(times.closes_at)
    assert moments[0][1] == times.closes_at - timedelta(hours=24)
    remind = calendar.pickup_reminder_at(times.closes_at, times.pickup_starts_at)
    assert local(remind) == (4, 2, 8, 0, 3)


@pytest.mark.parametrize(
    ("due", "sent"),
    [
        ((12, 14, 23, 59), (12, 14, 21, 0)),  # late evening: that evening at 21:00
        ((12, 15, 3, 0), (12, 14, 21, 0)),  # after midnight: the evening before
        ((12, 15, 7, 59), (12, 14, 21, 0)),
        ((12, 15, 8, 0), (12, 15, 8, 0)),  # 08:00 and 21:00 themselves are allowed
        ((12, 14, 21, 0), (12, 14, 21, 0)),
        ((12, 14, 14, 30), (12, 14, 14, 30)),
    ],
)
def test_no_reminder_in_the_quiet_hours(calendar, due, sent):
    month, day, hour, minute = due
    moment = datetime(2026, month, day, hour, minute, tzinfo=PARIS)
    assert local(calendar.awake(moment))[:4] == sent


def test_quiet_hours_setting():
    with pytest.raises(CalendarError):
        WeeklyCalendar.from_settings(quiet_hours="21h-8h")
    with pytest.raises(CalendarError):
        WeeklyCalendar.from_settings(quiet_hours="08:00-08:00")
    day_shift = WeeklyCalendar.from_settings(quiet_hours="12:00-14:00")
    noon = datetime(2026, 12, 14, 13, 0, tzinfo=PARIS)
    assert local(day_shift.awake(noon))[:4] == (12, 14, 12, 0)


def test_same_day_close_and_pickup():
    calendar = WeeklyCalendar.from_settings(
        cycle_opens="mon 08:00", cycle_closes="wed 10:00", pickup="wed 09:00-12:00"
    )
    times = calendar.next_cycle(datetime(2026, 12, 5, tzinfo=UTC))
    # The Wednesday window starts before the close: the pickup is the next week's.
    assert local(times.pickup_starts_at) == (12, 16, 9, 0, 2)
    assert calendar.pickup_reminder_at(times.closes_at, times.pickup_starts_at) <= (
        times.pickup_starts_at
    )
