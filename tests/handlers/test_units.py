"""The names of unit measures: one per measure of the catalog, no more."""

from __future__ import annotations

from handlers.i18n import use_locale
from handlers.units import MEASURE_NAMES
from models.producer import UNIT_MEASURES


def test_every_unit_measure_has_a_name_and_only_those() -> None:
    assert tuple(MEASURE_NAMES) == UNIT_MEASURES
    with use_locale("fr"):
        assert MEASURE_NAMES["botte"](2) == "bottes"
    assert all(name(1) for name in MEASURE_NAMES.values())
