"""The demo network (La Desserte Locale, Poitiers) shipped as package data.

Files: ``producers.csv``, ``catalog.csv`` and ``pickup_points.csv``, in the formats read by
:mod:`models.catalog_csv`. ``DEMO_DIR`` is the folder holding them.
"""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
PRODUCERS_CSV = DEMO_DIR / "producers.csv"
CATALOG_CSV = DEMO_DIR / "catalog.csv"
PICKUP_POINTS_CSV = DEMO_DIR / "pickup_points.csv"
