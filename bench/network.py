"""The benchmarks' network: 40 producers × 15 products, 1,800 consumers, an open cycle.

:func:`build_network` writes it with bulk ``INSERT``s (a few statements, not thousands of ORM
objects), optionally with every consumer's confirmed order of 12 lines, and returns a
:class:`Network` naming what the benchmarks need (ids, Telegram ids, product names).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db import sessionmaker
from models import (
    Cycle,
    CycleState,
    Member,
    Offer,
    Order,
    OrderLine,
    OrderStatus,
    PickupPoint,
    Producer,
    Product,
)
from models.base import Base
from models.network import DEFAULT_NETWORK_ID

log = logging.getLogger(__name__)

PRODUCERS = 40
PRODUCTS_PER_PRODUCER = 15
LINES_PER_ORDER = 12
FIRST_TELEGRAM_ID = 500_000_001
ADMIN_TELEGRAM_ID = 499_999_999
STOCK = Decimal(100_000)
CATEGORIES = ("Légumes", "Fruits", "Crèmerie", "Viandes", "Boulangerie", "Épicerie")
PRODUCT_BASES = (
    "Tomates",
    "Pommes",
    "Yaourts",
    "Saucisses",
    "Pain",
    "Miel",
    "Carottes",
    "Poires",
    "Fromage",
    "Rôti",
    "Brioche",
    "Confiture",
    "Salade",
    "Prunes",
    "Beurre",
)
PRODUCT_MARK = "n°"
"""Every product name holds it (``Tomates n°3``): the consumer script finds products by it."""


@dataclass
class Network:
    """What was written: the open cycle, the consumers' Telegram ids, products and points."""

    cycle_id: int
    consumer_telegram_ids: list[int]
    admin_telegram_id: int
    product_ids: list[int]
    product_names: list[str]
    pickup_point_ids: list[int]
    orders: int = 0
    lines: int = 0
    categories: tuple[str, ...] = field(default=CATEGORIES)
    network_id: int = DEFAULT_NETWORK_ID
    """The food network (``models.network``) these rows belong to."""


async def build_network(
    engine: AsyncEngine,
    consumers: int,
    *,
    with_orders: bool = False,
    seed: int = 7,
    now: datetime | None = None,
    network_id: int = DEFAULT_NETWORK_ID,
) -> Network:
    """Write the network into the empty database behind ``engine`` and return it.

    The cycle is open (opened an hour ago, closing in three days) with ample stock of every
    product. With ``with_orders`` every consumer has a confirmed order of 12 distinct products,
    and the offers' ``ordered`` quantities match the lines. An admin (not a consumer) is
    registered too.
    """
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    async with sessionmaker(engine, network_id)() as session:
        point_ids = list(
            await session.scalars(
                insert(PickupPoint).returning(PickupPoint.id, sort_by_parameter_order=True),
                [
                    _point("halle-centrale", "Halle centrale", True, network_id),
                    _point("blaiserie", "Centre de la Blaiserie", True, network_id),
                    _point("entreprise", "Entreprise partenaire", False, network_id),
                ],
            )
        )
        producer_ids = list(
            await session.scalars(
                insert(Producer).returning(Producer.id, sort_by_parameter_order=True),
                [
                    {
                        "slug": f"producteur-{i + 1:02d}",
                        "name": f"Ferme n°{i + 1}",
                        "town": "Poitiers",
                        "description": None,
                        "distance_km": 10 + i,
                    }
                    for i in range(PRODUCERS)
                ],
            )
        )
        products = [
            _product(producer_id, i, j)
            for i, producer_id in enumerate(producer_ids)
            for j in range(PRODUCTS_PER_PRODUCER)
        ]
        product_ids = list(
            await session.scalars(
                insert(Product).returning(Product.id, sort_by_parameter_order=True), products
            )
        )
        cycle_id = await session.scalar(
            insert(Cycle).returning(Cycle.id),
            {
                "opens_at": now - timedelta(hours=1),
                "closes_at": now + timedelta(days=3),
                "pickup_starts_at": now + timedelta(days=5),
                "pickup_ends_at": now + timedelta(days=5, hours=2),
                "state": CycleState.OPEN,
                "opened_at": now - timedelta(hours=1),
            },
        )
        assert cycle_id is not None
        await session.execute(
            insert(Offer),
            [
                {"cycle_id": cycle_id, "product_id": pid, "offered": STOCK, "ordered": Decimal(0)}
                for pid in product_ids
            ],
        )
        telegram_ids = [FIRST_TELEGRAM_ID + k for k in range(consumers)]
        member_rows = [
            _member(tid, f"Conso{k + 1}", point_ids[k % len(point_ids)], point_ids[2])
            for k, tid in enumerate(telegram_ids)
        ]
        admin = _member(ADMIN_TELEGRAM_ID, "Admin", point_ids[0], point_ids[2])
        admin.update(is_consumer=False, is_admin=True)
        member_ids = list(
            await session.scalars(
                insert(Member).returning(Member.id, sort_by_parameter_order=True),
                [*member_rows, admin],
            )
        )[:consumers]
        network = Network(
            cycle_id=cycle_id,
            consumer_telegram_ids=telegram_ids,
            admin_telegram_id=ADMIN_TELEGRAM_ID,
            product_ids=product_ids,
            product_names=[p["name"] for p in products],
            pickup_point_ids=point_ids,
            network_id=network_id,
        )
        if with_orders:
            prices = [p["price_cents"] for p in products]
            await _write_orders(session, network, member_ids, prices, rng, now)
        await session.commit()
    await analyze(engine)
    log.info("network: %d consumers, %d products", consumers, len(product_ids))
    return network


