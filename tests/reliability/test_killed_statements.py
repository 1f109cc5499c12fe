"""A process killed at any statement of a domain operation: nothing half-written, and the next
process carries on.

Each operation runs once, clean, on a copy of one prepared database, and lists the statements
it sends. Then, for every statement, on a fresh copy of the same database, the process dies
there: just before the database runs it, while it runs (the operation's task cancelled as the
statement goes to the driver, as stopping the bot cancels what is in flight: on SQLite a write
then goes on in the driver's thread without its caller), and just after it returned; and just
before each commit. Dying is :class:`Killed`, a ``BaseException``
(no ``except Exception`` catches it) raised from the engine's events, so SQLAlchemy gives the
connection up as a dying process would; nothing of the dead session is used again, its engine
is disposed.

What must hold, on SQLite and on PostgreSQL: the next process (a new engine on the same
database) finds the database as it was before the operation or as the clean run left it, never
in between; the invariants hold; and where nothing was done, the operation run again leaves the
database as the clean run did.

Through the bot, with what people see: a consumer's "Confirmer" (holding money on her balance),
a producer's "Valider", the scheduler's close and an admin's "Envoyer" on a broadcast (these two
with the sending they start) die also just before each Bot API call they make; the next process
serves the next press, or finishes what was started once the dead one's claims have lapsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db import create_engine, sessionmaker
from bot.sandbox import Sandbox
from handlers.broadcast_sending import wait_for_broadcasts
from handlers.cycle_run import run_due_work
from models import Base, Cycle, Member, Product
from models.base import UTCDateTime
from models.closing import close_cycle
from models.ordering import add_to_basket, confirm_order
from models.outbox import LEASE, Kind, OutboxMessage, OutboxState
from models.payments import PaymentMethod, credit_balance
from models.stock import read_stock_message
from tests.admin_support import running_app
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.database_rows import Saved, put_back, sequences
from tests.factories import make_member, make_network
from tests.invariants import check_invariants


class Killed(BaseException):
    """The process dying: no ``except Exception`` catches it."""


OVERDRAFT = 0
"""The prepaid balance's overdraft in these operations (the balance must cover the order)."""
STOCK_MESSAGE = "tomates anciennes 7,5 kg, +3 oeufs"
"""Marie's stock message: 7.5 kg of tomatoes (recorded) and eggs in a unit it cannot convert."""


@dataclass(frozen=True)
class Cast:
    """Who and what the operations act on, by id (each run reads them in its own session)."""

    cycle_id: int
    alice_id: int
    """Has a basket of two lines (tomatoes, eggs) and a balance that covers it."""
    bob_id: int
    """Has a confirmed order, its total held on his balance."""
    dan_id: int
    """Has ordered nothing yet."""
    tomatoes_id: int
    eggs_id: int
    now: datetime


Operation = Callable[[AsyncSession, Cast], Awaitable[Any]]


async def _member(session: AsyncSession, member_id: int) -> Member:
    member = await session.get(Member, member_id)
    assert member is not None
    return member


async def _first_add(session: AsyncSession, cast: Cast) -> Any:
    dan = await _member(session, cast.dan_id)
    return await add_to_basket(session, dan, cast.cycle_id, cast.tomatoes_id, Decimal(1), cast.now)


async def _close(session: AsyncSession, cast: Cast) -> Any:
    return await close_cycle(session, cast.cycle_id, cast.now + timedelta(hours=1))


OPERATIONS: dict[str, Operation] = {
    "a first add, which creates the order": _first_add,
    "the close, which abandons a basket and debits a balance": _close,
}


