"""The networks one deployment serves: each one's settings, and the networks file.

A network's settings are the deployment's (environment, ``.env``) with the network's own on
top (:func:`network_settings`): its name, bot token, time zone, admins, calendar… Settings that
belong to the deployment itself (the database, Telegram's address, the webhook's root) cannot be
set per network. ``NETWORKS_FILE`` (TOML) describes the networks of a deployment; it is read at
``desserte run`` and by ``desserte network load``:

    [[network]]
    slug = "chatellerault"
    name = "Le Panier Châtelleraudais"
    token_env = "CHATELLERAULT_BOT_TOKEN"   # or token = "123:ABC…"
    admin_ids = [1111]
    timezone = "Europe/Paris"
    cycle_closes = "mon 20:00"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.settings import Settings, SettingsError, load_settings
from models.network import Network
from models.networks import is_default

DEPLOYMENT_ONLY = frozenset(
    {
        "database_url",
        "telegram_api_url",
        "webhook_url",
        "webhook_secret",
        "telegram_bot_token",
        "networks_file",
        "network_name",
    }
)
"""Settings of the deployment, never of one network (the name and token are the network's
own fields)."""


def per_network_keys() -> frozenset[str]:
    """The settings a network may set apart from the deployment's."""
    return frozenset(Settings.model_fields) - DEPLOYMENT_ONLY


def check_network_settings(values: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """``values`` as stored settings (keys lower-case); :class:`SettingsError` names ``where``
    and the first key that is unknown, deployment-wide or wrongly valued."""
    allowed = per_network_keys()
    checked: dict[str, Any] = {}
    for key, value in values.items():
        name = key.lower()
        if name in DEPLOYMENT_ONLY:
            raise SettingsError(f"{where}: {key.upper()} belongs to the deployment, not a network")
        if name not in allowed:
            raise SettingsError(f"{where}: {key.upper()} is not a setting")
        checked[name] = value
    try:
        load_settings(**checked)
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    return checked


def network_settings(base: Settings, network: Network) -> Settings:
    """The settings ``network`` runs with: ``base`` with the network's own on top. The default
    network keeps the deployment's name and token unless it has its own."""
    values: dict[str, Any] = base.model_dump()
    values.update(network.settings)
    if network.name:
        values["network_name"] = network.name
    if network.bot_token:
        values["telegram_bot_token"] = network.bot_token
    elif not is_default(network):
        values["telegram_bot_token"] = None
    try:
        return load_settings(**values)
    except SettingsError as exc:
        raise SettingsError(f"network {network.slug}: {exc}") from None


@dataclass(frozen=True)
class NetworkEntry:
    """One network as a networks file describes it."""

    slug: str
    name: str | None
    bot_token: str | None
    settings: dict[str, Any]


def read_networks_file(path: Path, environ: Mapping[str, str] | None = None) -> list[NetworkEntry]:
    """The networks ``path`` describes; :class:`SettingsError` names the first wrong entry."""
    environ = os.environ if environ is None else environ
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"NETWORKS_FILE: cannot read {path} ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"NETWORKS_FILE: {path} is not TOML ({exc})") from None
    entries = document.get("network", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SettingsError(f"NETWORKS_FILE: {path} needs [[network]] tables")
    seen: set[str] = set()
    result: list[NetworkEntry] = []
    for index, raw in enumerate(entries, start=1):
        entry = dict(raw)
        slug = str(entry.pop("slug", "")).strip()
        where = f"NETWORKS_FILE network {slug or index}"
        if not slug:
            raise SettingsError(f"{where}: slug is missing")
        if slug in seen:
            raise SettingsError(f"{where}: the slug appears twice")
        seen.add(slug)
        name = entry.pop("name", None)
        token = entry.pop("token", None)
        token_env = entry.pop("token_env", None)
        if token_env is not None:
            token = environ.get(str(token_env))
            if not token:
                raise SettingsError(f"{where}: {token_env} is not set in the environment")
        settings = check_network_settings(entry, where=where)
        result.append(
            NetworkEntry(
                slug=slug,
                name=str(name) if name is not None else None,
                bot_token=str(token) if token is not None else None,
                settings=settings,
            )
        )
    return result


def bot_id(token: str) -> int | None:
    """The bot's id, the number before the token's colon (None for a malformed token)."""
    head = token.partition(":")[0]
    return int(head) if head.isdigit() else None


def distinct_tokens(networks: Sequence[tuple[Network, Settings]]) -> None:
    """Refuse (:class:`SettingsError`) two networks on one bot, or a network without one."""
    owners: dict[str, str] = {}
    for network, settings in networks:
        token = settings.telegram_bot_token
        if not token:
            raise SettingsError(
                f"network {network.slug}: no bot token (desserte network set "
                f"{network.slug} --token …, or TELEGRAM_BOT_TOKEN for the default network)"
            )
        if token in owners:
            raise SettingsError(
                f"networks {owners[token]} and {network.slug} share one bot token: each "
                "network needs its own bot"
            )
        owners[token] = network.slug
