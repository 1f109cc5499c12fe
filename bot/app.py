"""The application factory: settings in, a ready python-telegram-bot ``Application`` out.

Used alike by ``desserte run`` (real Telegram), the tests, the demo, the console and the
benchmarks (the sandbox), so what is tested is what runs.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, ContextTypes, ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot.db import create_engine, sessionmaker
from bot.rate_limiter import ChatRateLimiter, shared_budget
from bot.settings import Settings
from handlers import registry
from handlers.broadcast_sending import resume_broadcasts
from handlers.context import SERVICES_KEY, DesserteContext, Services
from handlers.i18n import SUPPORTED_LOCALES, set_default_locale
from handlers.menu import bot_commands
from handlers.middleware import release_connection, serve_update
from models.calendar import WeeklyCalendar
from models.network import DEFAULT_NETWORK_ID, DEFAULT_NETWORK_SLUG
from models.query_statistics import refresh_query_statistics
from models.rounds import RoundSettings

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "123456:SANDBOX"


class DesserteApplication(Application):  # type: ignore[type-arg]
    """PTB's Application, each update served with its session, member and locale."""

    async def process_update(self, update: object) -> None:
        await serve_update(self, update, super().process_update)


class DesserteBot(ExtBot):  # type: ignore[type-arg]
    """PTB's bot, which returns the update's database connection to the pool before each call
    to Telegram (:func:`handlers.middleware.release_connection`): an update waiting on the
    network — or on the rate limiter's pace — holds no connection others need."""

    __slots__ = ()

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        if endpoint != "getUpdates":
            await release_connection()
        return await super()._do_post(endpoint, data, **kwargs)


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Count the updates that waited while the bot was away (their button presses are not
    acted on: ``handlers.buttons``); publish the command menu in each language; give SQLite's
    planner the tables' statistics; resume the interrupted broadcasts."""
    services: Services = application.bot_data[SERVICES_KEY]
    try:
        services.backlog.pending = (await application.bot.get_webhook_info()).pending_update_count
    except Exception:  # unknown: every press is served as usual
        log.exception("could not count the updates waiting at start-up")
    try:
        for locale in SUPPORTED_LOCALES:
            await application.bot.set_my_commands(bot_commands(locale), language_code=locale)
        default = services.default_locale
        await application.bot.set_my_commands(bot_commands(default))
    except Exception:  # the menu is a comfort; the bot must start without it
        log.exception("could not publish the command menu")
    try:  # a database that grew while no close refreshed them (``models.query_statistics``)
        async with services.sessions() as session:
            await refresh_query_statistics(session)
    except Exception:
        log.exception("could not refresh the query planner's statistics")
    try:  # broadcasts a stopped process left half-sent go on, without sending anyone twice
        await resume_broadcasts(application)
    except Exception:
        log.exception("could not resume the interrupted broadcasts")
    freeze_long_lived()


def freeze_long_lived() -> None:
    """Take every object alive now out of the garbage collector's scans. Everything loaded by
    then (modules, catalogs, handlers) lives as long as the process: without this, each full
    collection during an update or a close walks it all again (at a close's 21,600 lines, that
    doubled the pickup lists' time)."""
    gc.freeze()


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    services: Services = application.bot_data[SERVICES_KEY]
    if services.engine is not None and services.owns_engine:
        await services.engine.dispose()


def bot_id_of(token: str) -> int:
    """The bot's id: the number before the colon of its token (0 if there is none)."""
    head = token.partition(":")[0]
    return int(head) if head.isdigit() else 0


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    engine: AsyncEngine | None = None,
    clock: Callable[[], datetime] | None = None,
    rate_limiter: bool | BaseRateLimiter[Any] = True,
    base_url: str | None = None,
    concurrent_updates: bool | int = True,
    network_id: int = DEFAULT_NETWORK_ID,
    network_slug: str = DEFAULT_NETWORK_SLUG,
) -> Application:  # type: ignore[type-arg]
    """A configured Application: handlers, error handler, services, command menu at start-up.

    ``request``/``get_updates_request`` point it at the sandbox; ``engine`` shares an existing
    database engine (else one is created from ``settings.database_url`` and disposed at
    shutdown); ``clock`` simulates time. Without a ``request``, calls go to
    ``settings.telegram_api_url`` (``<root>/bot<token>/…`` and ``<root>/file/bot<token>/…``).
    ``rate_limiter``: True for :class:`ChatRateLimiter`'s pace, False for none, or a limiter.
    ``network_id``: the network this application's bot serves (its sessions see only it;
    ``settings`` are that network's, :func:`bot.networks.network_settings`).
    """
    set_default_locale(settings.default_locale)
    owns_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    services = Services(
        sessions=sessionmaker(engine, network_id),
        network_id=network_id,
        network_slug=network_slug,
        network_name=settings.network_name,
        admin_ids=frozenset(settings.admin_ids),
        timezone=settings.tz,
        minimum_order_cents=settings.minimum_order_cents,
        commission_percent=settings.commission_percent,
        default_locale=settings.default_locale,
        team_contact=settings.team_contact,
        payment_info=settings.payment_info,
        payment_info_en=settings.payment_info_en,
        calendar=WeeklyCalendar.from_settings(
            cycle_opens=settings.cycle_opens,
            cycle_closes=settings.cycle_closes,
            pickup=settings.pickup,
            reminders=settings.reminders,
            timezone=settings.tz,
            quiet_hours=settings.quiet_hours,
            announce=settings.announce,
        ),
        stock_nudge=settings.stock_nudge_delay,
        rounds=RoundSettings(
            capacity_kg=settings.round_capacity_kg,
            vehicles=settings.round_vehicles,
            road_factor=settings.road_factor,
            osrm_url=settings.osrm_url,
        ),
        payments=settings.payment_terms,
        engine=engine,
        owns_engine=owns_engine,
        scheduler_tick=timedelta(seconds=settings.scheduler_tick_seconds),
        outbox_lease=timedelta(seconds=settings.outbox_lease_seconds),
    )
    if clock is not None:
        services.clock = clock
    token = settings.telegram_bot_token or SANDBOX_TOKEN
    root = settings.telegram_api_url
    if rate_limiter is True:
        # On PostgreSQL several workers may serve the bot: one sending budget for them all.
        shared = None
        if engine.dialect.name == "postgresql":
            shared = shared_budget(services.sessions, bot_id_of(token))
        rate_limiter = ChatRateLimiter(max_retries=3, shared=shared)
    bot = DesserteBot(
        token,
        base_url=base_url or f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        # PTB's own defaults: many connections for calls, one for the long poll.
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=get_updates_request or HTTPXRequest(connection_pool_size=1),
        rate_limiter=rate_limiter or None,
    )
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .application_class(DesserteApplication)
        .bot(bot)
        .context_types(ContextTypes(context=DesserteContext))
        .concurrent_updates(concurrent_updates)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    application = builder.build()
    application.bot_data[SERVICES_KEY] = services
    registry.register(application)
    return application


async def start_application(application: Application) -> None:  # type: ignore[type-arg]
    """Initialise and start ``application`` without fetching updates (the sandbox, the demo
    and the console deliver them), running ``post_init`` as ``run_polling`` would."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()


async def stop_application(application: Application) -> None:  # type: ignore[type-arg]
    """Stop and shut down an application started by :func:`start_application`."""
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
