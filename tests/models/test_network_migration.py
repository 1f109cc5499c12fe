"""A database made by the single-network schema becomes the default network, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import drop_schema, sessionmaker
from bot.migrate import upgrade_async
from models import Cycle, Member, Offer, Order, OrderLine, OutboxMessage, PickupPoint, Product
from models.network import ALL_NETWORKS, DEFAULT_NETWORK_ID, Network
from models.networks import add_network
from tests.conftest import USE_POSTGRES

pytestmark = pytest.mark.database

BEFORE_NETWORKS = "d57ac8634814"
"""The last revision of the single-network schema."""

ROWS = {
    "member": 2,
    "producer": 1,
    "product": 1,
    "pickup_point": 1,
    "cycle": 1,
    "offer": 1,
    "order": 1,
    "order_line": 1,
    "outbox_message": 1,
}


async def _reset(engine: AsyncEngine) -> None:
    await drop_schema(engine)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


async def _fill_single_network_database(engine: AsyncEngine) -> None:
    """Rows written as the single-network schema knew them (no network anywhere)."""
    moment = datetime(2026, 11, 27, 12, tzinfo=UTC)
    if not USE_POSTGRES:
        moment = moment.replace(tzinfo=None)  # how the SQLite type stores times

    def at(hours: float) -> datetime:
        return moment + timedelta(hours=hours)

    statements = [
        (
            "INSERT INTO producer (id, slug, name) VALUES (1, 'jardins', 'Les Jardins')",
            {},
        ),
        (
            "INSERT INTO pickup_point (id, slug, name, address, is_public, window_start,"
            " window_end, active) VALUES (1, 'halle', 'Halle', 'Place', true, '17:00:00',"
            " '19:30:00', true)",
            {},
        ),
        (
            "INSERT INTO product (id, producer_id, sku, name, category, sale_unit, unit_amount,"
            " unit_measure, price_cents, step, labels, aliases, active) VALUES (1, 1,"
            " 'potimarron', 'Potimarron', 'Légumes', 'pièce', 1000, 'pièce', 250, 1000,"
            " '[]', '[]', true)",
            {},
        ),
        *[
            (
                "INSERT INTO member (id, telegram_id, first_name, locale, is_consumer, is_admin,"
                " reachable, notifications_off, joined_points, joined_at, pickup_point_id)"
                " VALUES (:id, :tid, :name, 'fr', true, false, true, '[]', '[]', :at, 1)",
                {"id": n, "tid": 1000 + n, "name": f"Membre {n}", "at": at(0)},
            )
            for n in (1, 2)
        ],
        (
            "INSERT INTO cycle (id, opens_at, closes_at, pickup_starts_at, pickup_ends_at,"
            " state) VALUES (1, :o, :c, :ps, :pe, 'open')",
            {"o": at(0), "c": at(72), "ps": at(100), "pe": at(102)},
        ),
        (
            "INSERT INTO offer (id, cycle_id, product_id, offered, ordered)"
            " VALUES (1, 1, 1, 40000, 2000)",
            {},
        ),
        (
            'INSERT INTO "order" (id, member_id, cycle_id, pickup_point_id, status, total_cents,'
            " created_at, updated_at, changed_since_confirmed) VALUES (1, 1, 1, 1, 'confirmed',"
            " 500, :at, :at, false)",
            {"at": at(1)},
        ),
        (
            "INSERT INTO order_line (id, order_id, product_id, quantity, unit_price_cents,"
            " total_cents) VALUES (1, 1, 1, 2000, 250, 500)",
            {},
        ),
        (
            "INSERT INTO outbox_message (id, topic, kind, telegram_id, locale, part, state,"
            " attempts, resend, reported, created_at) VALUES (1, 'cycle:1:opened', 'cycle_open',"
            " 1001, 'fr', 0, 'pending', 0, false, false, :at)",
            {"at": at(0)},
        ),
    ]
    async with engine.begin() as connection:
        for statement, params in statements:
            await connection.execute(text(statement), params)
        if USE_POSTGRES:  # explicit ids: move the sequences past them, as real use would have
            for table in ROWS:
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
                        f' (SELECT max(id) FROM "{table}"))'
                    )
                )


async def test_a_single_network_database_becomes_the_default_network(engine: AsyncEngine):
    url = engine.url.render_as_string(hide_password=False)
    await _reset(engine)
    try:
        await upgrade_async(url, BEFORE_NETWORKS)
        await _fill_single_network_database(engine)
        await upgrade_async(url)

        async with sessionmaker(engine, ALL_NETWORKS)() as operator:
            networks = (await operator.scalars(select(Network))).all()
            assert [(n.id, n.slug) for n in networks] == [(DEFAULT_NETWORK_ID, "default")]
            for table, count in ROWS.items():
                rows = await operator.execute(
                    text(f'SELECT network_id, count(*) FROM "{table}" GROUP BY network_id')
                )
                assert rows.all() == [(DEFAULT_NETWORK_ID, count)], table
            second = await add_network(operator, "niort", name="Niort", bot_token="9:Z")

        # The default network's sessions see everything that was there, as it was.
        async with sessionmaker(engine)() as session:
            order = await session.scalar(select(Order))
            assert order is not None
            assert order.total_cents == 500
            line = await session.scalar(select(OrderLine))
            assert line is not None
            assert str(line.quantity) == "2"
            offer = await session.scalar(select(Offer))
            assert offer is not None
            assert (str(offer.offered), str(offer.ordered)) == ("40", "2")
            assert (await session.scalar(select(Cycle))).closes_at.tzinfo is not None
            assert await session.scalar(select(func.count()).select_from(Member)) == 2
            assert (await session.scalar(select(Product))).name == "Potimarron"
            assert (await session.scalar(select(PickupPoint))).slug == "halle"
            assert (await session.scalar(select(OutboxMessage))).topic == "cycle:1:opened"
            # New rows get new ids: the sequences were kept.
            session.add(Member(telegram_id=5000, first_name="Nouvelle", locale="fr"))
            await session.commit()

        # A second network starts empty and may hold the same person (same Telegram id).
        async with sessionmaker(engine, second.id)() as other:
            assert await other.scalar(select(func.count()).select_from(Member)) == 0
            other.add(Member(telegram_id=1001, first_name="Membre 1", locale="en"))
            await other.commit()
    finally:
        if USE_POSTGRES:  # leave the shared database as the other tests expect it
            await _reset(engine)
            from tests import conftest

            conftest._pg_schema_ready = False
