"""Reading, validating and writing the network's CSV files (pure Python, no database).

Three formats, all UTF-8 (a BOM is accepted), comma-separated, with a header row:

* producers — ``slug,name,town,description,distance_km``, then the optional columns
  ``lat,lon,collected,ready_from,ready_until`` (the collection rounds: coordinates in decimal
  degrees, ``yes``/``no`` — ``oui``/``non`` — whether the round collects at the farm, and
  the hours it may)
* catalog — ``producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases``
  then the optional columns
  ``description,origin,farming,step,photo,name_en,description_en,max_per_person``
  and ``price_per_kg,estimated_kg`` (a weighed product: its price per kilo in euros and the
  estimated weight of one sale unit in kilos, both or neither; its ``price`` may then be left
  empty: it is the estimate, :func:`models.amounts.weighed_cents` of the two)
  and ``story,tip,recipe`` (a short story and a recipe tip shown on the card; a dish of the
  network's kitchen names its ingredients per sale unit, ``CAR-KG:0,4;POI-BOT:0,3``)
* pickup points — ``slug,name,address,kind,company,window_start,window_end``, then the
  optional ``lat,lon``

Every reader returns a list of frozen dataclasses, or rejects the WHOLE file by raising
:class:`CsvImportError`, whose ``errors`` lists every problem found as a :class:`RowError`
(1-based file line, the header being line 1; the column; a machine reason ``code``; ``params``
for the message). Turning codes into sentences is the translation layer's job: this module only
gives codes. Reason codes:

``bad_encoding``  the bytes are not UTF-8 (``line`` is where the first bad byte is)
``bad_header``    no header, a ``;``-separated file (``params["separator"] == ";"``), or a
                  column named twice (``params["column"]``)
``missing_column`` a required column is absent from the header (``column``)
``unknown_column`` the header names a column this format does not have (``column``)
``extra_values``  a row has more fields than the header
``missing_value`` a required cell is empty
``bad_price`` / ``negative_price`` / ``zero_price``  the price cell (``params["value"]``)
``bad_amount``    ``unit_amount`` is not a positive number (whole for pièce/botte)
``bad_unit_measure`` ``unit_measure`` is not one of :data:`UNIT_MEASURES`
``bad_step``      ``step`` is not a positive number
``bad_maximum``   ``max_per_person`` is not a positive number
``bad_sku`` / ``duplicate_sku`` (``params["first_line"]``)
``bad_slug`` / ``duplicate_slug`` (``params["first_line"]``)
``unknown_producer`` the catalog names a producer outside the given set
``bad_label``     a label is not a lowercase slug (``params["label"]``)
``bad_photo``     ``photo`` is neither an ``https://`` URL nor a Telegram file id
``bad_recipe``    ``recipe`` is not ``SKU:quantity`` items separated by ``;`` (a positive
                  quantity, 3 decimals at most, an ingredient named once, not the dish itself)
``unknown_ingredient`` / ``ingredient_is_dish`` (import) an ingredient's SKU is in neither the
                  file nor the database, or is itself a dish (``params["value"]``)
``bad_number``    ``distance_km`` is not a non-negative number
``bad_latitude`` / ``bad_longitude`` not a number, or outside -90..90 / -180..180; one of
                  ``lat`` and ``lon`` without the other is ``missing_value`` on the empty one
``bad_yes_no``    ``collected`` is neither yes/no nor oui/non
``bad_kind``      a pickup point's ``kind`` is neither ``public`` nor ``company``
``bad_time``      a window bound is not ``HH:MM`` (``17:00``, ``17h00`` and ``17h`` accepted)
``bad_window``    ``window_start`` is not before ``window_end`` (``ready_from``, ``ready_until``)
``too_long``      a cell is longer than its database column (``params["maximum"]`` characters)
``too_large``     a number past what its column holds (``params["maximum"]``): a price whose
                  line of :data:`models.ordering.MAX_LINE_QUANTITY` units would not fit an integer, a distance
                  past the integer range, a quantity past :data:`QUANTITY_MAX` (quantities are
                  stored as integer thousandths in a BigInteger), a step above
                  :data:`models.ordering.MAX_LINE_QUANTITY`
``estimate_too_large`` a weighed product's estimate (``estimated_kg`` × ``price_per_kg``) past
                  the highest price (``params["maximum"]``)
``too_precise``   a quantity (``unit_amount``, ``step``) with more than 3 decimals
``bad_character`` a cell holds a NUL character
``bad_csv``       the file cannot be read as CSV (a cell past the CSV reader's size limit)

Every limit is checked here, before anything is written, so that an import gives the same
answer on SQLite and PostgreSQL. Column lengths are read from the models' columns.
SKUs compare case-insensitively and are stored in capitals (``x-9`` is ``X-9``); slugs (and
the catalog's ``producer``) in lowercase.

Cells are trimmed, and a ``'`` that :mod:`models.cells` put before a formula character
is taken off (:func:`models.cells.read_cell`). Prices read ``3,20``, ``3.20``, ``3`` (an optional trailing ``€``) into
integer cents; ``3,2,0``, ``abc``, ``-1``, ``3,205`` are rejected. Decimal cells accept a comma
or a dot. Labels and aliases are separated by ``;``. An empty optional cell becomes ``None``.
:func:`write_catalog` writes the same format back; reading what it wrote gives equal rows.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import InstrumentedAttribute

from models.amounts import weighed_cents
from models.base import QUANTITY_SCALE
from models.cells import read_cell, spreadsheet_row
from models.ordering import MAX_LINE_QUANTITY
from models.pickup_point import PickupPoint
from models.producer import COUNTED_MEASURES, UNIT_MEASURES, Producer, Product

__all__ = [
    "CATALOG_COLUMNS",
    "INTEGER_MAX",
    "PICKUP_POINT_COLUMNS",
    "PRICE_MAX_CENTS",
    "PRODUCER_COLUMNS",
    "QUANTITY_MAX",
    "UNIT_MEASURES",
    "CsvImportError",
    "PickupPointRow",
    "ProducerRow",
    "ProductRow",
    "RowError",
    "format_decimal",
    "format_price",
    "format_recipe",
    "read_catalog",
    "read_pickup_points",
    "read_producers",
    "write_catalog",
]

_MEASURE_ALIASES = {"piece": "pièce", "pièces": "pièce", "pieces": "pièce", "bottes": "botte"}

PRODUCER_COLUMNS: tuple[str, ...] = (
    "slug",
    "name",
    "town",
    "description",
    "distance_km",
    "lat",
    "lon",
    "collected",
    "ready_from",
    "ready_until",
)
_PRODUCER_REQUIRED = ("slug", "name")

CATALOG_COLUMNS: tuple[str, ...] = (
    "producer",
    "sku",
    "name",
    "category",
    "sale_unit",
    "unit_amount",
    "unit_measure",
    "price",
    "labels",
    "aliases",
    "description",
    "origin",
    "farming",
    "step",
    "photo",
    "name_en",
    "description_en",
    "price_per_kg",
    "estimated_kg",
    "max_per_person",
    "story",
    "tip",
    "recipe",
)
_CATALOG_HEADER_REQUIRED = CATALOG_COLUMNS[:10]
_CATALOG_REQUIRED = (
    "producer",
    "sku",
    "name",
    "category",
    "sale_unit",
    "unit_amount",
    "unit_measure",
    "price",
)

PICKUP_POINT_COLUMNS: tuple[str, ...] = (
    "slug",
    "name",
    "address",
    "kind",
    "company",
    "window_start",
    "window_end",
    "lat",
    "lon",
)
_PICKUP_REQUIRED = ("slug", "name", "address", "kind")

_PRICE_RE = re.compile(r"^(?P<neg>-\s*)?(?P<int>\d+)(?:[.,](?P<frac>\d{1,2}))?\s*€?$")
_DECIMAL_RE = re.compile(r"^-?\d+(?:[.,]\d+)?$")
_SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_FILE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{20,}$")
"""A Telegram file id: the photo a producer sent in the chat, as the export writes it."""
_TIME_RE = re.compile(r"^(?P<h>\d{1,2})\s*[:hH]\s*(?P<m>\d{2})?$")

INTEGER_MAX = 2**31 - 1
"""The largest value of an ``Integer`` column on PostgreSQL (SQLite holds more)."""
PRICE_MAX_CENTS = INTEGER_MAX // int(MAX_LINE_QUANTITY)
"""The highest price per sale unit: a full line's total still fits an ``Integer``."""
QUANTITY_MAX = Decimal((2**63 - 1) // QUANTITY_SCALE)
"""The largest quantity a ``Quantity`` column holds (integer thousandths in a BigInteger)."""
_QUANTUM = Decimal(1) / QUANTITY_SCALE


def _length(column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]) -> int:
    length = getattr(column.property.columns[0].type, "length", None)
    assert isinstance(length, int), column
    return length


