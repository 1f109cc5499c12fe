"""``desserte console``: chat with the bot in the terminal, through the sandbox.

:func:`run_console` starts the real application on an in-process sandbox and plays one person:
a consumer (with the central pickup point), a producer (linked to the first producer) or an
admin (in ``ADMIN_IDS``). Lines read from standard input are sent as Telegram messages; a bare
number presses that button of the newest bot message with a keyboard (``\\3`` sends the text
"3"), unless the bot awaits a typed answer (a quantity, a weight: the number is sent); ``/quit`` or end of input leaves. Every bot message is printed with its inline buttons
numbered, edits as they happen, files by name and size (saved to a folder, with their
extension). ``/as producteur Marie``, ``/as admin``, ``/as consumer Alice`` switch to another
person of the same database (made on first use); what the bot sends to the other people is shown
as ``→ Marie : …``. An input the bot cannot take is answered with a sentence, never a traceback.

By default the database is a fresh SQLite file in a temporary folder holding the demo network
and an open cycle with stock on every product (:func:`prepare_demo`); ``demo=False`` uses the
configured ``DATABASE_URL``, migrated first.

Piped input works: without a terminal there is no prompt, and the person's lines are echoed so
that the output reads as a transcript.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db import create_engine, create_schema, sessionmaker
from bot.sandbox import MessageRecord, Sandbox, SandboxEvent, SandboxUser
from bot.settings import Settings, SettingsError, load_settings
from handlers.i18n import _, use_locale
from models.cycle import Offer
from models.cycles import create_cycle, open_cycle, start_cycle
from models.member import Member
from models.members import get_or_register
from models.pickup_point import PickupPoint
from models.producer import Producer

log = logging.getLogger(__name__)

ROLES = ("consumer", "producer", "admin")
# One Telegram id per role, so that a configured database keeps three distinct members.
CONSOLE_USER_IDS = {"consumer": 100_000_101, "producer": 100_000_102, "admin": 100_000_103}
CONSOLE_FIRST_NAMES = {"consumer": "Camille", "producer": "Paul", "admin": "Alice"}
CENTRAL_POINT_SLUG = "halle-centrale"
DEMO_STOCK = Decimal(40)
QUIT_COMMANDS = frozenset({"/quit", "/quitter", "/exit"})
SWITCH_COMMAND = "/as"
ROLE_WORDS = {
    "consumer": "consumer",
    "consommateur": "consumer",
    "consommatrice": "consumer",
    "producer": "producer",
    "producteur": "producer",
    "productrice": "producer",
    "admin": "admin",
    "administrateur": "admin",
    "administratrice": "admin",
}


@dataclass(frozen=True)
class Person:
    """Who the console user is in Telegram: id, first name, role and language."""

    telegram_id: int
    first_name: str
    role: str
    lang: str


async def prepare_demo(session: AsyncSession, now: datetime) -> int:
    """Import the demo network and open a cycle with ``DEMO_STOCK`` of every product.

    The cycle opened an hour before ``now`` and closes four days later. Returns its id.
    """
    from bot.demo_network import CATALOG_CSV, PICKUP_POINTS_CSV, PRODUCERS_CSV
    from models.catalog_import import import_catalog, import_pickup_points, import_producers

    await import_producers(session, PRODUCERS_CSV)
    await import_pickup_points(session, PICKUP_POINTS_CSV)
    await import_catalog(session, CATALOG_CSV)
    cycle = await open_cycle(session)
    if cycle is None:
        closes_at = now + timedelta(days=4)
        cycle = await create_cycle(
            session,
            opens_at=now - timedelta(hours=1),
            closes_at=closes_at,
            pickup_starts_at=closes_at + timedelta(days=2),
            pickup_ends_at=closes_at + timedelta(days=2, hours=2, minutes=30),
        )
        await session.commit()
        await start_cycle(session, cycle, now)
    await session.execute(
        update(Offer)
        .where(Offer.cycle_id == cycle.id)
        .values(offered=DEMO_STOCK)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return cycle.id


async def prepare_person(session: AsyncSession, person: Person) -> Member:
    """Register the console's person (or find them again) and give them their role.

    A consumer gets the central pickup point (else the first public one), a producer is linked
    to the first producer, an admin gets the admin role. Commits.
    """
    member, _new = await get_or_register(
        session,
        telegram_id=person.telegram_id,
        first_name=person.first_name,
        last_name=None,
        username=None,
        locale=person.lang,
    )
    member.locale = person.lang
    if person.role == "consumer" and member.pickup_point_id is None:
        points = list(
            await session.scalars(
                select(PickupPoint)
                .where(PickupPoint.is_public.is_(True), PickupPoint.active.is_(True))
                .order_by(PickupPoint.id)
            )
        )
        central = next((p for p in points if p.slug == CENTRAL_POINT_SLUG), None)
        chosen = central or (points[0] if points else None)
        if chosen is not None:
            member.pickup_point_id = chosen.id
    elif person.role == "producer" and member.producer_id is None:
        producer_id = await session.scalar(select(Producer.id).order_by(Producer.id).limit(1))
        if producer_id is None:
            log.warning("no producer in the database: the console producer is not linked")
        member.producer_id = producer_id
    elif person.role == "admin":
        member.is_admin = True
    await session.commit()
    return member


class Transcript:
    """Prints what happens in the person's chat; ``sandbox.on_event`` calls :meth:`on_event`."""

    def __init__(
        self, out: TextIO, user: SandboxUser, lang: str, files_dir: Path, echo: bool
    ) -> None:
        self.out = out
        self.user = user
        self.lang = lang
        self.files_dir = files_dir
        self.echo = echo

    def write(self, line: str = "") -> None:
        """One line of output, flushed so that a person sees it at once."""
        self.out.write(line + "\n")
        self.out.flush()

    def on_event(self, event: SandboxEvent) -> None:
        """Render one sandbox event of the person's chat; of another chat, what the bot sent
        there, on one line (``→ Marie : …``)."""
        with use_locale(self.lang):
            if event.chat_id == self.user.id:
                self._render(event)
            elif event.who != event.chat and event.kind in OTHERS_SEE:
                first = (event.text or event.file_name or "").strip().splitlines() or [""]
                more = " …" if len((event.text or "").strip().splitlines()) > 1 else ""
                self.write(said(f"→ {event.chat}", f"{first[0]}{more}"))

    def _render(self, event: SandboxEvent) -> None:
        you, bot = _("Vous"), _("Bot")
        kind = event.kind
        if kind == "user_text":
            if self.echo:
                self.write(said(you, event.text or ""))
        elif kind == "bot_message":
            self._message(said(bot, "").rstrip(), event)
        elif kind == "bot_edit":
            edited = _("✏️ (modifié)")
            self._message(said(f"{bot} {edited}", "").rstrip(), event)
        elif kind in ("bot_document", "bot_photo"):
            self._file(bot, event)
        elif kind == "bot_delete":
            self.write(said(bot, _("🗑️ (message supprimé)")))
        elif kind == "bot_answer" and event.text:
            note = _("⚠️ (alerte)") if event.show_alert else _("🔔 (notification)")
            self.write(said(f"{bot} {note}", event.text))

    def _message(self, head: str, event: SandboxEvent) -> None:
        text = event.text or ""
        lines = text.splitlines() or [""]
        indent = " " * (len(head) + 1)
        self.write(f"{head} {lines[0]}")
        for line in lines[1:]:
            self.write(f"{indent}{line}" if line else "")
        for row in numbered_rows(event.buttons):
            self.write(f"{indent}{row}")
        self.write()

    def _file(self, bot: str, event: SandboxEvent) -> None:
        record = _message_by_id(self.user, event.message_id)
        file = None if record is None else (record.document or record.photo)
        content = file.content if file is not None else None
        name = _with_extension(event.file_name or f"photo-{event.message_id}", content)
        size = file.file_size if file is not None else 0
        size_text = _("{size} octets").format(size=f"{size:,}".replace(",", "\u202f"))
        self.write(said(bot, f"📎 {name} ({size_text})"))
        indent = " " * (len(bot) + 3)
        if file is not None and file.content is not None:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / f"{event.message_id:03d}-{Path(name).name}"
            path.write_bytes(file.content)
            self.write(indent + _("enregistré dans {path}").format(path=path))
        for line in (event.text or "").splitlines():
            self.write(f"{indent}{line}" if line else "")
        for row in numbered_rows(event.buttons):
            self.write(f"{indent}{row}")
        self.write()


