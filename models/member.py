"""Members: the Telegram users the bot knows, with their roles and preferences."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.network import NetworkScoped

if TYPE_CHECKING:
    from models.pickup_point import PickupPoint
    from models.producer import Producer

NOTIFICATION_KINDS = ("cycle_open", "close_reminder", "pickup_reminder", "events")


class Member(NetworkScoped, Base):
    """A person who talked to the bot: consumer by default, producer when linked, maybe admin."""

    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("network_id", "telegram_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    is_consumer: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_driver: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """Drives the collection rounds (joined through a driver's invitation)."""
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producer.id"), index=True)
    pickup_point_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_point.id"))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    notifications_off: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Company pickup points this member joined through their invitation link.
    joined_points: Mapped[list[int]] = mapped_column(JSON, default=list)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The phone number the member shared (Telegram's contact button), for the pickup lists.
    phone: Mapped[str | None] = mapped_column(String(32))
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When an admin blocked the member from ordering (None: they may order)."""
    # What the bot waits for the member to type next, by feature ("pickup_list": the list an
    # admin has in front of them…): in the database, so that any worker reads it.
    awaiting: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    producer: Mapped[Producer | None] = relationship(back_populates="members")
    pickup_point: Mapped[PickupPoint | None] = relationship()

    @property
    def display_name(self) -> str:
        """First and last name as a person would write them."""
        return display_name_of(self.first_name, self.last_name)

    @property
    def sort_name(self) -> str:
        """What pickup lists sort by: the surname when Telegram gave one, else the first name."""
        return sort_name_of(self.first_name, self.last_name)

    @property
    def roles(self) -> frozenset[str]:
        """The member's roles among consumer, producer and admin."""
        roles = set()
        if self.is_consumer:
            roles.add("consumer")
        if self.producer_id is not None:
            roles.add("producer")
        if self.is_admin:
            roles.add("admin")
        return frozenset(roles)


def display_name_of(first_name: str, last_name: str | None) -> str:
    """:attr:`Member.display_name` of these names (for rows read without the object)."""
    return " ".join(part for part in (first_name, last_name) if part)


def sort_name_of(first_name: str, last_name: str | None) -> str:
    """:attr:`Member.sort_name` of these names (for rows read without the object)."""
    return last_name or first_name
