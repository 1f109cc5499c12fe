"""What almost every update reads and few writes change — the open cycle and the week's
offered products — held in this process's memory while the network's catalog is unchanged.

**The version.** ``network.catalog_version`` is a number drawn anew, in the same transaction,
by every write that changes what is cached: a product, a producer, a cycle, a recipe, an
offer added or removed or its ``offered`` changed (the listeners below watch the ORM's flushes
and its ``UPDATE``/``DELETE``/``INSERT`` statements; ``ordered``, the stock being sold, is
never cached and never bumps it). A random number rather than a counter: a database made
again from nothing (tests, a restore) cannot reuse a number this process saw.

**Reading it.** The member's lookup reads the version in the same statement
(:func:`models.members.get_or_register` → :func:`remember_version`); a session that knows it
may use what this process loaded at that version (:func:`week`). Every worker reads the
version from the database, so a change made through one is seen by all at their next update.
A session that changed the catalog forgets the version (it reads its own changes from the
database); a session that never read it (jobs, the console) and a unit of work that writes
(it reads and locks the rows it changes) always query.

What is cached is read-only: the products and producers of :class:`Week` are detached objects,
made from plain rows read in the update's own transaction, shared by every update of this
process; they are rendered, never attached to a session. The open cycle is given to each
session as its own copy (:func:`open_cycle`).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ScalarSelect, event, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    UOWTransaction,
    make_transient_to_detached,
)
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from models.cycle import Cycle, CycleState, Offer
from models.member import Member
from models.network import ALL_NETWORKS, Network, network_of, new_catalog_version
from models.producer import Producer, Product
from models.recipe import RecipeIngredient
from models.unit_of_work import write_intended

log = logging.getLogger(__name__)

VERSION_KEY = "catalog_version"
"""``session.info`` key: the network's catalog version this session read (absent: unknown)."""
_CHANGED_KEY = "catalog_changed"
_CATALOG_CLASSES: tuple[type, ...] = (Product, Producer, Cycle, RecipeIngredient)
_STOCK_ONLY = frozenset({"ordered"})


@dataclass(frozen=True)
class Week:
    """The open cycle's catalog as this process loaded it at one version.

    ``products``: every active product offered this cycle (offered > 0), with its producer, by
    id; ``dishes``: the ids among them that have a recipe (their limits are read live)."""

    version: int
    cycle: Cycle | None
    products: dict[int, Product] = field(default_factory=dict)
    dishes: frozenset[int] = frozenset()


T = TypeVar("T")

_weeks: dict[int, Week] = {}
"""Network id → the week loaded last in this process."""
_loading: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop (a lock belongs to one), per network: the lock of the load in progress."""


def version_column() -> ScalarSelect[int]:
    """The member's network's catalog version, as a column for the member's lookup."""
    return select(Network.catalog_version).where(Network.id == Member.network_id).scalar_subquery()


def remember_version(session: AsyncSession, version: int | None) -> None:
    """Remember the catalog version this session read (unless it changed the catalog)."""
    if version is None or session.info.get(_CHANGED_KEY):
        return
    session.info[VERSION_KEY] = int(version)


def known_version(session: AsyncSession) -> int | None:
    """The catalog version this session read, or None (it must query)."""
    value = session.info.get(VERSION_KEY)
    return None if value is None else int(value)


async def week(session: AsyncSession) -> Week | None:
    """The week's catalog at the version the session read: from memory when this process
    loaded it at that version, else loaded now (as rows, made into objects that are nobody's)
    and kept. None when the session knows no version: the caller queries."""
    version = known_version(session)
    network_id = network_of(session)
    if (
        version is None
        or network_id == ALL_NETWORKS
        or write_intended()  # a writer reads the rows it changes, and may hold the lock
    ):
        return None
    cached = _weeks.get(network_id)
    if cached is not None and cached.version == version:
        return cached
    # One load at a time per network: the updates that arrive meanwhile wait for it (each
    # holding the connection it has, asking for no other), instead of each loading the week.
    locks = _loading.setdefault(asyncio.get_running_loop(), {})
    async with locks.setdefault(network_id, asyncio.Lock()):
        cached = _weeks.get(network_id)
        if cached is not None and cached.version == version:
            return cached
        loaded = await _load(session, network_id, version)
        if known_version(session) == version:  # no change of this session's meanwhile
            _weeks[network_id] = loaded
    return loaded


async def _load(session: AsyncSession, network_id: int, version: int) -> Week:
    """Read the open cycle and its offered products, in the session's own transaction (no
    second connection: a full pool must not stop an update) as plain rows, made into detached
    objects that belong to no session.

    The version was read before: what is read now is at least as new as it (a later change
    gives a new version, hence a new load), never older."""
    cycles, offers, products_t, producers = (
        Cycle.__table__,
        Offer.__table__,
        Product.__table__,
        Producer.__table__,
    )
    found = (
        await session.execute(
            select(cycles)
            .where(cycles.c.network_id == network_id, cycles.c.state == CycleState.OPEN)
            .order_by(cycles.c.opens_at.desc())
            .limit(1)
        )
    ).first()
    if found is None:
        return Week(version, None)
    cycle = _from_row(Cycle, found._mapping)
    rows = await session.execute(
        select(products_t, producers)
        .select_from(offers)
        .join(products_t, offers.c.product_id == products_t.c.id)
        .join(producers, products_t.c.producer_id == producers.c.id)
        .where(
            offers.c.network_id == network_id,
            offers.c.cycle_id == cycle.id,
            offers.c.offered > 0,
            products_t.c.active.is_(True),
        )
    )
    products: dict[int, Product] = {}
    farms: dict[int, Producer] = {}
    for row in rows:
        values = row._mapping
        farm = farms.get(values[producers.c.id])
        if farm is None:
            farm = farms[values[producers.c.id]] = _from_row(Producer, values)
        product = _from_row(Product, values)
        set_committed_value(product, "producer", farm)
        products[product.id] = product
    recipes = RecipeIngredient.__table__
    dishes = frozenset(
        int(dish_id)
        for dish_id in await session.scalars(
            select(recipes.c.dish_id).where(recipes.c.network_id == network_id).distinct()
        )
        if dish_id in products
    )
    return Week(version, cycle, products, dishes)


