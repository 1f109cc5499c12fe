"""``desserte demo``: two weeks of the network in December, played on the sandbox with no Telegram.

A fresh SQLite database gets the demo network's producers and pickup points and its December
catalog (``bot/demo_network/catalog-decembre.csv``: leeks, squash, endives, goat cheeses, eggs,
capons…); a simulated clock walks from Friday 4 December to Friday 11 December. The network
starts: the organiser invites three producers, consumers join and pick their pickup point. The
first cycle opens by itself, the producers send their stock in one message and confirm,
consumers are told and fill baskets (one asks for more than is left, one changes after
confirming, one comes too late, one forgets to confirm), reminders go out, the cycle closes,
producers get their purchase orders, the admin reads the report and prints the pickup lists. On
pickup day everyone is reminded, the admin ticks the orders collected at the central point and
ends the pickup with one no-show. The next Friday the second cycle opens, the producers repeat
last week's stock in one tap and Jeanne reorders last week's basket in one tap. Then a second
network, in Niort, joins the same deployment (same database) with its own bot: Jeanne, a member
of both, sees each bot speak of its own network and none of the other's orders.

The story is a list of :class:`Scene`: a caption (what the narration claims), the gestures, and
a check that reads only what the people saw during the scene. A scene cannot be made without
its check (:func:`scene`); a gesture that cannot be made (no such button on the person's newest
message) fails the scene. Every line of the conversation is printed, labelled with who speaks,
with the buttons; the run exits non-zero when a scene's outcome contradicts its caption, so it
is also a test.
"""

from __future__ import annotations

import itertools
import logging
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.app import build_application, start_application, stop_application
from bot.db import create_engine, sessionmaker
from bot.demo_network import DECEMBER_CATALOG_CSV, PICKUP_POINTS_CSV, PRODUCERS_CSV
from bot.migrate import upgrade_async
from bot.networks import network_settings
from bot.sandbox import Sandbox, SandboxEvent, SandboxUser
from bot.settings import load_settings
from handlers.cycle_run import run_due_work
from handlers.i18n import (
    _,
    current_locale,
    format_date,
    format_time,
    lazy_gettext,
    ngettext,
    to_name,
    use_locale,
)
from models.catalog_import import import_catalog, import_pickup_points, import_producers
from models.network import ALL_NETWORKS
from models.networks import add_network

log = logging.getLogger(__name__)

ADMIN_ID = 4_200_000
PARIS = ZoneInfo("Europe/Paris")
# Friday 4 December 2026, 10:00 in Poitiers: the network's first week.
START = datetime(2026, 12, 4, 10, 0, tzinfo=PARIS)
CENTRAL = "La Desserte — halle centrale"

# Visible button texts the demo presses, per language (the demo reads as a person does).
LABELS = {
    "fr": {
        "add": "Ajouter",
        "confirm": "Confirmer la commande",
        "same_basket": "Même panier",
        "same_stock": "Même stock",
        "validate": "Valider",
        "pdf": "Listes de retrait (tous les points)",
        "csv": "Commandes (CSV)",
        "finish": "Terminer le retrait",
        "finish_yes": "Oui, terminer",
    },
    "en": {
        "add": "Add",
        "confirm": "Confirm the order",
        "same_basket": "Same basket",
        "same_stock": "Same stock",
        "validate": "Confirm",
        "pdf": "Pickup lists (every point)",
        "csv": "Orders (CSV)",
        "finish": "Finish the pickup",
        "finish_yes": "Yes, finish",
    },
}

# Producers write in French whatever the demo's language (the stock parser reads French).
PRODUCERS_LANG = "fr"
# Each producer: first name, slug, farm (as the bot names it), the stock message, one product.
PRODUCERS = [
    (
        "Marie",
        "jardins-lusignan",
        "Les Jardins de la Vonne",
        "Bonjour ! Cette semaine : poireaux 12 bottes, carottes 15 kg, 10 potimarrons, "
        "8 céleris, 6 choux frisés, endives 5 kg, 12 sachets de mâche, radis noir 10, "
        "pommes de terre 20 sachets. Bonne journée, Marie",
        "Potimarron",
    ),
    (
        "Thomas",
        "chevrerie-chauvigny",
        "Chèvrerie des Coteaux",
        "chabichou 20, 12 crottins, 6 bûches cendrées, faisselle 10",
        "Chabichou du Poitou",
    ),
    (
        "Sophie",
        "ferme-grand-pre",
        "Ferme du Grand Pré",
        "- oeufs : 6 boîtes\n- 4 poulets fermiers\n- 3 chapons pour Noël\n- filets de poulet 8",
        "Chapon fermier",
    ),
    # The network's kitchen: its soup is made of Marie's carrots, leeks and squash.
    ("Inès", "cuisine-desserte", "La Cuisine de la Desserte", "soupe 40 litres", "Soupe d’hiver"),
]
KITCHEN = "Inès"
DRIVER = "Karim"
SOUP = {"fr": "Soupe d’hiver", "en": "Winter soup"}
"""The soup's name on the search's buttons, per language (the catalog gives an English one)."""
SOUP_CARROTS = Decimal("0.4")
"""What one litre of the winter soup takes of carrots (its recipe, in the December catalog)."""
SOUP_LITRES = 5

