"""``desserte console``: a person chats with the bot in the terminal, input piped in."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ContextTypes

from bot.console import (
    CONSOLE_USER_IDS,
    Person,
    Transcript,
    numbered_rows,
    prepare_demo,
    prepare_person,
    run_console,
)
from models import CycleState, Offer, PickupPoint, Producer
from models.cycles import open_cycle

ROOT = Path(__file__).resolve().parents[2]


def console(*args: str, input: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=90,
        check=True,
    )
    return result.stdout


def test_piped_session_as_consumer(tmp_path):
    out = console("--as", "consumer", input="/start\n/aide\n1\n", cwd=tmp_path)
    assert "Vous : /start" in out
    assert "Bot : Bonjour Camille !" in out
    assert re.search(r"\[\d+\] ❓ Aide", out)
    assert re.search(r"\[\d+\] 🌐 Langue", out)
    help_part = out.split("Vous : /aide", 1)[1]
    assert "/langue — Changer de langue" in help_part
    # "1" pressed the only button of the help, which turns it back into the menu, in place.
    assert "Vous : [⬅️ Menu]" in help_part
    assert "✏️ (modifié) : Bonjour Camille" in help_part
    assert "›" not in out  # no prompt when the input is not a terminal


async def test_language_switch_in_process(tmp_path):
    stdin = io.StringIO("/langue\n2\n/start\n/quit\n/aide\n")
    stdout = io.StringIO()
    status = await run_console(
        "consumer", "fr", True, stdin=stdin, stdout=stdout, files_dir=tmp_path / "files"
    )
    out = stdout.getvalue()
    assert status == 0
    assert "Dans quelle langue" in out
    assert "[2] 🇬🇧 English" in out
    assert "Vous : [🇬🇧 English]" in out
    assert "Hello Camille!" in out.split("Vous : /start", 1)[1]
    assert "/aide" not in out  # /quit left before it


async def test_numbers_without_such_button_and_escaped_numbers(tmp_path):
    stdin = io.StringIO("/start\n99\n\\99\n")
    stdout = io.StringIO()
    await run_console("consumer", "fr", True, stdin=stdin, stdout=stdout, files_dir=tmp_path)
    out = stdout.getvalue()
    assert re.search(r"Pas de bouton n°99 : choisissez entre 1 et \d+\.", out)
    assert "Vous : 99" in out  # sent as text
    assert "Vous : [" not in out  # nothing was pressed


async def test_browsing_the_demo_catalog_by_numbers(tmp_path):
    stdin = io.StringIO("/catalogue\n1\n")
    stdout = io.StringIO()
    await run_console("consumer", "fr", True, stdin=stdin, stdout=stdout, files_dir=tmp_path)
    out = stdout.getvalue()
    pressed = re.search(r"Vous : \[([^\]]+)\]", out)
    assert pressed is not None, out
    category = pressed.group(1).split(" (")[0]
    after = out[pressed.end() :]
    assert "✏️ (modifié)" in after or "Bot :" in after
    assert category in after


def test_numbered_rows_count_across_rows():
    assert numbered_rows((("Légumes", "Fruits"), ("Menu",))) == [
        "[1] Légumes  [2] Fruits",
        "[3] Menu",
    ]


async def test_demo_network_and_roles(session):
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    cycle_id = await prepare_demo(session, now)
    cycle = await open_cycle(session)
    assert cycle is not None
    assert cycle.id == cycle_id
    assert cycle.state == CycleState.OPEN
    stock = set(await session.scalars(select(Offer.offered).where(Offer.cycle_id == cycle_id)))
    assert stock == {Decimal(40)}

    people = {
        role: await prepare_person(session, Person(CONSOLE_USER_IDS[role], "X", role, "en"))
        for role in ("consumer", "producer", "admin")
    }
    central = await session.scalar(select(PickupPoint).where(PickupPoint.slug == "halle-centrale"))
    first = await session.scalar(select(Producer).order_by(Producer.id).limit(1))
    assert central is not None
    assert first is not None
    assert people["consumer"].pickup_point_id == central.id
    assert people["producer"].producer_id == first.id
    assert people["admin"].is_admin
    assert {m.locale for m in people.values()} == {"en"}


async def test_documents_are_printed_and_saved(tmp_path):
    from bot.sandbox import Sandbox

    async def send_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
        await context.bot.send_document(
            update.effective_chat.id,
            document=b"sku;qty\nTOM;3\n",
            filename="bon.csv",
            caption="Votre bon de commande",
            reply_markup=keyboard,
        )

    sandbox = Sandbox()
    app = sandbox.builder().build()
    app.add_handler(CommandHandler("bon", send_file))
    out = io.StringIO()
    async with app:
        sandbox.attach(app)
        camille = sandbox.user("Camille", language="fr")
        transcript = Transcript(out, camille, "fr", tmp_path / "files", echo=True)
        sandbox.on_event(transcript.on_event)
        await camille.send("/bon")
    text = out.getvalue()
    assert "📎 bon.csv (14 octets)" in text
    assert "Votre bon de commande" in text
    assert "[1] OK" in text
    saved = list((tmp_path / "files").iterdir())
    assert len(saved) == 1
    assert saved[0].read_bytes() == b"sku;qty\nTOM;3\n"
    assert str(saved[0]) in text


async def test_switching_persona_and_messages_to_others(tmp_path):
    # Camille fills a basket and leaves it; Alice, admin, closes the cycle: Camille's release
    # notice is shown as a message to someone else; Marie, producer, is a person of the same base.
    stdin = io.StringIO(
        "carottes\n1\n4\n/as admin\n/cycle\n1\n1\n/as producteur Marie\n/mes_produits\n"
        "/as\n/as consumer Camille\n/panier\n"
    )
    stdout = io.StringIO()
    status = await run_console(
        "consumer", "fr", True, stdin=stdin, stdout=stdout, files_dir=tmp_path
    )
    out = stdout.getvalue()
    assert status == 0
    assert "Vous êtes maintenant Alice (admin)." in out
    admin_part = out.split("Vous êtes maintenant Alice (admin).", 1)[1]
    assert "clôturé" in admin_part.split("Vous : /as producteur Marie", 1)[0]
    assert "→ Camille : 🧺 Votre panier n’a pas été confirmé avant la clôture" in admin_part
    assert "Vous êtes maintenant Marie (producteur)." in out
    assert "Écrivez /as suivi d’un rôle et d’un prénom" in out
    # Back as Camille, the same member: her basket was released at the close.
    assert "Vous êtes maintenant Camille (consommateur)." in out
    assert "Bonjour Marie" not in out


async def test_a_failing_input_gets_a_sentence_not_a_traceback(tmp_path, monkeypatch):
    from bot import console as console_module

    async def broken(user, line, transcript):
        raise RuntimeError("boom")

    monkeypatch.setattr(console_module, "act", broken)
    stdin = io.StringIO("/start\n/aide\n")
    stdout = io.StringIO()
    status = await run_console(
        "consumer", "fr", True, stdin=stdin, stdout=stdout, files_dir=tmp_path
    )
    out = stdout.getvalue()
    assert status == 0
    assert out.count("Cela n’a pas marché ; essayez autre chose.") == 2
    assert "Traceback" not in out


def test_hostile_lines_end_quietly(tmp_path):
    out = console(
        "--as",
        "admin",
        input="\x00\n/as producteur\n/retraits ../../x\n9999999999\n/\n",
        cwd=tmp_path,
    )
    assert "Vous êtes maintenant Paul (producteur)." in out


def test_a_file_without_extension_is_saved_with_one(tmp_path):
    from bot.console import _with_extension

    assert _with_extension("photo-3", b"\x89PNG\r\n") == "photo-3.png"
    assert _with_extension("retraits.pdf", b"%PDF") == "retraits.pdf"
    assert _with_extension("x", None) == "x.bin"


def test_export_catalog_into_a_closed_pipe_exits_quietly(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "load-demo"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    export = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "export-catalog"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None
    export.stdout.readline()
    export.stdout.close()  # as `| head -1` does
    _out, err = export.communicate(timeout=60)
    assert export.returncode == 0, err
    assert b"BrokenPipeError" not in err


async def test_a_number_the_bot_asked_for_is_sent_as_text(tmp_path):
    """The card's "how many?" says "type a number, for example 3": typing 3 gives the basket 3,
    it does not press the card's third button."""
    stdin = io.StringIO("soupe\n1\n2\n3\n/panier\n")
    stdout = io.StringIO()
    await run_console("consumer", "fr", True, stdin=stdin, stdout=stdout, files_dir=tmp_path)
    out = stdout.getvalue()
    asked = out.split("combien de litres ?", 1)[1]
    assert "Vous : 3" in asked
    assert "Vous : [➕]" not in asked
    basket = out.split("Vous : /panier", 1)[1]
    assert "Soupe d’hiver — 3\u00a0litres" in basket, basket


async def test_in_english_the_console_marks_read_english(tmp_path):
    stdin = io.StringIO("/catalog\n1\n")
    stdout = io.StringIO()
    await run_console("consumer", "en", True, stdin=stdin, stdout=stdout, files_dir=tmp_path)
    out = stdout.getvalue()
    assert "Bot ✏️ (edited):" in out
    assert "modifié" not in out
    assert "You: /catalog" in out
