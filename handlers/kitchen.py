"""The kitchen's production sheet at the close: what to cook, and which ingredients from whom.

:func:`production_sheet_parts` renders it for the outbox when the scheduler dispatches a close,
for the people linked to the kitchen (the producer whose products the dishes are), or the
admins while nobody is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import BaseHandler

from handlers.common import escape
from handlers.context import Services
from handlers.i18n import _, ngettext, use_locale
from handlers.pages import split_html
from handlers.stock_views import delivery_title, quantity
from models.audiences import Recipient, admin_audience
from models.cycle import Cycle
from models.kitchen import ProductionSheet, production_sheets
from models.outbox import Part, parts
from models.producers import producer_members


def production_sheet_text(sheet: ProductionSheet, cycle: Cycle, services: Services) -> list[str]:
    """The sheet as messages (split when long): each dish with its ingredients, then what to
    gather from each producer."""
    lines = [
        _("🍲 <b>Fiche de production — {kitchen}</b>").format(kitchen=escape(sheet.producer_name)),
        _("Pour la {title}.").format(title=delivery_title(cycle, services.timezone)),
        "",
        _("<b>À cuisiner</b>"),
    ]
    for dish in sheet.dishes:
        lines.append(
            ngettext(
                "• {name} : {quantity} ({count} commande)",
                "• {name} : {quantity} ({count} commandes)",
                dish.orders,
            ).format(
                name=escape(dish.name),
                quantity=quantity(dish.quantity, dish.sale_unit),
                count=dish.orders,
            )
        )
        lines.extend(
            _("    – {name} : {quantity}").format(
                name=escape(need.name), quantity=quantity(need.quantity, need.sale_unit)
            )
            for need in dish.ingredients
        )
    lines += ["", _("<b>Ingrédients, par producteur</b>")]
    producer = None
    for need in sheet.shopping:
        if need.producer != producer:
            producer = need.producer
            lines.append(f"🧑‍🌾 {escape(producer)}")
        lines.append(
            _("    • {name} : {quantity}").format(
                name=escape(need.name), quantity=quantity(need.quantity, need.sale_unit)
            )
        )
    lines.append(_("Ces quantités sont dans les bons de commande des producteurs."))
    return split_html(lines)


async def production_sheet_parts(
    session: AsyncSession, services: Services, cycle: Cycle
) -> list[Part]:
    """Each kitchen's production sheet for the closed cycle, for every person linked to the
    kitchen (the admins when nobody is), in their language, as outbox parts. Ends its read."""
    drafts: list[Part] = []
    for sheet in await production_sheets(session, cycle.id):
        people = [
            Recipient(m.telegram_id, m.locale, m.id, m.first_name)
            for m in await producer_members(session, sheet.producer_id, reachable_only=False)
        ] or await admin_audience(session, services.admin_ids, services.default_locale)
        for person in people:
            with use_locale(person.locale):
                drafts += parts(
                    person.telegram_id,
                    person.locale,
                    production_sheet_text(sheet, cycle, services),
                    member_id=person.member_id,
                )
    await session.commit()
    return drafts


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Nothing to answer: the production sheet is sent by the scheduler."""
    return []
