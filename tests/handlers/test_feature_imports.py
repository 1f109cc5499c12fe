"""Features don't import features: what two features share lives in a shared module."""

from __future__ import annotations

import ast
from pathlib import Path

import handlers

HANDLERS_DIR = Path(handlers.__file__).parent

# Modules several features use; none of them is a feature.
SHARED = frozenset(
    {
        "admin_only",  # the admin gate
        "broadcast_sending",  # a broadcast sent in the background, through the outbox
        "buttons",  # the one CallbackQueryHandler maker
        "callback_data",  # the route codec
        "card_texts",  # a product's story and recipe tip as its card shows them
        "common",  # replies, escaping
        "context",  # DesserteContext, Services
        "delivery",  # the outbox's sender
        "documents",  # chart, spreadsheets, pickup-list PDF
        "error_reporting",  # the error handler and the polite fallbacks
        "i18n",  # the translation layer
        "import_errors",  # catalog import reasons as sentences
        "menu",  # the commands
        "money",  # payment methods in words, an order's invoice
        "middleware",  # per-update plumbing
        "package_data",  # shipped folders
        "small_talk",  # what plain text gets before the search (greetings, thanks, paying…)
        "team",  # how to reach the team and how to pay
        "pages",  # long texts split into messages, long lists into pages
        "pickup_points",  # the pickup points to choose from, as a message
        "phone_offer",  # the offer to share one's phone number (a reply keyboard)
        "routes",  # CallbackData classes several features point to
        "shortage_notices",  # what a shortage tells consumers and admins
        "shop",  # the open cycle, order lines and refusals as consumers read them
        "stock_views",  # stock and shortage previews, their buttons; a message as a shortage
        "units",  # prices and quantities in words
        "vocabulary",  # categories and labels in the member's language
        "week_texts",  # what the week's messages say
    }
)
# Not features either, and allowed to import them: they put the features together.
ORCHESTRATORS = frozenset(
    {
        "registry",  # every feature's handlers, in order
        "cycle_run",  # the week's steps: purchase orders, weekly prompts
        "free_text",  # plain text: weights, the producer's stock flow, small talk, the search
    }
)

# Crossings still to be undone, each named; a new one fails the test.
PENDING: frozenset[tuple[str, str]] = frozenset()


def handler_modules() -> list[str]:
    return sorted(
        path.stem for path in HANDLERS_DIR.glob("*.py") if path.stem != "__init__"
    ) + sorted(path.name for path in HANDLERS_DIR.iterdir() if (path / "__init__.py").exists())


def imported_handler_modules(path: Path) -> set[str]:
    """The ``handlers.X`` modules ``path`` imports (``X`` only), at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] == "handlers" and len(parts) > 1:
                found.add(parts[1])
            elif node.module == "handlers":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "handlers" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_the_lists_name_real_modules() -> None:
    modules = set(handler_modules())
    assert modules >= SHARED | ORCHESTRATORS, sorted((SHARED | ORCHESTRATORS) - modules)


def test_no_feature_module_imports_another_feature() -> None:
    features = set(handler_modules()) - SHARED - ORCHESTRATORS
    assert {"basket", "catalog", "start", "stock_messages", "broadcast"} <= features
    crossings = []
    for path in sorted(HANDLERS_DIR.rglob("*.py")):
        relative = path.relative_to(HANDLERS_DIR).parts
        owner = relative[0].removesuffix(".py")
        if owner in ORCHESTRATORS or owner == "__init__":
            continue
        for imported in sorted(imported_handler_modules(path) & features - {owner}):
            if (owner, imported) not in PENDING:
                crossings.append(f"{'/'.join(relative)} imports handlers.{imported}")
    assert not crossings, "\n".join(crossings)
