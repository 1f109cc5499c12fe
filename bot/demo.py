"""``desserte demo``: a whole week of the network, played on the sandbox with no Telegram.

A fresh SQLite database gets the demo network; a simulated clock walks from Friday morning to
the close on Tuesday night. The cycle opens by itself, three producers send their stock in one
message and confirm, a dozen consumers browse, fill and confirm baskets (one reorders last
week's, one changes after confirming, one asks for more than is left), reminders go out, the
cycle closes, producers receive their purchase orders, the admin reads the report and prints
the pickup lists. Every line of the conversation is printed, labelled with who speaks, with
the buttons. The run checks each step and exits non-zero if one did not do what it should, so
it is also a test.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import build_application, start_application, stop_application
from bot.db import create_engine, sessionmaker
from bot.demo_network import CATALOG_CSV, PICKUP_POINTS_CSV, PRODUCERS_CSV
from bot.migrate import upgrade_async
from bot.sandbox import Sandbox, SandboxEvent, SandboxUser
from bot.settings import load_settings
from handlers.cycle_run import run_due_work
from handlers.i18n import _, format_date, format_time, use_locale
from models import Cycle, CycleState, Member, Offer, PickupPoint, Product
from models.catalog_import import import_catalog, import_pickup_points, import_producers
from models.ordering import add_to_basket, confirm_order

log = logging.getLogger(__name__)

ADMIN_ID = 4_200_000
PARIS = ZoneInfo("Europe/Paris")
# Friday 4 December 2026, 10:00 in Poitiers: the week about to be played.
START = datetime(2026, 12, 4, 10, 0, tzinfo=PARIS)

# Visible button texts the demo presses, per language (the demo reads as a person does).
LABELS = {
    "fr": {
        "central": "La Desserte — halle centrale",
        "add": "Ajouter",
        "confirm": "Confirmer la commande",
        "confirm_changes": "Confirmer les modifications",
        "same": "Même panier",
        "validate": "Valider",
        "pdf": "Listes de retrait (tous les points)",
        "csv": "Commandes (CSV)",
        "close": "Clôturer maintenant",
    },
    "en": {
        "central": "La Desserte — halle centrale",
        "add": "Add",
        "confirm": "Confirm the order",
        "confirm_changes": "Confirm the changes",
        "same": "Same basket",
        "validate": "Confirm",
        "pdf": "Pickup lists (every point)",
        "csv": "Orders (CSV)",
        "close": "Close now",
    },
}

PRODUCERS = [
    (
        "Marie",
        "jardins-lusignan",
        "Bonjour ! Cette semaine : tomates anciennes 12 kg, 15 barquettes de tomates cerises, "
        "20 salades batavia, 10 feuille de chêne, radis 10 bottes, 8 bottes de poireaux, "
        "carottes 15 kg. Bonne journée, Marie",
    ),
    ("Thomas", "chevrerie-chauvigny", "chabichou 20, 12 crottins, 6 bûches cendrées, faisselle 10"),
    ("Sophie", "ferme-grand-pre", "- oeufs : 6 boîtes\n- 4 poulets fermiers\n- filets de poulet 8"),
]

# Each consumer: what they search and add (text typed, button pressed, presses of "+").
BASKETS: dict[str, list[tuple[str, str, int]]] = {
    "Jeanne": [],  # reorders last week's basket
    "Paul": [("oeufs", "Œufs plein air", 4)],  # asks for 5 boxes when fewer are left
    "Léa": [("tomates", "Tomates anciennes", 1), ("chabichou", "Chabichou du Poitou", 1)],
    "Hugo": [("poulet", "Poulet fermier entier", 0), ("radis", "Radis", 1)],
    "Chloé": [
        ("salade", "Salade batavia", 0),
        ("carottes", "Carottes", 2),
        ("faisselle", "Faisselle de chèvre", 0),
    ],
    "Louis": [("cerises", "Tomates cerises", 2)],
    "Emma": [("crottin", "Crottin frais", 3), ("poireaux", "Poireaux", 0)],
    "Nathan": [("filets", "Filets de poulet", 1)],
    "Camille": [("bûche", "Bûche cendrée", 0), ("tomates", "Tomates cerises", 0)],
    "Lucas": [("poulet", "Poulet fermier entier", 0)],
    "Manon": [("feuille de chêne", "Salade feuille de chêne", 1), ("carottes", "Carottes", 0)],
    "Théo": [("radis", "Radis", 0)],  # fills a basket and forgets to confirm: reminded
}


@dataclass
class DemoClock:
    """The simulated time every part of the demo reads (bot, sandbox, scheduler)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Printer:
    """Prints the conversation as it goes: who speaks, what, the buttons."""

    stream: TextIO
    quiet: bool
    clock: DemoClock
    count: int = 0

    def narrate(self, text: str) -> None:
        """A line of narration (the time, what happens next)."""
        if not self.quiet:
            moment = self.clock.now.astimezone(PARIS)
            print(f"\n── {format_date(moment)} {format_time(moment)} · {text}", file=self.stream)

    def __call__(self, event: SandboxEvent) -> None:
        self.count += 1
        if self.quiet or event.kind in ("bot_action", "bot_delete"):
            return
        if event.kind == "bot_answer" and not event.text:
            return
        bot = event.who != event.chat
        speaker = f"🤖 → {event.chat}" if bot else f"👤 {event.who}"
        text = (event.text or "").strip()
        if event.kind == "press":
            text = f"[{text or event.data}]"
        elif event.kind == "bot_edit":
            text = f"✏️ {text}"
        elif event.kind == "bot_document":
            text = f"📎 {event.file_name or ''} {text}".strip()
        elif event.kind == "bot_photo":
            text = f"🖼 {text}".strip()
        elif event.kind == "bot_answer":
            text = f"💬 {text}"
        lines = text.splitlines() or [""]
        print(f"{speaker}: {lines[0]}", file=self.stream)
        for line in lines[1:]:
            print(f"{' ' * (len(speaker) + 2)}{line}", file=self.stream)
        if event.buttons:
            rows = "  ".join(" | ".join(f"[{b}]" for b in row) for row in event.buttons)
            print(f"{' ' * (len(speaker) + 2)}{rows}", file=self.stream)


