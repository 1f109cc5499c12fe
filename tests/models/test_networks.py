"""Networks apart: a session of one network reads, counts, changes and deletes only its rows,
and writes only into it, whatever the query forgets to say."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update

from bot.db import sessionmaker
from models import Member, OutboxMessage, PickupPoint, Producer, Product
from models.network import ALL_NETWORKS, DEFAULT_NETWORK_ID, Network
from models.networks import (
    BadNetworkSlug,
    NetworkExists,
    add_network,
    change_network,
    summaries,
    upsert_network,
)
from models.outbox import Part, add_messages

pytestmark = pytest.mark.database


async def _second_network(engine) -> int:
    async with sessionmaker(engine, ALL_NETWORKS)() as operator:
        network = await add_network(
            operator, "chatellerault", name="Le Panier", bot_token="2:B", settings={}
        )
        return network.id


def _farm(slug: str = "ferme") -> Producer:
    return Producer(slug=slug, name="Ferme " + slug)


async def test_each_session_sees_its_network_only(engine):
    other = await _second_network(engine)
    assert other != DEFAULT_NETWORK_ID
    ours, theirs = sessionmaker(engine), sessionmaker(engine, other)
    async with ours() as a, theirs() as b:
        # The same slug and the same Telegram user in both networks: unique per network only.
        a.add_all([_farm(), Member(telegram_id=42, first_name="Alice", locale="fr")])
        b.add_all([_farm(), Member(telegram_id=42, first_name="Alice", locale="en")])
        await a.commit()
        await b.commit()
        b_farm = await b.scalar(select(Producer))
        assert b_farm is not None
        assert b_farm.network_id == other

        assert [p.network_id for p in (await a.scalars(select(Producer))).all()] == [1]
        assert await a.scalar(select(func.count()).select_from(Member)) == 1
        assert await a.scalar(select(func.count(Producer.id))) == 1
        assert (await a.scalar(select(Member).where(Member.telegram_id == 42))).locale == "fr"
        # An id of the other network, forged into a query, finds nothing…
        assert await a.get(Producer, b_farm.id) is None
        joined = await a.execute(select(Product.id).join(Producer).where(Producer.id == b_farm.id))
        assert joined.all() == []
        # …changes nothing and deletes nothing.
        changed = await a.execute(
            update(Producer).where(Producer.id == b_farm.id).values(name="pris")
        )
        removed = await a.execute(delete(Member).where(Member.telegram_id == 42))
        assert changed.rowcount == 0
        assert removed.rowcount == 1  # its own Alice only
        await a.commit()
    async with theirs() as b:
        assert (await b.scalar(select(Producer))).name == "Ferme ferme"
        assert (await b.scalar(select(Member))).locale == "en"


async def test_a_row_of_another_network_is_refused(engine):
    other = await _second_network(engine)
    async with sessionmaker(engine)() as a:
        a.add(PickupPoint(slug="halle", name="Halle", network_id=other))
        with pytest.raises(ValueError, match="network"):
            await a.flush()


async def test_bulk_inserts_belong_to_the_session_network(engine):
    from sqlalchemy import insert

    other = await _second_network(engine)
    async with sessionmaker(engine, other)() as b:
        await b.execute(insert(Producer), [{"slug": "a", "name": "A"}, {"slug": "b", "name": "B"}])
        await b.commit()
    async with sessionmaker(engine, ALL_NETWORKS)() as operator:
        rows = (await operator.execute(select(Producer.slug, Producer.network_id))).all()
    assert sorted(rows) == [("a", other), ("b", other)]


async def test_the_outbox_keys_are_per_network(engine):
    other = await _second_network(engine)
    part = Part(telegram_id=42, locale="fr", text="Bonjour")
    for network in (DEFAULT_NETWORK_ID, other, other):
        async with sessionmaker(engine, network)() as session:
            await add_messages(session, "cycle:1:opened", "cycle_open", [part])
            await session.commit()
    async with sessionmaker(engine, ALL_NETWORKS)() as operator:
        rows = (await operator.execute(select(OutboxMessage.network_id))).scalars().all()
    assert sorted(rows) == [DEFAULT_NETWORK_ID, other]  # the repeat in `other` wrote nothing


async def test_networks_are_added_changed_and_counted(engine):
    async with sessionmaker(engine, ALL_NETWORKS)() as operator:
        with pytest.raises(BadNetworkSlug):
            await add_network(operator, "Pas Bon", name=None, bot_token=None)
        await add_network(operator, "niort", name="Niort", bot_token="3:C", settings={"a": 1})
        with pytest.raises(NetworkExists):
            await add_network(operator, "niort", name="Niort", bot_token=None)
        changed = await change_network(operator, "niort", settings={"b": 2}, unset=["a"])
        assert changed.settings == {"b": 2}
        _network, added = await upsert_network(
            operator, "niort", name=None, bot_token=None, settings={"c": 3}
        )
        assert not added
        niort = await operator.scalar(select(Network).where(Network.slug == "niort"))
        assert (niort.name, niort.bot_token, niort.settings) == ("Niort", "3:C", {"c": 3})
    async with sessionmaker(engine, niort.id)() as session:
        session.add(Member(telegram_id=7, first_name="Zoé", locale="fr"))
        await session.commit()
    async with sessionmaker(engine, ALL_NETWORKS)() as operator:
        counted = {row.slug: row.members for row in await summaries(operator)}
    assert counted == {"default": 0, "niort": 1}


async def test_quantities_reserved_in_one_network_leave_the_other_alone(engine):
    """The stock reservation (a conditional UPDATE on the offer) is scoped too."""
    from datetime import UTC, datetime, timedelta

    from models.ordering import add_to_basket
    from tests.factories import open_cycle_with_stock

    other = await _second_network(engine)
    now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    async with sessionmaker(engine, other)() as b:
        farm = _farm()
        b.add(farm)
        await b.flush()
        b.add(
            Product(
                producer_id=farm.id,
                sku="potimarron",
                name="Potimarron",
                category="Légumes",
                sale_unit="pièce",
                unit_measure="pièce",
                unit_amount=Decimal(1),
                price_cents=250,
                step=Decimal(1),
            )
        )
        await b.commit()
        cycle = await open_cycle_with_stock(b, now - timedelta(hours=1), stock=3)
        b_product = await b.scalar(select(Product.id))
    async with sessionmaker(engine)() as a:
        member = Member(telegram_id=42, first_name="Alice", locale="fr")
        a.add(member)
        await a.commit()
        from models.errors import DomainError

        with pytest.raises(DomainError):
            await add_to_basket(a, member, cycle.id, b_product, Decimal(1), now)