OTHERS_SEE = ("bot_message", "bot_document", "bot_photo")


def _with_extension(name: str, content: bytes | None) -> str:
    """``name`` with an extension: its own, else the one its content shows (PNG, JPEG, PDF)."""
    if Path(name).suffix:
        return name
    signatures = {b"\x89PNG": ".png", b"\xff\xd8": ".jpg", b"%PDF": ".pdf", b"PK": ".xlsx"}
    suffix = next((s for sig, s in signatures.items() if content and content.startswith(sig)), "")
    return name + (suffix or ".bin")


def numbered_rows(buttons: tuple[tuple[str, ...], ...] | list[list[str]]) -> list[str]:
    """Keyboard rows as printed: ``[1] Légumes  [2] Fruits``, numbering across rows."""
    rows, number = [], 0
    for row in buttons:
        cells = []
        for label in row:
            number += 1
            cells.append(f"[{number}] {label}")
        rows.append("  ".join(cells))
    return rows


def _message_by_id(user: SandboxUser, message_id: int | None) -> MessageRecord | None:
    return next((m for m in user.history if m.message_id == message_id), None)


def said(who: str, text: str) -> str:
    """``who : text`` as the console's language writes it (no space before the colon in
    English)."""
    return _("{who} : {text}").format(who=who, text=text)


