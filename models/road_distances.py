"""Distances and driving times between places, for the collection rounds.

By default nothing is fetched: the straight line (haversine) times a road factor (roads wind:
1.3 is the usual ratio in rural France), driven at an average speed. When the network runs an
OSRM server (``OSRM_URL``), its ``table`` service gives the real road distances and durations in
one request (:func:`osrm_matrix`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

EARTH_RADIUS_M = 6_371_008.8
"""The Earth's mean radius (IUGG), in metres."""
AVERAGE_SPEED_KMH = 50.0
"""The speed assumed on country roads when no road server gives durations."""

Point = tuple[float, float]
"""(latitude, longitude) in decimal degrees."""


class RoadDistanceError(Exception):
    """The road server could not give a table (unreachable, an error, an incomplete answer)."""


@dataclass(frozen=True)
class Matrix:
    """Square tables over the same places: ``metres[i][j]`` and ``minutes[i][j]`` from i to j."""

    metres: list[list[int]]
    minutes: list[list[int]]
    source: str
    """``straight_line`` or ``osrm``."""


def haversine_m(a: Point, b: Point) -> float:
    """The great-circle distance between two points, in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def straight_line_matrix(
    points: Sequence[Point], road_factor: float, speed_kmh: float = AVERAGE_SPEED_KMH
) -> Matrix:
    """The straight line × ``road_factor`` between every two points, in whole metres, and the
    minutes it takes at ``speed_kmh`` (rounded up)."""
    metres = [[round(haversine_m(a, b) * road_factor) for b in points] for a in points]
    per_minute = speed_kmh * 1000 / 60
    minutes = [[math.ceil(m / per_minute) for m in row] for row in metres]
    return Matrix(metres, minutes, "straight_line")


async def osrm_matrix(
    base_url: str,
    points: Sequence[Point],
    *,
    client: httpx.AsyncClient | None = None,
    seconds: float = 10.0,
) -> Matrix:
    """The road distances and durations between every two points from an OSRM server's
    ``/table/v1/driving`` service (waiting ``seconds`` at most). Raises :class:`RoadDistanceError` when it cannot."""
    coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
    url = f"{base_url.rstrip('/')}/table/v1/driving/{coordinates}"
    params = {"annotations": "distance,duration"}
    try:
        if client is None:
            async with httpx.AsyncClient(timeout=seconds) as own:
                response = await own.get(url, params=params)
        else:
            response = await client.get(url, params=params, timeout=seconds)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RoadDistanceError(str(exc)) from exc
    if not isinstance(body, dict) or body.get("code") != "Ok":
        code = body.get("code") if isinstance(body, dict) else None
        raise RoadDistanceError(f"OSRM answered {code!r}")
    distances: Any = body.get("distances")
    durations: Any = body.get("durations")
    size = len(points)
    try:
        metres = [[round(float(distances[i][j])) for j in range(size)] for i in range(size)]
        minutes = [
            [math.ceil(float(durations[i][j]) / 60) for j in range(size)] for i in range(size)
        ]
    except (TypeError, IndexError, KeyError, ValueError) as exc:
        # A null cell is a place OSRM could not reach by road.
        raise RoadDistanceError("incomplete OSRM table") from exc
    return Matrix(metres, minutes, "osrm")
