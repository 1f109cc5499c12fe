"""Networks: one deployment serves several food networks, each with its own bot and its data.

Every other table carries a ``network_id`` (:class:`NetworkScoped`). A session belongs to one
network (``session.info["network_id"]``, set by ``bot.db.sessionmaker``): everything it reads,
counts, updates or deletes through the ORM is filtered to that network, and every row it adds is
stamped with it (:func:`_scope_statement`, :func:`_stamp_new_rows`). So a query that forgets the
network cannot see another's data, and an id forged from another network finds nothing.
A session opened with ``network_id=ALL_NETWORKS`` (the operator's commands) sees every network.
"""

from __future__ import annotations

import functools
import random
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ColumnElement, ForeignKey, String, event, true
from sqlalchemy.orm import (
    LoaderCriteriaOption,
    Mapped,
    ORMExecuteState,
    Session,
    UOWTransaction,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from models.base import Base, UTCDateTime, utcnow

DEFAULT_NETWORK_ID = 1
"""The network a database made before networks existed became (slug ``default``)."""
DEFAULT_NETWORK_SLUG = "default"
ALL_NETWORKS = 0
"""``network_id`` of a session that sees every network (the operator's commands)."""
NETWORK_KEY = "network_id"


def new_catalog_version() -> int:
    """A fresh ``Network.catalog_version``: a random positive 62-bit number."""
    return random.getrandbits(62) + 1


class Network(Base):
    """A food network: its name, its bot and the settings it sets apart from the deployment's."""

    __tablename__ = "network"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    """None: the deployment's ``NETWORK_NAME`` (the default network of a single deployment)."""
    bot_token: Mapped[str | None] = mapped_column(String(200))
    """None: the deployment's ``TELEGRAM_BOT_TOKEN``."""
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Settings of this network that differ from the deployment's (``timezone``, ``admin_ids``,
    ``cycle_opens``…), by their names in :class:`bot.settings.Settings`."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    catalog_version: Mapped[int] = mapped_column(BigInteger, default=new_catalog_version)
    """Drawn anew by every change to the network's catalog (:mod:`models.catalog_cache`)."""


class NetworkScoped:
    """Mixin of every table whose rows belong to one network."""

    @declared_attr
    def network_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("network.id"), index=True)


def network_of(session: Session | Any) -> int:
    """The network ``session`` works for (:data:`DEFAULT_NETWORK_ID` when it was not told)."""
    info = session.info
    value = info.get(NETWORK_KEY, DEFAULT_NETWORK_ID)
    return int(value)


def own_rows(session: Session | Any, column: Any) -> ColumnElement[bool]:
    """The condition that ``column`` (a ``network_id``) is the session's network — always true
    for a session of every network: what a Core statement, which the ORM's criteria do not
    reach, adds to keep to the session's network."""
    network_id = network_of(session)
    return true() if network_id == ALL_NETWORKS else column == network_id


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    """Filter every ORM select, update and delete to the session's network."""
    network_id = network_of(state.session)
    if network_id == ALL_NETWORKS or state.is_column_load:
        return
    if state.is_insert:
        _stamp_bulk_rows(state, network_id)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(_network_criteria(network_id))


@functools.lru_cache(maxsize=256)
def _network_criteria(network_id: int) -> LoaderCriteriaOption:
    """The ORM option filtering every scoped table to ``network_id``: made once per network, as
    an option is never changed once made (building it, and its lambda, cost more than the rest
    of :func:`_scope_statement` at every statement)."""
    return with_loader_criteria(
        NetworkScoped,
        lambda cls: cls.network_id == network_id,
        include_aliases=True,
        propagate_to_loaders=True,
    )


def _stamp_bulk_rows(state: ORMExecuteState, network_id: int) -> None:
    """An ORM bulk ``INSERT`` of scoped rows (``session.execute(insert(Member), rows)``): the
    rows without a network get the session's."""
    mapper = state.bind_mapper
    if mapper is None or not issubclass(mapper.class_, NetworkScoped):
        return
    parameters = state.parameters
    rows = parameters if isinstance(parameters, list) else [parameters] if parameters else []
    for row in rows:
        if isinstance(row, dict) and row.get(NETWORK_KEY) is None:
            row[NETWORK_KEY] = network_id


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    """Rows added without a network belong to the session's; a row of another network is
    refused (it would be a leak between networks)."""
    network_id = network_of(session)
    for instance in session.new:
        if not isinstance(instance, NetworkScoped):
            continue
        current = instance.network_id
        if current is None:
            if network_id == ALL_NETWORKS:
                raise ValueError(f"{type(instance).__name__} added without a network")
            instance.network_id = network_id
        elif network_id not in (ALL_NETWORKS, current):
            raise ValueError(
                f"{type(instance).__name__} of network {current} added by network {network_id}"
            )
