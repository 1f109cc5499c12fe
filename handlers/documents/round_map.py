"""A static picture of a cycle's collection rounds: the depot, the farms, the route lines,
numbered in driving order. No map tiles (nothing fetched): longitude and latitude on an
equirectangular projection scaled at the depot's latitude, so the shapes are true.

Drawn with matplotlib's object API on the Agg canvas, as :mod:`handlers.documents.chart`.
"""

from __future__ import annotations

import io
import math

from handlers.i18n import _
from models.rounds import RoundsPlan

ROUND_COLOURS = ("#2e7d32", "#1565c0", "#ef6c00", "#6a1b9a", "#c62828", "#00838f")


def round_map(plan: RoundsPlan) -> bytes:
    """A PNG of the plan's rounds (one colour per vehicle)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    depot = (plan.depot.lon or 0.0, plan.depot.lat or 0.0)
    figure = Figure(figsize=(8, 8), dpi=100)
    FigureCanvasAgg(figure)
    axis = figure.add_subplot()
    axis.set_aspect(1 / math.cos(math.radians(depot[1])))
    for index, collection_round in enumerate(plan.rounds):
        colour = ROUND_COLOURS[index % len(ROUND_COLOURS)]
        farms = [(s.producer.lon or 0.0, s.producer.lat or 0.0) for s in collection_round.stops]
        path = [depot, *farms, depot]
        axis.plot(
            [p[0] for p in path],
            [p[1] for p in path],
            color=colour,
            linewidth=2,
            marker="o",
            markersize=16,
            markerfacecolor="white",
            label=_("Tournée {number}").format(number=collection_round.vehicle),
            zorder=2,
        )
        for stop, (lon, lat) in zip(collection_round.stops, farms, strict=True):
            axis.annotate(
                str(stop.position),
                (lon, lat),
                ha="center",
                va="center",
                fontsize=9,
                fontweight="bold",
                color=colour,
                zorder=3,
            )
            axis.annotate(
                stop.producer.town or stop.producer.name,
                (lon, lat),
                xytext=(10, -14),
                textcoords="offset points",
                fontsize=8,
                zorder=3,
            )
    axis.plot(*depot, marker="s", markersize=14, color="black", zorder=4)
    axis.annotate(
        plan.depot.name, depot, xytext=(10, 8), textcoords="offset points", fontsize=9, zorder=4
    )
    axis.set_xlabel(_("longitude"))
    axis.set_ylabel(_("latitude"))
    axis.grid(alpha=0.3)
    axis.margins(0.12)
    axis.set_title(_("Tournées de collecte : {km} km").format(km=round(plan.distance_m / 1000)))
    if len(plan.rounds) > 1:
        axis.legend(loc="best")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
