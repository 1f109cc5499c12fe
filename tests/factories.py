"""Small builders for tests: a producer with products, a pickup point, an open cycle."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from models import Cycle, CycleState, Member, Offer, PickupPoint, Producer, Product


async def make_network(
    session: AsyncSession,
    now: datetime,
    *,
    stock: dict[str, Decimal | int] | None = None,
    state: CycleState = CycleState.OPEN,
) -> dict[str, object]:
    """A producer with four products, a public and a company pickup point, and a cycle around
    ``now`` whose offers hold ``stock`` (sku → quantity; default 20 each). Committed."""
    producer = Producer(slug="jardins", name="Les Jardins de la Vonne", town="Lusignan")
    products = [
        Product(
            producer=producer,
            sku="TOM-ANC",
            name="Tomates anciennes",
            category="Légumes",
            sale_unit="kg",
            unit_amount=Decimal(1),
            unit_measure="kg",
            price_cents=480,
            step=Decimal("0.5"),
            labels=["bio"],
            aliases=["coeur de boeuf"],
            origin="Lusignan (86)",
            farming="Agriculture biologique",
        ),
        Product(
            producer=producer,
            sku="TOM-CER",
            name="Tomates cerises",
            category="Légumes",
            sale_unit="barquette",
            unit_amount=Decimal(250),
            unit_measure="g",
            price_cents=320,
            step=Decimal(1),
            labels=["bio"],
            aliases=[],
        ),
        Product(
            producer=producer,
            sku="OEU-6",
            name="Œufs plein air",
            category="Crèmerie",
            sale_unit="boîte",
            unit_amount=Decimal(6),
            unit_measure="pièce",
            price_cents=290,
            step=Decimal(1),
            labels=["bio"],
            aliases=["oeufs"],
        ),
        Product(
            producer=producer,
            sku="MIEL",
            name="Miel de châtaignier",
            category="Épicerie",
            sale_unit="pot",
            unit_amount=Decimal(500),
            unit_measure="g",
            price_cents=850,
            step=Decimal(1),
            labels=[],
            aliases=[],
        ),
    ]
    central = PickupPoint(
        slug="halle",
        name="Halle centrale",
        address="12 rue des Carmes, Poitiers",
        is_public=True,
        window_start=time(17, 0),
        window_end=time(19, 30),
    )
    company = PickupPoint(
        slug="enedis",
        name="Enedis",
        address="Rue de la Brunetterie",
        is_public=False,
        company="Enedis",
        invite_code="ENEDIS-CODE",
        window_start=time(12, 0),
        window_end=time(14, 0),
    )
    cycle = Cycle(
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=3),
        pickup_starts_at=now + timedelta(days=5),
        pickup_ends_at=now + timedelta(days=5, hours=2, minutes=30),
        state=state,
    )
    session.add_all([producer, *products, central, company, cycle])
    await session.flush()
    stock = stock or {}
    offers = {}
    for product in products:
        offers[product.sku] = Offer(
            cycle=cycle,
            product=product,
            offered=Decimal(stock.get(product.sku, 20)),
            ordered=Decimal(0),
        )
    session.add_all(offers.values())
    await session.commit()
    return {
        "producer": producer,
        "products": {p.sku: p for p in products},
        "central": central,
        "company": company,
        "cycle": cycle,
        "offers": offers,
    }


async def make_member(
    session: AsyncSession,
    telegram_id: int,
    *,
    pickup: PickupPoint | None = None,
    locale: str = "fr",
    name: str = "Alice",
) -> Member:
    """A consumer, committed."""
    member = Member(
        telegram_id=telegram_id,
        first_name=name,
        locale=locale,
        is_consumer=True,
        is_admin=False,
        reachable=True,
        notifications_off=[],
        pickup_point_id=pickup.id if pickup else None,
    )
    session.add(member)
    await session.commit()
    return member


async def load_demo_network(session: AsyncSession) -> None:
    """Import the demo network (producers, pickup points, catalog)."""
    from bot.demo_network import CATALOG_CSV, PICKUP_POINTS_CSV, PRODUCERS_CSV
    from models.catalog_import import import_catalog, import_pickup_points, import_producers

    await import_producers(session, PRODUCERS_CSV)
    await import_pickup_points(session, PICKUP_POINTS_CSV)
    await import_catalog(session, CATALOG_CSV)


async def open_cycle_with_stock(
    session: AsyncSession,
    opens_at: datetime,
    *,
    stock: Decimal | int = 20,
    only: dict[str, Decimal | int] | None = None,
    days_open: int = 4,
) -> Cycle:
    """A cycle opened at ``opens_at`` (closing ``days_open`` later, pickup two days after),
    with ``stock`` of every active product (``only`` overrides per sku). Committed."""
    from sqlalchemy import select

    from models.cycles import create_cycle, start_cycle

    closes_at = opens_at + timedelta(days=days_open)
    cycle = await create_cycle(
        session,
        opens_at=opens_at,
        closes_at=closes_at,
        pickup_starts_at=closes_at + timedelta(days=2),
        pickup_ends_at=closes_at + timedelta(days=2, hours=2, minutes=30),
    )
    await session.commit()
    await start_cycle(session, cycle, opens_at)
    offers = await session.scalars(select(Offer).where(Offer.cycle_id == cycle.id))
    products = {p.id: p.sku for p in await session.scalars(select(Product))}
    for offer in offers:
        sku = products[offer.product_id]
        offer.offered = Decimal((only or {}).get(sku, stock))
    await session.commit()
    return cycle
