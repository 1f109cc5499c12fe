"""``desserte demo`` plays the whole week and produces its files, in French and in English."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from bot.demo import run_demo


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_demo_plays_the_week(tmp_path, lang):
    out = io.StringIO()
    status = await run_demo(lang=lang, output=tmp_path, quiet=False, stream=out)
    text = out.getvalue()
    assert status == 0, text[-3000:]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert sum(name.endswith(".csv") for name in names) >= 4  # 3 purchase orders + orders export
    assert any(name.endswith(".pdf") for name in names)
    assert any(name.endswith(".png") for name in names)
    assert "👤 Marie:" in text
    assert "🤖 → Théo:" in text
    if lang == "fr":
        assert "Toutes les étapes ont produit ce qu’elles devaient." in text
        assert "Bon de commande — Les Jardins de la Vonne" in text
    else:
        assert "Every step produced what it should." in text
        assert "Your basket" in text


def test_demo_command_runs_on_a_fresh_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--quiet", "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Toutes les étapes" in result.stdout