async def _prepare(session: AsyncSession, now: datetime) -> Cast:
    """The database every run starts from (committed)."""
    network = await make_network(session, now)
    cycle: Cycle = network["cycle"]  # type: ignore[assignment]
    products: dict[str, Product] = network["products"]  # type: ignore[assignment]
    central = network["central"]
    tomatoes, eggs = products["TOM-ANC"], products["OEU-6"]
    admin = await make_member(session, 700_000, name="Admin")
    alice = await make_member(session, 700_001, pickup=central, name="Alice")  # type: ignore[arg-type]
    bob = await make_member(session, 700_002, pickup=central, name="Bob")  # type: ignore[arg-type]
    dan = await make_member(session, 700_003, pickup=central, name="Dan")  # type: ignore[arg-type]
    marie = await make_member(session, 700_004, name="Marie")  # speaks for the producer
    marie.producer_id = network["producer"].id  # type: ignore[attr-defined]
    await session.commit()
    for member in (alice, bob):
        await credit_balance(session, member.id, 10_000, PaymentMethod.TRANSFER, None, admin, now)
    await add_to_basket(session, alice, cycle.id, tomatoes.id, Decimal(1), now)
    await add_to_basket(session, alice, cycle.id, eggs.id, Decimal(1), now)
    await add_to_basket(session, bob, cycle.id, eggs.id, Decimal(3), now)
    await confirm_order(session, bob, cycle.id, now, overdraft_cents=OVERDRAFT)
    # A stock message left waiting for Valider, as the close finds some.
    pending = await read_stock_message(session, marie, STOCK_MESSAGE, now)
    assert pending is not None
    await session.commit()
    return Cast(
        cycle_id=cycle.id,
        alice_id=alice.id,
        bob_id=bob.id,
        dan_id=dan.id,
        tomatoes_id=tomatoes.id,
        eggs_id=eggs.id,
        now=now,
    )


async def _saved(url: str) -> Saved:
    """Every table's rows and every sequence's value in ``url``'s database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = {
                table.name: [
                    dict(row) for row in (await connection.execute(select(table))).mappings()
                ]
                for table in Base.metadata.sorted_tables
            }
            return rows, await sequences(connection)
    finally:
        await engine.dispose()


async def _restore(url: str, saved: Saved) -> None:
    """``url``'s database put back as :func:`_saved` found it, in one transaction (its foreign
    keys' triggers off meanwhile: the rows go back in any order)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await put_back(connection, saved)
    finally:
        await engine.dispose()


class Copies:
    """Fresh copies of the prepared database: a file copy on SQLite; on PostgreSQL one database
    made from it as a template, then, for each next copy, its rows put back as they were (the
    other connections to it ended first, as ``DROP DATABASE … WITH (FORCE)`` would)."""

    def __init__(self, engine: AsyncEngine, tmp_path: Path) -> None:
        self.url = engine.url
        self.tmp_path = tmp_path
        self.count = 0
        self.made: list[str] = []
        self.prepared: Saved = ({}, {})

    @property
    def postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    async def fresh(self) -> str:
        """The URL of a new copy (the prepared database's engine must be disposed)."""
        self.count += 1
        if not self.postgres:
            source = sqlite3.connect(str(self.url.database))
            target_path = self.tmp_path / f"copy-{self.count}.sqlite3"
            target = sqlite3.connect(str(target_path))
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
            return f"sqlite+aiosqlite:///{target_path}"
        name = f"{self.url.database}_killed"
        url = self.url.set(database=name).render_as_string(hide_password=False)
        if not self.made:
            await self._admin(
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                f'CREATE DATABASE "{name}" TEMPLATE "{self.url.database}"',
            )
            self.made.append(name)
            self.prepared = await _saved(url)
        else:  # the prepared rows put back: a CREATE DATABASE per death takes a second
            await self._admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            await _restore(url, self.prepared)
        return url

    async def drop(self) -> None:
        """Drop the copies made on PostgreSQL (files go with the test's folder)."""
        for name in sorted(set(self.made)):
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _admin(self, *statements: str) -> None:
        admin = create_engine(
            make_url(self.url).set(database="postgres").render_as_string(hide_password=False)
        )
        try:
            async with admin.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                for statement in statements:
                    await connection.execute(text(statement))
        finally:
            await admin.dispose()


_OUTLIVING: contextvars.ContextVar[Death | None] = contextvars.ContextVar("outliving", default=None)
"""The death whose ``outlive`` runs the current task (inherited by the tasks it starts, as the
transport's timeout starts one for each Bot API call)."""