_PRODUCER_LENGTHS = {
    "slug": _length(Producer.slug),
    "name": _length(Producer.name),
    "town": _length(Producer.town),
}
_CATALOG_LENGTHS = {
    "producer": _length(Producer.slug),
    "sku": _length(Product.sku),
    "name": _length(Product.name),
    "category": _length(Product.category),
    "sale_unit": _length(Product.sale_unit),
    "origin": _length(Product.origin),
    "farming": _length(Product.farming),
    "photo": _length(Product.photo),
}
_PICKUP_LENGTHS = {
    "slug": _length(PickupPoint.slug),
    "name": _length(PickupPoint.name),
    "address": _length(PickupPoint.address),
    "company": _length(PickupPoint.company),
}


@dataclass(frozen=True)
class RowError:
    """One problem in an imported file: where (1-based ``line``, header = 1; ``column`` or
    None for the whole row/file), why (a machine ``code``) and ``params`` for the message."""

    line: int
    column: str | None
    code: str
    params: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column!r}" if self.column else "")
        extra = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{where}: {self.code}" + (f" ({extra})" if extra else "")


class CsvImportError(ValueError):
    """The file was rejected as a whole; ``errors`` lists every problem, sorted by line."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors: list[RowError] = sorted(errors, key=lambda e: (e.line, e.column or ""))
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{len(self.errors)} error(s) in CSV: {shown}{more}")


@dataclass(frozen=True)
class ProducerRow:
    """A producer line: ``distance_km`` is None when the cell is empty."""

    slug: str
    name: str
    town: str | None
    description: str | None
    distance_km: Decimal | None
    lat: float | None = None
    lon: float | None = None
    collected: bool = False
    ready_from: time | None = None
    ready_until: time | None = None


@dataclass(frozen=True)
class ProductRow:
    """A catalog line. ``price_cents`` is per sale unit; a sale unit (``sale_unit`` label, e.g.
    ``barquette``) holds ``unit_amount`` ``unit_measure`` (e.g. 250 g). ``step`` (in sale
    units) is None when not given."""

    producer: str
    sku: str
    name: str
    category: str
    sale_unit: str
    unit_amount: Decimal
    unit_measure: str
    price_cents: int
    labels: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str | None = None
    origin: str | None = None
    farming: str | None = None
    step: Decimal | None = None
    photo: str | None = None
    name_en: str | None = None
    description_en: str | None = None
    price_per_kg_cents: int | None = None
    estimated_kg: Decimal | None = None
    """A weighed product: its price per kilo and one sale unit's estimated weight in kilos."""
    max_per_person: Decimal | None = None
    story: str | None = None
    tip: str | None = None
    recipe: tuple[tuple[str, Decimal], ...] = ()
    """A dish's ingredients: (ingredient SKU, quantity per sale unit of the dish)."""
    line: int = field(default=0, compare=False)
    """The file line it was read from (0 when not read from a file)."""


