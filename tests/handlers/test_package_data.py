"""shipped_dir: inside the installed package first, else the checkout's top-level folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from handlers.i18n import LOCALES_DIR
from handlers.package_data import shipped_dir


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A package ``shipped_pkg`` beside a top-level ``data/``, importable."""
    (tmp_path / "shipped_pkg").mkdir()
    (tmp_path / "shipped_pkg" / "__init__.py").write_text("")
    (tmp_path / "data").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("shipped_pkg", None)  # the next test's package is another folder


def test_a_checkout_finds_the_top_level_folder(checkout):
    assert shipped_dir("shipped_pkg", "data") == checkout / "data"


def test_an_install_finds_the_folder_inside_the_package(checkout):
    (checkout / "shipped_pkg" / "data").mkdir()
    assert shipped_dir("shipped_pkg", "data") == checkout / "shipped_pkg" / "data"


def test_a_missing_folder_is_named(checkout):
    with pytest.raises(FileNotFoundError, match="no absent/"):
        shipped_dir("shipped_pkg", "absent")


def test_the_checkout_reads_its_own_catalogs():
    checkout = Path(__file__).resolve().parents[2]
    assert checkout / "locales" == LOCALES_DIR
