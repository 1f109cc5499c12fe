"""The wheel: it holds every module, the catalogs and the migrations, and works installed.

Built once (``pip wheel --no-deps``, no network, from a copy of the checkout) and unpacked as
pip installs it; ``.ci/run`` also installs it in a fresh virtualenv and plays the demo.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "bot", "handlers", "models", "locales", "migrations")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the checkout's sources, in a temporary folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-w",
            str(work / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = (work / "dist").glob("desserte-*.whl")
    return built


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_the_catalogs_and_the_migrations(wheel: Path) -> None:
    names = _names(wheel)
    catalogs = sorted((ROOT / "locales").glob("*/LC_MESSAGES/messages.po"))
    revisions = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    assert {path.parent.parent.name for path in catalogs} >= {"fr", "en"}
    assert revisions
    expected = {
        "handlers/locales/messages.pot",
        "bot/migrations/env.py",
        "bot/migrations/script.py.mako",
        *(f"handlers/locales/{path.relative_to(ROOT / 'locales')}" for path in catalogs),
        *(f"bot/migrations/versions/{path.name}" for path in revisions),
    }
    assert expected - names == set()


def test_the_wheel_holds_every_module_and_data_file_of_the_packages(wheel: Path) -> None:
    names = _names(wheel)
    shipped = {
        path.relative_to(ROOT).as_posix()
        for package in ("bot", "handlers", "models")
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert shipped - names == set()


def test_the_installed_wheel_migrates_and_speaks_english_from_another_folder(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # what pip puts in site-packages
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    database = tmp_path / "installed.sqlite3"
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "DEFAULT_LOCALE": "en",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    code = "import bot.cli, handlers; print(handlers.__file__); bot.cli.main(['migrate'])"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported_from, said = done.stdout.splitlines()
    assert Path(imported_from).is_relative_to(site)
    assert said == "Database up to date."
    with sqlite3.connect(database) as connection:
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert any(
        path.name.split("_")[1] == version for path in (ROOT / "migrations/versions").glob("*.py")
    )