@dataclass(frozen=True)
class PickupPointRow:
    """A pickup point line: ``kind`` is ``public`` or ``company`` (then ``company`` is set);
    the window bounds are naive local times, or None when not given."""

    slug: str
    name: str
    address: str
    kind: str
    company: str | None
    window_start: time | None
    window_end: time | None
    lat: float | None = None
    lon: float | None = None


# ---------------------------------------------------------------- low level

Source = str | bytes | os.PathLike[str]


def _load_text(source: Source) -> str:
    """Return the decoded text. ``bytes`` are file content; a ``PathLike`` is a file; a ``str``
    is CSV text when it holds a newline or names no existing file, else a file path."""
    data: bytes
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, str):
        if "\n" in source or not os.path.isfile(source):
            return source[1:] if source.startswith("\ufeff") else source
        data = Path(source).read_bytes()
    else:
        data = Path(source).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CsvImportError(
            [RowError(line, None, "bad_encoding", {"position": exc.start})]
        ) from None


def _records(
    source: Source,
    allowed: Sequence[str],
    required_columns: Sequence[str],
    errors: list[RowError],
) -> list[tuple[int, dict[str, str]]]:
    """Parse the header and rows. Returns ``(line, {column: trimmed value})`` for non-blank rows;
    header problems are appended to ``errors`` (and then no rows are returned)."""
    text = _load_text(source)
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    try:
        header_raw = next(reader)
    except StopIteration:
        errors.append(RowError(1, None, "bad_header", {"reason": "empty"}))
        return []
    except csv.Error:
        errors.append(RowError(1, None, "bad_csv"))
        return []
    header = [h.strip().lower() for h in header_raw]
    if len(header) == 1 and ";" in header[0]:
        errors.append(RowError(1, None, "bad_header", {"separator": ";"}))
        return []
    seen: set[str] = set()
    for name in header:
        if not name:
            continue
        if name in seen:
            errors.append(RowError(1, name, "bad_header", {"column": name}))
        elif name not in allowed:
            errors.append(RowError(1, name, "unknown_column", {"column": name}))
        seen.add(name)
    for name in required_columns:
        if name not in seen:
            errors.append(RowError(1, name, "missing_column", {"column": name}))
    if errors:
        return []
    rows: list[tuple[int, dict[str, str]]] = []
    previous_end = reader.line_num
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error:
            errors.append(RowError(previous_end + 1, None, "bad_csv"))
            return []
        start = previous_end + 1
        previous_end = reader.line_num
        values = [read_cell(v.strip()) for v in raw]
        if not any(values):
            continue
        if len(values) > len(header) and any(values[len(header) :]):
            errors.append(
                RowError(start, None, "extra_values", {"expected": len(header), "got": len(values)})
            )
            continue
        record = {name: (values[i] if i < len(values) else "") for i, name in enumerate(header)}
        record.pop("", None)
        rows.append((start, record))
    return rows


