"""``desserte backup``: a consistent copy while the bot writes; restoring it finds every order."""

from __future__ import annotations

import asyncio
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
