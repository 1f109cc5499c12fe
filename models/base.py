"""Declarative base, naming convention and the column types the domain relies on.

Quantities are stored as integer thousandths so that ``Decimal`` arithmetic is exact and the
atomic stock reservation (``ordered + :q <= offered``) compares integers on SQLite and PostgreSQL
alike. Times are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

QUANTITY_SCALE = 1000


class Base(DeclarativeBase):
    """Base of every entity; its metadata carries the stable constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Quantity(TypeDecorator[Decimal]):
    """A ``Decimal`` quantity (3 decimals) stored as an integer count of thousandths."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = (Decimal(value) * QUANTITY_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return normalize_quantity(Decimal(int(value)) / QUANTITY_SCALE)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        bound = self.process_bind_param(value, dialect)
        return "NULL" if bound is None else str(bound)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: desserte only stores timezone-aware times")
        utc: datetime = value.astimezone(UTC)
        return utc if dialect.name != "sqlite" else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        result: datetime = value
        if result.tzinfo is None:
            return result.replace(tzinfo=UTC)
        return result.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime


def normalize_quantity(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and never in exponent form (``Decimal('12')``)."""
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return normalized.quantize(Decimal(1))
    return normalized


def enum_values(enum_type: type[enum.StrEnum]) -> list[str]:
    """The stored values of a string enum (its values, not its member names)."""
    return [member.value for member in enum_type]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