def newest_keyboard(user: SandboxUser) -> MessageRecord | None:
    """The newest bot message (not deleted) carrying an inline keyboard, if any."""
    for message in reversed(user.messages):
        if message.reply_markup and not message.deleted:
            return message
    return None


async def act(user: SandboxUser, line: str, transcript: Transcript) -> None:
    """Do what the person typed: press button ``n`` for a bare number, else send the text."""
    text = line.strip()
    if text.startswith("\\"):
        await user.send(text[1:])
        return
    if text.isdigit():
        target = newest_keyboard(user)
        buttons = (
            [b for row in target.reply_markup["inline_keyboard"] for b in row]
            if target is not None and target.reply_markup
            else []
        )
        number = int(text)
        if 1 <= number <= len(buttons):
            await _press(user, target, buttons[number - 1], transcript)
            return
        if buttons:
            transcript.write(
                _("Pas de bouton n°{number} : choisissez entre 1 et {count}.").format(
                    number=number, count=len(buttons)
                )
            )
            transcript.write(
                _("(pour envoyer le nombre comme texte, tapez \\{number})").format(number=number)
            )
            transcript.write()
            return
    await user.send(text)


async def _press(
    user: SandboxUser,
    message: MessageRecord | None,
    button: dict[str, object],
    transcript: Transcript,
) -> None:
    assert message is not None
    data = button.get("callback_data")
    if isinstance(data, str):
        if transcript.echo:
            with use_locale(transcript.lang):
                transcript.write(said(_("Vous"), f"[{button['text']}]"))
        await user.press_data(data, message=message)
        return
    target = button.get("url") or button.get("web_app") or button.get("login_url")
    transcript.write(
        _("Ce bouton ouvre un lien : {target}").format(target=target or button.get("text"))
    )


async def _read_line(stream: TextIO, prompt: str | None) -> str | None:
    """The next line, or None at end of input; ``prompt`` only on a terminal."""
    if prompt is not None:
        try:
            return await asyncio.to_thread(input, prompt)
        except EOFError:
            return None
    line = await asyncio.to_thread(stream.readline)
    return None if line == "" else line.rstrip("\r\n")


def _console_settings(person: Person, demo: bool, workdir: Path) -> Settings:
    if demo:
        settings = load_settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{workdir / 'console.sqlite3'}",
            telegram_bot_token=None,
            webhook_url=None,
        )
    else:
        settings = load_settings(telegram_bot_token=None, webhook_url=None)
    if person.role == "admin" and person.telegram_id not in settings.admin_ids:
        settings = settings.model_copy(
            update={"admin_ids": (*settings.admin_ids, person.telegram_id)}
        )
    return settings


async def _prepare_database(settings: Settings, person: Person, demo: bool) -> AsyncEngine:
    engine = create_engine(settings.database_url)
    if demo:
        await create_schema(engine)
    else:
        from bot.migrate import upgrade_async

        await upgrade_async(settings.database_url)
    async with sessionmaker(engine)() as session:
        if demo:
            await prepare_demo(session, datetime.now(UTC))
        await prepare_person(session, person)
    return engine


class Cast:
    """The people of one console session, all in the same database and sandbox; one speaks."""

    def __init__(
        self, sandbox: Sandbox, sessions: Any, transcript: Transcript, first: Person
    ) -> None:
        self.sandbox = sandbox
        self.sessions = sessions
        self.transcript = transcript
        self.lang = first.lang
        self.people: dict[tuple[str, str], SandboxUser] = {
            (first.role, first.first_name.casefold()): transcript.user
        }

    async def awaits_text(self) -> bool:
        """Whether the bot awaits the speaking person's typed answer (a quantity, a weight):
        a bare number is then that answer, not a button's number."""
        async with self.sessions() as session:
            awaiting = await session.scalar(
                select(Member.awaiting).where(Member.telegram_id == self.transcript.user.id)
            )
        return bool(awaiting)

    async def switch(self, words: list[str]) -> str:
        """Become the person ``words`` name (``producteur Marie``, ``admin``); the sentence
        saying who speaks now, or how to write the command."""
        role = ROLE_WORDS.get(words[0].casefold()) if words else None
        if role is None:
            return _(
                "Écrivez /as suivi d’un rôle et d’un prénom : /as producteur Marie, /as admin, "
                "/as consumer Alice."
            )
        name = " ".join(words[1:]).strip() or CONSOLE_FIRST_NAMES[role]
        key = (role, name.casefold())
        user = self.people.get(key)
        if user is None:
            telegram_id = (
                CONSOLE_USER_IDS[role]
                if name == CONSOLE_FIRST_NAMES[role]
                else 100_000_200 + len(self.people)
            )
            async with self.sessions() as session:
                await prepare_person(session, Person(telegram_id, name, role, self.lang))
            user = self.sandbox.user(name, language=self.lang, user_id=telegram_id)
            self.people[key] = user
        self.transcript.user = user
        roles = {"consumer": _("consommateur"), "producer": _("producteur"), "admin": _("admin")}
        return _("Vous êtes maintenant {name} ({role}).").format(name=name, role=roles[role])


