"""Typed settings read from the environment and an optional ``.env`` file.

``load_settings()`` gives a validated :class:`Settings`; a wrong value stops start-up with one
clear line naming the variable (:class:`SettingsError`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from models.calendar import CalendarError, parse_announcement, parse_delays, parse_quiet_hours
from models.payment import PaymentMode
from models.payments import PaymentTerms

SUPPORTED_LOCALES = ("fr", "en")
PAYMENT_CURRENCIES = frozenset({"EUR", "CHF", "GBP", "USD", "CAD"})
"""The currencies with two decimals desserte invoices in (all taken by Telegram Payments)."""
_WEEKDAY_TIME = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+\d{1,2}:\d{2}(-\d{1,2}:\d{2})?$")


class SettingsError(Exception):
    """A setting has a wrong value; ``str()`` is the one line to show the operator."""


class Settings(BaseSettings):
    """Everything desserte reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = None
    database_url: str = Field(
        default_factory=lambda: f"sqlite+aiosqlite:///{Path.cwd() / 'desserte.sqlite3'}"
    )
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    timezone: str = "Europe/Paris"
    default_locale: str = "fr"
    network_name: str = "La Desserte Locale"
    minimum_order_cents: int = Field(default=0, ge=0)
    cycle_opens: str = "fri 12:00"
    cycle_closes: str = "tue 23:59"
    pickup: str = "thu 17:00-19:30"
    reminders: str = "24h,3h"
    quiet_hours: str = "21:00-08:00"
    announce: str = "50%,6h"
    stock_nudge: str = "24h"
    team_contact: str | None = None
    payment_info: str | None = None
    payment_info_en: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    round_capacity_kg: int = Field(default=600, ge=1)
    round_vehicles: int = Field(default=1, ge=1, le=50)
    road_factor: float = Field(default=1.3, ge=1.0, le=5.0)
    osrm_url: str | None = None
    commission_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)
    outbox_lease_seconds: int = Field(default=90, ge=5, le=3600)
    scheduler_tick_seconds: int = Field(default=600, ge=1, le=86_400)
    networks_file: Path | None = None
    """A TOML file describing the deployment's networks (:mod:`bot.networks`)."""
    payment_mode: PaymentMode = PaymentMode.AT_PICKUP
    balance_overdraft_cents: int = Field(default=0, ge=0, le=1_000_000)
    payment_provider_token: str | None = None
    payment_currency: str = "EUR"

    @field_validator("payment_mode", mode="before")
    @classmethod
    def _check_payment_mode(cls, value: object) -> object:
        modes = [mode.value for mode in PaymentMode]
        if isinstance(value, str) and value.strip().lower() not in modes:
            raise ValueError(f"{value!r} is not one of {', '.join(modes)}")
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("payment_currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in PAYMENT_CURRENCIES:
            raise ValueError(f"{value!r} is not a currency Telegram Payments takes (e.g. EUR)")
        return value

    @model_validator(mode="after")
    def _online_needs_a_token(self) -> Settings:
        if self.payment_mode == PaymentMode.ONLINE and not (self.payment_provider_token or ""):
            raise ValueError("PAYMENT_PROVIDER_TOKEN is needed when PAYMENT_MODE is online")
        return self

    @property
    def payment_terms(self) -> PaymentTerms:
        """How members pay, as the domain reads it."""
        return PaymentTerms(
            mode=self.payment_mode,
            overdraft_cents=self.balance_overdraft_cents,
            provider_token=self.payment_provider_token or None,
            currency=self.payment_currency,
        )

    @field_validator("telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
            raise ValueError(f"{value!r} is not a server root like https://api.telegram.org")
        if re.search(r"/bot[^/]*$", value):
            raise ValueError(f"{value!r}: give the server's root, without /bot")
        return value

    @field_validator("osrm_url")
    @classmethod
    def _check_osrm_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
            raise ValueError(f"{value!r} is not a server root like http://127.0.0.1:5000")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: str | None) -> str | None:
        # Telegram's rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("1 to 256 characters among A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("team_contact", "payment_info", "payment_info_en")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value) > 500:
            raise ValueError("is longer than 500 characters")
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc})") from None
        if url.drivername not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
            raise ValueError(
                f"driver {url.drivername!r} is not supported; use sqlite+aiosqlite:/// or "
                "postgresql+asyncpg://"
            )
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> tuple[int, ...]:
        if value is None or value == "":
            return ()
        if isinstance(value, int):
            return (value,)
        if isinstance(value, list | tuple):
            items = [str(v) for v in value]
        else:
            items = [part for part in re.split(r"[,\s]+", str(value)) if part]
        ids = []
        for item in items:
            if not re.fullmatch(r"-?\d+", item):
                raise ValueError(f"{item!r} is not a numeric Telegram user id")
            ids.append(int(item))
        return tuple(ids)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known time zone (e.g. Europe/Paris)") from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"{value!r} is not one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("cycle_opens", "cycle_closes", "pickup")
    @classmethod
    def _check_weekday_time(cls, value: str) -> str:
        value = value.strip().lower()
        if not _WEEKDAY_TIME.match(value):
            raise ValueError(f"{value!r} is not like 'fri 12:00' (or 'thu 17:00-19:30')")
        return value

    @field_validator("stock_nudge")
    @classmethod
    def _check_stock_nudge(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("", "off") and not re.fullmatch(r"\d+(h|m|d)", value):
            raise ValueError(f"{value!r} is not a delay like 24h, 90m or 1d (or off)")
        return value

    @property
    def stock_nudge_delay(self) -> timedelta | None:
        """How long after the weekly prompt a producer without stock is reminded (None: off)."""
        delays = parse_delays(self.stock_nudge) if self.stock_nudge != "off" else ()
        return delays[0] if delays else None

    @field_validator("reminders")
    @classmethod
    def _check_reminders(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if not re.fullmatch(r"\d+(h|m|d)", part):
                raise ValueError(f"{part!r} is not a delay like 24h, 90m or 1d")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        try:
            parse_quiet_hours(value)
        except CalendarError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("announce")
    @classmethod
    def _check_announce(cls, value: str) -> str:
        try:
            parse_announcement(value)
        except CalendarError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The network's time zone."""
        return ZoneInfo(self.timezone)


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment (and ``.env``), with ``overrides`` on top.

    Raises :class:`SettingsError` whose message names the first wrong variable.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # _env_file is pydantic's
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