# Each consumer: what they type, the product they open, presses of "+" before adding.
BASKETS: dict[str, list[tuple[str, str, int]]] = {
    "Jeanne": [
        ("poireaux", "Poireaux", 0),
        ("oeufs", "Œufs plein air", 1),
        ("chabichou", "Chabichou du Poitou", 1),
        ("potimarron", "Potimarron", 0),
    ],
    "Paul": [],  # his own scene: asks for 5 boxes of eggs when 4 are left
    "Léa": [("endives", "Endives", 1), ("chabichou", "Chabichou du Poitou", 1)],
    "Hugo": [("poulet", "Poulet fermier entier", 0), ("radis", "Radis noir", 1)],
    "Chloé": [
        ("mâche", "Mâche", 0),
        ("carottes", "Carottes", 2),
        ("faisselle", "Faisselle de chèvre", 0),
    ],
    "Louis": [("chapon", "Chapon fermier", 0)],
    "Emma": [("crottin", "Crottin frais", 3), ("poireaux", "Poireaux", 0)],
    "Nathan": [("filets", "Filets de poulet", 1)],
    "Camille": [("bûche", "Bûche cendrée", 0), ("céleri", "Céleri-rave", 0)],
    "Lucas": [("poulet", "Poulet fermier entier", 0)],  # does not come on pickup day
    "Manon": [("chou", "Chou frisé", 1), ("carottes", "Carottes", 0)],
    "Théo": [("radis", "Radis noir", 0)],  # fills a basket and forgets to confirm
    "Nina": [],  # her own scene: the soup
}
FORGETS = "Théo"
NO_SHOW = "Lucas"
CONFIRMED = [name for name in BASKETS if name != FORGETS]


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


class SceneFailed(Exception):
    """A gesture a scene needed could not be made; ``str()`` says which, in the current locale."""

    def __init__(self, text: Any, **params: object) -> None:
        super().__init__(text)
        self.text = text  # a lazy text: the handlers the gesture ran may have changed the locale
        self.params = params

    def __str__(self) -> str:
        return str(self.text).format(**self.params)


Claim = tuple[object, str]
"""What a check found: (holds, what the caption promised, in the reader's words)."""


@dataclass
class Cast:
    """Everyone in the story, what they saw during the current scene, and the run's settings."""

    app: Any
    sandbox: Sandbox
    clock: DemoClock
    lang: str
    output: Path
    admin: SandboxUser
    producers: dict[str, SandboxUser] = field(default_factory=dict)
    consumers: dict[str, SandboxUser] = field(default_factory=dict)
    driver: SandboxUser | None = None
    """Who drives the collection rounds."""
    events: list[SandboxEvent] = field(default_factory=list)
    printer: Callable[[SandboxEvent], None] | None = None
    """What prints the conversation, for another bot's sandbox too."""
    files: list[Path] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    """Texts a scene keeps for a later one (Jeanne's first receipt, for her reorder)."""
    engine: Any = None
    settings: Any = None
    """The demo's database and settings (a second network joins the deployment)."""
    others: dict[str, SandboxUser] = field(default_factory=dict)
    """People as another network's bot knows them (the same person, another chat)."""

    @property
    def labels(self) -> dict[str, str]:
        """The visible button texts in the consumers' language."""
        return LABELS[self.lang]

    def seen(self, person: SandboxUser) -> list[str]:
        """The texts the bot showed ``person`` during this scene (sent, edited, files, alerts)."""
        kinds = ("bot_message", "bot_edit", "bot_document", "bot_photo", "bot_answer")
        return [
            e.text or ""
            for e in self.events
            if e.chat_id == person.id and e.kind in kinds and e.who != person.first_name
        ]

    def saw(self, person: SandboxUser, template: str, *fragments: str) -> bool:
        """Whether ``person`` saw, during this scene, a text in the shape of ``template`` (the
        bot's own words, translated: tags dropped, placeholders match anything) holding every
        one of ``fragments``."""
        pattern = _shape(template)
        return any(
            pattern.search(text) and all(f in text for f in fragments) for text in self.seen(person)
        )

    def files_seen(self, person: SandboxUser) -> list[str]:
        """The names of the files the bot sent ``person`` during this scene (a photo: ``photo``)."""
        return [
            "photo" if e.kind == "bot_photo" else e.file_name or ""
            for e in self.events
            if e.chat_id == person.id and e.kind in ("bot_document", "bot_photo")
        ]


def _shape(template: str) -> re.Pattern[str]:
    """A pattern for a bot text: tags removed, each ``{placeholder}`` matching anything."""
    plain = re.sub(r"<[^>]+>", "", template)
    pieces = re.split(r"\{[^}]*\}", plain)
    return re.compile(".*?".join(re.escape(piece) for piece in pieces), re.DOTALL)


def _newest(person: SandboxUser) -> str:
    """The text (or caption) of the newest message the bot shows ``person``."""
    message = person.last_message
    return message.text or message.caption or ""


def _buttons(person: SandboxUser) -> list[str]:
    """The buttons of the newest message the bot shows ``person``."""
    return [text for row in person.last_message.buttons for text in row]


