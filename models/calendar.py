"""The weekly calendar: when cycles open, close and are picked up, in the network's time zone.

Pure functions on the settings strings (``"fri 12:00"``, ``"tue 23:59"``, ``"thu 17:00-19:30"``,
``"24h,3h"``). Times are computed on the local wall clock and only then made aware, so a cycle
that spans a daylight-saving change still opens at 12:00 and closes at 23:59 local time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# On pickup day, consumers are reminded at this local time (or at the close, if later).
PICKUP_REMINDER_TIME = time(8, 0)

_WEEKLY = re.compile(r"^\s*(mon|tue|wed|thu|fri|sat|sun)\s+(\d{1,2}):(\d{2})\s*$")
_SLOT = re.compile(
    r"^\s*(mon|tue|wed|thu|fri|sat|sun)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$"
)
_DELAY = re.compile(r"^(\d+)(m|h|d)$")
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    """The night, local time, when no reminder goes out: after ``start`` and before ``end``
    (``21:00-08:00``: 21:00 and 08:00 themselves are allowed)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Whether a local time of day falls in the quiet hours."""
        if self.start < self.end:
            return self.start < moment < self.end
        return moment > self.start or moment < self.end


@dataclass(frozen=True)
class Announcement:
    """When consumers hear that ordering is open, after the producers were asked for stock:
    once ``share`` of the producers asked have given their stock, or ``delay`` after the
    opening, whichever comes first (either may be absent, not both)."""

    share: float | None = 0.5
    delay: timedelta | None = timedelta(hours=6)

    def due(self, opened_at: datetime, now: datetime, given: int, asked: int) -> bool:
        """Whether consumers should be told now; at once when no producer was asked."""
        if asked == 0:
            return True
        if self.share is not None and given >= self.share * asked:
            return True
        return self.delay is not None and now >= opened_at + self.delay


def parse_announcement(text: str) -> Announcement:
    """``"50%,6h"`` (whichever first), ``"70%"``, ``"6h"`` or ``"0h"`` (at the opening)."""
    share: float | None = None
    delay: timedelta | None = None
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        if part.endswith("%") and part[:-1].isdigit() and 0 < int(part[:-1]) <= 100:
            share = int(part[:-1]) / 100
        elif (match := _DELAY.match(part)) is not None:
            amount, unit = int(match.group(1)), match.group(2)
            delay = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
        else:
            raise CalendarError(f"{part!r}: expected a share like 50% or a delay like 6h")
    if share is None and delay is None:
        raise CalendarError(f"{text!r}: expected a share like 50%, a delay like 6h, or both")
    return Announcement(share, delay)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """``"21:00-08:00"`` → the quiet hours; ``""`` or ``"off"`` → none."""
    if text.strip().lower() in ("", "off", "none"):
        return None
    match = _QUIET.match(text)
    if match is None:
        raise CalendarError(f"{text!r}: expected hours like 21:00-08:00, or off")
    start = _clock(match[1], match[2], text)
    end = _clock(match[3], match[4], text)
    if start == end:
        raise CalendarError(f"{text!r}: the quiet hours start and end at the same time")
    return QuietHours(start, end)


class CalendarError(ValueError):
    """A calendar setting that does not read as a weekday and a time (or a delay)."""


@dataclass(frozen=True)
class WeeklyTime:
    """A weekday (0 = Monday) and a local time of day."""

    weekday: int
    at: time


@dataclass(frozen=True)
class PickupSlot:
    """The pickup weekday and its local window."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class CycleTimes:
    """The four instants of one cycle, timezone-aware (UTC)."""

    opens_at: datetime
    closes_at: datetime
    pickup_starts_at: datetime
    pickup_ends_at: datetime


def _clock(hours: str, minutes: str, text: str) -> time:
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise CalendarError(f"{text!r}: not a time of day") from None


def parse_weekly_time(text: str) -> WeeklyTime:
    """``"fri 12:00"`` → Friday, 12:00."""
    match = _WEEKLY.match(text.lower())
    if match is None:
        raise CalendarError(f"{text!r} is not like 'fri 12:00'")
    day, hours, minutes = match.groups()
    return WeeklyTime(WEEKDAYS.index(day), _clock(hours, minutes, text))


def parse_pickup(text: str) -> PickupSlot:
    """``"thu 17:00-19:30"`` → Thursday, 17:00 to 19:30."""
    match = _SLOT.match(text.lower())
    if match is None:
        raise CalendarError(f"{text!r} is not like 'thu 17:00-19:30'")
    day, h1, m1, h2, m2 = match.groups()
    start, end = _clock(h1, m1, text), _clock(h2, m2, text)
    if end <= start:
        raise CalendarError(f"{text!r}: the window ends before it starts")
    return PickupSlot(WEEKDAYS.index(day), start, end)


def parse_delays(text: str) -> tuple[timedelta, ...]:
    """``"24h,3h"`` → (24 h, 3 h), longest first, without duplicates."""
    delays: set[timedelta] = set()
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        match = _DELAY.match(part)
        if match is None:
            raise CalendarError(f"{part!r} is not a delay like 24h, 90m or 1d")
        amount, unit = int(match.group(1)), match.group(2)
        delay = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(days=amount)
        )
        if delay > timedelta(0):
            delays.add(delay)
    return tuple(sorted(delays, reverse=True))