@dataclass
class Checks:
    """What the demo expects of each step; a failed check makes the run exit non-zero."""

    failures: list[str] = field(default_factory=list)

    def expect(self, condition: object, what: str) -> None:
        """Record ``what`` as failed unless ``condition`` holds."""
        if not condition:
            self.failures.append(what)
            log.error("demo check failed: %s", what)


def _button(person: SandboxUser, wanted: str) -> str | None:
    for message in reversed(person.messages):
        for row in message.buttons:
            for text in row:
                if wanted in text:
                    return text
    return None


async def _press(person: SandboxUser, wanted: str) -> bool:
    """Press the newest button showing ``wanted``; False when there is none."""
    for message in reversed(person.messages):
        if message.deleted:
            continue
        for row in message.buttons:
            for text in row:
                if wanted in text:
                    await person.press(text, message=message)
                    return True
    return False


def _notice(person: SandboxUser) -> str:
    """The line above the view the person's last press showed (what the press did)."""
    for message in reversed(person.messages):
        if not message.deleted:
            return (message.text or message.caption or "").split("\n\n")[0]
    return ""


async def _seed_last_week(sessions: Any, jeanne_id: int, now: datetime) -> None:
    """Last week's delivered cycle with Jeanne's order, so that she can reorder it."""
    async with sessions() as session:
        week = timedelta(days=7)
        opens = START.replace(hour=12) - week
        cycle = Cycle(
            opens_at=opens,
            closes_at=opens + timedelta(days=4, hours=11, minutes=59),
            pickup_starts_at=opens + timedelta(days=6, hours=5),
            pickup_ends_at=opens + timedelta(days=6, hours=7, minutes=30),
            state=CycleState.OPEN,
            opened_at=opens,
        )
        session.add(cycle)
        await session.flush()
        skus = {
            "TOM-ANC": Decimal(2),
            "OEU-6": Decimal(2),
            "CHA-AOP": Decimal(2),
            "RAD-BOT": Decimal(1),
        }
        products = {
            p.sku: p for p in await session.scalars(select(Product).where(Product.sku.in_(skus)))
        }
        for product in products.values():
            session.add(
                Offer(
                    cycle_id=cycle.id,
                    product_id=product.id,
                    offered=Decimal(20),
                    ordered=Decimal(0),
                )
            )
        await session.commit()
        jeanne = await session.get(Member, jeanne_id)
        assert jeanne is not None
        for sku, quantity in skus.items():
            await add_to_basket(session, jeanne, cycle.id, products[sku].id, quantity, opens)
        await confirm_order(session, jeanne, cycle.id, opens)
        cycle.state = CycleState.DELIVERED
        cycle.closed_at = cycle.closes_at
        await session.commit()