async def _press(person: SandboxUser, wanted: str) -> None:
    """Press the button showing ``wanted`` on the bot's newest message to ``person``.

    Only the newest message counts, as for a person reading the chat: an older message's button
    of the same text is never pressed. Raises :class:`SceneFailed` when it has no such button.
    """
    message = person.last_message
    matches = [text for row in message.buttons for text in row if wanted in text]
    if len(matches) != 1:
        raise SceneFailed(
            lazy_gettext("{name} ne trouve pas le bouton « {button} » sur son dernier message."),
            name=person.first_name,
            button=wanted,
        )
    await person.press(matches[0], message=message)


Act = Callable[[Cast], Awaitable[None]]
Check = Callable[[Cast], Iterable[Claim]]


Moment = Callable[[datetime], datetime]


@dataclass(frozen=True)
class Scene:
    """A caption, the gestures that play it, and the check of what the people saw."""

    caption: Any  # a lazy text, translated when the scene is narrated
    act: Act
    check: Check
    at: Moment | None = None
    """When the scene happens, from the time the previous one ended (None: right after)."""


def scene(caption: Any, check: Check, at: Moment | None = None) -> Callable[[Act], Scene]:
    """Make the decorated gestures a scene narrated by ``caption`` and judged by ``check``,
    played at ``at(now)`` (default: right after the previous scene)."""

    def make(act: Act) -> Scene:
        return Scene(caption, act, check, at)

    return make


def _day(days: int, hour: int, minute: int = 0) -> Moment:
    """``days`` after the first Friday, at ``hour:minute`` (Paris)."""
    return lambda _now: START.replace(hour=hour, minute=minute) + timedelta(days=days)


def _later(**delta: float) -> Moment:
    return lambda now: now + timedelta(**delta)


async def _wake(cast: Cast) -> None:
    """Let the scheduler do what fell due by now."""
    await run_due_work(cast.app)


async def _fill(cast: Cast, person: SandboxUser, items: list[tuple[str, str, int]]) -> None:
    for query, product, more in items:
        await person.send(query)
        await _press(person, product)
        for _step in range(more):
            await _press(person, "➕")
        await _press(person, cast.labels["add"])


async def _confirm(cast: Cast, person: SandboxUser, label: str) -> None:
    await person.send("/panier" if cast.lang == "fr" else "/basket")
    await _press(person, label)


def _receipt(cast: Cast, person: SandboxUser) -> str:
    """The confirmation the person saw during this scene ('' when none)."""
    pattern = _shape(_("✅ <b>Commande {number} confirmée</b> — merci !"))
    return next((t for t in reversed(cast.seen(person)) if pattern.search(t)), "")


# -- week 1 -----------------------------------------------------------------------------------


def _producers_joined(cast: Cast) -> Iterator[Claim]:
    with use_locale(PRODUCERS_LANG):
        welcome = _("Bienvenue {name} ! Votre compte est maintenant relié {to_producer}.")
        linked = {farm: to_name(farm) for _n, _s, farm, _st, _p in PRODUCERS}
    for name, _slug, farm, _stock, _product in PRODUCERS:
        person = cast.producers.get(name)
        joined = person is not None and cast.saw(person, welcome, linked[farm])
        yield joined, _("{name} est reliée à sa ferme, {farm}.").format(name=name, farm=farm)
    with use_locale(PRODUCERS_LANG):
        welcome = _(
            "Bienvenue {name} ! Vous êtes chauffeur de la tournée de collecte : à chaque "
            "clôture, je vous envoie les arrêts dans l’ordre, ce qu’il faut charger, et un "
            "bouton par arrêt pour le cocher ou signaler ce qui manque."
        )
    yield (
        cast.driver is not None and cast.saw(cast.driver, welcome, DRIVER),
        _("{name} devient le chauffeur de la tournée de collecte.").format(name=DRIVER),
    )


@scene(
    lazy_gettext(
        "Un nouveau réseau démarre : l’organisatrice invite trois producteurs et la cuisine "
        "du réseau, puis Karim, le chauffeur de la tournée ; chacun rejoint par son lien."
    ),
    _producers_joined,
)
async def network_starts(cast: Cast) -> None:
    await cast.admin.send("/start")
    for name, slug, _farm, _stock, _product in PRODUCERS:
        await cast.admin.send(f"/invite_producteur {slug}")
        link = next((w for w in _newest(cast.admin).split() if "start=" in w), "")
        if not link:
            raise SceneFailed(lazy_gettext("Pas de lien d’invitation pour {slug}."), slug=slug)
        person = cast.sandbox.user(name, language=PRODUCERS_LANG)
        await person.send(f"/start {link.split('start=')[-1]}")
        cast.producers[name] = person
    await cast.admin.send("/invite_chauffeur" if cast.lang == "fr" else "/invite_driver")
    link = next((w for w in _newest(cast.admin).split() if "start=" in w), "")
    if not link:
        raise SceneFailed(lazy_gettext("Pas de lien d’invitation pour {slug}."), slug=DRIVER)
    driver = cast.sandbox.user(DRIVER, language=PRODUCERS_LANG)
    await driver.send(f"/start {link.split('start=')[-1]}")
    cast.driver = driver


def _consumers_chose(cast: Cast) -> Iterator[Claim]:
    for name in BASKETS:
        person = cast.consumers.get(name)
        chose = person is not None and cast.saw(
            person, _("📍 Vous retirerez vos commandes ici :\n{point}"), CENTRAL
        )
        yield chose, _("{name} retirera à la halle centrale.").format(name=name)


