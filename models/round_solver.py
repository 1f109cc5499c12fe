"""The vehicle routing problem of a collection round, solved with PyVRP.

Place 0 is the depot, places 1..n the farms. Each farm has a load to pick up (whole kilos) and
an optional time window (minutes after local midnight); the vehicles (``vehicles`` of them,
``capacity`` kilos each) leave the depot and come back to it within the day. The solver is
PyVRP's hybrid genetic search, seeded (the same instance gives the same rounds), stopped after
``NO_IMPROVEMENT`` iterations without a better round or ``max_seconds``, whichever first.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

DAY_MINUTES = 24 * 60
NO_IMPROVEMENT = 2_000
MAX_SECONDS = 1.2


@dataclass(frozen=True)
class SolvedRound:
    """One vehicle's round: the farms' places in driving order (1-based, as in the matrix),
    the metres driven, when it leaves the depot and reaches each farm (minutes)."""

    places: list[int]
    metres: int
    start_minute: int
    arrivals: list[int]


@dataclass(frozen=True)
class Solution:
    """The rounds, and whether they keep every load and every farm's hours."""

    rounds: list[SolvedRound]
    feasible: bool


def solve(
    metres: Sequence[Sequence[int]],
    minutes: Sequence[Sequence[int]],
    loads: Sequence[int],
    windows: Sequence[tuple[int, int]],
    *,
    capacity: int,
    vehicles: int,
    service_minutes: int = 10,
    max_seconds: float = MAX_SECONDS,
    seed: int = 1,
) -> Solution:
    """The shortest rounds through every farm (``loads[k]``, ``windows[k]`` are farm k+1's).

    ``metres`` and ``minutes`` are square over the depot and the farms. With no farm, no round.
    """
    if not loads:
        return Solution([], True)
    # PyVRP loads numpy: imported when a round is planned, not when the bot starts.
    from pyvrp import Model
    from pyvrp.exceptions import PenaltyBoundWarning
    from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

    model = Model()
    places = [model.add_location(x=0, y=0)]
    depot = model.add_depot(places[0], tw_early=0, tw_late=DAY_MINUTES)
    model.add_vehicle_type(
        num_available=vehicles,
        capacity=[capacity],
        start_depot=depot,
        end_depot=depot,
        tw_early=0,
        tw_late=DAY_MINUTES,
    )
    for load, (early, late) in zip(loads, windows, strict=True):
        place = model.add_location(x=0, y=0)
        places.append(place)
        model.add_client(
            place,
            pickup=[load],
            service_duration=service_minutes,
            tw_early=early,
            tw_late=late,
        )
    for i, frm in enumerate(places):
        for j, to in enumerate(places):
            if i != j:
                model.add_edge(frm, to, distance=metres[i][j], duration=minutes[i][j])
    stop = MultipleCriteria([NoImprovement(NO_IMPROVEMENT), MaxRuntime(max_seconds)])
    with warnings.catch_warnings():
        # An instance with no feasible round warns; the caller hears it as ``feasible``.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = model.solve(stop=stop, seed=seed, display=False, collect_stats=False)
    rounds = []
    for route in result.best.routes():
        visits = [activity for activity in route.schedule() if activity.is_client()]
        rounds.append(
            SolvedRound(
                places=[activity.idx + 1 for activity in visits],  # idx counts the clients
                metres=int(route.distance()),
                start_minute=int(route.start_time()),
                arrivals=[int(activity.start_time) for activity in visits],
            )
        )
    return Solution(rounds, bool(result.is_feasible()))
