"""Collection rounds: planned at the close, ticked by the driver on pickup day.

:func:`plan_rounds` plans a cycle's rounds once: from the depot (the first active public pickup
point with coordinates) through every collected farm (``Producer.collected``, with coordinates)
that has something ordered, its load the kilos of its purchase order, within its hours; the
vehicles and their capacity come from :class:`RoundSettings`, the distances from
:mod:`models.road_distances`, the rounds from :mod:`models.round_solver`. Each round also keeps
what the same farms would drive each to the depot and back (``direct_m``).

The driver (a member with ``is_driver``, joined by a single-use invitation) marks each stop
collected (:func:`mark_collected`) or reports what is missing (:func:`count_missing`, then
:func:`confirm_missing`, which applies it as the farm's shortage: :mod:`models.shortage`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.base import normalize_quantity
from models.collection_round import CollectionRound, DriverInvitation, RoundStop, StopStatus
from models.cycle import Cycle, CycleState
from models.cycles import lock_cycle
from models.errors import StaleAction
from models.member import Member
from models.pickup_point import PickupPoint
from models.producer import Producer, Product
from models.purchase_orders import purchase_orders
from models.road_distances import (
    Matrix,
    RoadDistanceError,
    osrm_matrix,
    straight_line_matrix,
)
from models.round_solver import DAY_MINUTES, solve
from models.shortage import ShortageReport, report_collection_shortage
from models.text import as_invitation_code
from models.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

DRIVER_PREFIX = "d-"
"""The deep-link payload's prefix of a driver's invitation (``/start d-CODE``)."""
KILOS_PER_MEASURE = {
    "g": Decimal("0.001"),
    "kg": Decimal(1),
    "ml": Decimal("0.001"),
    "cl": Decimal("0.01"),
    "l": Decimal(1),
    "pièce": Decimal("0.5"),
    "botte": Decimal("0.5"),
}
"""Kilos per unit measure: a litre counts as a kilo; a piece or a bunch as half a kilo (an
estimate: the catalog gives no weight for them)."""
EARLIEST_START = 7 * 60
"""The vehicles leave the depot at 07:00 at the earliest (minutes after local midnight)."""


@dataclass(frozen=True)
class RoundSettings:
    """The network's vehicles and how distances are measured (``ROUND_*``, ``ROAD_FACTOR``,
    ``OSRM_URL``)."""

    capacity_kg: int = 600
    vehicles: int = 1
    road_factor: float = 1.3
    osrm_url: str | None = None
    service_minutes: int = 10


@dataclass(frozen=True)
class RoundsPlan:
    """A cycle's rounds, with the kilometres against every farm driving to the depot and back."""

    depot: PickupPoint
    rounds: list[CollectionRound]

    @property
    def distance_m(self) -> int:
        """Metres the rounds drive."""
        return sum(r.distance_m for r in self.rounds)

    @property
    def direct_m(self) -> int:
        """Metres the same farms would drive, each to the depot and back."""
        return sum(r.direct_m for r in self.rounds)

    @property
    def feasible(self) -> bool:
        """Whether every load and every farm's hours are kept."""
        return all(r.feasible for r in self.rounds)


def kilos(quantity: Decimal, unit_amount: Decimal, unit_measure: str) -> Decimal:
    """The weight of ``quantity`` sale units of ``unit_amount`` ``unit_measure``, in kilos."""
    return quantity * unit_amount * KILOS_PER_MEASURE.get(unit_measure, Decimal(1))


def _minute(moment: time | None, default: int) -> int:
    return default if moment is None else moment.hour * 60 + moment.minute


async def depot(session: AsyncSession) -> PickupPoint | None:
    """The depot: the first active public pickup point with coordinates."""
    found: PickupPoint | None = await session.scalar(
        select(PickupPoint)
        .where(
            PickupPoint.active.is_(True),
            PickupPoint.is_public.is_(True),
            PickupPoint.lat.is_not(None),
            PickupPoint.lon.is_not(None),
        )
        .order_by(PickupPoint.id)
        .limit(1)
    )
    return found


async def _matrix(points: list[tuple[float, float]], settings: RoundSettings) -> Matrix:
    if settings.osrm_url:
        try:
            return await osrm_matrix(settings.osrm_url, points)
        except RoadDistanceError as exc:
            log.warning("OSRM table failed (%s): straight lines instead", exc)
    return straight_line_matrix(points, settings.road_factor)


