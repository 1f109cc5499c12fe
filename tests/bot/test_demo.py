"""``desserte demo`` plays two weeks and produces its files, in French and in English; a scene
whose outcome contradicts its caption makes it fail."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_asyncio

from bot import demo
from bot.demo import run_demo
from models import catalog

NARRATION = re.compile(r"^── [^·]+ · (.+)$", re.MULTILINE)


async def play(tmp_path, lang: str = "fr", quiet: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    status = await run_demo(lang=lang, output=tmp_path, quiet=quiet, stream=out)
    return status, out.getvalue()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def played(tmp_path_factory) -> dict[str, tuple[int, str, Path]]:
    """The demo played once in each language, for the tests that only read what it played:
    language → (exit status, what it printed, the folder of its files)."""
    plays = {}
    for lang in ("fr", "en"):
        folder = tmp_path_factory.mktemp(f"demo-{lang}")
        status, text = await play(folder, lang)
        plays[lang] = (status, text, folder)
    return plays


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_demo_plays_two_weeks(played, lang):
    status, text, folder = played[lang]
    assert status == 0, text[-3000:]
    names = sorted(p.name for p in folder.iterdir())
    assert sum(name.endswith(".csv") for name in names) >= 4  # 3 purchase orders + orders export
    assert any(name.endswith(".pdf") for name in names)
    assert any(name.endswith(".png") for name in names)
    assert "👤 Marie:" in text
    assert "🤖 → Théo:" in text
    assert len(NARRATION.findall(text)) == len(demo.STORY)
    # December in the Poitou: the winter catalog, no summer vegetables.
    assert "Potimarron" in text
    assert "Tomates" not in text
    assert "Salade" not in text
    if lang == "fr":
        assert "Toutes les étapes ont produit ce qu’elles devaient." in text
        assert "Bon de commande — Les Jardins de la Vonne" in text
        assert "🏁 Retrait terminé : 1 commande non retirée." in text
        assert "Fiche de production — La Cuisine de la Desserte" in text
        assert "Tout est collecté. Bonne route vers le dépôt !" in text
    else:
        assert "Every step produced what it should." in text
        assert "Your basket" in text
        assert "I copied your last order." in text


def test_english_narration_has_no_french_line(played):
    french, english = played["fr"][1], played["en"][1]
    captions_fr = NARRATION.findall(french)
    captions_en = NARRATION.findall(english)
    assert len(captions_en) == len(captions_fr) == len(demo.STORY)
    assert not set(captions_en) & set(captions_fr)
    assert "décembre" not in "".join(re.findall(r"^── [^·]+", english, re.MULTILINE))
    # Consumers in English read English, producers (who write their stock in French) French.
    assert "🤖 → Jeanne: 🧺 This week's ordering is open!" in english
    assert "Votre panier" not in english


async def test_a_search_that_finds_nothing_fails_the_demo(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "search", lambda views, query, limit=8: [])
    status, text = await play(tmp_path, quiet=True)
    assert status == 1
    failed = text.split("Étapes en échec :", 1)[1]
    assert "Léa ne trouve pas le bouton « Potimarron » sur son dernier message." in failed
    assert "Toutes les étapes" not in text


async def test_a_soup_that_takes_no_carrots_fails_the_demo(tmp_path, monkeypatch):
    # The kitchen's reservation forgets the ingredients: the carrots do not go down.
    from models import kitchen

    real = kitchen._changes

    def dish_only(dish_offer_id, ingredient_offers, dish_recipe, held, new):
        return {
            dish_offer_id: real(dish_offer_id, ingredient_offers, dish_recipe, held, new)[
                dish_offer_id
            ]
        }

    monkeypatch.setattr(kitchen, "_changes", dish_only)
    status, text = await play(tmp_path, quiet=True)
    assert status == 1
    failed = text.split("Étapes en échec :", 1)[1]
    assert "Ses 5 litres de soupe ont pris 2 kg de carottes au stock de Marie." in failed


async def test_a_sold_out_card_offering_add_fails_the_demo(tmp_path, monkeypatch):
    # The eggs never run out: Hugo's card offers "Ajouter", against the scene's caption.
    marie, thomas, sophie, kitchen = demo.PRODUCERS
    generous = (*sophie[:3], sophie[3].replace("6 boîtes", "60 boîtes"), sophie[4])
    monkeypatch.setattr(demo, "PRODUCERS", [marie, thomas, generous, kitchen])
    status, text = await play(tmp_path, quiet=True)
    assert status == 1
    failed = text.split("Étapes en échec :", 1)[1]
    assert "Hugo lit que les œufs sont épuisés." in failed
    assert "La fiche des œufs n’offre pas de bouton Ajouter à Hugo." in failed


async def test_press_never_falls_back_on_an_older_message():
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

    from bot.sandbox import Sandbox

    pressed: list[str] = []

    async def card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Radis", callback_data="r")]])
        await context.bot.send_message(update.effective_chat.id, "fiche", reply_markup=keyboard)

    async def plain(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "rien trouvé")

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        pressed.append(update.callback_query.data or "")
        await update.callback_query.answer()

    sandbox = Sandbox()
    app = sandbox.builder().build()
    app.add_handler(CommandHandler("fiche", card))
    app.add_handler(CommandHandler("rien", plain))
    app.add_handler(CallbackQueryHandler(press))
    async with app:
        sandbox.attach(app)
        hugo = sandbox.user("Hugo", language="fr")
        await hugo.send("/fiche")
        await demo._press(hugo, "Radis")
        await hugo.send("/rien")
        with pytest.raises(demo.SceneFailed):
            await demo._press(hugo, "Radis")
    assert pressed == ["r"]


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