class Death:
    """Where the process dies: ``("before" | "during" | "after", n)`` for the n-th statement,
    ``("commit", n)`` just before the n-th commit, ``("call", n)`` just before the n-th Bot
    API call (given the ``sandbox``); None: nowhere, and the statements and calls are listed.
    (Dying just after a commit is dying before the next statement or call, or after the
    operation.) Only what ``task`` sends counts, once set: an application's background work
    (its scheduler, its sending) runs beside the update it serves."""

    def __init__(
        self,
        engine: AsyncEngine,
        at: tuple[str, int] | None,
        sandbox: Sandbox | None = None,
        *,
        family: bool = False,
    ) -> None:
        self.at = at
        self.family = family
        """Count what the tasks ``task`` starts send too (the close's sending workers), until
        ``task`` ends; once struck, every later step of theirs dies too (a dead process does
        nothing more), so a death "during" a statement ends at its return at the latest."""
        self.over = False
        self.statements: list[str] = []
        self.commits = 0
        self.calls: list[str] = []
        self.statements_before_call: list[int] = []
        """For each call, how many statements went before it."""
        self.struck = False
        self.task: asyncio.Future[Any] | None = None
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)
        event.listen(sync, "commit", self._commit)
        if sandbox is not None:
            self._watch(sandbox)

    def _watch(self, sandbox: Sandbox) -> None:
        """Count (and die at) the Bot API calls ``task`` makes through ``sandbox``."""

        def counted(method: str, _params: object, _files: object) -> None:
            if _OUTLIVING.get() is self:
                self.calls.append(method)
                self.statements_before_call.append(len(self.statements))
                self._strike("call", len(self.calls) - 1)

        sandbox.before_each_call(counted)

    def _strike(self, when: str, index: int) -> None:
        if self.struck and self.family:
            # The process is dead: whatever of it still runs stops at its next step.
            raise Killed(f"after the death at {self.at}")
        if self.at != (when, index) or self.struck:
            return
        self.struck = True
        if when == "during":
            task = asyncio.current_task()
            assert task is not None
            task.cancel()  # the statement goes on; its caller is cancelled at its await
            if self.family and self.task is not None and task is not self.task:
                self.task.cancel()  # and the rest of the process with it
            return
        raise Killed(f"{when} {index}")

    async def outlive(self, work: Awaitable[Any]) -> bool:
        """Run ``work`` as the task whose statements count; True when it died there (only a
        death struck here is swallowed), False when it ran to its end."""

        async def marked() -> Any:
            _OUTLIVING.set(self)
            return await work

        self.task = asyncio.ensure_future(marked())
        try:
            await self.task
        except (Killed, asyncio.CancelledError):
            if not self.struck:
                raise
            return True
        finally:
            self.over = True
        return False

    def _counts(self) -> bool:
        if self.family:  # once dead, what of the process still runs is stopped too
            return _OUTLIVING.get() is self and (not self.over or self.struck)
        return self.task is None or asyncio.current_task() is self.task

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not self._counts():
            return
        self.statements.append(" ".join(statement.split())[:100])
        self._strike("before", len(self.statements) - 1)
        self._strike("during", len(self.statements) - 1)

    def _after(self, *_args: Any) -> None:
        if not self._counts():
            return
        self._strike("after", len(self.statements) - 1)

    def _commit(self, _conn: Any) -> None:
        if not self._counts():
            return
        self.commits += 1
        self._strike("commit", self.commits - 1)


def _volatile(table: Table, inserted: set[str]) -> set[str]:
    """Columns whose values a second run may give differently: the insert-time clock, the
    catalog's random version, and the ids of rows inserted (a PostgreSQL sequence does not roll
    back) with the columns that refer to them."""

    def volatile(column: Any) -> bool:
        clock = isinstance(column.type, UTCDateTime) and bool(column.default or column.onupdate)
        inserted_id = column.primary_key and table.name in inserted
        refers = any(fk.column.table.name in inserted for fk in column.foreign_keys)
        return clock or column.name == "catalog_version" or inserted_id or refers

    return {column.name for column in table.columns if volatile(column)}


