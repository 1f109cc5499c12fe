#!/usr/bin/env python
"""Generate ``bot/sandbox/bot_api_table.json`` from the official Bot API description.

Usage::

    python scripts/gen_bot_api_table.py [path/to/api.json]

The default source is ``../shared/telegram-bot-api/api.json`` relative to the repository root.
The output is compact: for every method the list of ``[name, types, required]`` parameters, and
for every object type reachable from a method parameter its fields (or, for union types such as
``BotCommandScope``, its subtypes). Descriptions are dropped. The description is MIT licensed,
so the notice is carried in the header and the LICENSE is copied next to the table.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "telegram-bot-api" / "api.json"
OUT_DIR = REPO / "bot" / "sandbox"
OUT_TABLE = OUT_DIR / "bot_api_table.json"
OUT_LICENSE = OUT_DIR / "LICENSE.bot-api"

_ARRAY = re.compile(r"^(?:Array of )+")


def _base_type(type_name: str) -> str:
    """``"Array of Array of InlineKeyboardButton"`` -> ``"InlineKeyboardButton"``."""
    return _ARRAY.sub("", type_name)


def _fields(entry: dict[str, Any]) -> list[list[Any]]:
    return [
        [field["name"], list(field["types"]), bool(field["required"])]
        for field in entry.get("fields", [])
    ]


def build_table(api: dict[str, Any], license_text: str) -> dict[str, Any]:
    """Return the compact table for an ``api.json`` document."""
    methods = {name: _fields(entry) for name, entry in sorted(api["methods"].items())}

    # Object types reachable from method parameters: the only ones the sandbox may validate.
    all_types: dict[str, Any] = api["types"]
    wanted: set[str] = set()
    stack = [_base_type(t) for params in methods.values() for _, types, _ in params for t in types]
    while stack:
        name = stack.pop()
        if name in wanted or name not in all_types:
            continue  # primitives (Integer, String, InputFile...) are not in the type table
        wanted.add(name)
        entry = all_types[name]
        stack.extend(entry.get("subtypes", []))
        stack.extend(_base_type(t) for f in entry.get("fields", []) for t in f["types"])

    types: dict[str, Any] = {}
    for name in sorted(wanted):
        entry = all_types[name]
        if entry.get("subtypes"):
            types[name] = {"subtypes": list(entry["subtypes"])}
        else:
            types[name] = {"fields": _fields(entry)}

    return {
        "header": {
            "version": api.get("version"),
            "release_date": api.get("release_date"),
            "source": "https://github.com/PaulSonOfLars/telegram-bot-api-spec (api.json)",
            "license": license_text,
        },
        "methods": methods,
        "types": types,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=OUT_TABLE)
    args = parser.parse_args(argv)

    source: Path = args.source
    api = json.loads(source.read_text(encoding="utf-8"))
    license_path = source.with_name("LICENSE")
    license_text = license_path.read_text(encoding="utf-8") if license_path.exists() else ""

    table = build_table(api, license_text)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    # One method / type per line: compact, yet reviewable in a diff.
    lines = ["{"]
    lines.append(f'"header": {json.dumps(table["header"], ensure_ascii=False)},')
    for key in ("methods", "types"):
        entries = list(table[key].items())
        lines.append(f'"{key}": {{')
        for i, (name, value) in enumerate(entries):
            sep = "," if i < len(entries) - 1 else ""
            lines.append(f"  {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}{sep}")
        lines.append("}," if key == "methods" else "}")
    lines.append("}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if license_path.exists() and out == OUT_TABLE:
        shutil.copyfile(license_path, OUT_LICENSE)
    print(
        f"wrote {out} ({table['header']['version']}: {len(table['methods'])} methods, "
        f"{len(table['types'])} types)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
