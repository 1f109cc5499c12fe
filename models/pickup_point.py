"""Pickup points: where consumers collect their orders."""

from __future__ import annotations

from datetime import time

from sqlalchemy import Boolean, Float, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.network import NetworkScoped


class PickupPoint(NetworkScoped, Base):
    """A place and a window on pickup day; a company point is joined by its invitation link."""

    __tablename__ = "pickup_point"
    __table_args__ = (UniqueConstraint("network_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    company: Mapped[str | None] = mapped_column(String(200))
    invite_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    window_start: Mapped[time] = mapped_column(Time)
    window_end: Mapped[time] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
