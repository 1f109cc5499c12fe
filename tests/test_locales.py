"""Translations: the template matches the code, and French and English are complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"


def _catalog(path: Path, locale: str | None = None):
    with path.open("rb") as stream:
        return read_po(stream, locale=locale)


def _ids(catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_template_is_up_to_date_with_the_code(tmp_path):
    fresh = tmp_path / "messages.pot"
    command = [
        sys.executable,
        "-m",
        "babel.messages.frontend",
        "extract",
        "-F",
        "babel.cfg",
        "--no-location",
        "-o",
        str(fresh),
    ]
    for keyword in ("_", "gettext", "ngettext:1,2", "pgettext:1c,2", "lazy_gettext"):
        command += ["-k", keyword]
    subprocess.run(
        [*command, "bot", "handlers", "models"], cwd=ROOT, check=True, capture_output=True
    )
    missing = _ids(_catalog(fresh)) - _ids(_catalog(LOCALES / "messages.pot"))
    assert not missing, f"run `python scripts/i18n.py`: {sorted(missing)[:10]}"


def test_every_message_is_translated_in_french_and_english():
    template = _ids(_catalog(LOCALES / "messages.pot"))
    for locale in ("fr", "en"):
        catalog = _catalog(LOCALES / locale / "LC_MESSAGES" / "messages.po", locale)
        gaps = []
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                gaps.append(message.id)
        absent = template - _ids(catalog)
        assert not gaps, f"{locale}: untranslated {gaps[:10]}"
        assert not absent, f"{locale}: missing {sorted(absent)[:10]}"


def test_placeholders_survive_translation():
    import re

    catalog = _catalog(LOCALES / "en" / "LC_MESSAGES" / "messages.po", "en")
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"\{\w+\}", ids[0]))
        for string in strings:
            assert set(re.findall(r"\{\w+\}", string)) <= wanted | set(
                re.findall(r"\{\w+\}", ids[-1])
            ), message.id
            assert set(re.findall(r"\{\w+\}", string)) >= wanted - {"{count}"}, message.id