async def add_history(engine: AsyncEngine, cycle_id: int, weeks: int) -> int:
    """Give the network ``weeks`` closed weeks before ``cycle_id``, each a copy of it one more
    week earlier (its offers, and its orders with their lines, collected); returns how many
    order lines the history holds. What a network has after a season of weekly cycles."""
    cycles, orders, offers, lines = (
        Base.metadata.tables[name] for name in ("cycle", "order", "offer", "order_line")
    )
    past_order = orders.alias("past_order")
    async with engine.begin() as connection:
        week = (await connection.execute(select(cycles).where(cycles.c.id == cycle_id))).one()
        for back in range(1, weeks + 1):
            values = {
                key: value - timedelta(weeks=back) if isinstance(value, datetime) else value
                for key, value in week._mapping.items()
                if key != "id"
            }
            values.update(state=CycleState.CLOSED, closed_at=values["closes_at"])
            past = await connection.scalar(insert(cycles).values(values).returning(cycles.c.id))
            collected = literal(OrderStatus.COLLECTED, orders.c.status.type)
            for table, changed in ((offers, {}), (orders, {"status": collected})):
                changed = {"cycle_id": literal(past), **changed}
                names = [c.name for c in table.columns if c.name != "id"]
                copied = [changed[n].label(n) if n in changed else table.c[n] for n in names]
                await connection.execute(
                    insert(table).from_select(
                        names, select(*copied).where(table.c.cycle_id == cycle_id)
                    )
                )
            names = [c.name for c in lines.columns if c.name != "id"]
            copied = [past_order.c.id if n == "order_id" else lines.c[n] for n in names]
            await connection.execute(
                insert(lines).from_select(
                    names,
                    select(*copied)
                    .join(orders, orders.c.id == lines.c.order_id)
                    .join(
                        past_order,
                        (past_order.c.member_id == orders.c.member_id)
                        & (past_order.c.cycle_id == past),
                    )
                    .where(orders.c.cycle_id == cycle_id),
                )
            )
        held = await connection.scalar(
            select(func.count())
            .select_from(lines.join(orders, orders.c.id == lines.c.order_id))
            .where(orders.c.cycle_id != cycle_id)
        )
    return int(held or 0)


