"""The deployment's networks: add one, change one, list them (the operator's commands).

These operations work in a session that sees every network (``ALL_NETWORKS``); a network's own
sessions never read this table to decide what they may see (:mod:`models.network` does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import DomainError
from models.member import Member
from models.network import DEFAULT_NETWORK_SLUG, Network
from models.order import Order
from models.producer import Producer
from models.unit_of_work import unit_of_work

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""A network's short name: lower-case letters, digits and hyphens (it ends its webhook path)."""


class BadNetworkSlug(DomainError):
    """The slug is not lower-case letters, digits and hyphens (1 to 63)."""

    code = "bad_network_slug"

    def __init__(self, slug: str) -> None:
        super().__init__(slug=slug)


class NetworkExists(DomainError):
    """A network already has this slug."""

    code = "network_exists"

    def __init__(self, slug: str) -> None:
        super().__init__(slug=slug)


class UnknownNetwork(DomainError):
    """No network has this slug."""

    code = "unknown_network"

    def __init__(self, slug: str) -> None:
        super().__init__(slug=slug)


@dataclass(frozen=True)
class NetworkSummary:
    """What ``desserte network list`` shows of a network."""

    id: int
    slug: str
    name: str | None
    has_token: bool
    members: int
    producers: int
    orders: int
    settings: Mapping[str, Any]


async def all_networks(session: AsyncSession) -> Sequence[Network]:
    """Every network, the default first, then in the order they were added."""
    return (await session.scalars(select(Network).order_by(Network.id))).all()


async def network_by_slug(session: AsyncSession, slug: str) -> Network:
    """The network called ``slug``; :class:`UnknownNetwork` when there is none."""
    network = await session.scalar(select(Network).where(Network.slug == slug))
    if network is None:
        raise UnknownNetwork(slug)
    return network


async def add_network(
    session: AsyncSession,
    slug: str,
    *,
    name: str | None,
    bot_token: str | None,
    settings: Mapping[str, Any] | None = None,
) -> Network:
    """A new network, committed; :class:`BadNetworkSlug` or :class:`NetworkExists` refuse it."""
    if not SLUG.match(slug):
        raise BadNetworkSlug(slug)
    async with unit_of_work(session):
        if await session.scalar(select(Network.id).where(Network.slug == slug)) is not None:
            raise NetworkExists(slug)
        network = Network(slug=slug, name=name, bot_token=bot_token, settings=dict(settings or {}))
        session.add(network)
    return network


async def change_network(
    session: AsyncSession,
    slug: str,
    *,
    name: str | None = None,
    bot_token: str | None = None,
    settings: Mapping[str, Any] | None = None,
    unset: Sequence[str] = (),
) -> Network:
    """The network ``slug`` with the given fields changed (``settings`` merged, ``unset``
    removed), committed; :class:`UnknownNetwork` when there is none."""
    async with unit_of_work(session):
        network = await network_by_slug(session, slug)
        if name is not None:
            network.name = name
        if bot_token is not None:
            network.bot_token = bot_token
        merged = {**network.settings, **(settings or {})}
        for key in unset:
            merged.pop(key, None)
        network.settings = merged
    return network


async def upsert_network(
    session: AsyncSession,
    slug: str,
    *,
    name: str | None,
    bot_token: str | None,
    settings: Mapping[str, Any],
) -> tuple[Network, bool]:
    """The network ``slug`` as described (a networks file's entry): added when new, else its
    name, token and settings replaced. Returns the network and whether it was added."""
    try:
        network = await network_by_slug(session, slug)
    except UnknownNetwork:
        return await add_network(
            session, slug, name=name, bot_token=bot_token, settings=settings
        ), True
    async with unit_of_work(session):
        network.name = name if name is not None else network.name
        network.bot_token = bot_token if bot_token is not None else network.bot_token
        network.settings = dict(settings)
    return network, False


async def summaries(session: AsyncSession) -> list[NetworkSummary]:
    """Each network with its counts of members, producers and orders."""

    async def counts(model: Any) -> dict[int, int]:
        rows = await session.execute(
            select(model.network_id, func.count()).group_by(model.network_id)
        )
        return {int(network_id): int(count) for network_id, count in rows.all()}

    members, producers, orders = await counts(Member), await counts(Producer), await counts(Order)
    return [
        NetworkSummary(
            id=network.id,
            slug=network.slug,
            name=network.name,
            has_token=bool(network.bot_token),
            members=members.get(network.id, 0),
            producers=producers.get(network.id, 0),
            orders=orders.get(network.id, 0),
            settings=network.settings,
        )
        for network in await all_networks(session)
    ]


def is_default(network: Network) -> bool:
    """Whether ``network`` is the one a single-network database became."""
    return network.slug == DEFAULT_NETWORK_SLUG
