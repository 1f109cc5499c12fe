"""The generated method table: present, licensed, covering what the sandbox implements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.sandbox import Sandbox, load_table
from bot.sandbox.table import TABLE_PATH

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO.parent / "shared" / "telegram-bot-api" / "api.json"


def test_table_header_carries_version_and_mit_notice() -> None:
    table = load_table()
    assert table.version.startswith("Bot API ")
    assert "MIT License" in table.header["license"]
    assert (TABLE_PATH.parent / "LICENSE.bot-api").read_text().startswith("MIT License")


def test_every_implemented_method_is_in_the_table() -> None:
    sandbox = Sandbox()
    missing = set(sandbox._api.handlers) - set(sandbox.table.methods)
    assert not missing


def test_table_knows_inline_keyboards() -> None:
    table = load_table()
    assert table.resolve("SENDMESSAGE") == "sendMessage"
    fields = {f[0]: f for f in table.types["InlineKeyboardButton"]["fields"]}
    assert fields["callback_data"][1] == ["String"]
    assert "subtypes" in table.types["BotCommandScope"]


@pytest.mark.skipif(not SOURCE.exists(), reason="the shared api.json is not available")
def test_generated_table_is_up_to_date(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "gen_bot_api_table", REPO / "scripts" / "gen_bot_api_table.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "table.json"
    assert module.main([str(SOURCE), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads(TABLE_PATH.read_text())
