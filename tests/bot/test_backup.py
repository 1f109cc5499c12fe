"""``desserte backup``: a consistent copy while the bot writes; restoring it finds every order."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.backup import BackupError, backup, sqlite_path
from bot.db import create_engine, sessionmaker
from models import Order, OrderStatus, PickupPoint, Product
from models.ordering import add_to_basket, confirm_order
from models.pickup import choose_point
from tests.factories import load_demo_network, make_member, open_cycle_with_stock
from tests.invariants import check_invariants


async def test_backup_while_orders_are_written_then_restore(engine, sessions, clock, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    if sqlite_path(url) is None:
        with pytest.raises(BackupError, match="pg_dump"):
            backup(url, tmp_path / "copy.sqlite3")
        return
    async with sessions() as session:
        await load_demo_network(session)
        cycle = await open_cycle_with_stock(session, clock() - timedelta(hours=1), stock=50)
        members = [await make_member(session, 5000 + i, name=f"M{i}") for i in range(30)]
        products = list(await session.scalars(select(Product.id).limit(5)))

    async def order(member) -> None:
        async with sessions() as own:
            point = await own.scalar(select(PickupPoint.id).where(PickupPoint.is_public).limit(1))
            member = await own.merge(member)
            await choose_point(own, member, point)
            for product_id in products:
                await add_to_basket(own, member, cycle.id, product_id, Decimal(1), clock())
            await confirm_order(own, member, cycle.id, clock())

    copies = []

    async def keep_copying() -> None:
        for index in range(5):
            destination = tmp_path / f"copy-{index}.sqlite3"
            await asyncio.to_thread(backup, url, destination)
            copies.append(destination)
            await asyncio.sleep(0.01)

    await asyncio.gather(keep_copying(), *(order(m) for m in members[:15]))
    for member in members[15:]:
        await order(member)
    final = tmp_path / "final.sqlite3"
    assert backup(url, final) > 0
    for copy in [*copies, final]:
        restored = create_engine(f"sqlite+aiosqlite:///{copy}")
        async with sessionmaker(restored)() as check:
            confirmed = await check.scalar(
                select(func.count()).select_from(Order).where(Order.status == OrderStatus.CONFIRMED)
            )
            if copy == final:
                assert confirmed == 30
            else:
                assert 0 <= confirmed <= 30  # a snapshot of one moment, never a broken file
            await check_invariants(check)
        await restored.dispose()


def test_cli_backup_and_postgres_advice(monkeypatch, tmp_path, capsys):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    assert main(["migrate"]) == 0
    assert main(["backup", str(tmp_path / "saved" / "copy.sqlite3")]) == 0
    assert (tmp_path / "saved" / "copy.sqlite3").stat().st_size > 0
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    assert main(["backup", str(tmp_path / "x")]) == 2
    assert "pg_dump" in capsys.readouterr().err


def _cli_database(monkeypatch, tmp_path):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("DEFAULT_LOCALE", "fr")
    assert main(["migrate"]) == 0
    return main


def _producers(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT slug FROM producer ORDER BY slug")]


@pytest.mark.parametrize(
    "name",
    ["db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-journal", "db.sqlite3-mj1"],
)
def test_backup_refuses_the_live_database_files(monkeypatch, tmp_path, capsys, name):
    main = _cli_database(monkeypatch, tmp_path)
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:  # a write-ahead log with content
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("INSERT INTO producer (network_id, slug, name) VALUES (1, 'a', 'A')")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    capsys.readouterr()
    assert main(["backup", name]) == 2
    assert main(["backup", str(tmp_path / "sub" / ".." / name)]) == 2
    err = capsys.readouterr().err
    assert "Pas de copie" in err
    assert "base en service" in err
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before
    assert _producers(tmp_path / "db.sqlite3") == ["a"]


def test_restore_checks_the_copy_then_keeps_the_old_database(monkeypatch, tmp_path, capsys):
    main = _cli_database(monkeypatch, tmp_path)
    live = tmp_path / "db.sqlite3"
    with sqlite3.connect(live) as db:
        db.execute("INSERT INTO producer (network_id, slug, name) VALUES (1, 'avant', 'Avant')")
    assert main(["backup", "saved.sqlite3"]) == 0
    with sqlite3.connect(live) as db:
        db.execute("INSERT INTO producer (network_id, slug, name) VALUES (1, 'apres', 'Après')")

    # Refused, nothing changed: not a database, a damaged one, another schema, a live file.
    (tmp_path / "notes.txt").write_text("pas une base", encoding="utf-8")
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray((tmp_path / "saved.sqlite3").read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # every page after the first is garbage
    damaged.write_bytes(bytes(data))
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    old = tmp_path / "old.sqlite3"
    old.write_bytes((tmp_path / "saved.sqlite3").read_bytes())
    with sqlite3.connect(old) as db:
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    capsys.readouterr()
    for bad, reason in (
        ("notes.txt", "pas une base SQLite lisible"),
        ("damaged.sqlite3", ""),
        ("other.sqlite3", "pas une base desserte"),
        ("old.sqlite3", "pas au plus récent"),
        ("db.sqlite3-wal", "base en service"),
        ("absent.sqlite3", "pas de fichier"),
    ):
        assert main(["restore", bad]) == 2, bad
        err = capsys.readouterr().err
        assert "Rien n’a été restauré" in err
        assert reason in err, (bad, err)
    assert _producers(live) == ["apres", "avant"]
    assert not list(tmp_path.glob("db.sqlite3.before-restore-*"))

    assert main(["restore", "saved.sqlite3"]) == 0
    assert "Base restaurée" in capsys.readouterr().out
    assert _producers(live) == ["avant"]
    (kept,) = tmp_path.glob("db.sqlite3.before-restore-*")
    assert _producers(kept) == ["apres", "avant"]