@scene(
    lazy_gettext("Les consommateurs arrivent et choisissent leur point de retrait."),
    _consumers_chose,
)
async def consumers_arrive(cast: Cast) -> None:
    for name in BASKETS:
        person = cast.sandbox.user(name, language=cast.lang)
        cast.consumers[name] = person
        await person.send("/start")
        await _press(person, CENTRAL)


def _producers_asked(cast: Cast) -> Iterator[Claim]:
    with use_locale(PRODUCERS_LANG):
        template = _("<b>Votre stock pour la {title}</b>")
    for name, person in cast.producers.items():
        yield (
            cast.saw(person, template),
            _("{name} est invitée à donner son stock.").format(name=name),
        )
    told = [name for name, person in cast.consumers.items() if cast.seen(person)]
    yield not told, _("Aucun consommateur n’est prévenu d’un catalogue vide.")


@scene(
    lazy_gettext(
        "Vendredi midi : le premier cycle s’ouvre tout seul et demande leur stock aux "
        "producteurs ; les consommateurs attendent que le catalogue soit prêt."
    ),
    _producers_asked,
    at=_day(0, 12),
)
async def first_cycle_opens(cast: Cast) -> None:
    await _wake(cast)  # plans the coming cycles, opens the first


def _stock_recorded(cast: Cast) -> Iterator[Claim]:
    with use_locale(PRODUCERS_LANG):
        template = _("✅ <b>Stock enregistré</b> ({title}) :")
    for name, _slug, _farm, _stock, product in PRODUCERS:
        recorded = cast.saw(cast.producers[name], template, product)
        yield (
            recorded,
            _("Le stock de {name} est enregistré, {product} compris.").format(
                name=name, product=product
            ),
        )


@scene(
    lazy_gettext("Les producteurs répondent en un message et valident d’un geste."),
    _stock_recorded,
)
async def producers_give_stock(cast: Cast) -> None:
    for name, _slug, _farm, stock, _product in PRODUCERS:
        person = cast.producers[name]
        await person.send(stock)
        await _press(person, LABELS[PRODUCERS_LANG]["validate"])


def _everyone_told(cast: Cast) -> Iterator[Claim]:
    template = _("🧺 <b>Les commandes de la semaine sont ouvertes !</b>")
    for name, person in cast.consumers.items():
        yield (
            cast.saw(person, template),
            _("{name} apprend que les commandes sont ouvertes.").format(name=name),
        )


@scene(
    lazy_gettext(
        "Le catalogue est prêt : chaque consommateur apprend que les commandes sont ouvertes."
    ),
    _everyone_told,
)
async def ordering_announced(cast: Cast) -> None:
    await _wake(cast)


def _baskets_confirmed(cast: Cast) -> Iterator[Claim]:
    for name, items in BASKETS.items():
        if not items:
            continue
        receipt = _receipt(cast, cast.consumers[name])
        if name == FORGETS:
            yield not receipt, _("{name} n’a rien confirmé.").format(name=name)
            continue
        products = [product for _query, product, _more in items]
        yield (
            receipt and all(p in receipt for p in products),
            _("{name} lit sa commande confirmée : {products}.").format(
                name=name, products=", ".join(products)
            ),
        )
    cast.kept["jeanne"] = _receipt(cast, cast.consumers["Jeanne"])


@scene(
    lazy_gettext(
        "Les consommateurs cherchent, remplissent et confirment leur panier ; "
        "Théo oublie de confirmer le sien."
    ),
    _baskets_confirmed,
    at=_later(hours=3),
)
async def baskets_filled(cast: Cast) -> None:
    for name, items in BASKETS.items():
        if not items:
            continue
        person = cast.consumers[name]
        await _fill(cast, person, items)
        if name != FORGETS:
            await _confirm(cast, person, cast.labels["confirm"])


def _paul_told(cast: Cast) -> Iterator[Claim]:
    paul = cast.consumers["Paul"]
    yield (
        cast.saw(paul, _("Il n’en reste que {left}."), "4"),
        _("Paul lit qu’il ne reste que 4 boîtes."),
    )
    receipt = _receipt(cast, paul)
    yield "Œufs plein air" in receipt and "4" in receipt, _("Paul a commandé 4 boîtes d’œufs.")


@scene(
    lazy_gettext(
        "Paul veut cinq boîtes d’œufs ; il n’en reste que quatre, on le lui dit et il en prend "
        "quatre."
    ),
    _paul_told,
)
async def paul_wants_more(cast: Cast) -> None:
    paul = cast.consumers["Paul"]
    await _fill(cast, paul, [("oeufs", "Œufs plein air", 4)])
    await _confirm(cast, paul, cast.labels["confirm"])


def _left_on_cards(cast: Cast, person: SandboxUser, title: str) -> list[Decimal]:
    """What the cards titled ``title`` that ``person`` saw during this scene said was left, in
    the order seen (the "📦 Disponible : …" line)."""
    available = _shape(_("📦 Disponible : {left}").split("{")[0] + "{left}")
    numbers = []
    for text in cast.seen(person):
        if not text.startswith(title):
            continue
        found = re.search(available.pattern.replace(".*?", r"\s*([0-9]+(?:[.,][0-9]+)?)"), text)
        if found:
            numbers.append(Decimal(found.group(1).replace(",", ".")))
    return numbers