def _decimal(value: str) -> Decimal | None:
    if not _DECIMAL_RE.match(value):
        return None
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the regex already filters
        return None


def _price_cents(value: str) -> tuple[int | None, str | None]:
    """Return (cents, None) or (None, error code)."""
    match = _PRICE_RE.match(value)
    if not match:
        return None, "bad_price"
    if match["neg"]:
        return None, "negative_price"
    whole = match["int"].lstrip("0") or "0"
    if len(whole) > len(str(PRICE_MAX_CENTS)):
        return None, "too_large"
    frac = (match["frac"] or "").ljust(2, "0")
    cents = int(whole) * 100 + int(frac or "0")
    if cents == 0:
        return None, "zero_price"
    if cents > PRICE_MAX_CENTS:
        return None, "too_large"
    return cents, None


def _quantity_error(
    line: int, column: str, value: Decimal, raw: str, maximum: Decimal = QUANTITY_MAX
) -> RowError | None:
    """Why a positive quantity cannot be stored as it was written, or None."""
    if value > maximum:
        return RowError(
            line, column, "too_large", {"value": raw, "maximum": format_decimal(maximum)}
        )
    if value % _QUANTUM != 0:
        return RowError(line, column, "too_precise", {"value": raw, "decimals": 3})
    return None


def _parse_time(value: str) -> time | None:
    match = _TIME_RE.match(value)
    if not match:
        return None
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())


def _opt(value: str) -> str | None:
    return value or None


def _check_required(
    line: int, record: dict[str, str], required: Iterable[str], errors: list[RowError]
) -> bool:
    ok = True
    for name in required:
        if not record.get(name):
            errors.append(RowError(line, name, "missing_value", {}))
            ok = False
    return ok


