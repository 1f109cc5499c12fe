"""Planning cycles from the weekly calendar, and the admin's changes to a cycle's times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.calendar import CycleTimes, WeeklyCalendar
from models.cycle import Cycle, CycleState
from models.cycles import create_cycle, lock_cycle, open_cycle, start_cycle
from models.errors import CycleClosed, DomainError
from models.unit_of_work import unit_of_work

PLANNED_AHEAD = 2


class CannotMove(DomainError):
    """The new time would break the cycle's order (close after pickup, close in the past…)."""

    code = "cannot_move"


class AnotherCycleOpen(DomainError):
    """Only one cycle is open at a time; ``cycle_id`` is the open one."""

    code = "another_cycle_open"


async def plan_cycles(
    session: AsyncSession, calendar: WeeklyCalendar, now: datetime, ahead: int = PLANNED_AHEAD
) -> list[Cycle]:
    """Create planned cycles from the calendar until ``ahead`` are planned after ``now``.

    New cycles open after the latest cycle's close (never in the past). Returns the cycles
    created; commits.
    """
    created: list[Cycle] = []
    async with unit_of_work(session):
        planned = await session.scalar(
            select(func.count(Cycle.id)).where(
                Cycle.state == CycleState.PLANNED, Cycle.opens_at > now
            )
        )
        latest_close = await session.scalar(select(func.max(Cycle.closes_at)))
        after = max(now, latest_close) if latest_close is not None else now
        for times in calendar.upcoming(after, max(0, ahead - int(planned or 0))):
            created.append(await _create(session, times))
    return created


async def plan_next_cycle(
    session: AsyncSession, calendar: WeeklyCalendar, now: datetime
) -> tuple[Cycle, bool]:
    """The next planned cycle, created from the calendar if none is planned; and whether it was
    created. Commits."""
    existing = await session.scalar(
        select(Cycle)
        .where(Cycle.state == CycleState.PLANNED, Cycle.opens_at > now)
        .order_by(Cycle.opens_at)
        .limit(1)
    )
    if existing is not None:
        await session.commit()
        return existing, False
    created = await plan_cycles(session, calendar, now, ahead=1)
    return created[0], True


async def _create(session: AsyncSession, times: CycleTimes) -> Cycle:
    return await create_cycle(
        session,
        opens_at=times.opens_at,
        closes_at=times.closes_at,
        pickup_starts_at=times.pickup_starts_at,
        pickup_ends_at=times.pickup_ends_at,
    )


async def open_now(session: AsyncSession, cycle_id: int, now: datetime) -> Cycle:
    """Open a planned cycle at once (its opening time becomes ``now``); commits.

    Refuses while another cycle is open (:class:`AnotherCycleOpen`), once the cycle is past
    (:class:`CycleClosed`), and when its close has already passed (:class:`CannotMove`).
    """
    async with unit_of_work(session):
        cycle = await lock_cycle(session, cycle_id)
        if cycle.state == CycleState.OPEN:
            return cycle
        if cycle.state != CycleState.PLANNED:
            raise CycleClosed(cycle_id=cycle_id, state=cycle.state.value)
        current = await open_cycle(session)
        if current is not None and current.id != cycle.id:
            raise AnotherCycleOpen(cycle_id=current.id)
        if cycle.closes_at <= now:
            raise CannotMove(cycle_id=cycle_id, closes_at=cycle.closes_at)
        if cycle.opens_at > now:
            cycle.opens_at = now
    await open_planned(session, cycle_id, now)
    return cycle


async def open_planned(session: AsyncSession, cycle_id: int, now: datetime) -> bool:
    """Open the planned cycle (offers for every product); False when it was not planned any
    more (opening twice opens once). Commits."""
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None:
        return False
    return await start_cycle(session, cycle, now)