def _detached(cls: type[T], values: dict[str, Any]) -> T:
    """An instance of ``cls`` with these column attributes (by name), detached and unchanged
    as if a session had loaded it and let go.

    Made as a load makes it: the values put in its state, no ``__init__``, no history (a copy
    through the constructor cost every update a twentieth of its CPU, :func:`attach_cycle`)."""
    instance: T = inspect(cls).class_manager.new_instance()
    instance_dict(instance).update(values)
    make_transient_to_detached(instance)
    return instance


def _from_row(cls: type[T], row: Any) -> T:
    """:func:`_detached` made of a row's columns (``row``: a row's mapping, keyed by the
    table's columns)."""
    return _detached(cls, {attr.key: row[attr.columns[0]] for attr in inspect(cls).column_attrs})


def attach_cycle(session: AsyncSession, cycle: Cycle) -> Cycle | None:
    """This session's own copy of a cached cycle (no statement: the copy is persistent and
    unchanged, as if just loaded); the session's instance if it holds the cycle already, or
    None when that instance was expired (a rollback): the caller reads it again."""
    key = inspect(cycle).key
    assert key is not None
    held = session.sync_session.identity_map.get(key)
    if isinstance(held, Cycle):
        return None if inspect(held).expired_attributes else held
    values = instance_dict(cycle)
    copy = _detached(Cycle, {name: values[name] for name in _CYCLE_COLUMNS if name in values})
    session.add(copy)
    return copy


_CYCLE_COLUMNS = tuple(attr.key for attr in inspect(Cycle).column_attrs)


async def open_cycle(session: AsyncSession) -> tuple[bool, Cycle | None]:
    """(True, the open cycle or None) from the cached week; (False, None) when the session
    knows no version and the caller must query."""
    current = await week(session)
    if current is None:
        return False, None
    if current.cycle is None:
        return True, None
    attached = attach_cycle(session, current.cycle)
    return attached is not None, attached


# --- the version's bumps ------------------------------------------------------------------


def _changes_catalog(instance: object, *, dirty: bool) -> bool:
    if isinstance(instance, _CATALOG_CLASSES):
        return True
    if isinstance(instance, Offer):
        return not dirty or inspect(instance).attrs.offered.history.has_changes()
    return False


@event.listens_for(Session, "before_flush")
def _watch_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    """A flush that writes a catalog row marks the session (bumped after the flush)."""
    if session.info.get(_CHANGED_KEY) == "pending":
        return
    if any(_changes_catalog(i, dirty=False) for i in session.new) or any(
        _changes_catalog(i, dirty=False) for i in session.deleted
    ):
        session.info[_CHANGED_KEY] = "pending"
        return
    if any(_changes_catalog(i, dirty=True) for i in session.dirty if session.is_modified(i)):
        session.info[_CHANGED_KEY] = "pending"


@event.listens_for(Session, "after_flush_postexec")
def _bump_after_flush(session: Session, _flush: UOWTransaction) -> None:
    if session.info.get(_CHANGED_KEY) == "pending":
        _bump(session)


def _statement_changes_catalog(state: ORMExecuteState) -> bool:
    mapper = state.bind_mapper
    if mapper is None:
        return False
    cls = mapper.class_
    if issubclass(cls, _CATALOG_CLASSES):
        return True
    if not issubclass(cls, Offer):
        return False
    if state.is_insert or state.is_delete:
        return True
    names = _updated_names(state)
    return names is None or not names <= _STOCK_ONLY


def _updated_names(state: ORMExecuteState) -> set[str] | None:
    """The columns an ORM ``UPDATE`` sets, or None when they cannot be told (assume any).

    Besides the statement's ``values``, the rows of a bulk update by primary key name columns;
    a parameter that is no attribute of the mapped class is a bound value (a statement built
    once, ``models.ordering``), not a column."""
    values = getattr(state.statement, "_values", None)
    names: set[str] = set()
    if values:
        names |= {str(getattr(k, "key", k)) for k in values}
    parameters = state.parameters
    rows = parameters if isinstance(parameters, list) else [parameters] if parameters else []
    mapper = state.bind_mapper
    for row in rows:
        if isinstance(row, dict):
            names |= {
                str(k)
                for k in row
                if k != "id" and (not values or (mapper is not None and k in mapper.attrs))
            }
    return names or None


@event.listens_for(Session, "do_orm_execute")
def _watch_statement(state: ORMExecuteState) -> None:
    """An ORM ``UPDATE``, ``DELETE`` or ``INSERT`` of catalog rows bumps the version first."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if _statement_changes_catalog(state):
        _bump(state.session)


def _bump(session: Session) -> None:
    """Draw a new version for the session's network (every network for the operator's
    sessions), in its transaction; the session and this process forget the old one."""
    network_id = network_of(session)
    statement = update(Network).values(catalog_version=new_catalog_version())
    if network_id != ALL_NETWORKS:
        statement = statement.where(Network.id == network_id)
    session.connection().execute(statement)
    session.info[_CHANGED_KEY] = True
    session.info.pop(VERSION_KEY, None)
    if network_id == ALL_NETWORKS:
        _weeks.clear()
    else:
        _weeks.pop(network_id, None)