def _check_cells(
    line: int, record: dict[str, str], lengths: dict[str, int], errors: list[RowError]
) -> None:
    """A NUL character anywhere, or a cell longer than its column, is an error."""
    for column, value in record.items():
        if "\x00" in value:
            errors.append(RowError(line, column, "bad_character"))
        elif column in lengths and len(value) > lengths[column]:
            errors.append(RowError(line, column, "too_long", {"maximum": lengths[column]}))


def _run(
    source: Source,
    allowed: Sequence[str],
    header_required: Sequence[str],
    lengths: dict[str, int],
    build: Callable[[int, dict[str, str], list[RowError]], object | None],
) -> list[object]:
    errors: list[RowError] = []
    records = _records(source, allowed, header_required, errors)
    out: list[object] = []
    for line, record in records:
        _check_cells(line, record, lengths, errors)
        item = build(line, record, errors)
        if item is not None:
            out.append(item)
    if errors:
        raise CsvImportError(errors)
    return out


def _check_slug(
    line: int, rec: dict[str, str], first_line: dict[str, int], errors: list[RowError]
) -> str:
    """The row's slug, in lowercase; a malformed one, or one already seen on an earlier line
    (in any case), is an error."""
    slug = rec.get("slug", "").lower()
    if slug and not _SLUG_RE.match(slug):
        errors.append(RowError(line, "slug", "bad_slug", {"value": slug}))
    elif slug in first_line:
        errors.append(
            RowError(
                line, "slug", "duplicate_slug", {"value": slug, "first_line": first_line[slug]}
            )
        )
    elif slug:
        first_line[slug] = line
    return slug


_YES = frozenset({"yes", "oui", "y", "o", "1", "true", "vrai"})
_NO = frozenset({"no", "non", "n", "0", "false", "faux"})


def _coordinates(
    line: int, rec: dict[str, str], errors: list[RowError]
) -> tuple[float | None, float | None]:
    """The row's ``lat, lon`` in decimal degrees (both or neither), errors appended."""
    values: dict[str, float | None] = {}
    for column, limit, code in (("lat", 90, "bad_latitude"), ("lon", 180, "bad_longitude")):
        raw = rec.get(column, "")
        number = _decimal(raw) if raw else None
        if raw and (number is None or abs(number) > limit):
            errors.append(RowError(line, column, code, {"value": raw}))
        values[column] = float(number) if number is not None and abs(number) <= limit else None
    for column, other in (("lat", "lon"), ("lon", "lat")):
        if rec.get(other, "") and not rec.get(column, ""):
            errors.append(RowError(line, column, "missing_value", {}))
    return values["lat"], values["lon"]


def _window(
    line: int, rec: dict[str, str], columns: tuple[str, str], errors: list[RowError]
) -> tuple[time | None, time | None]:
    """Two optional ``HH:MM`` bounds, the first before the second, errors appended."""
    bounds: list[time | None] = []
    for column in columns:
        raw = rec.get(column, "")
        bound = _parse_time(raw) if raw else None
        if raw and bound is None:
            errors.append(RowError(line, column, "bad_time", {"value": raw}))
        bounds.append(bound)
    start, end = bounds
    if start is not None and end is not None and start >= end:
        errors.append(RowError(line, columns[1], "bad_window", {}))
    return start, end


# ---------------------------------------------------------------- producers


