"""Keep the gettext catalogs in step with the code.

    python scripts/i18n.py            extract messages.pot, update fr/ and en/, fill fr
    python scripts/i18n.py --check    exit 1 listing what English still lacks

French is the source language: the French catalog's translations are the message ids
themselves (filled in here); the English catalog is translated by hand in
``locales/en/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
KEYWORDS = ["_", "gettext", "ngettext:1,2", "pgettext:1c,2", "lazy_gettext"]


def extract() -> None:
    """Write messages.pot from the code."""
    command = [
        sys.executable,
        "-m",
        "babel.messages.frontend",
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "--no-location",
        "--sort-output",
        "--project",
        "desserte",
        "-o",
        str(POT),
    ]
    for keyword in KEYWORDS:
        command += ["-k", keyword]
    subprocess.run(
        [*command, "bot", "handlers", "models"], check=True, cwd=ROOT, capture_output=True
    )


def update(locale: str) -> Path:
    """Create or update ``locale``'s catalog from messages.pot."""
    po = LOCALES / locale / "LC_MESSAGES" / "messages.po"
    verb = "update" if po.exists() else "init"
    command = [
        sys.executable,
        "-m",
        "babel.messages.frontend",
        verb,
        "-i",
        str(POT),
        "-d",
        str(LOCALES),
        "-l",
        locale,
        "--no-wrap",
        "--ignore-obsolete",  # a message no longer in the code leaves the catalog
    ]
    if verb == "update":
        command.append("--no-fuzzy-matching")
    subprocess.run(
        command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return po


def fill_french(po: Path) -> None:
    """The French catalog translates every message into itself."""
    with po.open("rb") as stream:
        catalog = read_po(stream, locale="fr")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            # CLDR gives French three plural forms (one, many, other): all but the first plural.
            singular, plural = message.id[0], message.id[1]
            message.string = (singular,) + (plural,) * (catalog.num_plurals - 1)
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    with po.open("wb") as stream:
        write_po(
            stream, catalog, width=0, omit_header=False, sort_output=True, ignore_obsolete=True
        )


def missing(locale: str) -> list[str]:
    """Message ids with no translation (or a fuzzy one) in ``locale``."""
    po = LOCALES / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as stream:
        catalog = read_po(stream, locale=locale)
    gaps = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if not args.check:
        extract()
        fill_french(update("fr"))
        update("en")
    gaps = missing("en")
    for gap in gaps:
        print(f"en: untranslated: {gap!r}")
    return 1 if (gaps and args.check) else 0


if __name__ == "__main__":
    raise SystemExit(main())
