"""A product's story and recipe tip, as its card shows them (the catalog, the previews)."""

from __future__ import annotations

from handlers.common import escape
from handlers.i18n import _
from models.producer import Product


def story_lines(product: Product) -> list[str]:
    """ "📖 …" for the story, "👩‍🍳 Astuce : …" for the recipe tip: what the product has."""
    lines = []
    if product.story:
        lines.append(_("📖 {story}").format(story=escape(product.story)))
    if product.tip:
        lines.append(_("👩‍🍳 Astuce : {tip}").format(tip=escape(product.tip)))
    return lines