def read_producers(text_or_path: Source) -> list[ProducerRow]:
    """Read a producers file; the caller gets one :class:`ProducerRow` per non-blank line, in
    file order, or :class:`CsvImportError` listing every bad line (nothing is returned then)."""
    first_line: dict[str, int] = {}

    def build(line: int, rec: dict[str, str], errors: list[RowError]) -> ProducerRow | None:
        n = len(errors)
        _check_required(line, rec, _PRODUCER_REQUIRED, errors)
        slug = _check_slug(line, rec, first_line, errors)
        distance: Decimal | None = None
        raw = rec.get("distance_km", "")
        if raw:
            distance = _decimal(raw)
            if distance is None or distance < 0:
                errors.append(RowError(line, "distance_km", "bad_number", {"value": raw}))
            elif distance > INTEGER_MAX:
                errors.append(
                    RowError(
                        line, "distance_km", "too_large", {"value": raw, "maximum": INTEGER_MAX}
                    )
                )
        lat, lon = _coordinates(line, rec, errors)
        raw = rec.get("collected", "").lower()
        if raw and raw not in _YES | _NO:
            errors.append(RowError(line, "collected", "bad_yes_no", {"value": rec["collected"]}))
        ready_from, ready_until = _window(line, rec, ("ready_from", "ready_until"), errors)
        if len(errors) > n:
            return None
        return ProducerRow(
            slug=slug,
            name=rec["name"],
            town=_opt(rec.get("town", "")),
            description=_opt(rec.get("description", "")),
            distance_km=distance,
            lat=lat,
            lon=lon,
            collected=raw in _YES,
            ready_from=ready_from,
            ready_until=ready_until,
        )

    rows = _run(text_or_path, PRODUCER_COLUMNS, _PRODUCER_REQUIRED, _PRODUCER_LENGTHS, build)
    return [r for r in rows if isinstance(r, ProducerRow)]


# ---------------------------------------------------------------- catalog


def read_catalog(
    text_or_path: Source, *, producers: Collection[str] | None = None
) -> list[ProductRow]:
    """Read a catalog file; the caller gets one :class:`ProductRow` per non-blank line, in file
    order, or :class:`CsvImportError` listing every bad line. When ``producers`` (a set of
    slugs) is given, a row naming another producer is an ``unknown_producer`` error."""
    first_line: dict[str, int] = {}

    def build(line: int, rec: dict[str, str], errors: list[RowError]) -> ProductRow | None:
        n = len(errors)
        weighed = bool(rec.get("price_per_kg", "") or rec.get("estimated_kg", ""))
        required = [c for c in _CATALOG_REQUIRED if not (weighed and c == "price")]
        if weighed:
            required += ["price_per_kg", "estimated_kg"]
        _check_required(line, rec, required, errors)
        producer = rec.get("producer", "").lower()
        if producer and producers is not None and producer not in producers:
            errors.append(RowError(line, "producer", "unknown_producer", {"value": producer}))
        sku = rec.get("sku", "").upper()
        if sku and not _SKU_RE.match(sku):
            errors.append(RowError(line, "sku", "bad_sku", {"value": sku}))
        elif sku in first_line:
            errors.append(
                RowError(
                    line, "sku", "duplicate_sku", {"value": sku, "first_line": first_line[sku]}
                )
            )
        elif sku:
            first_line[sku] = line
        price_cents: int | None = None
        raw_price = rec.get("price", "")
        if raw_price:
            price_cents, code = _price_cents(raw_price)
            if code == "too_large":
                maximum = format_price(PRICE_MAX_CENTS)
                errors.append(
                    RowError(line, "price", code, {"value": raw_price, "maximum": maximum})
                )
            elif code:
                errors.append(RowError(line, "price", code, {"value": raw_price}))
        per_kg_cents, estimated_kg = _weighed(line, rec, errors)
        if per_kg_cents is not None and estimated_kg is not None:
            price_cents = weighed_cents(estimated_kg, per_kg_cents)
            if price_cents > PRICE_MAX_CENTS:
                maximum = format_price(PRICE_MAX_CENTS)
                value = rec["estimated_kg"]
                errors.append(
                    RowError(
                        line,
                        "estimated_kg",
                        "estimate_too_large",
                        {"value": value, "maximum": maximum},
                    )
                )
        measure = rec.get("unit_measure", "")
        if measure:
            measure = measure.lower()
            measure = _MEASURE_ALIASES.get(measure, measure)
            if measure not in UNIT_MEASURES:
                errors.append(
                    RowError(
                        line, "unit_measure", "bad_unit_measure", {"value": rec["unit_measure"]}
                    )
                )
        amount: Decimal | None = None
        raw_amount = rec.get("unit_amount", "")
        if raw_amount:
            amount = _decimal(raw_amount)
            if (
                amount is None
                or amount <= 0
                or (measure in COUNTED_MEASURES and amount != amount.to_integral_value())
            ):
                errors.append(RowError(line, "unit_amount", "bad_amount", {"value": raw_amount}))
                amount = None
            elif problem := _quantity_error(line, "unit_amount", amount, raw_amount):
                errors.append(problem)
        step: Decimal | None = None
        raw_step = rec.get("step", "")
        if raw_step:
            step = _decimal(raw_step)
            if step is None or step <= 0:
                errors.append(RowError(line, "step", "bad_step", {"value": raw_step}))
            elif problem := _quantity_error(line, "step", step, raw_step, MAX_LINE_QUANTITY):
                errors.append(problem)
        per_person: Decimal | None = None
        raw_maximum = rec.get("max_per_person", "")
        if raw_maximum:
            per_person = _decimal(raw_maximum)
            if per_person is None or per_person <= 0:
                errors.append(
                    RowError(line, "max_per_person", "bad_maximum", {"value": raw_maximum})
                )
            elif problem := _quantity_error(
                line, "max_per_person", per_person, raw_maximum, MAX_LINE_QUANTITY
            ):
                errors.append(problem)
        labels = tuple(label.lower() for label in _split_list(rec.get("labels", "")))
        for label in labels:
            if not _LABEL_RE.match(label):
                errors.append(RowError(line, "labels", "bad_label", {"label": label}))
        photo = rec.get("photo", "")
        if photo and not (photo.startswith("https://") or _FILE_ID_RE.match(photo)):
            errors.append(RowError(line, "photo", "bad_photo", {"value": photo}))
        recipe = _recipe(line, rec.get("recipe", ""), sku, errors)
        if len(errors) > n or amount is None or price_cents is None:
            return None
        return ProductRow(
            producer=producer,
            sku=sku,
            name=rec["name"],
            category=rec["category"],
            sale_unit=rec["sale_unit"],
            unit_amount=amount,
            unit_measure=measure,
            price_cents=price_cents,
            labels=labels,
            aliases=_split_list(rec.get("aliases", "")),
            description=_opt(rec.get("description", "")),
            origin=_opt(rec.get("origin", "")),
            farming=_opt(rec.get("farming", "")),
            step=step,
            photo=_opt(photo),
            line=line,
            name_en=_opt(rec.get("name_en", "")),
            description_en=_opt(rec.get("description_en", "")),
            price_per_kg_cents=per_kg_cents,
            estimated_kg=estimated_kg,
            max_per_person=per_person,
            story=_opt(rec.get("story", "")),
            tip=_opt(rec.get("tip", "")),
            recipe=recipe,
        )

    rows = _run(text_or_path, CATALOG_COLUMNS, _CATALOG_HEADER_REQUIRED, _CATALOG_LENGTHS, build)
    return [r for r in rows if isinstance(r, ProductRow)]