async def extend_cycle(
    session: AsyncSession, cycle_id: int, delta: timedelta, now: datetime
) -> Cycle:
    """Move the cycle's close later by ``delta``; commits.

    Only a planned or open cycle moves; the close may not pass the start of the pickup
    (:class:`CannotMove`).
    """
    async with unit_of_work(session):
        cycle = await lock_cycle(session, cycle_id)
        if cycle.state not in (CycleState.PLANNED, CycleState.OPEN):
            raise CycleClosed(cycle_id=cycle_id, state=cycle.state.value)
        closes_at = cycle.closes_at + delta
        if closes_at > cycle.pickup_starts_at or closes_at <= max(now, cycle.opens_at):
            raise CannotMove(cycle_id=cycle_id, closes_at=closes_at)
        cycle.closes_at = closes_at
    return cycle


async def skip_missed(session: AsyncSession, now: datetime) -> list[Cycle]:
    """Mark ``skipped`` every planned cycle whose close has passed: the bot was down through its
    whole ordering window, so it never opened and never will. Returns the cycles this call
    skipped (by opening; a concurrent run skips each once). Commits."""
    skipped: list[Cycle] = []
    async with unit_of_work(session):
        ids = await session.scalars(
            select(Cycle.id)
            .where(Cycle.state == CycleState.PLANNED, Cycle.closes_at <= now)
            .order_by(Cycle.opens_at)
        )
        for cycle_id in list(ids):
            cycle = await lock_cycle(session, cycle_id)
            if cycle.state == CycleState.PLANNED:
                cycle.state = CycleState.SKIPPED
                skipped.append(cycle)
    return skipped


async def cycles_to_watch(session: AsyncSession) -> list[Cycle]:
    """Every cycle the scheduler may still have work for (planned, open, closed), by opening."""
    cycles = await session.scalars(
        select(Cycle)
        .where(Cycle.state.in_((CycleState.PLANNED, CycleState.OPEN, CycleState.CLOSED)))
        .order_by(Cycle.opens_at)
        .execution_options(populate_existing=True)
    )
    result = list(cycles)
    await session.commit()
    return result


async def admin_cycle(session: AsyncSession, now: datetime) -> Cycle | None:
    """The cycle the admin acts on: the open one, else the closed one whose pickup is still to
    come, else the next planned one, else the latest closed one."""
    cycle = await open_cycle(session)
    if cycle is None:
        cycle = await session.scalar(
            select(Cycle)
            .where(Cycle.state == CycleState.CLOSED, Cycle.pickup_ends_at > now)
            .order_by(Cycle.opens_at.desc())
            .limit(1)
        )
    if cycle is None:
        cycle = await session.scalar(
            select(Cycle).where(Cycle.state == CycleState.PLANNED).order_by(Cycle.opens_at).limit(1)
        )
    if cycle is None:
        cycle = await session.scalar(
            select(Cycle)
            .where(Cycle.state == CycleState.CLOSED)
            .order_by(Cycle.opens_at.desc())
            .limit(1)
        )
    await session.commit()
    return cycle


def upcoming_moments(
    calendar: WeeklyCalendar, cycles: Sequence[Cycle], now: datetime
) -> list[tuple[str, datetime]]:
    """The instants after ``now`` at which :func:`run_due_work` has something to do, each with
    a job name (the scheduler plans one job per instant)."""
    moments: list[tuple[str, datetime]] = []
    for cycle in cycles:
        prefix = f"cycle:{cycle.id}:"
        if cycle.state == CycleState.PLANNED:
            moments.append((prefix + "open", cycle.opens_at))
        delay = calendar.announce.delay
        if cycle.state in (CycleState.PLANNED, CycleState.OPEN) and delay is not None:
            opened = cycle.opened_at or cycle.opens_at
            moments.append((prefix + "announce", opened + delay))
        if cycle.state in (CycleState.PLANNED, CycleState.OPEN):
            moments += [
                (prefix + "remind:" + key, moment)
                for key, moment in calendar.reminder_moments(cycle.closes_at)
            ]
            moments.append((prefix + "close", cycle.closes_at))
        if cycle.state in (CycleState.PLANNED, CycleState.OPEN, CycleState.CLOSED):
            moments.append(
                (
                    prefix + "pickup",
                    calendar.pickup_reminder_at(cycle.closes_at, cycle.pickup_starts_at),
                )
            )
            moments.append((prefix + "delivered", cycle.pickup_ends_at))
    return sorted(
        ((name, moment) for name, moment in moments if moment > now), key=lambda item: item[1]
    )