async def analyze(engine: AsyncEngine) -> None:
    """On PostgreSQL, gather the planner's statistics, as autovacuum has by the time people
    order (within a minute of a bulk load). Without them the planner takes the fresh tables
    for nearly empty: a category page then joined its 600 offers to the products in a nested
    loop (46 ms instead of 1), and a run's figures depended on whether autovacuum had come by
    yet. On SQLite the bot analyses the tables itself when it starts and after each close
    (``models.query_statistics``): the benchmarks that start it get them as a deployment does."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()


async def add_consumers(engine: AsyncEngine, network: Network, count: int) -> list[int]:
    """Register ``count`` more consumers (each with a pickup point, in one ``INSERT``) and
    return their Telegram ids, also appended to ``network.consumer_telegram_ids``."""
    start = max(network.consumer_telegram_ids, default=FIRST_TELEGRAM_ID - 1) + 1
    telegram_ids = [start + k for k in range(count)]
    points = network.pickup_point_ids
    first = len(network.consumer_telegram_ids)
    rows = [
        _member(tid, f"Conso{first + k + 1}", points[(first + k) % len(points)], points[2])
        for k, tid in enumerate(telegram_ids)
    ]
    if rows:
        async with sessionmaker(engine, network.network_id)() as session:
            await session.execute(insert(Member), rows)
            await session.commit()
    network.consumer_telegram_ids.extend(telegram_ids)
    return telegram_ids


async def _write_orders(
    session: AsyncSession,
    network: Network,
    member_ids: list[int],
    prices: list[int],
    rng: random.Random,
    now: datetime,
) -> None:
    baskets = []
    for member_id in member_ids:
        picks = rng.sample(range(len(network.product_ids)), LINES_PER_ORDER)
        lines = [(network.product_ids[p], Decimal(rng.randint(1, 3)), prices[p]) for p in picks]
        baskets.append((member_id, lines))
    point_ids = network.pickup_point_ids
    order_ids = list(
        await session.scalars(
            insert(Order).returning(Order.id, sort_by_parameter_order=True),
            [
                {
                    "member_id": member_id,
                    "cycle_id": network.cycle_id,
                    "pickup_point_id": point_ids[k % len(point_ids)],
                    "status": OrderStatus.CONFIRMED,
                    "total_cents": sum(int(q * price) for _pid, q, price in lines),
                    "created_at": now,
                    "updated_at": now,
                    "confirmed_at": now,
                    "changed_since_confirmed": False,
                }
                for k, (member_id, lines) in enumerate(baskets)
            ],
        )
    )
    line_rows = [
        {
            "order_id": order_id,
            "product_id": product_id,
            "quantity": quantity,
            "unit_price_cents": price,
            "total_cents": int(quantity * price),
        }
        for order_id, (_member, lines) in zip(order_ids, baskets, strict=True)
        for product_id, quantity, price in lines
    ]
    await session.execute(insert(OrderLine), line_rows)
    held = (
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .where(OrderLine.product_id == Offer.product_id)
        .scalar_subquery()
    )
    await session.execute(
        update(Offer)
        .where(Offer.cycle_id == network.cycle_id)
        .values(ordered=held)
        .execution_options(synchronize_session=False)
    )
    network.orders = len(order_ids)
    network.lines = len(line_rows)


def _point(slug: str, name: str, public: bool, network_id: int) -> dict[str, object]:
    return {
        "slug": slug,
        "name": name,
        "address": "1 rue des Carmes, 86000 Poitiers",
        "is_public": public,
        "company": None if public else "Entreprise",
        # Invitation codes are unique across networks (a link names one network's point).
        "invite_code": None if public else f"bench-invite-{network_id}",
        "window_start": time(17, 0),
        "window_end": time(19, 30),
        "active": True,
    }


def _product(producer_id: int, i: int, j: int) -> dict[str, object]:
    return {
        "producer_id": producer_id,
        "sku": f"P{i + 1:02d}-{j + 1:02d}",
        "name": f"{PRODUCT_BASES[j]} {PRODUCT_MARK}{i + 1}",
        "category": CATEGORIES[j % len(CATEGORIES)],
        "sale_unit": "pièce",
        "unit_amount": Decimal(1),
        "unit_measure": "pièce",
        "price_cents": 100 + 37 * ((i * PRODUCTS_PER_PRODUCER + j) % 23),
        "step": Decimal(1),
        "labels": ["bio"],
        "aliases": [],
        "description": None,
        "origin": "Vienne (86)",
        "farming": "Agriculture biologique",
        "photo": None,
        "active": True,
    }


def _member(telegram_id: int, name: str, point_id: int, company_point: int) -> dict[str, object]:
    return {
        "telegram_id": telegram_id,
        "first_name": name,
        "last_name": None,
        "username": None,
        "locale": "fr",
        "is_consumer": True,
        "is_admin": False,
        "producer_id": None,
        "pickup_point_id": point_id,
        "reachable": True,
        "notifications_off": [],
        "joined_points": [company_point] if point_id == company_point else [],
    }
