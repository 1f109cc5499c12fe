"""The demo network (La Desserte Locale, Poitiers) shipped as package data.

Files: ``producers.csv``, ``catalog.csv`` and ``pickup_points.csv``, in the formats read by
:mod:`models.catalog_csv`, and ``catalog-decembre.csv``: the same producers' products of
December in the Poitou (no tomatoes, no salads: leeks, squash, celeriac, endives, capons…),
which ``desserte demo`` plays with. ``catalog.csv`` (every season at once) is what
``desserte load-demo``, the console and the tests load. ``DEMO_DIR`` is the folder holding them.
"""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
PRODUCERS_CSV = DEMO_DIR / "producers.csv"
CATALOG_CSV = DEMO_DIR / "catalog.csv"
PICKUP_POINTS_CSV = DEMO_DIR / "pickup_points.csv"
DECEMBER_CATALOG_CSV = DEMO_DIR / "catalog-decembre.csv"