async def cycle_rounds(session: AsyncSession, cycle_id: int) -> list[CollectionRound]:
    """The cycle's rounds in vehicle order, their stops and farms loaded."""
    return list(
        await session.scalars(
            select(CollectionRound)
            .where(CollectionRound.cycle_id == cycle_id)
            .options(selectinload(CollectionRound.stops).selectinload(RoundStop.producer))
            .order_by(CollectionRound.vehicle)
            .execution_options(populate_existing=True)
        )
    )


async def plan_rounds(
    session: AsyncSession, cycle_id: int, settings: RoundSettings
) -> RoundsPlan | None:
    """The cycle's rounds, planned now the first time (later calls give the same rounds).
    None when there is no depot with coordinates or no collected farm with an order. Commits."""
    place = await depot(session)
    if place is None:
        await session.commit()
        return None
    existing = await cycle_rounds(session, cycle_id)
    if existing:
        await session.commit()
        return RoundsPlan(place, existing)
    loads = await _farm_loads(session, cycle_id)
    farms = list(
        await session.scalars(
            select(Producer)
            .where(
                Producer.id.in_(loads),
                Producer.collected.is_(True),
                Producer.lat.is_not(None),
                Producer.lon.is_not(None),
            )
            .order_by(Producer.id)
        )
    )
    await session.commit()
    if not farms:
        return None
    points = [(place.lat or 0.0, place.lon or 0.0)] + [(f.lat or 0.0, f.lon or 0.0) for f in farms]
    matrix = await _matrix(points, settings)
    solution = await asyncio.to_thread(
        solve,
        matrix.metres,
        matrix.minutes,
        [math.ceil(loads[f.id]) for f in farms],
        [
            (_minute(f.ready_from, EARLIEST_START), _minute(f.ready_until, DAY_MINUTES))
            for f in farms
        ],
        capacity=settings.capacity_kg,
        vehicles=settings.vehicles,
        service_minutes=settings.service_minutes,
    )
    async with unit_of_work(session):
        # Two closes at once (two admins, two workers): the cycle's lock lets one write the
        # rounds; the other finds them once it has the lock.
        await lock_cycle(session, cycle_id)
        if await cycle_rounds(session, cycle_id):  # planned meanwhile by another pass
            return RoundsPlan(place, await cycle_rounds(session, cycle_id))
        for vehicle, solved in enumerate(solution.rounds, start=1):
            collection_round = CollectionRound(
                cycle_id=cycle_id,
                vehicle=vehicle,
                distance_m=solved.metres,
                direct_m=sum(matrix.metres[0][k] + matrix.metres[k][0] for k in solved.places),
                start_minute=solved.start_minute,
                feasible=solution.feasible,
            )
            session.add(collection_round)
            for position, (k, arrival) in enumerate(
                zip(solved.places, solved.arrivals, strict=True), start=1
            ):
                farm = farms[k - 1]
                session.add(
                    RoundStop(
                        round=collection_round,
                        position=position,
                        producer_id=farm.id,
                        load_kg=normalize_quantity(loads[farm.id]),
                        arrival_minute=arrival,
                        missing={},
                    )
                )
        await session.flush()
    return RoundsPlan(place, await cycle_rounds(session, cycle_id))


async def _farm_loads(session: AsyncSession, cycle_id: int) -> dict[int, Decimal]:
    """Kilos to collect per producer with something ordered in the cycle."""
    orders = await purchase_orders(session, cycle_id)
    ids = {line.product_id for order in orders for line in order.lines}
    products = {p.id: p for p in await session.scalars(select(Product).where(Product.id.in_(ids)))}
    loads: dict[int, Decimal] = {}
    for order in orders:
        loads[order.producer_id] = sum(
            (
                kilos(
                    line.quantity,
                    products[line.product_id].unit_amount,
                    products[line.product_id].unit_measure,
                )
                for line in order.lines
            ),
            Decimal(0),
        )
    return loads


# -- the driver ----------------------------------------------------------------------------


async def driver_invitation(session: AsyncSession) -> str:
    """A new single-use code for a driver's invitation link. Commits."""
    code = secrets.token_urlsafe(9)
    async with unit_of_work(session):
        session.add(DriverInvitation(code=code))
    return code


