"""The command line: help, imports (good and broken files), export, and run without a token."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.cli import main
from bot.demo_network import CATALOG_CSV, PICKUP_POINTS_CSV, PRODUCERS_CSV


@pytest.fixture
def database(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("DEFAULT_LOCALE", "fr")
    return tmp_path


def test_help_lists_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, check=True
    )
    for command in (
        "run",
        "migrate",
        "import-producers",
        "import-catalog",
        "export-catalog",
        "parse-stock",
        "demo",
        "console",
    ):
        assert command in result.stdout


def test_import_demo_network_then_export(database, capsys):
    assert main(["import-producers", str(PRODUCERS_CSV)]) == 0
    assert main(["import-pickup-points", str(PICKUP_POINTS_CSV)]) == 0
    assert main(["import-catalog", str(CATALOG_CSV)]) == 0
    out = capsys.readouterr().out
    assert "importé" in out
    assert main(["export-catalog", "-o", str(database / "export.csv")]) == 0
    exported = (database / "export.csv").read_text(encoding="utf-8").splitlines()
    assert exported[0].startswith("producer,sku,name,category,sale_unit")
    assert len(exported) == len(CATALOG_CSV.read_text(encoding="utf-8").strip().splitlines())


def test_broken_catalog_lists_lines_and_imports_nothing(database, capsys):
    assert main(["import-producers", str(PRODUCERS_CSV)]) == 0
    broken = database / "broken.csv"
    lines = CATALOG_CSV.read_text(encoding="utf-8").splitlines()
    lines[2] = (
        lines[2].replace(",kg,", ",tonne,", 1) if ",kg," in lines[2] else lines[2] + ",extra,x"
    )
    lines.append("inconnue,ZZZ-1,Truc,Légumes,kg,1,kg,abc,,")
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import-catalog", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "rien n’a été importé" in err
    assert "ligne 3" in err
    assert f"ligne {len(lines)}" in err
    assert main(["export-catalog"]) == 0
    assert capsys.readouterr().out.strip().count("\n") == 0  # header only: nothing imported


def test_run_without_token_points_at_the_demo(database, capsys):
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err
    assert "desserte demo" in err


def test_a_file_with_one_bad_row_says_one_error(database, capsys, monkeypatch):
    assert main(["import-producers", str(PRODUCERS_CSV)]) == 0
    broken = database / "one-bad-row.csv"
    header = CATALOG_CSV.read_text(encoding="utf-8").splitlines()[0]
    broken.write_text(header + "\ninconnue,ZZZ-1,Truc,Légumes,kg,1,kg,2,,\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import-catalog", str(broken)]) == 1
    assert "rien n’a été importé (1 erreur) :" in capsys.readouterr().err
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    assert main(["import-catalog", str(broken)]) == 1
    said = capsys.readouterr().err
    assert "nothing was imported (1 error):" in said
    assert "line 2, column producer: unknown producer" in said
    assert "first): “inconnue”" in said  # English quotes, no space before the colon


def test_an_estimate_too_dear_names_the_estimate_not_a_bare_number(database, capsys):
    """100 000 kg at 9,50 €/kg is refused for what it is, not "number too large (at most
    21496,33)" as if 21 496 kilos were the limit."""
    assert main(["import-producers", str(PRODUCERS_CSV)]) == 0
    dear = database / "dear.csv"
    header = "producer,sku,name,category,sale_unit,unit_amount,unit_measure,price,labels,aliases"
    dear.write_text(
        header + ",price_per_kg,estimated_kg\n"
        'ferme-grand-pre,POU-X,Poulet,Viandes,pièce,1,pièce,,,,"9,50","100000"\n',
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["import-catalog", str(dear)]) == 1
    said = capsys.readouterr().err
    assert "ligne 2, colonne estimated_kg : le prix estimé (estimated_kg × price_per_kg)" in said
    assert "nombre trop grand" not in said