def _soup_ordered(cast: Cast) -> Iterator[Claim]:
    nina = cast.consumers["Nina"]
    soup = SOUP[cast.lang]  # cards and receipts name it in the member's language (name_en)
    carrots = _left_on_cards(cast, nina, "Carottes")
    litres = _left_on_cards(cast, nina, soup)
    yield (
        cast.saw(nina, _("📖 {story}"), "Semées en juillet")
        and cast.saw(nina, _("👩‍🍳 Astuce : {tip}"), "Râpées crues"),
        _("La fiche des carottes raconte leur histoire et donne une astuce de recette."),
    )
    yield (
        bool(carrots)
        and bool(litres)
        and litres[0] < 40
        and litres[0] == int(carrots[0] / SOUP_CARROTS),
        _(
            "La cuisine propose 40 litres de soupe, mais la fiche n’en montre que ce que "
            "permettent les carottes qui restent."
        ),
    )
    yield (
        cast.saw(nina, _("🥕 Avec : {ingredients}"), "Carottes", "Les Jardins de la Vonne"),
        _("La fiche de la soupe dit de quels légumes elle est faite, et de quelle ferme."),
    )
    receipt = _receipt(cast, nina)
    yield soup in receipt, _("Nina a commandé de la soupe d’hiver.")
    yield (
        len(carrots) == 2 and carrots[0] - carrots[1] == SOUP_LITRES * SOUP_CARROTS,
        _("Ses {litres} litres de soupe ont pris {kg} kg de carottes au stock de Marie.").format(
            litres=SOUP_LITRES, kg=format_quantity_plain(SOUP_LITRES * SOUP_CARROTS)
        ),
    )


@scene(
    lazy_gettext(
        "Nina lit l’histoire des carottes, puis commande cinq litres de la soupe d’hiver que "
        "la cuisine du réseau prépare avec les carottes, poireaux et potimarrons de Marie : "
        "la soupe réserve aussitôt ses légumes, jamais plus qu’il n’en reste."
    ),
    _soup_ordered,
)
async def nina_orders_soup(cast: Cast) -> None:
    nina = cast.consumers["Nina"]
    await nina.send("carottes")
    await _press(nina, "Carottes")
    await _fill(cast, nina, [("soupe", SOUP[cast.lang], SOUP_LITRES - 1)])
    await _confirm(cast, nina, cast.labels["confirm"])
    await nina.send("carottes")
    await _press(nina, "Carottes")


