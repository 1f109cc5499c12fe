"""The rounds benchmark: planning the collection round through 40 farms around Poitiers.

Figures: ``seconds`` (the distance table and the solver, as at a close: straight lines × the
road factor, 3 vehicles of 600 kg, a third of the farms with hours), ``farms``, ``km`` (the
rounds) and ``direct_km`` (each farm to the depot and back: the baseline the rounds beat).
"""

from __future__ import annotations

import random
import time

from bench.common import BenchResult, Options

KEYS = ("seconds", "farms", "km", "direct_km")
FARMS = 40
POITIERS = (46.5833, 0.3447)


async def run(options: Options) -> BenchResult:
    """Plan one round set through :data:`FARMS` seeded farms (the scale does not shrink it:
    the goal is about 40 farms)."""
    from models.road_distances import straight_line_matrix
    from models.round_solver import DAY_MINUTES, solve

    rng = random.Random(40)
    farms = [
        (POITIERS[0] + rng.uniform(-0.45, 0.45), POITIERS[1] + rng.uniform(-0.65, 0.65))
        for _ in range(FARMS)
    ]
    loads = [rng.randint(5, 40) for _ in farms]
    windows = [
        (7 * 60 + rng.randint(0, 90), 14 * 60) if k % 3 == 0 else (7 * 60, DAY_MINUTES)
        for k in range(FARMS)
    ]
    started = time.perf_counter()
    matrix = straight_line_matrix([POITIERS, *farms], 1.3)
    solution = solve(matrix.metres, matrix.minutes, loads, windows, capacity=600, vehicles=3)
    elapsed = time.perf_counter() - started
    direct = sum(matrix.metres[0][k] + matrix.metres[k][0] for k in range(1, FARMS + 1))
    return BenchResult(
        name="rounds",
        figures={
            "seconds": round(elapsed, 3),
            "farms": FARMS,
            "km": round(sum(r.metres for r in solution.rounds) / 1000, 1),
            "direct_km": round(direct / 1000, 1),
        },
        note=(
            f"{len(solution.rounds)} vehicle(s), feasible={solution.feasible}, "
            f"scale {options.scale:g} ignored"
        ),
    )
