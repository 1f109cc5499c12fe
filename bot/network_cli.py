"""``desserte network``: the networks one deployment serves.

    desserte network list
    desserte network show SLUG
    desserte network add SLUG --name NAME --token TOKEN [--set KEY=VALUE …]
    desserte network set SLUG [--name NAME] [--token TOKEN] [--set KEY=VALUE …] [--unset KEY …]
    desserte network load FILE.toml

``--set`` takes the settings' names (``TIMEZONE=Europe/Brussels``, ``ADMIN_IDS=1,2``,
``CYCLE_CLOSES=mon 20:00``); the deployment's own (``DATABASE_URL``…) are refused. Other
commands take ``--network SLUG`` to work on one network (default: ``default``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.settings import Settings, SettingsError
from handlers.i18n import _, ngettext

T = TypeVar("T")


def add_network_command(commands: Any) -> None:
    """Add ``network`` and its subcommands to the ``desserte`` subparsers ``commands``."""
    text = _("Les réseaux servis par ce déploiement : lister, voir, ajouter, changer, charger.")
    network = commands.add_parser("network", help=text, description=text)
    actions = network.add_subparsers(dest="network_action", required=True, metavar="ACTION")
    actions.add_parser("list", help=_("les réseaux, avec leurs membres et commandes"))
    show = actions.add_parser("show", help=_("un réseau et ses réglages"))
    show.add_argument("slug", metavar="SLUG")
    add = actions.add_parser("add", help=_("ajouter un réseau (son bot, son nom, ses réglages)"))
    change = actions.add_parser("set", help=_("changer le nom, le jeton ou des réglages"))
    for sub in (add, change):
        sub.add_argument("slug", metavar="SLUG")
        sub.add_argument("--name", help=_("le nom du réseau, tel que les membres le lisent"))
        sub.add_argument("--token", help=_("le jeton du bot du réseau (@BotFather)"))
        sub.add_argument(
            "--set",
            dest="values",
            action="append",
            default=[],
            metavar="CLÉ=VALEUR",
            help=_("un réglage propre au réseau (TIMEZONE=…, ADMIN_IDS=…)"),
        )
    change.add_argument(
        "--unset", action="append", default=[], metavar="CLÉ", help=_("revenir au réglage commun")
    )
    load = actions.add_parser("load", help=_("ajouter ou mettre à jour les réseaux d’un fichier"))
    load.add_argument("file", type=Path, metavar="FICHIER.toml")
    network.set_defaults(func=cmd_network)


def add_network_option(parser: argparse.ArgumentParser) -> None:
    """``--network SLUG`` on a command that works on one network's data."""
    parser.add_argument(
        "--network", metavar="SLUG", default=None, help=_("le réseau concerné (défaut : default)")
    )


async def in_network(
    settings: Settings, slug: str | None, work: Callable[[Any], Awaitable[T]]
) -> T:
    """``work(session)`` in a session of network ``slug`` (the default one when None);
    :class:`models.networks.UnknownNetwork` when there is no such network."""
    from bot.db import create_engine, sessionmaker
    from models.network import ALL_NETWORKS, DEFAULT_NETWORK_ID
    from models.networks import network_by_slug

    engine = create_engine(settings.database_url)
    try:
        network_id = DEFAULT_NETWORK_ID
        if slug is not None:
            async with sessionmaker(engine, ALL_NETWORKS)() as session:
                network_id = (await network_by_slug(session, slug)).id
        async with sessionmaker(engine, network_id)() as session:
            return await work(session)
    finally:
        await engine.dispose()


