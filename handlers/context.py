"""What every handler can reach: the services, and this update's session and member.

The session and the member live in context variables set by :mod:`handlers.middleware` for the
duration of one update, so they are read through :class:`DesserteContext` properties.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot

from models import Member
from models.calendar import WeeklyCalendar
from models.members import is_admin
from models.network import DEFAULT_NETWORK_ID, DEFAULT_NETWORK_SLUG
from models.outbox import LEASE
from models.payments import PaymentTerms
from models.rounds import RoundSettings

if TYPE_CHECKING:
    from handlers.delivery import Delivery

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _new_delivery() -> Delivery:
    from handlers.delivery import Delivery  # the sender imports this module

    return Delivery()


@dataclass
class Backlog:
    """The updates that were already waiting for the bot when it started (after an
    interruption: a restart, a crash, a deploy).

    Telegram numbers updates one after the other and keeps them while the bot is away; at
    start-up ``getWebhookInfo`` says how many wait (``pending``), and they come first, from
    the lowest id. So an update was pending exactly when its id is below the first id seen
    after start-up plus ``pending``.
    """

    pending: int = 0
    """How many updates Telegram held when the application started."""
    first_id: int | None = None
    """The lowest update id seen since start-up (None before the first update)."""

    def saw(self, update_id: int) -> None:
        """Note an update received (the middleware calls it for every update)."""
        if self.first_id is None or update_id < self.first_id:
            self.first_id = update_id

    def was_pending(self, update_id: int) -> bool:
        """Whether the update with ``update_id`` was waiting when the application started."""
        return self.first_id is not None and update_id < self.first_id + self.pending


@dataclass
class Services:
    """The application's shared resources, stored once in ``bot_data``."""

    sessions: async_sessionmaker[AsyncSession]
    """Sessions of this application's network: they see and write its rows only."""
    network_id: int = DEFAULT_NETWORK_ID
    network_slug: str = DEFAULT_NETWORK_SLUG
    network_name: str = "La Desserte Locale"
    admin_ids: frozenset[int] = frozenset()
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    minimum_order_cents: int = 0
    commission_percent: Decimal = Decimal(0)
    """The network's commission on each producer's sales, in percent (producers' statements)."""
    clock: Callable[[], datetime] = _utcnow
    default_locale: str = "fr"
    team_contact: str | None = None
    """How to reach the network's team (a phone, an e-mail, an @username), shown as is."""
    payment_info: str | None = None
    """How and when consumers pay, as the organiser wrote it (None: the translated default)."""
    payment_info_en: str | None = None
    """The same for English-speaking members (None: ``payment_info``, else the default)."""
    calendar: WeeklyCalendar = field(default_factory=WeeklyCalendar.from_settings)
    stock_nudge: timedelta | None = timedelta(hours=24)
    """How long after the weekly prompt a producer who gave no stock is reminded (None: never)."""
    delivery: Delivery = field(default_factory=lambda: _new_delivery())
    engine: AsyncEngine | None = None
    owns_engine: bool = False
    reschedule: Callable[[AnyApplication], Awaitable[None]] | None = None
    """Plans the scheduler's jobs again (set when the scheduler is installed)."""
    wake: Callable[[AnyApplication], Awaitable[None]] | None = None
    """Asks the scheduler for a pass soon (what a person did may have made a step due)."""
    scheduler_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One scheduler pass at a time in this process (``models.worker_locks`` across workers)."""
    scheduler_tick: timedelta = timedelta(minutes=10)
    """The scheduler's safety-net pass: also how soon a worker takes over what a dead one left."""
    outbox_lease: timedelta = LEASE
    """How long a claimed outbox row may stay ``sending`` before it is taken as left by a dead
    process (``OUTBOX_LEASE_SECONDS``)."""
    rounds: RoundSettings = field(default_factory=RoundSettings)
    """The collection rounds' vehicles and distances (``ROUND_*``, ``ROAD_FACTOR``, ``OSRM_URL``)."""
    """One scheduler pass at a time in this process."""
    payments: PaymentTerms = field(default_factory=PaymentTerms)
    """How members pay (``PAYMENT_MODE``, the balance's overdraft, Telegram's provider token)."""
    backlog: Backlog = field(default_factory=Backlog)
    """The updates that waited while the bot was away (see :class:`Backlog`)."""

    def now(self) -> datetime:
        """The current time (simulated in the demo and the tests), timezone-aware."""
        return self.clock()


SERVICES_KEY = "services"

current_session: contextvars.ContextVar[AsyncSession | None] = contextvars.ContextVar(
    "current_session", default=None
)
current_member: contextvars.ContextVar[Member | None] = contextvars.ContextVar(
    "current_member", default=None
)


class DesserteContext(
    CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
):
    """PTB's callback context, plus ``services``, ``session`` and ``member``."""

    @property
    def services(self) -> Services:
        """The application's services."""
        return services_of(self.application)

    @property
    def session(self) -> AsyncSession:
        """This update's database session."""
        session = current_session.get()
        if session is None:
            raise RuntimeError("no database session: the update did not go through the middleware")
        return session

    @property
    def member(self) -> Member:
        """The member who sent this update."""
        member = current_member.get()
        if member is None:
            raise RuntimeError("no member for this update")
        return member

    @property
    def is_admin(self) -> bool:
        """Whether the member is an admin (by role or by ``ADMIN_IDS``)."""
        member = current_member.get()
        return member is not None and is_admin(member, self.services.admin_ids)


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The services stored in ``application.bot_data``."""
    services: Services = application.bot_data[SERVICES_KEY]
    return services