async def accept_driver_invitation(session: AsyncSession, member: Member, code: str) -> None:
    """Make ``member`` a driver with the invitation ``code``, used once. Raises
    :class:`StaleAction` when it is unknown or was used by someone else. Commits."""
    if as_invitation_code(code) is None:
        raise StaleAction(code="invalid")
    async with unit_of_work(session):
        used = await session.execute(
            update(DriverInvitation)
            .where(DriverInvitation.code == code, DriverInvitation.used_by.is_(None))
            .values(used_by=member.id)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            again = await session.scalar(
                select(DriverInvitation.id).where(
                    DriverInvitation.code == code, DriverInvitation.used_by == member.id
                )
            )
            if again is None:
                raise StaleAction(code=code)
        member.is_driver = True


async def drivers(session: AsyncSession) -> list[Member]:
    """The reachable drivers, by id."""
    return list(
        await session.scalars(
            select(Member)
            .where(Member.is_driver.is_(True), Member.reachable.is_(True))
            .order_by(Member.id)
        )
    )


async def round_stop(session: AsyncSession, stop_id: int) -> RoundStop | None:
    """The stop read afresh, its round and farm loaded (None: unknown)."""
    stop: RoundStop | None = await session.get(
        RoundStop,
        stop_id,
        populate_existing=True,
        options=[selectinload(RoundStop.round), selectinload(RoundStop.producer)],
    )
    return stop


async def _stop_of_closed_cycle(session: AsyncSession, stop_id: int) -> tuple[RoundStop, Cycle]:
    stop = await round_stop(session, stop_id)
    cycle = await session.get(Cycle, stop.round.cycle_id) if stop is not None else None
    if stop is None or cycle is None or cycle.state != CycleState.CLOSED:
        raise StaleAction(stop_id=stop_id)
    return stop, cycle


async def mark_collected(session: AsyncSession, driver: Member, stop_id: int) -> RoundStop:
    """The stop is collected in full. Raises :class:`StaleAction` when the member is no
    driver, the stop unknown or already reported short, or its cycle no longer closed."""
    async with unit_of_work(session):
        stop, _cycle = await _stop_of_closed_cycle(session, stop_id)
        if not driver.is_driver or stop.status == StopStatus.SHORT:
            raise StaleAction(stop_id=stop_id)
        stop.status = StopStatus.COLLECTED
        stop.missing = {}
    return stop


async def count_missing(
    session: AsyncSession, driver: Member, stop_id: int, product_id: int
) -> RoundStop:
    """One more sale unit of ``product_id`` missing at the stop (up to what was ordered;
    ``product_id`` 0 starts the count afresh). Raises :class:`StaleAction` as
    :func:`mark_collected` does, or for a product not on the stop's purchase order."""
    async with unit_of_work(session):
        stop, _cycle = await _stop_of_closed_cycle(session, stop_id)
        if not driver.is_driver or stop.status != StopStatus.PENDING:
            raise StaleAction(stop_id=stop_id)
        if product_id == 0:
            stop.missing = {}
            return stop
        ordered = await stop_lines(session, stop.round.cycle_id, stop.producer_id)
        line = next((line for line in ordered if line[0].id == product_id), None)
        if line is None:
            raise StaleAction(product_id=product_id)
        missing = dict(stop.missing or {})
        now_missing = min(Decimal(missing.get(str(product_id), "0")) + line[0].step, line[1])
        missing[str(product_id)] = str(normalize_quantity(now_missing))
        stop.missing = missing
    return stop


async def stop_lines(
    session: AsyncSession, cycle_id: int, producer_id: int
) -> list[tuple[Product, Decimal]]:
    """What to collect at a farm: each product of its purchase order for the cycle and its
    quantity in sale units, by name."""
    orders = await purchase_orders(session, cycle_id, producer_id)
    totals: dict[int, Decimal] = {}
    for order in orders:
        for line in order.lines:
            totals[line.product_id] = totals.get(line.product_id, Decimal(0)) + line.quantity
    products = await session.scalars(select(Product).where(Product.id.in_(totals)))
    return sorted(((p, totals[p.id]) for p in products), key=lambda item: item[0].name)


async def confirm_missing(
    session: AsyncSession, driver: Member, stop_id: int, text: str, now: datetime
) -> tuple[RoundStop, ShortageReport]:
    """Apply the stop's counted difference as the farm's shortage (orders shrink
    first-confirmed first-served) and mark the stop short. ``text`` says the difference as
    the driver saw it. Raises :class:`StaleAction` as :func:`mark_collected` does, or when
    nothing was counted."""
    async with unit_of_work(session):
        stop, cycle = await _stop_of_closed_cycle(session, stop_id)
        missing = {int(k): Decimal(v) for k, v in (stop.missing or {}).items() if Decimal(v) > 0}
        if not driver.is_driver or stop.status != StopStatus.PENDING or not missing:
            raise StaleAction(stop_id=stop_id)
        report = await report_collection_shortage(
            session, driver, stop.producer_id, cycle.id, missing, text, now
        )
        stop.status = StopStatus.SHORT
    return stop, report