async def _operator(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from bot.db import create_engine, sessionmaker
    from models.network import ALL_NETWORKS

    engine = create_engine(settings.database_url)
    try:
        async with sessionmaker(engine, ALL_NETWORKS)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def _values(pairs: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsError(_("« {pair} » n’est pas de la forme CLÉ=VALEUR").format(pair=pair))
        values[key.strip().lower()] = value.strip()
    return values


def _masked(token: str | None) -> str:
    if not token:
        return _("(celui de TELEGRAM_BOT_TOKEN)")
    head, _sep, tail = token.partition(":")
    return f"{head}:…{tail[-4:]}" if tail else "…"


def cmd_network(args: argparse.Namespace) -> int:
    """Run one ``desserte network`` action; 0, or 2 with one line on a refusal."""
    from bot.cli import _migrate, _settings
    from bot.networks import check_network_settings, read_networks_file
    from models import networks
    from models.errors import DomainError

    settings = _settings()
    _migrate(settings)
    action = args.network_action
    try:
        if action == "list":
            rows = asyncio.run(_operator(settings, networks.summaries))
            for row in rows:
                counts = (
                    ngettext("{count} membre", "{count} membres", row.members),
                    ngettext("{count} producteur", "{count} producteurs", row.producers),
                    ngettext("{count} commande", "{count} commandes", row.orders),
                )
                print(
                    _("{slug} — {name} : {counts}").format(
                        slug=row.slug,
                        name=row.name or settings.network_name,
                        counts=", ".join(
                            text.format(count=n)
                            for text, n in zip(
                                counts, (row.members, row.producers, row.orders), strict=True
                            )
                        ),
                    )
                )
            return 0
        if action == "show":

            async def show(session: Any) -> Any:
                return await networks.network_by_slug(session, args.slug)

            network = asyncio.run(_operator(settings, show))
            print(_("Réseau {slug} (n° {id})").format(slug=network.slug, id=network.id))
            print(_("  nom : {name}").format(name=network.name or settings.network_name))
            print(_("  bot : {token}").format(token=_masked(network.bot_token)))
            for key, value in sorted(network.settings.items()):
                print(f"  {key.upper()} = {value}")
            return 0
        if action in ("add", "set"):
            values = check_network_settings(_values(args.values), where=f"network {args.slug}")

            async def write(session: Any) -> Any:
                if action == "add":
                    return await networks.add_network(
                        session, args.slug, name=args.name, bot_token=args.token, settings=values
                    )
                return await networks.change_network(
                    session,
                    args.slug,
                    name=args.name,
                    bot_token=args.token,
                    settings=values,
                    unset=[key.lower() for key in args.unset],
                )

            network = asyncio.run(_operator(settings, write))
            message = _("Réseau {slug} ajouté.") if action == "add" else _("Réseau {slug} changé.")
            print(message.format(slug=network.slug))
            return 0
        entries = read_networks_file(args.file)

        async def load(session: Any) -> list[tuple[str, bool]]:
            done = []
            for entry in entries:
                network, added = await networks.upsert_network(
                    session,
                    entry.slug,
                    name=entry.name,
                    bot_token=entry.bot_token,
                    settings=entry.settings,
                )
                done.append((network.slug, added))
            return done

        for slug, added in asyncio.run(_operator(settings, load)):
            message = _("Réseau {slug} ajouté.") if added else _("Réseau {slug} mis à jour.")
            print(message.format(slug=slug))
        return 0
    except SettingsError as exc:
        print(f"desserte: {exc}", file=sys.stderr)
        return 2
    except DomainError as refused:
        print(f"desserte: {describe_refusal(refused)}", file=sys.stderr)
        return 2


def describe_refusal(refused: Exception) -> str:
    """One line saying why a network operation was refused."""
    from models.networks import BadNetworkSlug, NetworkExists, UnknownNetwork

    slug = getattr(refused, "params", {}).get("slug", "")
    if isinstance(refused, BadNetworkSlug):
        return _("« {slug} » : un nom court en minuscules, chiffres et tirets (63 au plus)").format(
            slug=slug
        )
    if isinstance(refused, NetworkExists):
        return _("le réseau {slug} existe déjà").format(slug=slug)
    if isinstance(refused, UnknownNetwork):
        return _("aucun réseau ne s’appelle {slug} (desserte network list)").format(slug=slug)
    return str(refused)
