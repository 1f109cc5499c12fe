"""The ``desserte`` command line: run the bot, migrate, import and export, demo and console."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.settings import Settings, SettingsError, load_settings
from handlers.i18n import _, activate, ngettext, set_default_locale

log = logging.getLogger("desserte")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"desserte: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    set_default_locale(settings.default_locale)
    activate(settings.default_locale)
    return settings


def _migrate(settings: Settings) -> None:
    from bot.migrate import upgrade

    upgrade(settings.database_url)


async def _with_session(
    settings: Settings, work: Callable[[Any], Any], network: str | None = None
) -> Any:
    """``work(session)`` in a session of the network ``network`` (None: the default one)."""
    from bot.network_cli import in_network

    return await in_network(settings, network, work)


async def _served_networks(settings: Settings) -> list[tuple[Any, Settings]]:
    """Each network with the settings it runs with (``NETWORKS_FILE`` loaded first)."""
    from bot.db import create_engine, sessionmaker
    from bot.networks import network_settings, read_networks_file
    from models.network import ALL_NETWORKS
    from models.networks import all_networks, is_default, upsert_network

    entries = read_networks_file(settings.networks_file) if settings.networks_file else []
    engine = create_engine(settings.database_url)
    try:
        async with sessionmaker(engine, ALL_NETWORKS)() as session:
            for entry in entries:
                await upsert_network(
                    session,
                    entry.slug,
                    name=entry.name,
                    bot_token=entry.bot_token,
                    settings=entry.settings,
                )
            networks = await all_networks(session)
    finally:
        await engine.dispose()
    served = [(network, network_settings(settings, network)) for network in networks]
    if len(served) == 1:
        return served
    # A deployment of several networks may leave the default one without a bot: it is not
    # served. Any other network without its bot is refused (by distinct_tokens).
    return [
        (network, one)
        for network, one in served
        if one.telegram_bot_token or not is_default(network)
    ]


async def _run_networks(settings: Settings, networks: list[tuple[Any, Settings]], port: int) -> int:
    from bot.app import build_application
    from bot.db import create_engine
    from bot.scheduling import install_jobs
    from bot.serve import Served, serve

    engine = create_engine(settings.database_url)
    served = []
    for network, network_settings in networks:
        application = build_application(
            network_settings, engine=engine, network_id=network.id, network_slug=network.slug
        )
        install_jobs(application)
        served.append(Served(application, network_settings, network.slug))
    try:
        return await serve(served, settings, port=port)
    finally:
        await engine.dispose()


def _stop_at_start_up(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)


def cmd_run(args: argparse.Namespace) -> int:
    """Serve Telegram, every network's bot: polling, or a webhook when WEBHOOK_URL is set."""
    # SIGTERM during the start-up (migrations, reading the networks) stops it cleanly too;
    # once serving, serve() answers SIGTERM in the event loop.
    previous = signal.signal(signal.SIGTERM, _stop_at_start_up)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    from bot.networks import distinct_tokens
    from bot.serve import install_redaction

    settings = _settings()
    _migrate(settings)
    try:
        networks = asyncio.run(_served_networks(settings))
        if len(networks) == 1 and not networks[0][1].telegram_bot_token:
            print(
                _(
                    "Aucun jeton Telegram : définissez TELEGRAM_BOT_TOKEN (donné par @BotFather).\n"
                    "Pour voir le bot fonctionner sans Telegram : desserte demo"
                ),
                file=sys.stderr,
            )
            return 2
        distinct_tokens(networks)
    except SettingsError as exc:
        print(f"desserte: {exc}", file=sys.stderr)
        return 2
    for _network, network_settings in networks:
        install_redaction(str(network_settings.telegram_bot_token))
    logging.getLogger("desserte").setLevel(logging.INFO)
    return asyncio.run(_run_networks(settings, networks, args.port))


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Serve the sandbox (Bot API and control API) on 127.0.0.1 until interrupted."""
    from bot.sandbox.server_main import run_sandbox

    return asyncio.run(
        run_sandbox(port=args.port, tokens=args.token or (), upstreams=args.upstream or ())
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade the database to the newest schema."""
    settings = _settings()
    _migrate(settings)
    print(_("Base de données à jour."))
    return 0