def delay_key(delay: timedelta) -> str:
    """A stable short name for a reminder delay (``"1440m"`` for 24 h)."""
    return f"{int(delay.total_seconds() // 60)}m"


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``day`` at the wall-clock time ``at`` in ``tz``, as an aware UTC datetime.

    A wall-clock time skipped by a daylight-saving jump (02:30 on the last Sunday of March) comes
    out as the instant just after the jump.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _occurrences(after: datetime, weekday: int, at: time, tz: ZoneInfo) -> Iterator[datetime]:
    day = after.astimezone(tz).date()
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while True:
        yield local_moment(day, at, tz)
        day += timedelta(days=7)


def next_weekly(after: datetime, weekday: int, at: time, tz: ZoneInfo, *, strict: bool) -> datetime:
    """The first ``weekday`` at ``at`` (local) that is after ``after`` (or equal, unless
    ``strict``)."""
    for moment in _occurrences(after - timedelta(days=1), weekday, at, tz):
        if moment > after or (moment == after and not strict):
            return moment
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class WeeklyCalendar:
    """The network's week: opening, closing, pickup, and the reminders before close."""

    opens: WeeklyTime
    closes: WeeklyTime
    pickup: PickupSlot
    reminders: tuple[timedelta, ...]
    tz: ZoneInfo
    quiet: QuietHours | None = QuietHours(time(21, 0), time(8, 0))
    announce: Announcement = Announcement()

    @classmethod
    def from_settings(
        cls,
        *,
        cycle_opens: str = "fri 12:00",
        cycle_closes: str = "tue 23:59",
        pickup: str = "thu 17:00-19:30",
        reminders: str = "24h,3h",
        timezone: str | ZoneInfo = "Europe/Paris",
        quiet_hours: str = "21:00-08:00",
        announce: str = "50%,6h",
    ) -> WeeklyCalendar:
        """The calendar described by the settings strings (:class:`CalendarError` if wrong)."""
        return cls(
            opens=parse_weekly_time(cycle_opens),
            closes=parse_weekly_time(cycle_closes),
            pickup=parse_pickup(pickup),
            reminders=parse_delays(reminders),
            tz=timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone),
            quiet=parse_quiet_hours(quiet_hours),
            announce=parse_announcement(announce),
        )

    def cycle_opening_at(self, opens_at: datetime) -> CycleTimes:
        """A cycle opening at ``opens_at``: it closes at the next closing time after it, and is
        picked up at the next pickup window after the close."""
        closes_at = next_weekly(opens_at, self.closes.weekday, self.closes.at, self.tz, strict=True)
        pickup_starts_at = next_weekly(
            closes_at, self.pickup.weekday, self.pickup.start, self.tz, strict=False
        )
        pickup_day = pickup_starts_at.astimezone(self.tz).date()
        return CycleTimes(
            opens_at=opens_at.astimezone(UTC),
            closes_at=closes_at,
            pickup_starts_at=pickup_starts_at,
            pickup_ends_at=local_moment(pickup_day, self.pickup.end, self.tz),
        )

    def next_cycle(self, after: datetime) -> CycleTimes:
        """The first cycle of the calendar that opens at or after ``after``."""
        opens_at = next_weekly(after, self.opens.weekday, self.opens.at, self.tz, strict=False)
        return self.cycle_opening_at(opens_at)

    def upcoming(self, after: datetime, count: int) -> list[CycleTimes]:
        """The ``count`` next cycles opening at or after ``after``, one a week."""
        cycles: list[CycleTimes] = []
        moment = after
        for _ in range(count):
            times = self.next_cycle(moment)
            cycles.append(times)
            moment = times.opens_at + timedelta(seconds=1)
        return cycles

    def awake(self, moment: datetime) -> datetime:
        """``moment``, or when it falls in the quiet hours the evening before: the start of
        those quiet hours (a reminder due at 23:59 or 03:00 goes out at 21:00)."""
        if self.quiet is None:
            return moment
        local = moment.astimezone(self.tz)
        if not self.quiet.contains(local.time().replace(tzinfo=None)):
            return moment
        day = local.date()
        if self.quiet.start > self.quiet.end and local.time() < self.quiet.end:
            day -= timedelta(days=1)  # after midnight: the night began the evening before
        return local_moment(day, self.quiet.start, self.tz)

    def reminder_moments(self, closes_at: datetime) -> list[tuple[str, datetime]]:
        """The reminders before a close at ``closes_at``: (key, instant), earliest first, none
        in the quiet hours (see :meth:`awake`)."""
        return [(delay_key(delay), self.awake(closes_at - delay)) for delay in self.reminders]

    def pickup_reminder_at(self, closes_at: datetime, pickup_starts_at: datetime) -> datetime:
        """When consumers are reminded on pickup day: 08:00 local, never before the close nor
        after the pickup has started."""
        day = pickup_starts_at.astimezone(self.tz).date()
        moment = local_moment(day, PICKUP_REMINDER_TIME, self.tz)
        return self.awake(max(closes_at, min(moment, pickup_starts_at)))
