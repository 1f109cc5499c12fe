"""How to reach the team and how to pay, as every feature says it (``TEAM_CONTACT``,
``PAYMENT_INFO``, ``PAYMENT_INFO_EN``)."""

from __future__ import annotations

from handlers.common import escape
from handlers.context import DesserteContext
from handlers.i18n import _, current_locale


def payment_text(context: DesserteContext) -> str:
    """How and when to pay, in the member's language (``PAYMENT_INFO``, else the default)."""
    services = context.services
    written = services.payment_info_en if current_locale() == "en" else None
    written = written or services.payment_info
    if written:
        return escape(written)
    return _("à la remise de la commande, en espèces, chèque ou carte")


def payment_line(context: DesserteContext) -> str:
    """One line saying how and when to pay."""
    return _("💶 Paiement : {how}.").format(how=payment_text(context))


def team_contact_line(context: DesserteContext) -> str:
    """One line saying how to reach the team (``TEAM_CONTACT``), or how else when unset."""
    contact = context.services.team_contact
    if contact:
        return _("📞 L’équipe du réseau : {contact}").format(contact=escape(contact))
    return _("📞 L’équipe du réseau : demandez-lui au prochain retrait.")