def format_quantity_plain(value: Decimal) -> str:
    """2 → "2", 1.5 → "1,5" in French, "1.5" in English."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",") if current_locale() == "fr" else text


def _lea_changed(cast: Cast) -> Iterator[Claim]:
    lea = cast.consumers["Léa"]
    template = _(
        "🧾 Commande {number} mise à jour — nouveau total : {total}. Elle reste confirmée."
    )
    yield (
        cast.saw(lea, _("Ajouté au panier : {product}, {quantity}."), "Potimarron")
        and cast.saw(lea, template),
        _("Léa lit que sa commande est mise à jour aussitôt, avec son nouveau total."),
    )
    basket = _newest(lea)
    yield (
        "Potimarron" in basket
        and "Endives" in basket
        and not any(cast.labels["confirm"] in b for b in _buttons(lea)),
        _("Son panier montre la commande confirmée, potimarron compris, sans rien à reconfirmer."),
    )


@scene(
    lazy_gettext(
        "Le lendemain, Léa change d’avis : elle ajoute un potimarron, et sa commande confirmée "
        "compte aussitôt le changement."
    ),
    _lea_changed,
    at=_day(1, 11),
)
async def lea_changes_her_mind(cast: Cast) -> None:
    lea = cast.consumers["Léa"]
    await _fill(cast, lea, [("potimarron", "Potimarron", 0)])
    await lea.send("/panier" if cast.lang == "fr" else "/basket")


def _hugo_refused(cast: Cast) -> Iterator[Claim]:
    hugo = cast.consumers["Hugo"]
    card = _newest(hugo)
    yield (
        card.startswith("Œufs plein air") and cast.saw(hugo, _("📦 Épuisé cette semaine")),
        _("Hugo lit que les œufs sont épuisés."),
    )
    yield (
        not any(cast.labels["add"] in b for b in _buttons(hugo)),
        _("La fiche des œufs n’offre pas de bouton Ajouter à Hugo."),
    )


@scene(
    lazy_gettext(
        "Hugo arrive trop tard pour les œufs : la fiche dit qu’ils sont épuisés et n’offre rien "
        "à ajouter."
    ),
    _hugo_refused,
)
async def hugo_too_late(cast: Cast) -> None:
    hugo = cast.consumers["Hugo"]
    await hugo.send("oeufs")
    await _press(hugo, "Œufs plein air")


def _reminded(cast: Cast) -> Iterator[Claim]:
    theo = cast.consumers[FORGETS]
    template = _("⏰ <b>Votre panier n’est pas encore confirmé</b> ({total}) :")
    yield (
        cast.saw(theo, template, "Radis noir"),
        _("Théo apprend que son panier (radis noir) n’est pas confirmé."),
    )
    yield not cast.seen(cast.consumers["Jeanne"]), _("Jeanne, qui a confirmé, n’est pas relancée.")


@scene(
    lazy_gettext(
        "La veille de la clôture, les rappels partent : Théo apprend que son panier n’est pas "
        "confirmé."
    ),
    _reminded,
    at=_day(3, 23, 59),  # 24 hours before the calendar's close, Tuesday 23:59
)
async def reminders(cast: Cast) -> None:
    await _wake(cast)


def _closed(cast: Cast) -> Iterator[Claim]:
    for name, person in cast.producers.items():
        yield (
            any(f.endswith(".csv") for f in cast.files_seen(person)),
            _("{name} reçoit son bon de commande (CSV).").format(name=name),
        )
    final = _("🧾 <b>Votre commande {number} est définitive</b> : {total}.")
    for name in CONFIRMED:
        yield (
            cast.saw(cast.consumers[name], final),
            _("{name} reçoit sa commande définitive.").format(name=name),
        )
    released = ngettext(
        "🧺 <b>Votre panier n’a pas été confirmé avant la clôture</b> : son produit a "
        "été remis en vente.",
        "🧺 <b>Votre panier n’a pas été confirmé avant la clôture</b> : ses {count} "
        "produits ont été remis en vente.",
        1,
    )
    yield cast.saw(cast.consumers[FORGETS], released), _("Théo apprend que son panier est libéré.")
    with use_locale(PRODUCERS_LANG):
        sheet = _("🍲 <b>Fiche de production — {kitchen}</b>")
        kitchen_share = _("🍲 <b>Pour la cuisine : {kitchen}</b>")
        carrots = _("    • {name} : {quantity}").format(
            name="Carottes", quantity=f"{format_quantity_plain(SOUP_LITRES * SOUP_CARROTS)}"
        )
    kitchen = cast.producers[KITCHEN]
    yield (
        cast.saw(kitchen, sheet, SOUP["fr"], "Carottes", "Les Jardins de la Vonne")
        and any(carrots in text for text in cast.seen(kitchen)),
        _(
            "Inès reçoit sa fiche de production : la soupe à cuisiner, et les carottes, "
            "poireaux et potimarrons à prendre chez Marie."
        ),
    )
    yield (
        cast.saw(cast.producers["Marie"], kitchen_share, "Carottes", "Poireaux", "Potimarron"),
        _("Le bon de commande de Marie compte aussi ce que la cuisine lui prend."),
    )
    driver = cast.driver
    with use_locale(PRODUCERS_LANG):
        checklist = _("📋 <b>Collecte du {day}</b> : cochez chaque arrêt.")
    yield (
        driver is not None
        and cast.saw(driver, checklist)
        and any(f.endswith(".png") for f in cast.files_seen(driver)),
        _("Karim reçoit la tournée de collecte, avec sa carte et la liste des arrêts à cocher."),
    )


@scene(
    lazy_gettext(
        "Mardi soir, le cycle se clôt tout seul : les producteurs reçoivent leur bon de "
        "commande, la cuisine sa fiche de production, Karim sa tournée, chacun sa commande "
        "définitive, et le panier de Théo est libéré."
    ),
    _closed,
    at=_day(4, 23, 59),
)
async def cycle_closes(cast: Cast) -> None:
    await _wake(cast)
    for person in cast.producers.values():
        cast.files += _save(person, cast.output, lambda name: name.endswith(".csv"))
    if cast.driver is not None:
        cast.files += _save(cast.driver, cast.output, lambda name: name.endswith(".png"))


def _round_collected(cast: Cast) -> Iterator[Claim]:
    driver = cast.driver
    with use_locale(PRODUCERS_LANG):
        done = _("✅ {farm} : collecté.")
        finished = _("Tout est collecté. Bonne route vers le dépôt !")
    for farm in ("Les Jardins de la Vonne", "Chèvrerie des Coteaux", "Ferme du Grand Pré"):
        yield (
            driver is not None and cast.saw(driver, done, farm),
            _("Karim coche {farm}, collectée.").format(farm=farm),
        )
    yield (
        driver is not None and cast.saw(driver, finished),
        _("La liste de Karim dit que tout est collecté."),
    )


@scene(
    lazy_gettext(
        "Jeudi 7 h, Karim fait la tournée des fermes dans l’ordre prévu et coche chaque arrêt."
    ),
    _round_collected,
    at=_day(6, 7),
)
async def round_collected(cast: Cast) -> None:
    driver = cast.driver
    if driver is None:
        raise SceneFailed(lazy_gettext("Pas de chauffeur."))
    with use_locale(PRODUCERS_LANG):
        collected = _("✅ {number}. Collecté").split("{")[0]
    while any(b.startswith(collected) for b in _buttons(driver)):
        button = next(b for b in _buttons(driver) if b.startswith(collected))
        await _press(driver, button)


def _admin_files(cast: Cast) -> Iterator[Claim]:
    names = cast.files_seen(cast.admin)
    for suffix, what in (
        ("photo", _("Le graphique du rapport arrive.")),
        (".pdf", _("Les listes de retrait arrivent en PDF.")),
        (".csv", _("Les commandes arrivent en CSV.")),
    ):
        yield any(name.endswith(suffix) for name in names), what


@scene(
    lazy_gettext("L’organisatrice lit le rapport et imprime les listes de retrait."),
    _admin_files,
)
async def admin_prints(cast: Cast) -> None:
    claire = cast.admin
    await claire.send("/rapport" if cast.lang == "fr" else "/report")
    await claire.send("/exporter" if cast.lang == "fr" else "/export")
    await _press(claire, cast.labels["pdf"])
    await claire.send("/exporter" if cast.lang == "fr" else "/export")
    await _press(claire, cast.labels["csv"])
    cast.files += _save(claire, cast.output, lambda name: True)


def _pickup_day(cast: Cast) -> Iterator[Claim]:
    template = _("📦 <b>C’est aujourd’hui : votre commande vous attend !</b>")
    for name in CONFIRMED:
        yield (
            cast.saw(cast.consumers[name], template, CENTRAL),
            _("{name} est prévenu·e que sa commande l’attend à la halle.").format(name=name),
        )
    yield (
        not cast.saw(cast.consumers[FORGETS], template),
        _("Théo, sans commande, n’est pas convoqué."),
    )


@scene(
    lazy_gettext("Jeudi matin, jour de retrait : chacun apprend que sa commande l’attend."),
    _pickup_day,
    at=_day(6, 8),
)
async def pickup_reminder(cast: Cast) -> None:
    await _wake(cast)


def _ticked(cast: Cast) -> Iterator[Claim]:
    buttons = _buttons(cast.admin)
    paid = _("payé")
    for name in CONFIRMED:
        mark = "⬜" if name == NO_SHOW else "✅"
        yield (
            any(b.startswith(f"{mark} {name} ") for b in buttons),
            _("La liste montre {mark} {name}.").format(mark=mark, name=name),
        )
        if name != NO_SHOW:
            yield (
                any(b.startswith(f"✅ {name} ") and b.endswith(paid) for b in buttons),
                _("La commande de {name} est payée.").format(name=name),
            )


@scene(
    lazy_gettext(
        "Jeudi 17 h, à la halle : l’organisatrice ouvre /retraits et coche chaque commande "
        "retirée, payée en espèces, par chèque ou par carte ; Lucas ne vient pas."
    ),
    _ticked,
    at=_day(6, 17),
)
async def pickups_ticked(cast: Cast) -> None:
    claire = cast.admin
    await claire.send("/retraits" if cast.lang == "fr" else "/pickups")
    await _press(claire, CENTRAL)
    means = itertools.cycle(["💶", "🧾", "💳"])  # cash, cheque, card
    for name in CONFIRMED:
        if name != NO_SHOW:
            await _press(claire, f"⬜ {name} ")
            await _press(claire, next(means))  # "Payé comment ?"


def _no_show(cast: Cast) -> Iterator[Claim]:
    ended = ngettext(
        "🏁 Retrait terminé : {count} commande non retirée.",
        "🏁 Retrait terminé : {count} commandes non retirées.",
        1,
    ).format(count=1)
    yield cast.saw(cast.admin, ended), _("L’organisatrice lit qu’une commande n’a pas été retirée.")
    yield (
        any(b.startswith(f"❌ {NO_SHOW} ") for b in _buttons(cast.admin)),
        _("Lucas est noté non venu."),
    )


@scene(
    lazy_gettext("19 h 30, fin du retrait : la commande de Lucas est notée non retirée."),
    _no_show,
    at=_day(6, 19, 30),
)
async def pickup_ends(cast: Cast) -> None:
    await _press(cast.admin, cast.labels["finish"])
    await _press(cast.admin, cast.labels["finish_yes"])


# -- week 2 -----------------------------------------------------------------------------------


@scene(
    lazy_gettext(
        "Le vendredi suivant à midi, le deuxième cycle s’ouvre : chaque producteur reprend "
        "d’un geste son stock de la semaine passée."
    ),
    _stock_recorded,
    at=_day(7, 12),
)
async def second_cycle_opens(cast: Cast) -> None:
    await _wake(cast)
    for person in cast.producers.values():
        await _press(person, LABELS[PRODUCERS_LANG]["same_stock"])
        await _press(person, LABELS[PRODUCERS_LANG]["validate"])


def _reordered(cast: Cast) -> Iterator[Claim]:
    first = cast.kept.get("jeanne", "")
    receipt = _receipt(cast, cast.consumers["Jeanne"])
    products = [product for _query, product, _more in BASKETS["Jeanne"]]
    lines = [line for line in first.splitlines() if any(p in line for p in products)]
    yield (
        bool(lines) and all(line in receipt for line in lines),
        _("Jeanne lit la même commande que la semaine dernière, confirmée."),
    )


@scene(
    lazy_gettext(
        "Le catalogue est prêt : Jeanne reprend en un geste son panier de la semaine dernière "
        "et le confirme."
    ),
    _reordered,
)
async def jeanne_reorders(cast: Cast) -> None:
    await _wake(cast)
    jeanne = cast.consumers["Jeanne"]
    await _press(jeanne, cast.labels["same_basket"])
    await _press(jeanne, cast.labels["confirm"])


SECOND_NETWORK = "Le Panier Niortais"
NIORT_POINTS = (
    "slug,name,address,kind,company,window_start,window_end,lat,lon\n"
    'halles-niort,Les Halles de Niort,"Place des Halles, 79000 Niort",public,,17:00,19:00,'
    "46.3237,-0.4612\n"
)


def _apart(cast: Cast) -> Iterator[Claim]:
    jeanne = cast.others["Jeanne"]
    heard = [message.text or "" for message in jeanne.messages]  # her chat with Niort's bot
    yield (
        any(SECOND_NETWORK in text for text in heard),
        _("Jeanne est accueillie par le bot du réseau niortais, à son nom."),
    )
    yield (
        any(
            _shape(
                _("Vous n’avez pas encore passé de commande. Le catalogue vous attend : /catalogue")
            ).search(text)
            for text in heard
        ),
        _("À Niort, Jeanne n’a aucune commande : celles de Poitiers restent à Poitiers."),
    )
    yield (
        not cast.seen(cast.consumers["Jeanne"]),
        _("Le bot de Poitiers n’a rien dit à Jeanne pendant ce temps."),
    )


@scene(
    lazy_gettext(
        "Un deuxième réseau, à Niort, rejoint le même déploiement avec son propre bot. "
        "Jeanne y a aussi ses habitudes : chaque bot lui montre son réseau, et rien de l’autre."
    ),
    _apart,
)
async def second_network(cast: Cast) -> None:
    async with sessionmaker(cast.engine, ALL_NETWORKS)() as operator:
        niort = await add_network(operator, "niort", name=SECOND_NETWORK, bot_token=None)
    points = cast.output / "niort-points.csv"
    points.write_text(NIORT_POINTS, encoding="utf-8")
    try:
        async with sessionmaker(cast.engine, niort.id)() as session:
            await import_pickup_points(session, points)
    finally:
        points.unlink()
    sandbox = Sandbox(clock=cast.clock)
    app = build_application(
        network_settings(cast.settings, niort),
        request=sandbox.request(),
        get_updates_request=sandbox.request(),
        engine=cast.engine,
        clock=cast.clock,
        rate_limiter=False,
        network_id=niort.id,
        network_slug=niort.slug,
    )
    await start_application(app)
    sandbox.attach(app)
    if cast.printer is not None:  # printed; the scene record stays Poitiers' bot
        sandbox.on_event(cast.printer)
    try:
        jeanne = cast.consumers["Jeanne"]
        other = sandbox.user(jeanne.first_name, language=cast.lang, user_id=jeanne.id)
        cast.others["Jeanne"] = other
        await other.send("/start")
        await other.send("/commandes" if cast.lang == "fr" else "/orders")
    finally:
        await stop_application(app)


STORY = [
    network_starts,
    consumers_arrive,
    first_cycle_opens,
    producers_give_stock,
    ordering_announced,
    baskets_filled,
    paul_wants_more,
    lea_changes_her_mind,
    hugo_too_late,
    nina_orders_soup,
    reminders,
    cycle_closes,
    admin_prints,
    round_collected,
    pickup_reminder,
    pickups_ticked,
    pickup_ends,
    second_cycle_opens,
    jeanne_reorders,
    second_network,
]
"""The scenes, in the order they are played."""


async def play_scene(cast: Cast, printer: Printer, played: Scene) -> list[str]:
    """Narrate and play one scene; returns what its outcome contradicts ([] when all holds).

    The narration and the check speak the demo's language whatever the gestures did to the
    current locale (a handler sets it to the person's, in this same task).
    """
    if played.at is not None:
        cast.clock.now = played.at(cast.clock.now)
    with use_locale(cast.lang):
        caption = str(played.caption)
        printer.narrate(caption)
    cast.events.clear()
    try:
        await played.act(cast)
    except SceneFailed as failed:
        with use_locale(cast.lang):
            return [f"{caption} — {failed}"]
    with use_locale(cast.lang):
        return [f"{caption} — {what}" for holds, what in played.check(cast) if not holds]


async def run_demo(
    lang: str = "fr",
    output: Path = Path("demo-output"),
    quiet: bool = False,
    stream: TextIO | None = None,
) -> int:
    """Play the two weeks; returns 0 when every scene did what its caption says, 1 otherwise."""
    stream = stream or sys.stdout
    started = time.monotonic()
    output = output.absolute()  # noqa: ASYNC240 - once, before anything runs
    output.mkdir(parents=True, exist_ok=True)
    clock = DemoClock(START)
    printer = Printer(stream, quiet, clock)
    failures: list[str] = []
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
        async with sessionmaker(engine)() as session:
            await import_producers(session, PRODUCERS_CSV)
            await import_pickup_points(session, PICKUP_POINTS_CSV)
            await import_catalog(session, DECEMBER_CATALOG_CSV)
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
        admin = sandbox.user("Claire", language=lang, user_id=ADMIN_ID)
        cast = Cast(app, sandbox, clock, lang, output, admin, engine=engine, settings=settings)
        sandbox.on_event(cast.events.append)
        cast.printer = printer
        try:
            for played in STORY:
                failures += await play_scene(cast, printer, played)
        finally:
            await stop_application(app)
            await engine.dispose()
    elapsed = time.monotonic() - started
    with use_locale(lang):
        if errors:
            failures.append(
                ngettext(
                    "{count} erreur a atteint le gestionnaire d’erreurs.",
                    "{count} erreurs ont atteint le gestionnaire d’erreurs.",
                    len(errors),
                ).format(count=len(errors))
            )
        print("", file=stream)
        print(
            _("Bilan de la démo ({seconds:.1f} s, {events} échanges) :").format(
                seconds=elapsed, events=printer.count
            ),
            file=stream,
        )
        for path in sorted(output.iterdir()):
            print(f"  {path}", file=stream)
        if failures:
            print(_("Étapes en échec :"), file=stream)
            for failure in failures:
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