async def run_demo(
    lang: str = "fr",
    output: Path = Path("demo-output"),
    quiet: bool = False,
    stream: TextIO | None = None,
) -> int:
    """Play the week; returns 0 when every step did what it should, 1 otherwise."""
    stream = stream or sys.stdout
    started = time.monotonic()
    output = output.absolute()  # noqa: ASYNC240 - once, before anything runs
    output.mkdir(parents=True, exist_ok=True)
    clock = DemoClock(START)
    printer = Printer(stream, quiet, clock)
    checks = Checks()
    labels = LABELS[lang]
    with tempfile.TemporaryDirectory(prefix="desserte-demo-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'demo.sqlite3'}"
        await upgrade_async(url)
        settings = load_settings(
            _env_file=None,
            database_url=url,
            admin_ids=str(ADMIN_ID),
            default_locale=lang,
            telegram_bot_token=None,
        )
        engine = create_engine(url)
        sessions = sessionmaker(engine)
        async with sessions() as session:
            await import_producers(session, PRODUCERS_CSV)
            await import_pickup_points(session, PICKUP_POINTS_CSV)
            await import_catalog(session, CATALOG_CSV)
        sandbox = Sandbox(clock=clock)
        app = build_application(
            settings,
            request=sandbox.request(),
            get_updates_request=sandbox.request(),
            engine=engine,
            clock=clock,
            rate_limiter=False,
        )
        errors: list[BaseException] = []

        async def count_error(update: object, context: Any) -> None:
            errors.append(context.error)

        app.add_error_handler(count_error)
        await start_application(app)
        sandbox.attach(app)
        sandbox.on_event(printer)
        try:
            with use_locale(lang):
                await _play(app, sandbox, sessions, clock, printer, checks, labels, lang, output)
        finally:
            await stop_application(app)
            await engine.dispose()
        checks.expect(not errors, f"no error reached the error handler ({len(errors)} did)")
    elapsed = time.monotonic() - started
    with use_locale(lang):
        print("", file=stream)
        print(
            _("Bilan de la démo ({seconds:.1f} s, {events} échanges) :").format(
                seconds=elapsed, events=printer.count
            ),
            file=stream,
        )
        for path in sorted(output.iterdir()):
            print(f"  {path}", file=stream)
        if checks.failures:
            print(_("Étapes en échec :"), file=stream)
            for failure in checks.failures:
                print(f"  ✗ {failure}", file=stream)
            return 1
        print(_("Toutes les étapes ont produit ce qu’elles devaient."), file=stream)
    return 0


def _save(person: SandboxUser, output: Path, predicate: Callable[[str], bool]) -> list[Path]:
    """Write the documents and photos the bot sent ``person`` into ``output``."""
    saved = []
    for message in person.messages:
        record = message.document or message.photo
        if record is None or record.content is None:  # None: sent by URL, nothing to save
            continue
        name = record.file_name or f"{person.first_name}-{message.message_id}.png"
        if message.photo is not None and not name.endswith(".png"):
            name = f"chart-{message.message_id}.png"
        if not predicate(name):
            continue
        path = output / f"{person.first_name.lower()}-{name}"
        path.write_bytes(record.content)
        saved.append(path)
    return saved


async def _play(
    app: Any,
    sandbox: Sandbox,
    sessions: Any,
    clock: DemoClock,
    printer: Printer,
    checks: Checks,
    labels: dict[str, str],
    lang: str,
    output: Path,
) -> None:
    narrate = printer.narrate
    narrate(_("Le réseau s’installe : l’organisatrice invite trois producteurs."))
    claire = sandbox.user("Claire", language=lang, user_id=ADMIN_ID)
    await claire.send("/start")
    producers: dict[str, SandboxUser] = {}
    for name, slug, _message in PRODUCERS:
        await claire.send(f"/invite_producteur {slug}")
        text = claire.last_message.text or ""
        link = next((word for word in text.split() if "start=" in word), "")
        checks.expect(link, f"an invitation link for {slug}")
        person = sandbox.user(name, language="fr")
        await person.send(f"/start {link.split('start=')[-1]}")
        producers[slug] = person

    narrate(_("Les consommateurs arrivent et choisissent leur point de retrait."))
    consumers: dict[str, SandboxUser] = {}
    for name in BASKETS:
        person = sandbox.user(name, language=lang)
        await person.send("/start")
        await _press(person, labels["central"])
        consumers[name] = person
    async with sessions() as session:
        jeanne = await session.scalar(
            select(Member).where(Member.telegram_id == consumers["Jeanne"].id)
        )
        assert jeanne is not None
        point = await session.scalar(
            select(PickupPoint.id).where(PickupPoint.slug == "halle-centrale")
        )
        checks.expect(jeanne.pickup_point_id == point, "Jeanne chose the central pickup point")
        jeanne_id = jeanne.id
    await _seed_last_week(sessions, jeanne_id, clock.now)

    narrate(_("Le planificateur prépare les prochains cycles."))
    report = await run_due_work(app)
    checks.expect(report.planned, "the scheduler planned the coming cycles")
    clock.now = START.replace(hour=12)
    narrate(_("Vendredi midi : le cycle s’ouvre tout seul."))
    report = await run_due_work(app)
    checks.expect(report.opened, "the cycle opened at its time")
    for name, slug, _message in PRODUCERS:
        checks.expect(producers[slug].messages, f"{name} got the weekly prompt")
    heard = {name: len(person.messages) for name, person in consumers.items()}
    checks.expect(
        not report.announced, "consumers were not told of an empty catalog at the opening"
    )

    narrate(_("Les producteurs répondent en un message et valident d’un geste."))
    for name, slug, stock in PRODUCERS:
        person = producers[slug]
        await person.send(stock)
        for ambiguous in ("Tomates anciennes",):
            if _button(person, f"→ {ambiguous}"):
                await _press(person, f"→ {ambiguous}")
        # Producers write in French (the stock parser reads French): their buttons are French.
        checks.expect(
            await _press(person, LABELS["fr"]["validate"]), f"{name} could confirm the stock"
        )
    async with sessions() as session:
        stocked = await session.scalar(
            select(Offer).join(Product).where(Product.sku == "TOM-ANC", Offer.offered > 0)
        )
        checks.expect(stocked is not None, "the tomatoes are in stock after Marie's message")

    narrate(_("Le catalogue est prêt : les consommateurs sont prévenus."))
    report = await run_due_work(app)
    checks.expect(report.announced, "consumers were told once the producers had given stock")
    checks.expect(
        all(len(person.messages) > heard[name] for name, person in consumers.items()),
        "every consumer heard that ordering is open",
    )

    clock.now += timedelta(hours=3)
    narrate(_("Les consommateurs remplissent leur panier."))
    for name, items in BASKETS.items():
        person = consumers[name]
        if name == "Jeanne":
            await person.send("/memepanier" if lang == "fr" else "/same")
            checks.expect(
                "Tomates anciennes" in (person.last_message.text or ""),
                "Jeanne's reorder copied last week's basket",
            )
        for query, product, more in items:
            await person.send(query)
            if not await _press(person, product):
                checks.expect(False, f"{name} found {product} by typing {query!r}")
                continue
            for _step in range(more):
                await _press(person, "➕")
            await _press(person, labels["add"])
        if name == "Paul":
            answer = _notice(person)
            checks.expect(
                answer and ("4" in answer or "5" in answer), "Paul was told how many boxes he got"
            )
        if name == "Théo":
            continue  # forgets to confirm
        await person.send("/panier" if lang == "fr" else "/basket")
        confirmed = await _press(person, labels["confirm"])
        checks.expect(confirmed, f"{name} confirmed the order")
    clock.now += timedelta(hours=20)

    narrate(_("Léa change d’avis après avoir confirmé."))
    lea = consumers["Léa"]
    await lea.send("miel")
    await _press(lea, "Miel")
    await _press(lea, labels["add"])
    await lea.send("/panier" if lang == "fr" else "/basket")
    checks.expect(await _press(lea, labels["confirm_changes"]), "Léa confirmed her changes")

    narrate(_("Hugo arrive trop tard pour les œufs."))
    hugo = consumers["Hugo"]
    await hugo.send("oeufs")
    await _press(hugo, "Œufs plein air")
    card = hugo.last_message.text or hugo.last_message.caption or ""
    checks.expect("Épuisé" in card or "Sold out" in card, "Hugo was told the eggs are sold out")
    await _press(hugo, labels["add"])

    async with sessions() as session:
        cycle = await session.scalar(select(Cycle).where(Cycle.state == CycleState.OPEN))
        assert cycle is not None
        closes_at = cycle.closes_at
    clock.now = closes_at - timedelta(hours=24)
    narrate(_("La veille de la clôture : les rappels partent."))
    report = await run_due_work(app)
    checks.expect(report.reminded, "reminders went out 24 hours before the close")
    theo = consumers["Théo"]
    checks.expect(
        "Radis" in (theo.last_message.text or ""), "Théo's reminder names what is in his basket"
    )

    clock.now = closes_at
    narrate(_("Mardi soir : le cycle se clôt tout seul."))
    report = await run_due_work(app)
    checks.expect(report.closed, "the cycle closed at its time")
    purchase_orders = []
    for person in producers.values():
        purchase_orders += _save(person, output, lambda name: name.endswith(".csv"))
    checks.expect(
        len(purchase_orders) >= len(PRODUCERS), "each producer received a purchase order CSV"
    )
    checks.expect(claire.messages, "the admin received the close summary")

    narrate(_("L’organisatrice lit le rapport et imprime les listes de retrait."))
    await claire.send("/rapport" if lang == "fr" else "/report")
    await claire.send("/exporter" if lang == "fr" else "/export")
    checks.expect(await _press(claire, labels["pdf"]), "the admin asked for the pickup lists")
    await claire.send("/exporter" if lang == "fr" else "/export")
    await _press(claire, labels["csv"])
    files = _save(claire, output, lambda name: True)
    checks.expect(any(p.suffix == ".pdf" for p in files), "a pickup-list PDF came out")
    checks.expect(any(p.suffix == ".png" for p in files), "the report's chart came out")
    checks.expect(any(p.suffix == ".csv" for p in files), "the orders CSV came out")