def _weighed(
    line: int, rec: dict[str, str], errors: list[RowError]
) -> tuple[int | None, Decimal | None]:
    """A weighed product's price per kilo (cents) and estimated kilos, each None if absent or
    bad (a bad one is added to ``errors``)."""
    per_kg_cents: int | None = None
    raw = rec.get("price_per_kg", "")
    if raw:
        per_kg_cents, code = _price_cents(raw)
        if code == "too_large":
            maximum = format_price(PRICE_MAX_CENTS)
            errors.append(RowError(line, "price_per_kg", code, {"value": raw, "maximum": maximum}))
        elif code:
            errors.append(RowError(line, "price_per_kg", code, {"value": raw}))
    kilos: Decimal | None = None
    raw = rec.get("estimated_kg", "")
    if raw:
        kilos = _decimal(raw)
        if kilos is None or kilos <= 0:
            errors.append(RowError(line, "estimated_kg", "bad_amount", {"value": raw}))
            kilos = None
        elif problem := _quantity_error(line, "estimated_kg", kilos, raw):
            errors.append(problem)
            kilos = None
    return per_kg_cents, kilos


def _recipe(
    line: int, value: str, dish_sku: str, errors: list[RowError]
) -> tuple[tuple[str, Decimal], ...]:
    """A ``recipe`` cell read (``CAR-KG:0,4;POI-BOT:0,3``), or () with a ``bad_recipe``."""
    items: list[tuple[str, Decimal]] = []
    for part in _split_list(value):
        sku, _colon, raw = part.partition(":")
        sku = sku.strip().upper()
        quantity = _decimal(raw.strip())
        if (
            not _SKU_RE.match(sku)
            or quantity is None
            or quantity <= 0
            or quantity != quantity.quantize(_QUANTUM)
            or quantity > MAX_LINE_QUANTITY
            or sku == dish_sku
            or sku in (known for known, _q in items)
        ):
            errors.append(RowError(line, "recipe", "bad_recipe", {"value": part}))
            return ()
        items.append((sku, quantity))
    return tuple(items)


