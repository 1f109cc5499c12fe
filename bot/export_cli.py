"""``desserte export``: a cycle's orders (CSV, XLSX) and its pickup lists (PDF) from the terminal.

    desserte export orders --cycle N --format csv|xlsx --output FILE
    desserte export pickup-list --cycle N [--point SLUG] --output FILE.pdf|FILE.csv

Without ``--cycle``: the open cycle, else the last closed one. The documents speak the network's
``DEFAULT_LOCALE`` and are the very files the bot sends (``handlers/export.py`` renders both).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from handlers.i18n import _, use_locale


def add_export_command(commands: Any) -> None:
    """Add ``export`` and its two subcommands to the ``desserte`` subparsers ``commands``."""
    from bot.network_cli import add_network_option

    text = _("Exporter les commandes d’un cycle (CSV, XLSX) ou ses listes de retrait (PDF).")
    export = commands.add_parser("export", help=text, description=text)
    kinds = export.add_subparsers(dest="export_kind", required=True, metavar="QUOI")
    orders = kinds.add_parser("orders", help=_("les commandes, une ligne par produit"))
    orders.add_argument("--format", choices=("csv", "xlsx"), default="xlsx")
    pickup = kinds.add_parser(
        "pickup-list",
        help=_("les listes de retrait à imprimer (PDF), ou en CSV avec ce qui reste à payer"),
    )
    pickup.add_argument("--point", metavar="SLUG", help=_("un seul point de retrait"))
    for sub in (orders, pickup):
        sub.add_argument(
            "--cycle", type=int, metavar="N", help=_("numéro du cycle (défaut : le dernier)")
        )
        sub.add_argument("--output", "-o", type=Path, required=True, metavar="FICHIER")
        add_network_option(sub)
    export.set_defaults(func=cmd_export)


async def _render(settings: Any, args: argparse.Namespace) -> tuple[str, bytes]:
    from bot.network_cli import in_network
    from handlers.export import orders_document, pickup_csv_document, pickup_document
    from models.reports import find_cycle

    async def render(session: Any) -> tuple[str, bytes]:
        cycle = await find_cycle(session, args.cycle)
        if args.export_kind == "orders":
            return await orders_document(session, cycle, args.format, settings.tz)
        if args.output.suffix.lower() == ".csv":
            return await pickup_csv_document(session, cycle, args.point, settings.tz)
        return await pickup_document(session, cycle, args.point, settings.network_name, settings.tz)

    return await in_network(settings, args.network, render)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the export to ``--output``; 1 with a sentence when there is nothing to export."""
    from bot.cli import _migrate, _settings
    from models.errors import NoOpenCycle, StaleAction

    settings = _settings()
    _migrate(settings)
    with use_locale(settings.default_locale):
        try:
            _name, content = asyncio.run(_render(settings, args))
        except NoOpenCycle:
            print(_("Aucun cycle à exporter pour l’instant."), file=sys.stderr)
            return 1
        except StaleAction as refused:
            if "point" in refused.params:
                message = _("Point de retrait inconnu : {slug}").format(slug=args.point)
            else:
                message = _("Cycle inconnu : {number}").format(number=args.cycle)
            print(message, file=sys.stderr)
            return 1
        args.output.write_bytes(content)
        print(_("Export écrit dans {path}").format(path=args.output))
    return 0