def _import(kind: str, path: Path, network: str | None = None) -> int:
    from bot.network_cli import describe_refusal
    from handlers.import_errors import describe
    from models import catalog_import
    from models.catalog_csv import CsvImportError
    from models.networks import UnknownNetwork

    settings = _settings()
    if not path.is_file():
        print(_("Fichier introuvable : {path}").format(path=path), file=sys.stderr)
        return 2
    _migrate(settings)
    function = {
        "producers": catalog_import.import_producers,
        "catalog": catalog_import.import_catalog,
        "pickup-points": catalog_import.import_pickup_points,
    }[kind]
    try:
        report = asyncio.run(_with_session(settings, lambda s: function(s, path), network))
    except UnknownNetwork as refused:
        print(f"desserte: {describe_refusal(refused)}", file=sys.stderr)
        return 2
    except CsvImportError as exc:
        print(
            ngettext(
                "{path} refusé, rien n’a été importé ({count} erreur) :",
                "{path} refusé, rien n’a été importé ({count} erreurs) :",
                len(exc.errors),
            ).format(path=path, count=len(exc.errors)),
            file=sys.stderr,
        )
        for error in exc.errors:
            print("  " + describe(error), file=sys.stderr)
        return 1
    print(
        _("{path} importé : {created} créés, {updated} mis à jour.").format(
            path=path, created=report.created, updated=report.updated
        )
    )
    return 0


def cmd_import_producers(args: argparse.Namespace) -> int:
    """Import producers from a CSV file."""
    return _import("producers", args.file, args.network)


def cmd_import_catalog(args: argparse.Namespace) -> int:
    """Import the catalog from a CSV file."""
    return _import("catalog", args.file, args.network)


def cmd_import_pickup_points(args: argparse.Namespace) -> int:
    """Import pickup points from a CSV file."""
    return _import("pickup-points", args.file, args.network)


def cmd_load_demo(args: argparse.Namespace) -> int:
    """Import the demo network (producers, pickup points, catalog) into the database."""
    from bot.demo_network import CATALOG_CSV, PICKUP_POINTS_CSV, PRODUCERS_CSV

    for kind, path in (
        ("producers", PRODUCERS_CSV),
        ("pickup-points", PICKUP_POINTS_CSV),
        ("catalog", CATALOG_CSV),
    ):
        status = _import(kind, path, args.network)
        if status:
            return status
    return 0