def format_recipe(recipe: Iterable[tuple[str, Decimal]]) -> str:
    """A recipe as its catalog cell: ``CAR-KG:0,4;POI-BOT:0,3``."""
    return ";".join(f"{sku}:{format_decimal(quantity)}" for sku, quantity in recipe)


def format_decimal(value: Decimal, *, comma: bool = True) -> str:
    """``Decimal('250')`` → ``'250'``, ``Decimal('0.50')`` → ``'0,5'`` (``'0.5'`` without comma)."""
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if comma else text


def format_price(cents: int) -> str:
    """``320`` → ``'3,20'``."""
    return f"{cents // 100},{cents % 100:02d}"


def write_catalog(rows: Iterable[ProductRow], stream: TextIO) -> None:
    """Write ``rows`` to ``stream`` in the catalog format (all columns, header first, comma
    decimals, ``;``-joined lists). :func:`read_catalog` on the output gives equal rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CATALOG_COLUMNS)
    for row in rows:
        writer.writerow(
            spreadsheet_row(
                [
                    row.producer,
                    row.sku,
                    row.name,
                    row.category,
                    row.sale_unit,
                    format_decimal(row.unit_amount),
                    row.unit_measure,
                    format_price(row.price_cents),
                    ";".join(row.labels),
                    ";".join(row.aliases),
                    row.description or "",
                    row.origin or "",
                    row.farming or "",
                    format_decimal(row.step) if row.step is not None else "",
                    row.photo or "",
                    row.name_en or "",
                    row.description_en or "",
                    "" if row.price_per_kg_cents is None else format_price(row.price_per_kg_cents),
                    "" if row.estimated_kg is None else format_decimal(row.estimated_kg),
                    format_decimal(row.max_per_person) if row.max_per_person is not None else "",
                    row.story or "",
                    row.tip or "",
                    format_recipe(row.recipe),
                ]
            )
        )


# ---------------------------------------------------------------- pickup points


def read_pickup_points(text_or_path: Source) -> list[PickupPointRow]:
    """Read a pickup points file; the caller gets one :class:`PickupPointRow` per non-blank
    line, in file order, or :class:`CsvImportError` listing every bad line."""
    first_line: dict[str, int] = {}

    def build(line: int, rec: dict[str, str], errors: list[RowError]) -> PickupPointRow | None:
        n = len(errors)
        _check_required(line, rec, _PICKUP_REQUIRED, errors)
        slug = _check_slug(line, rec, first_line, errors)
        kind = rec.get("kind", "").lower()
        company = rec.get("company", "")
        if kind and kind not in ("public", "company"):
            errors.append(RowError(line, "kind", "bad_kind", {"value": rec["kind"]}))
        elif kind == "company" and not company:
            errors.append(RowError(line, "company", "missing_value", {}))
        start, end = _window(line, rec, ("window_start", "window_end"), errors)
        lat, lon = _coordinates(line, rec, errors)
        if len(errors) > n:
            return None
        return PickupPointRow(
            slug=slug,
            name=rec["name"],
            address=rec["address"],
            kind=kind,
            company=_opt(company),
            window_start=start,
            window_end=end,
            lat=lat,
            lon=lon,
        )

    rows = _run(text_or_path, PICKUP_POINT_COLUMNS, _PICKUP_REQUIRED, _PICKUP_LENGTHS, build)
    return [r for r in rows if isinstance(r, PickupPointRow)]
