"""What a shortage tells people: each affected consumer what changes in their order, each
admin what is short. Shared by the producer's shortage report and the driver's round."""

from __future__ import annotations

from handlers.common import escape
from handlers.context import DesserteContext
from handlers.i18n import _, format_price, use_locale
from handlers.stock_views import delivery_title, orders_changed, quantity
from models.audiences import admin_audience
from models.outbox import Part
from models.shortage import AffectedOrder, ShortageReport


def shortage_product_lines(report: ShortageReport) -> list[str]:
    """Each product short: what is left against what was ordered."""
    return [
        _("• {name} : {available} au lieu des {ordered} commandés").format(
            name=escape(line.name),
            available=quantity(line.available, line.sale_unit),
            ordered=quantity(line.ordered, line.sale_unit),
        )
        for line in report.lines
    ]


def _consumer_notice(
    context: DesserteContext, order: AffectedOrder, report: ShortageReport, producer: str
) -> Part:
    """What changes in one consumer's order, in their language."""
    with use_locale(order.locale):
        parts = [
            _(
                "⚠️ <b>{producer}</b> ne pourra pas livrer tout ce qui était prévu pour la "
                "{title}. Votre commande change :"
            ).format(
                producer=escape(producer),
                title=delivery_title(report.cycle, context.services.timezone),
            )
        ]
        for change in order.changes:
            if change.after == 0:
                parts.append(
                    _("• {name} : {before} → retiré").format(
                        name=escape(change.name), before=quantity(change.before, change.sale_unit)
                    )
                )
            else:
                parts.append(
                    _("• {name} : {before} → {after}").format(
                        name=escape(change.name),
                        before=quantity(change.before, change.sale_unit),
                        after=quantity(change.after, change.sale_unit),
                    )
                )
        parts.append(
            _("Nouveau total de votre commande : {total} (au lieu de {before}).").format(
                total=format_price(order.total_after), before=format_price(order.total_before)
            )
        )
        parts.append(_("Toutes nos excuses, ce sont les aléas des récoltes."))
        return Part(order.telegram_id, order.locale, text="\n".join(parts))


async def _admin_notices(
    context: DesserteContext, report: ShortageReport, producer: str
) -> list[Part]:
    """The shortage, for each admin in their language."""
    services = context.services
    admins = await admin_audience(context.session, services.admin_ids, services.default_locale)
    notices = []
    for admin in admins:
        with use_locale(admin.locale):
            parts = [
                _("⚠️ Manque signalé par <b>{producer}</b> :").format(producer=escape(producer)),
                *shortage_product_lines(report),
                orders_changed(len(report.orders)),
            ]
            notices.append(
                Part(
                    admin.telegram_id,
                    admin.locale,
                    text="\n".join(parts),
                    member_id=admin.member_id,
                )
            )
    return notices


async def shortage_notices(
    context: DesserteContext, report: ShortageReport, producer: str
) -> list[Part]:
    """The shortage's messages: each affected consumer told what changes in their order and
    their new total, each admin what is short (in each one's language)."""
    notices = [_consumer_notice(context, order, report, producer) for order in report.orders]
    return [*notices, *await _admin_notices(context, report, producer)]