async def _snapshot(
    url: str, inserted: set[str], moments: frozenset[str] = frozenset()
) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (volatile columns left out, and the ``moments``: "table.column"
    names of when something was done, which a later run does later), sorted."""
    engine = create_engine(url)
    try:
        rows: dict[str, list[tuple[Any, ...]]] = {}
        async with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                volatile = _volatile(table, inserted)
                volatile |= {c.name for c in table.columns if f"{table.name}.{c.name}" in moments}
                columns = [c for c in table.columns if c.name not in volatile]
                result = await connection.execute(select(*columns))
                rows[table.name] = sorted((tuple(map(repr, row)) for row in result), key=str)
        return rows
    finally:
        await engine.dispose()


def _inserted(statements: list[str]) -> set[str]:
    return {s.split()[2].strip('"') for s in statements if s.upper().startswith("INSERT INTO")}


async def _run(url: str, cast: Cast, operation: Operation, at: tuple[str, int] | None) -> Death:
    """Run ``operation`` in a process of its own on ``url``, dying ``at`` (None: it lives)."""
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    death = Death(engine, at)
    session = sessions()
    try:
        if not await death.outlive(operation(session, cast)):
            assert not death.struck, f"the operation went on after dying at {at}"
    finally:
        # The dead session is never used again (its connection went with the process): its
        # connections are dropped, not rolled back nor returned.
        await session.invalidate()
        await engine.dispose()
    return death


async def _invariants(url: str) -> None:
    engine = create_engine(url)
    try:
        async with sessionmaker(engine)() as session:
            await check_invariants(session, overdraft_cents=OVERDRAFT)
    finally:
        await engine.dispose()


def _deaths(statements: int, commits: int) -> Iterator[tuple[str, int]]:
    """Before, during and after every statement, and before every commit."""
    for index in range(statements):
        for when in ("before", "during", "after"):
            yield when, index
    for index in range(commits):
        yield "commit", index


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_a_process_killed_at_any_statement_leaves_all_or_nothing(
    name: str, engine: AsyncEngine, session: AsyncSession, clock: Any, tmp_path: Path
) -> None:
    operation = OPERATIONS[name]
    cast = await _prepare(session, clock())
    await session.close()
    await engine.dispose()
    copies = Copies(engine, tmp_path)
    try:
        clean_url = await copies.fresh()
        clean = await _run(clean_url, cast, operation, None)
        inserted = _inserted(clean.statements)
        after = await _snapshot(clean_url, inserted)
        deaths = list(_deaths(len(clean.statements), clean.commits))
        assert len(deaths) > 6, clean.statements
        before = await _snapshot(await copies.fresh(), inserted)  # every copy starts so
        assert before != after, "the operation changes nothing: it tests nothing"
        seen = {"before": 0, "after": 0}
        for at in deaths:
            url = await copies.fresh()
            died = await _run(url, cast, operation, at)
            assert died.struck, f"never reached {at}: {died.statements} against {clean.statements}"
            found = await _snapshot(url, inserted)
            if found == before:
                seen["before"] += 1
                again = await _run(url, cast, operation, None)
                assert not again.struck
                assert await _snapshot(url, inserted) == after, f"rerun after dying at {at}"
            else:
                seen["after"] += 1
                assert found == after, f"half written after dying at {at} {_where(clean, at)}: " + (
                    _difference(before, found, after)
                )
            await _invariants(url)
        # Every death before the operation's last commit undoes it all (deaths after an earlier
        # commit may keep what it committed: the close's summary is read after it).
        assert seen["before"], seen
    finally:
        await copies.drop()


def _where(clean: Death, at: tuple[str, int]) -> str:
    when, index = at
    if when in ("before", "during", "after"):
        return repr(clean.statements[index])
    return f"(commit {index + 1} of {clean.commits})"


def _difference(
    before: dict[str, list[tuple[Any, ...]]],
    found: dict[str, list[tuple[Any, ...]]],
    after: dict[str, list[tuple[Any, ...]]],
) -> str:
    lines = []
    for table in found:
        if found[table] != before[table] or found[table] != after[table]:
            if found[table] not in (before[table], after[table]):
                lines.append(
                    f"{table}: before {before[table]}, found {found[table]}, after {after[table]}"
                )
            elif found[table] == before[table] != after[table]:
                lines.append(f"{table}: as before")
            else:
                lines.append(f"{table}: as after")
    return "; ".join(lines)


@contextlib.asynccontextmanager
async def _serving(
    settings: Any, url: str, sandbox: Sandbox, clock: Any
) -> AsyncIterator[tuple[AsyncEngine, Any]]:
    """A process of the bot on ``url``, attached to ``sandbox``: its engine (to listen on) and
    its application."""
    engine = create_engine(url)
    try:
        async with running_app(
            settings.model_copy(update={"database_url": url}),
            engine,
            sandbox,
            clock,
            rate_limiter=False,
        ) as application:
            yield engine, application
    finally:
        await engine.dispose()


def _button(message: Any, prefix: str, *, required: bool = True) -> str:
    """The data of ``message``'s button whose data starts with ``prefix`` ("Confirmer":
    ``bsk:ok``, "Valider": ``stk:ok:``, "Envoyer": ``bc:send``); "" when it has none, which
    fails unless not ``required`` (the view was redrawn past it)."""
    found = next((d for row in message.button_data for d in row if d and d.startswith(prefix)), "")
    assert found or not required, (prefix, message.buttons)
    return found


RECEIPT = "confirmée — merci"
CONFIRMED = "✅ Commande n° 1 confirmée"
APOLOGY = "quelque chose s’est mal passé"


def _seen(user: Any) -> str:
    """Everything the person sees in the chat now, and the pop-ups she was shown."""
    texts = [m.text or m.caption or "" for m in user.messages if not m.deleted]
    return "\n---\n".join(texts + [a.text for a in user.answers if a.text])


async def test_a_process_killed_at_any_statement_of_a_confirmation_confirms_once(
    engine: AsyncEngine, session: AsyncSession, clock: Any, tmp_path: Path, settings: Any
) -> None:
    """Alice presses "Confirmer la commande" and the process dies at a statement of that press;
    she presses again, served by the next process. What she sees: her order confirmed, with
    its receipt exactly once — also when the first process died after the confirmation's commit
    (she is then told it was already confirmed, and the receipt follows) — and never an
    apology; the database ends as one clean confirmation left it. The receipt goes at most
    once: a death at a Bot API call after its claim loses it (she still sees her order
    confirmed, and the close's final receipt, which must arrive, follows)."""
    await _prepare(session, clock())
    await session.close()
    await engine.dispose()
    copies = Copies(engine, tmp_path)

    async def press(url: str, at: tuple[str, int] | None) -> tuple[Death, Sandbox, Any, Any]:
        """Alice's press on "Confirmer" in a process of its own, dying ``at``: the death, her
        sandbox, herself and the basket message she pressed."""
        sandbox = Sandbox()
        alice = sandbox.user("Alice", language="fr", user_id=700_001)
        async with _serving(settings, url, sandbox, clock) as (app_engine, _app):
            await alice.send("/panier")
            basket = alice.last_message
            death = Death(app_engine, at, sandbox)
            await death.outlive(alice.press_data(_button(basket, "bsk:ok"), message=basket))
        return death, sandbox, alice, basket

    try:
        clean_url = await copies.fresh()
        clean, _sandbox, alice, _basket = await press(clean_url, None)
        assert sum(RECEIPT in (m.text or "") for m in alice.messages) == 1, _seen(alice)
        inserted = _inserted(clean.statements)
        after = await _snapshot(clean_url, inserted)
        deaths = list(_spread(len(clean.statements), clean.commits, len(clean.calls), 1, 1))
        assert len(deaths) > 6, clean.statements
        claim = next(
            index
            for index, statement in enumerate(clean.statements)
            if statement.startswith("UPDATE") and "receipt_sent_at" in statement
        )
        claimed = {
            ("call", index)
            for index, before in enumerate(clean.statements_before_call)
            if before > claim
        }
        assert claimed, (clean.calls, clean.statements_before_call)
        for at in deaths:
            url = await copies.fresh()
            died, sandbox, alice, basket = await press(url, at)
            assert died.struck, f"never reached {at}: {died.statements} against {clean.statements}"
            async with _serving(settings, url, sandbox, clock):
                confirm = _button(basket, "bsk:ok", required=False)
                if confirm:  # else the basket was redrawn confirmed
                    await alice.press_data(confirm, message=basket)
                await alice.send("/panier")
            seen = _seen(alice)
            receipts = sum(RECEIPT in (m.text or "") for m in alice.messages)
            expected = {0, 1} if at in claimed else {1}
            assert receipts in expected, f"{receipts} receipts after dying at {at}: {seen}"
            assert CONFIRMED in seen, f"not seen confirmed after dying at {at}: {seen}"
            assert APOLOGY not in seen, f"an apology after dying at {at}: {seen}"
            assert await _snapshot(url, inserted) == after, f"dying at {at}"
            await _invariants(url)
    finally:
        await copies.drop()


STALE = "plus valable"


async def test_a_process_killed_at_any_statement_of_a_stock_validation_records_it_once(
    engine: AsyncEngine, session: AsyncSession, clock: Any, tmp_path: Path, settings: Any
) -> None:
    """Marie sends her stock and presses "Valider"; the process dies at a statement of that
    press; she presses again, served by the next process. What she sees: her stock recorded —
    said to be already recorded when the first process died after its commit — never that the
    button is stale, never an apology; the database ends as one clean validation left it."""
    await _prepare(session, clock())
    await session.close()
    await engine.dispose()
    copies = Copies(engine, tmp_path)

    async def press(url: str, at: tuple[str, int] | None) -> tuple[Death, Sandbox, Any, Any]:
        """Marie's stock message, then her press on "Valider" dying ``at``, in a process of its
        own: the death, her sandbox, herself and the preview she pressed."""
        sandbox = Sandbox()
        marie = sandbox.user("Marie", language="fr", user_id=700_004)
        async with _serving(settings, url, sandbox, clock) as (app_engine, _app):
            await marie.send(STOCK_MESSAGE)
            preview = marie.last_message
            death = Death(app_engine, at, sandbox)
            await death.outlive(marie.press_data(_button(preview, "stk:ok:"), message=preview))
        return death, sandbox, marie, preview

    try:
        clean_url = await copies.fresh()
        clean, _sandbox, marie, _preview = await press(clean_url, None)
        assert "Stock enregistré" in marie.last_message.text, _seen(marie)
        inserted = _inserted(clean.statements)
        after = await _snapshot(clean_url, inserted)
        deaths = list(_spread(len(clean.statements), clean.commits, len(clean.calls), 1, 1))
        assert len(deaths) > 6, clean.statements
        for at in deaths:
            url = await copies.fresh()
            died, sandbox, marie, preview = await press(url, at)
            assert died.struck, f"never reached {at}: {died.statements} against {clean.statements}"
            assert died.calls == clean.calls[: len(died.calls)], (died.calls, clean.calls)
            async with _serving(settings, url, sandbox, clock):
                await marie.press_data(_button(preview, "stk:ok:"), message=preview)
            seen = _seen(marie)
            last = marie.last_message.text or ""
            assert "Stock enregistré" in last or "déjà enregistré" in last, f"at {at}: {seen}"
            assert "Tomates anciennes : 20 → 7,5\xa0kg" in last, f"at {at}: {seen}"
            assert STALE not in seen, f"told the button is stale after dying at {at}: {seen}"
            assert APOLOGY not in seen, f"an apology after dying at {at}: {seen}"
            assert await _snapshot(url, inserted) == after, f"dying at {at}"
            await _invariants(url)
    finally:
        await copies.drop()


STRIDE = 20
"""One statement in twenty of the close (or of a broadcast) is a death, before, during or after
it in turn, besides one commit in two and every Bot API call: CI's time (every death of the
close, 425 of them, takes five minutes; ``STRIDE = 1`` and every commit run them all)."""


def _spread(
    statements: int, commits: int, calls: int, stride: int = STRIDE, every: int = 2
) -> Iterator[tuple[str, int]]:
    """The deaths of :func:`_deaths`, one statement in ``stride`` (before, during and after in
    turn), one commit in ``every``, every call."""
    for index in range(0, statements, stride):
        yield ("before", "during", "after")[index // stride % 3], index
    for index in range(0, commits, every):
        yield "commit", index
    for index in range(calls):
        yield "call", index


def _plain(text: str) -> str:
    """A text as the person reads it, without the line marking a resend."""
    return text.split("\n", 1)[1].lstrip("\n") if text.startswith(RESENT) else text


RESENT = "🔁 Envoi répété"
MUST_ARRIVE = frozenset({Kind.PURCHASE_ORDER, Kind.FINAL_RECEIPT, Kind.CLOSE_SUMMARY})
"""What the close sends that must arrive, whatever happens: the farm's purchase order (and its
CSV), the consumer's final receipt, the admins' summary. (The released basket's notice may be
dropped.)"""
CLOSE_MOMENTS = frozenset({"cycle.closed_at"})
"""When the close ran: the next process closes later than the clean run did."""


async def _outbox(url: str) -> dict[tuple[str, str, int, int], OutboxState]:
    """Every outbox row's key (topic, kind, recipient, part) and state."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(
                    OutboxMessage.topic,
                    OutboxMessage.kind,
                    OutboxMessage.telegram_id,
                    OutboxMessage.part,
                    OutboxMessage.state,
                )
            )
            return {(t, k, r, p): OutboxState(state) for t, k, r, p, state in rows}
    finally:
        await engine.dispose()


async def test_a_process_killed_at_any_step_of_the_close_leaves_every_message_delivered(
    engine: AsyncEngine, session: AsyncSession, clock: Any, tmp_path: Path, settings: Any
) -> None:
    """The close falls due and the process dies at a statement of the close or of its sending
    (its workers' too), or just before one of its Bot API calls; the next process, started once
    the dead one's claims have lapsed, finishes. What people see: every message that must
    arrive (the purchase order, the final receipt, the admins' summary) arrived, none of them
    twice unless marked as a resend, the others at most once, nothing the clean close did not
    send; the database as the clean close left it (the outbox's bookkeeping aside)."""
    await _prepare(session, clock())
    cycle = await session.get(Cycle, (await session.scalars(select(Cycle.id))).one())
    assert cycle is not None
    due = cycle.closes_at + timedelta(minutes=1)
    await session.close()
    await engine.dispose()
    copies = Copies(engine, tmp_path)
    people = PEOPLE | {ADMIN_TELEGRAM_ID: "Organisatrice"}

    async def close(url: str, at: tuple[str, int] | None) -> tuple[Death, Sandbox]:
        """The close run when due, in a process of its own, dying ``at``."""
        sandbox = Sandbox()
        for telegram_id, name in people.items():
            sandbox.user(name, language="fr", user_id=telegram_id)
        clock.set(due - timedelta(minutes=2))  # the process starts before the close is due
        async with _serving(settings, url, sandbox, clock) as (app_engine, application):
            clock.set(due)
            death = Death(app_engine, at, sandbox, family=True)
            await death.outlive(run_due_work(application))
        return death, sandbox

    def seen(sandbox: Sandbox) -> dict[int, list[str]]:
        """What each person reads in their chat, oldest first."""
        return {
            user.id: [m.text or m.caption or "" for m in user.messages if not m.deleted]
            for user in sandbox.users
        }

    try:
        clean_url = await copies.fresh()
        clean, clean_sandbox = await close(clean_url, None)
        sent = seen(clean_sandbox)
        assert sent[700_004], sent  # Marie's purchase order
        assert sent[700_002], sent  # Bob's final receipt
        inserted = _inserted(clean.statements)
        after = await _snapshot(clean_url, inserted, CLOSE_MOMENTS)
        rows = await _outbox(clean_url)
        assert set(rows.values()) == {OutboxState.SENT}, rows
        assert {kind for _topic, kind, _to, _part in rows} >= MUST_ARRIVE, rows
        must = {to for _topic, kind, to, _part in rows if kind in MUST_ARRIVE}
        deaths = list(_spread(len(clean.statements), clean.commits, len(clean.calls)))
        struck = 0
        for at in deaths:
            url = await copies.fresh()
            died, sandbox = await close(url, at)
            struck += died.struck
            clock.set(due + LEASE + timedelta(seconds=1))
            async with _serving(settings, url, sandbox, clock) as (_engine, application):
                await run_due_work(application)
                await run_due_work(application)
            where = f"dying at {at} (struck: {died.struck})"
            for telegram_id, texts in seen(sandbox).items():
                plain = [t for t in texts if not t.startswith(RESENT)]
                assert len(plain) == len(set(plain)), (where, people[telegram_id], texts)
                read = {_plain(t) for t in texts}
                strange = read - set(sent[telegram_id])
                assert not strange, (where, people[telegram_id], strange)
                if telegram_id in must:  # the purchase order and its CSV, the receipt, the summary
                    missing = set(sent[telegram_id]) - read
                    assert not missing, (where, people[telegram_id], missing)
            states = await _outbox(url)
            assert states.keys() == rows.keys(), where
            for (topic, kind, recipient, part), state in states.items():
                expected = {OutboxState.SENT}
                if kind not in MUST_ARRIVE:
                    expected.add(OutboxState.UNCERTAIN)
                assert state in expected, (where, topic, kind, people.get(recipient), part, state)
            snapshot = await _snapshot(url, inserted, CLOSE_MOMENTS)
            assert {t: r for t, r in snapshot.items() if t != "outbox_message"} == {
                t: r for t, r in after.items() if t != "outbox_message"
            }, (
                f"{where}: {[(t, snapshot[t], after[t]) for t in snapshot if snapshot[t] != after[t] and t != 'outbox_message']}"
            )
            await _invariants(url)
        # The sending's order varies from run to run: a death past a shorter run's end is a
        # run that lived; most must have died.
        assert struck >= 0.9 * len(deaths), f"{struck} of {len(deaths)} deaths struck"
    finally:
        await copies.drop()


BROADCAST = "Marché de Noël samedi : venez goûter les huîtres !"
PEOPLE = {700_000: "Admin", 700_001: "Alice", 700_002: "Bob", 700_003: "Dan", 700_004: "Marie"}
"""The prepared database's members (the organiser, ``ADMIN_TELEGRAM_ID``, joins as she writes)."""


async def test_a_process_killed_at_any_step_of_a_broadcast_never_sends_it_twice(
    engine: AsyncEngine, session: AsyncSession, clock: Any, tmp_path: Path, settings: Any
) -> None:
    """The organiser presses "Envoyer" on a broadcast's preview; the process dies at a
    statement of that press or of the sending it starts (its workers' too), or just before one
    of their Bot API calls; the next process starts once the dead one's claims have lapsed and
    she presses "Envoyer" again. What people see: nobody gets the broadcast twice, everyone
    gets it but those whose copy was in flight at the death (counted uncertain); she is told it
    already went out — never that the button is stale, which would have her write it again —
    or, when the death came before it started, it starts then."""
    await _prepare(session, clock())
    await session.close()
    await engine.dispose()
    copies = Copies(engine, tmp_path)
    start = clock()

    async def press(url: str, at: tuple[str, int] | None) -> tuple[Death, Sandbox, Any, Any]:
        """The broadcast written and "Envoyer" pressed in a process of its own, dying ``at``:
        the death, the sandbox, the organiser and the preview she pressed."""
        sandbox = Sandbox()
        for telegram_id, name in PEOPLE.items():
            sandbox.user(name, language="fr", user_id=telegram_id)
        organiser = sandbox.user("Organisatrice", language="fr", user_id=ADMIN_TELEGRAM_ID)
        clock.set(start)
        async with _serving(settings, url, sandbox, clock) as (app_engine, application):
            await organiser.send("/diffusion")
            await organiser.send(BROADCAST)
            await organiser.press("Tous les consommateurs")
            preview = organiser.last_message

            async def send_off() -> None:
                await organiser.press_data(_button(preview, "bc:send"), message=preview)
                await wait_for_broadcasts(application)

            death = Death(app_engine, at, sandbox, family=True)
            await death.outlive(send_off())
        return death, sandbox, organiser, preview

    def copies_of(sandbox: Sandbox, preview: Any) -> dict[str, int]:
        """Who got how many copies (the organiser's preview, which quotes it, is not one)."""
        return {
            user.first_name: sum(
                BROADCAST in (m.text or "") and "📣" in (m.text or "")
                for m in user.messages
                if m is not preview
            )
            for user in sandbox.users
        }

    try:
        clean_url = await copies.fresh()
        clean, clean_sandbox, _organiser, clean_preview = await press(clean_url, None)
        audience = copies_of(clean_sandbox, clean_preview)
        assert set(audience.values()) == {1}, audience
        deaths = list(_spread(len(clean.statements), clean.commits, len(clean.calls)))
        struck = 0
        for at in deaths:
            url = await copies.fresh()
            died, sandbox, organiser, preview = await press(url, at)
            struck += died.struck
            clock.set(start + LEASE + timedelta(seconds=1))
            async with _serving(settings, url, sandbox, clock) as (_engine, application):
                await wait_for_broadcasts(application)  # what the start-up resumed
                send = _button(preview, "bc:send", required=False)
                if send:  # else the preview already turned into the progress
                    await organiser.press_data(send, message=preview)
                await wait_for_broadcasts(application)
            where = f"dying at {at} (struck: {died.struck})"
            got = copies_of(sandbox, preview)
            assert max(got.values()) <= 1, (where, got)
            states = await _outbox(url)
            kinds = {key[1] for key in states}
            assert kinds <= {Kind.BROADCAST.value, Kind.DELIVERY_REPORT.value}, (where, states)
            sent = [s for key, s in states.items() if key[1] == Kind.BROADCAST.value]
            assert len(sent) == len(audience), (where, states)
            assert set(sent) <= {OutboxState.SENT, OutboxState.UNCERTAIN}, (where, states)
            assert sum(got.values()) >= sent.count(OutboxState.SENT), (where, got, states)
            seen = _seen(organiser)
            assert STALE not in seen, f"told the button is stale after dying at {at}: {seen}"
            assert APOLOGY not in seen, f"an apology after dying at {at}: {seen}"
            await _invariants(url)
        assert struck >= 0.9 * len(deaths), f"{struck} of {len(deaths)} deaths struck"
    finally:
        await copies.drop()
