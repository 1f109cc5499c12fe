"""The bot starts without the document libraries: they load when a document is made."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("matplotlib", "numpy", "PIL", "fpdf", "openpyxl")


def test_the_bot_imports_no_document_library() -> None:
    # A fresh interpreter: this test process has loaded them already for other tests.
    code = (
        "import sys, bot.app, bot.cli, bot.export_cli, handlers.report, handlers.export\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""
