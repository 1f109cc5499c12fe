"""Collection rounds' planning: the solver is optimal where brute force can check it, keeps
capacities and farms' hours, and reads real road tables from an OSRM server."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from models.road_distances import (
    RoadDistanceError,
    haversine_m,
    osrm_matrix,
    straight_line_matrix,
)
from models.round_solver import DAY_MINUTES, solve

POITIERS = (46.5833, 0.3447)


def farms_around(rng: random.Random, count: int) -> list[tuple[float, float]]:
    return [
        (POITIERS[0] + rng.uniform(-0.4, 0.4), POITIERS[1] + rng.uniform(-0.6, 0.6))
        for _ in range(count)
    ]


def tour_length(metres, places) -> int:
    path = [0, *places, 0]
    return sum(metres[a][b] for a, b in itertools.pairwise(path))


def test_haversine_poitiers_to_lusignan() -> None:
    # About 23 km as the crow flies (the towns' centres).
    assert 21_000 < haversine_m(POITIERS, (46.4356, 0.1219)) < 25_000
    matrix = straight_line_matrix([POITIERS, (46.4356, 0.1219)], 1.3)
    assert matrix.metres[0][1] == round(haversine_m(POITIERS, (46.4356, 0.1219)) * 1.3)
    assert matrix.metres[0][0] == 0


@pytest.mark.parametrize("seed", range(12))
def test_the_round_is_optimal_on_instances_brute_force_can_check(seed: int) -> None:
    rng = random.Random(seed)
    count = 3 + seed % 7  # 3 to 9 stops
    points = [POITIERS, *farms_around(rng, count)]
    # An asymmetric road factor per leg, so that symmetry cannot hide a wrong direction.
    matrix = straight_line_matrix(points, 1.3)
    metres = [[m + (rng.randint(0, 3000) if m else 0) for m in row] for row in matrix.metres]
    solution = solve(
        metres,
        matrix.minutes,
        [10] * count,
        [(0, DAY_MINUTES)] * count,
        capacity=1000,
        vehicles=1,
    )
    assert solution.feasible
    (only,) = solution.rounds
    assert sorted(only.places) == list(range(1, count + 1))
    assert only.metres == tour_length(metres, only.places)
    best = min(tour_length(metres, order) for order in itertools.permutations(range(1, count + 1)))
    assert only.metres == best


def test_capacity_splits_the_farms_between_vehicles() -> None:
    rng = random.Random(7)
    points = [POITIERS, *farms_around(rng, 6)]
    matrix = straight_line_matrix(points, 1.3)
    solution = solve(
        matrix.metres,
        matrix.minutes,
        [100] * 6,
        [(0, DAY_MINUTES)] * 6,
        capacity=300,
        vehicles=3,
    )
    assert solution.feasible
    assert len(solution.rounds) >= 2
    assert all(len(r.places) <= 3 for r in solution.rounds)
    assert sorted(p for r in solution.rounds for p in r.places) == list(range(1, 7))
    # One vehicle cannot take it all: said, not hidden.
    alone = solve(
        matrix.metres, matrix.minutes, [100] * 6, [(0, DAY_MINUTES)] * 6, capacity=300, vehicles=1
    )
    assert not alone.feasible


def test_each_farm_is_reached_within_its_hours() -> None:
    rng = random.Random(11)
    points = [POITIERS, *farms_around(rng, 5)]
    matrix = straight_line_matrix(points, 1.3)
    # Farm 5 is ready first, farm 1 last: the shortest tour is not the one that keeps them.
    windows = [(660, 720), (0, DAY_MINUTES), (0, DAY_MINUTES), (0, DAY_MINUTES), (420, 450)]
    solution = solve(matrix.metres, matrix.minutes, [10] * 5, windows, capacity=1000, vehicles=1)
    assert solution.feasible
    (only,) = solution.rounds
    arrival = dict(zip(only.places, only.arrivals, strict=True))
    for place, (early, late) in enumerate(windows, start=1):
        assert early <= arrival[place] <= late
    assert only.places.index(5) < only.places.index(1)


class FakeOsrm(BaseHTTPRequestHandler):
    """Answers /table/v1/driving/... as OSRM does: distances and durations from the
    straight line × 1.5 at 60 km/h; records the paths asked."""

    paths: list[str] = []
    broken = False

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        if type(self).broken:
            self.send_response(500)
            self.end_headers()
            return
        coordinates = self.path.split("/table/v1/driving/")[1].split("?")[0]
        points = [
            (float(lat), float(lon))
            for lon, lat in (pair.split(",") for pair in coordinates.split(";"))
        ]
        distances = [[haversine_m(a, b) * 1.5 for b in points] for a in points]
        body = {
            "code": "Ok",
            "distances": distances,
            "durations": [[d / (60_000 / 3600) for d in row] for row in distances],
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osrm_server():
    FakeOsrm.paths = []
    FakeOsrm.broken = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_the_osrm_table_is_read_from_the_server(osrm_server) -> None:
    points = [POITIERS, (46.4356, 0.1219), (46.5686, 0.6458)]
    matrix = await osrm_matrix(osrm_server + "/", points)
    assert matrix.source == "osrm"
    (path,) = FakeOsrm.paths
    assert path.startswith("/table/v1/driving/0.344700,46.583300;0.121900,46.435600;")
    assert "annotations=distance%2Cduration" in path or "annotations=distance,duration" in path
    expected = round(haversine_m(points[0], points[1]) * 1.5)
    assert matrix.metres[0][1] == expected
    assert matrix.minutes[0][1] == -(-expected * 60 // 60_000)  # 60 km/h, rounded up
    FakeOsrm.broken = True
    with pytest.raises(RoadDistanceError):
        await osrm_matrix(osrm_server, points)


async def test_an_unreachable_osrm_server_is_an_error_not_a_hang() -> None:
    with pytest.raises(RoadDistanceError):
        await asyncio.wait_for(
            osrm_matrix("http://127.0.0.1:9", [POITIERS, (46.4356, 0.1219)], seconds=2), 10
        )
