"""Settings: defaults, and one clear line naming the variable for each wrong value."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "ADMIN_IDS", "TIMEZONE", "DEFAULT_LOCALE", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'desserte.sqlite3'}"
    assert settings.timezone == "Europe/Paris"
    assert settings.default_locale == "fr"
    assert settings.admin_ids == ()
    assert settings.telegram_bot_token is None


def test_environment_and_env_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / ".env").write_text("NETWORK_NAME=Panier Poitevin\nADMIN_IDS=12, 34\n")
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    settings = load_settings()
    assert settings.network_name == "Panier Poitevin"
    assert settings.admin_ids == (12, 34)
    assert settings.default_locale == "en"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS: 'abc' is not a numeric Telegram user id"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE: 'Mars/Olympus' is not a known time zone"),
        ("DATABASE_URL", "nonsense", "DATABASE_URL: not a database URL"),
        ("DATABASE_URL", "mysql://x@y/z", "DATABASE_URL: driver 'mysql' is not supported"),
        ("DEFAULT_LOCALE", "de", "DEFAULT_LOCALE: 'de' is not one of fr, en"),
        ("CYCLE_OPENS", "friday noon", "CYCLE_OPENS: 'friday noon' is not like"),
        ("REMINDERS", "24h,soon", "REMINDERS: 'soon' is not a delay"),
        ("MINIMUM_ORDER_CENTS", "-5", "MINIMUM_ORDER_CENTS:"),
        ("OSRM_URL", "osrm.local:5000", "OSRM_URL: 'osrm.local:5000' is not a server root"),
        ("ROAD_FACTOR", "0.5", "ROAD_FACTOR:"),
        ("ROUND_VEHICLES", "0", "ROUND_VEHICLES:"),
    ],
)
def test_wrong_values_name_the_variable(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_cli_stops_with_one_line(monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("TIMEZONE", "Nowhere/Land")
    with pytest.raises(SystemExit) as caught:
        main(["migrate"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "desserte: TIMEZONE: 'Nowhere/Land' is not a known time zone (e.g. Europe/Paris)"
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"payment_mode": "cheque"},
            "PAYMENT_MODE: 'cheque' is not one of pickup, balance, online",
        ),
        ({"payment_currency": "BTC"}, "PAYMENT_CURRENCY: 'BTC' is not a currency"),
        ({"balance_overdraft_cents": -1}, "BALANCE_OVERDRAFT_CENTS:"),
        (
            {"payment_mode": "online"},
            "PAYMENT_PROVIDER_TOKEN is needed when PAYMENT_MODE is online",
        ),
    ],
)
def test_payment_settings_say_what_is_wrong(values, expected):
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, **values)
    assert expected in str(refused.value)


def test_a_network_pays_its_own_way():
    from bot.networks import check_network_settings, network_settings
    from models.network import Network
    from models.payment import PaymentMode

    base = load_settings(_env_file=None)
    assert base.payment_terms.mode == PaymentMode.AT_PICKUP
    own = check_network_settings(
        {"PAYMENT_MODE": "balance", "BALANCE_OVERDRAFT_CENTS": 1000}, where="chatellerault"
    )
    terms = network_settings(base, Network(slug="chatellerault", settings=own)).payment_terms
    assert (terms.mode, terms.order_overdraft) == (PaymentMode.BALANCE, 1000)
