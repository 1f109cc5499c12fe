"""``desserte network``: add, list, show, set and load networks; imports into one network;
``desserte run`` refuses a deployment whose networks cannot each have their bot."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.demo_network import PRODUCERS_CSV


@pytest.fixture
def database(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("NETWORKS_FILE", raising=False)
    monkeypatch.setenv("DEFAULT_LOCALE", "fr")
    return tmp_path


def test_add_show_set_and_list_networks(database, capsys):
    assert (
        main(
            [
                "network",
                "add",
                "niort",
                "--name",
                "Le Panier Niortais",
                "--token",
                "123456:ABCDEFGHIJ",
                "--set",
                "TIMEZONE=Europe/Brussels",
                "--set",
                "ADMIN_IDS=5,6",
            ]
        )
        == 0
    )
    assert "Réseau niort ajouté." in capsys.readouterr().out
    assert main(["network", "add", "niort", "--name", "Encore"]) == 2
    assert "le réseau niort existe déjà" in capsys.readouterr().err
    assert main(["network", "show", "niort"]) == 0
    shown = capsys.readouterr().out
    assert "Le Panier Niortais" in shown
    assert "TIMEZONE = Europe/Brussels" in shown
    assert "ABCDEFGHIJ" not in shown  # the token is masked
    assert "123456:…GHIJ" in shown
    assert (
        main(["network", "set", "niort", "--unset", "TIMEZONE", "--set", "CYCLE_CLOSES=mon 20:00"])
        == 0
    )
    capsys.readouterr()
    assert main(["network", "show", "niort"]) == 0
    shown = capsys.readouterr().out
    assert "TIMEZONE" not in shown
    assert "CYCLE_CLOSES = mon 20:00" in shown
    assert main(["import-producers", str(PRODUCERS_CSV), "--network", "niort"]) == 0
    capsys.readouterr()
    assert main(["network", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith("default — ")
    assert listed[0].endswith(": 0 membre, 0 producteur, 0 commande")
    assert listed[1].startswith("niort — Le Panier Niortais : 0 membre, ")
    assert "0 producteur," not in listed[1]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["network", "add", "Pas Bon"], "un nom court en minuscules"),
        (
            ["network", "add", "niort", "--set", "DATABASE_URL=sqlite://"],
            "belongs to the deployment",
        ),
        (["network", "add", "niort", "--set", "TIMEZONE=Mars/Olympus"], "TIMEZONE"),
        (["network", "add", "niort", "--set", "COLOUR=blue"], "COLOUR is not a setting"),
        (["network", "add", "niort", "--set", "TIMEZONE"], "CLÉ=VALEUR"),
        (["network", "show", "nulle-part"], "aucun réseau ne s’appelle nulle-part"),
        (["import-producers", str(PRODUCERS_CSV), "--network", "nulle-part"], "nulle-part"),
        (["export-catalog", "--network", "nulle-part"], "aucun réseau ne s’appelle nulle-part"),
        (
            ["export", "orders", "--network", "nulle-part", "-o", "orders.csv"],
            "aucun réseau ne s’appelle nulle-part",
        ),
        (
            ["export", "pickup-list", "--network", "nulle-part", "-o", "lists.pdf"],
            "aucun réseau ne s’appelle nulle-part",
        ),
    ],
)
def test_wrong_network_commands_get_one_line(database, capsys, arguments, said):
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert said in error
    assert "Traceback" not in error


def test_a_networks_file_is_loaded_and_reloaded(database, capsys, monkeypatch):
    monkeypatch.setenv("CHATEL_TOKEN", "777:CHATELCHATEL")
    networks = database / "networks.toml"
    networks.write_text(
        '[[network]]\nslug = "chatellerault"\nname = "Le Panier Châtelleraudais"\n'
        'token_env = "CHATEL_TOKEN"\nadmin_ids = [11, 12]\ncycle_closes = "mon 20:00"\n',
        encoding="utf-8",
    )
    assert main(["network", "load", str(networks)]) == 0
    assert "Réseau chatellerault ajouté." in capsys.readouterr().out
    networks.write_text(networks.read_text().replace("mon 20:00", "sun 18:00"))
    assert main(["network", "load", str(networks)]) == 0
    assert "Réseau chatellerault mis à jour." in capsys.readouterr().out
    assert main(["network", "show", "chatellerault"]) == 0
    shown = capsys.readouterr().out
    assert "CYCLE_CLOSES = sun 18:00" in shown
    assert "ADMIN_IDS = [11, 12]" in shown
    networks.write_text('[[network]]\nslug = "x"\ntoken_env = "NOT_SET_ANYWHERE"\n')
    assert main(["network", "load", str(networks)]) == 2
    assert "NOT_SET_ANYWHERE is not set" in capsys.readouterr().err


def test_run_refuses_a_network_without_its_own_bot(database, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "111:DEFAULTDEFAULT")
    assert main(["network", "add", "niort", "--name", "Niort"]) == 0
    capsys.readouterr()
    assert main(["run"]) == 2
    assert "network niort: no bot token" in capsys.readouterr().err
    assert main(["network", "set", "niort", "--token", "111:DEFAULTDEFAULT"]) == 0
    capsys.readouterr()
    assert main(["run"]) == 2
    assert "share one bot token" in capsys.readouterr().err