def cmd_export_catalog(args: argparse.Namespace) -> int:
    """Write the catalog as CSV (the import format) to a file or standard output."""
    from models.catalog_csv import write_catalog
    from models.catalog_import import export_catalog

    settings = _settings()
    _migrate(settings)
    rows = asyncio.run(_with_session(settings, export_catalog, args.network))
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as stream:
            write_catalog(rows, stream)
        print(_("{count} produits exportés dans {path}").format(count=len(rows), path=args.output))
    else:
        try:
            write_catalog(rows, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # `desserte export-catalog | head`: the reader left, fine
            # Python flushes stdout again at exit; point it at devnull so that does not fail.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def cmd_parse_stock(args: argparse.Namespace) -> int:
    """Parse producers' stock messages (JSON lines on stdin) against a catalog CSV."""
    from bot.parse_stock import run

    _settings()
    return run(args.catalog, args.producer, sys.stdin, sys.stdout)


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the SQLite database consistently, while the bot runs (PostgreSQL: how to)."""
    from bot.backup import BackupError, backup

    settings = _settings()
    try:
        size = backup(settings.database_url, args.file)
    except BackupError as exc:
        print(_("Pas de copie : {reason}").format(reason=exc), file=sys.stderr)
        return 2
    print(_("Copie enregistrée dans {path} ({size} octets).").format(path=args.file, size=size))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the SQLite database with a checked copy, keeping the old one next to it."""
    from bot.backup import BackupError, restore

    settings = _settings()
    try:
        kept = restore(settings.database_url, args.file)
    except BackupError as exc:
        print(_("Rien n’a été restauré : {reason}").format(reason=exc), file=sys.stderr)
        return 2
    print(
        _("Base restaurée depuis {path} ; l’ancienne est gardée dans {kept}.").format(
            path=args.file, kept=kept
        )
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Play a whole week on the sandbox and the demo network, printing the conversation."""
    from bot.demo import run_demo

    return asyncio.run(run_demo(lang=args.lang, output=args.output, quiet=args.quiet))


def cmd_console(args: argparse.Namespace) -> int:
    """Chat with the bot in the terminal, through the sandbox."""
    from bot.console import run_console

    return asyncio.run(run_console(role=args.role, lang=args.lang, demo=not args.configured_db))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="desserte",
        description=_("Le canal de commande Telegram des circuits courts alimentaires."),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    from bot.network_cli import add_network_command, add_network_option

    def add(
        name: str, function: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=function)
        return sub

    run = add("run", cmd_run, _("Servir Telegram (TELEGRAM_BOT_TOKEN requis)."))
    run.add_argument(
        "--port", type=int, default=8443, help=_("port du webhook, sur 127.0.0.1 (8443)")
    )
    sandbox = add(
        "sandbox",
        cmd_sandbox,
        _("Servir le bac à sable (une API Bot Telegram locale) sur 127.0.0.1."),
    )
    sandbox.add_argument("--port", type=int, default=8081, help=_("port d’écoute (8081)"))
    sandbox.add_argument(
        "--token",
        action="append",
        help=_("un jeton accepté, à répéter pour plusieurs bots (sinon : tout jeton bien formé)"),
    )
    sandbox.add_argument(
        "--upstream",
        action="append",
        help=_(
            "un worker derrière le webhook (http://127.0.0.1:8441), à répéter : les mises à "
            "jour leur sont réparties à tour de rôle, comme par un proxy inverse"
        ),
    )
    add("migrate", cmd_migrate, _("Mettre la base de données à jour."))
    for name, function, text in (
        ("import-producers", cmd_import_producers, _("Importer les producteurs (CSV).")),
        ("import-catalog", cmd_import_catalog, _("Importer le catalogue (CSV).")),
        (
            "import-pickup-points",
            cmd_import_pickup_points,
            _("Importer les points de retrait (CSV)."),
        ),
    ):
        importing = add(name, function, text)
        importing.add_argument("file", type=Path, metavar="FICHIER.csv")
        add_network_option(importing)
    load_demo = add(
        "load-demo", cmd_load_demo, _("Charger le réseau de démonstration dans la base.")
    )
    add_network_option(load_demo)
    export = add("export-catalog", cmd_export_catalog, _("Exporter le catalogue en CSV."))
    add_network_option(export)
    export.add_argument(
        "--output", "-o", type=Path, help=_("fichier de sortie (sinon : sortie standard)")
    )
    from bot.export_cli import add_export_command

    add_export_command(commands)
    add_network_command(commands)
    parse = add(
        "parse-stock",
        cmd_parse_stock,
        _("Lire des messages de stock (JSON lines sur l’entrée standard)."),
    )
    parse.add_argument("--catalog", type=Path, required=True, metavar="FICHIER.csv")
    parse.add_argument("--producer", required=True, metavar="SLUG")
    add(
        "backup", cmd_backup, _("Copier la base de données (SQLite), même bot en marche.")
    ).add_argument("file", type=Path, metavar="FICHIER")
    add(
        "restore",
        cmd_restore,
        _("Remplacer la base (SQLite) par une copie vérifiée, en gardant l’ancienne."),
    ).add_argument("file", type=Path, metavar="FICHIER")
    demo = add("demo", cmd_demo, _("Jouer une semaine entière sans Telegram, sur le bac à sable."))
    demo.add_argument("--lang", choices=("fr", "en"), default="fr")
    demo.add_argument(
        "--output", type=Path, default=Path("demo-output"), help=_("dossier des fichiers produits")
    )
    demo.add_argument("--quiet", action="store_true", help=_("n’afficher que le bilan"))
    console = add("console", cmd_console, _("Discuter avec le bot dans le terminal."))
    console.add_argument(
        "--as", dest="role", choices=("consumer", "producer", "admin"), default="consumer"
    )
    console.add_argument("--lang", choices=("fr", "en"), default="fr")
    console.add_argument(
        "--configured-db",
        action="store_true",
        help=_("utiliser DATABASE_URL au lieu du réseau de démo"),
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``desserte`` command."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(SettingsError):  # reported by the command that needs the settings
        activate(load_settings().default_locale)
    args = build_parser().parse_args(argv)
    from bot.network_cli import describe_refusal
    from models.networks import UnknownNetwork

    try:
        status: int = args.func(args)
    except UnknownNetwork as refused:  # any command's --network SLUG naming no network
        print(f"desserte: {describe_refusal(refused)}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    raise SystemExit(main())