async def run_console(
    role: str = "consumer",
    lang: str = "fr",
    demo: bool = True,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    files_dir: Path | None = None,
) -> int:
    """Chat with the bot as ``role`` speaking ``lang`` until ``/quit`` or end of input.

    Returns the exit status (0; 2 for a wrong setting). ``stdin``/``stdout`` default to the
    process's; files the bot sends are saved under ``files_dir`` (default
    ``./console-output``, created when the first file arrives).
    """
    from bot.app import build_application, start_application, stop_application

    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = _isatty(stdin) and _isatty(stdout)
    person = Person(CONSOLE_USER_IDS[role], CONSOLE_FIRST_NAMES[role], role, lang)
    with tempfile.TemporaryDirectory(prefix="desserte-console-") as tmp:
        try:
            settings = _console_settings(person, demo, Path(tmp))
        except SettingsError as exc:
            print(f"desserte: {exc}", file=sys.stderr)
            return 2
        engine = await _prepare_database(settings, person, demo)
        sandbox = Sandbox()
        user = sandbox.user(person.first_name, language=lang, user_id=person.telegram_id)
        transcript = Transcript(
            stdout, user, lang, files_dir or Path("console-output"), echo=not interactive
        )
        cast = Cast(sandbox, sessionmaker(engine), transcript, person)
        application = build_application(
            settings, request=sandbox.request(), engine=engine, rate_limiter=False
        )
        try:
            await start_application(application)
            sandbox.attach(application)
            sandbox.on_event(transcript.on_event)
            with use_locale(lang):
                if interactive:
                    transcript.write(_banner(person, demo, settings))
                prompt = _("Vous") + " › " if interactive else None
            await _loop(cast, stdin, prompt)
        finally:
            await stop_application(application)
            await engine.dispose()
    return 0


async def _loop(cast: Cast, stdin: TextIO, prompt: str | None) -> None:
    transcript, lang = cast.transcript, cast.lang
    while True:
        line = await _read_line(stdin, prompt)
        if line is None:
            break
        if not line.strip():
            continue
        if line.strip().lower() in QUIT_COMMANDS:
            break
        words = line.split()
        try:
            if words[0].lower() == SWITCH_COMMAND:
                with use_locale(lang):
                    if transcript.echo:
                        transcript.write(said(_("Vous"), line.strip()))
                    transcript.write(await cast.switch(words[1:]))
                    transcript.write()
                continue
            if line.strip().isdigit() and await cast.awaits_text():
                await transcript.user.send(line.strip())  # "how many?": the answer, no button
            else:
                await act(transcript.user, line, transcript)
        except AssertionError as exc:  # the driver refuses an impossible gesture
            with use_locale(lang):
                transcript.write(_("Impossible : {reason}").format(reason=exc))
        except Exception:  # a bug must not end the session with a traceback
            log.exception("console input %r failed", line)
            with use_locale(lang):
                transcript.write(_("Cela n’a pas marché ; essayez autre chose."))
    if prompt is not None:
        with use_locale(lang):
            transcript.write(_("Au revoir !"))


def _banner(person: Person, demo: bool, settings: Settings) -> str:
    roles = {
        "consumer": _("consommateur (point de retrait : halle centrale)"),
        "producer": _("producteur (lié au premier producteur)"),
        "admin": _("administrateur"),
    }
    where = (
        _("réseau de démonstration, cycle ouvert")
        if demo
        else _("base configurée : {url}").format(url=settings.database_url)
    )
    return "\n".join(
        [
            _("Console desserte — vous êtes {name}, {role} ; {where}.").format(
                name=person.first_name, role=roles[person.role], where=where
            ),
            _(
                "Écrivez comme dans Telegram (/start, /aide…). Un nombre appuie sur ce bouton "
                "du dernier message (\\3 envoie « 3 » comme texte). /as producteur Marie, "
                "/as admin ou /as consumer Alice change de personne. /quit pour sortir."
            ),
            "",
        ]
    )


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
