"""/membres (/members), for admins: find a member, see their recent orders, change their pickup
point, block and unblock them; and /maximum, a product's per-person maximum (admins for any
product, producers for their own).

``/membres dupont`` (a name, an @username, a phone number or an order number) lists whom it
finds; one found, or one pressed, shows their file with its buttons, edited in place.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import admin_or_refuse
from handlers.buttons import button
from handlers.callback_data import CallbackData
from handlers.common import escape, show, tell_stale
from handlers.context import DesserteContext
from handlers.i18n import _, format_date, format_price, lazy_gettext, ngettext
from handlers.menu import ADMIN, Command
from handlers.shop import local
from handlers.units import quantity_phrase
from handlers.vocabulary import product_name
from handlers.week_texts import order_number, order_status
from models import Member
from models.catalog import set_max_per_person
from models.errors import InvalidQuantity, StaleAction
from models.membership import (
    MemberFile,
    block_member,
    find_members,
    member_file,
    move_member,
    unblock_member,
)
from models.pickup import active_points


class ShowMember(CallbackData, prefix="mbr"):
    """A member's file."""

    member_id: int


class AskMove(ShowMember, prefix="mbr:mv"):
    """The pickup points to move the member to."""


class MoveMember(CallbackData, prefix="mbr:mv!"):
    """The member collects at ``point_id`` from now on."""

    member_id: int
    point_id: int


class AskBlock(ShowMember, prefix="mbr:bl"):
    """The question before blocking the member."""


class BlockMember(ShowMember, prefix="mbr:bl!"):
    """The member blocked from ordering (their basket in the open cycle released)."""


class UnblockMember(ShowMember, prefix="mbr:ub"):
    """The member may order again."""


COMMAND = Command("membres", "members", lazy_gettext("Trouver un membre, le bloquer"), ADMIN)
MAXIMUM_COMMAND = Command(
    "maximum",
    "maximum",
    lazy_gettext("Le maximum par personne d’un produit"),
    frozenset({"admin", "producer"}),
)


def _who(member: Member) -> str:
    """ "Alice Dupont (@alice)"."""
    name = member.display_name
    return f"{name} (@{member.username})" if member.username else name


def file_text(context: DesserteContext, file: MemberFile) -> str:
    """The member's names, phone, pickup point, whether blocked, and their recent orders."""
    member = file.member
    lines = [f"<b>{escape(_who(member))}</b>"]
    if member.phone:
        lines.append(_("📱 {phone}").format(phone=escape(member.phone)))
    point = member.pickup_point
    lines.append(
        _("📍 Retrait : {point}").format(point=escape(point.name))
        if point is not None
        else _("📍 Pas encore de point de retrait.")
    )
    if member.blocked_at is not None:
        lines.append(
            _("⛔ Bloqué depuis le {day} : ne peut pas commander.").format(
                day=format_date(local(context, member.blocked_at))
            )
        )
    lines.append("")
    if not file.orders:
        lines.append(_("Aucune commande pour le moment."))
    else:
        lines.append(_("<b>Dernières commandes</b>"))
    for order in file.orders:
        lines.append(
            _("• {number} — {day} — {point} — {total} — {status}").format(
                number=order_number(order.id),
                day=format_date(local(context, order.cycle.pickup_starts_at)),
                point=escape(order.pickup_point.name) if order.pickup_point else "—",
                total=format_price(order.total_cents),
                status=order_status(order.status),
            )
        )
    return "\n".join(lines)


def file_keyboard(file: MemberFile) -> InlineKeyboardMarkup:
    """Change the pickup point; block or unblock."""
    member = file.member
    block = (
        InlineKeyboardButton(_("✅ Débloquer"), callback_data=UnblockMember(member.id).pack())
        if member.blocked_at is not None
        else InlineKeyboardButton(_("⛔ Bloquer"), callback_data=AskBlock(member.id).pack())
    )
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("📍 Changer de point de retrait"), callback_data=AskMove(member.id).pack()
                )
            ],
            [block],
        ]
    )


async def render_file(
    update: Update, context: DesserteContext, member_id: int, notice: str = ""
) -> None:
    """Show the member's file, ``notice`` (HTML) above."""
    try:
        file = await member_file(context.session, member_id)
    except StaleAction:
        await tell_stale(update)
        return
    text = file_text(context, file)
    await show(update, f"{notice}\n\n{text}" if notice else text, file_keyboard(file))


async def find_member(update: Update, context: DesserteContext) -> None:
    """/membres WORDS: the members they find (one: their file)."""
    if not await admin_or_refuse(update, context):
        return
    query = " ".join(context.args or []).strip()[:100]
    if not query:
        await show(
            update,
            _(
                "Tapez /{command} suivi d’un nom, d’un @pseudo, d’un numéro de téléphone ou "
                "d’un numéro de commande, par exemple : /{command} Dupont"
            ).format(command=COMMAND.localized_name()),
        )
        return
    found = await find_members(context.session, query)
    if not found:
        await show(
            update,
            _("Personne ne correspond à « {query} ». Essayez un autre nom ou numéro.").format(
                query=escape(query)
            ),
        )
        return
    if len(found) == 1:
        await render_file(update, context, found[0].id)
        return
    rows = [
        [InlineKeyboardButton(_who(member)[:60], callback_data=ShowMember(member.id).pack())]
        for member in found
    ]
    await show(
        update,
        ngettext(
            "{count} membre trouvé pour « {query} » :",
            "{count} membres trouvés pour « {query} » :",
            len(found),
        ).format(count=len(found), query=escape(query)),
        InlineKeyboardMarkup(rows),
    )


async def show_member(update: Update, context: DesserteContext, data: ShowMember) -> None:
    """A member's file, in place."""
    await render_file(update, context, data.member_id)


async def ask_move(update: Update, context: DesserteContext, data: AskMove) -> None:
    """The active pickup points, a button each."""
    points = await active_points(context.session)
    rows = [
        [
            InlineKeyboardButton(
                point.name, callback_data=MoveMember(data.member_id, point.id).pack()
            )
        ]
        for point in points
    ]
    rows.append(
        [InlineKeyboardButton(_("↩️ Annuler"), callback_data=ShowMember(data.member_id).pack())]
    )
    await show(update, _("Quel point de retrait pour ce membre ?"), InlineKeyboardMarkup(rows))


async def move(update: Update, context: DesserteContext, data: MoveMember) -> None:
    """The member moved to the point (their open order too); the file says so."""
    try:
        point = await move_member(context.session, data.member_id, data.point_id)
    except StaleAction:
        await tell_stale(update)
        return
    notice = _("📍 Point de retrait changé : {point}.").format(point=escape(point.name))
    await render_file(update, context, data.member_id, notice)


async def ask_block(update: Update, context: DesserteContext, data: AskBlock) -> None:
    """Asks before blocking: what it does."""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("⛔ Oui, bloquer"), callback_data=BlockMember(data.member_id).pack()
                )
            ],
            [InlineKeyboardButton(_("↩️ Annuler"), callback_data=ShowMember(data.member_id).pack())],
        ]
    )
    await show(
        update,
        _(
            "Bloquer ce membre ? Il ne pourra plus commander, et son panier de la semaine sera "
            "libéré. Il garde son compte et son historique ; vous pourrez le débloquer."
        ),
        keyboard,
    )


async def block(update: Update, context: DesserteContext, data: BlockMember) -> None:
    """The member blocked; the file says how many lines of their basket were released."""
    try:
        released = await block_member(context.session, data.member_id, context.services.now())
    except StaleAction:
        await tell_stale(update)
        return
    notice = _("⛔ Membre bloqué.")
    if released:
        notice += " " + ngettext(
            "Son panier est libéré ({count} produit remis en stock).",
            "Son panier est libéré ({count} produits remis en stock).",
            released,
        ).format(count=released)
    await render_file(update, context, data.member_id, notice)


async def unblock(update: Update, context: DesserteContext, data: UnblockMember) -> None:
    """The member may order again; the file says so."""
    try:
        await unblock_member(context.session, data.member_id)
    except StaleAction:
        await tell_stale(update)
        return
    await render_file(update, context, data.member_id, _("✅ Membre débloqué : il peut commander."))


# -- /maximum -------------------------------------------------------------------------------


NO_MAXIMUM = ("aucun", "aucune", "none", "0", "-")


def _maximum(text: str) -> tuple[bool, Decimal | None]:
    """(whether ``text`` reads as a maximum, the maximum: None for "aucun"/"none"/"0")."""
    if text.lower() in NO_MAXIMUM:
        return True, None
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return False, None
    return (True, value) if value.is_finite() and value > 0 else (False, None)


def _is_number(text: str) -> bool:
    try:
        return Decimal(text.replace(",", ".")).is_finite()
    except InvalidOperation:
        return False


async def set_maximum(update: Update, context: DesserteContext) -> None:
    """/maximum SKU N: at most N of the product per person each week (``aucun``: no limit).
    Admins set it for any product, a producer for their own."""
    member = context.member
    producer_id = None if context.is_admin else member.producer_id
    if producer_id is None and not context.is_admin:
        await show(update, _("Cette commande est réservée aux producteurs du réseau."))
        return
    args = list(context.args or [])
    usage = _(
        "Tapez /{command} suivi de la référence du produit et du maximum par personne, par "
        "exemple : /{command} COU-POT 3 (ou « aucun » pour l’enlever)."
    ).format(command=MAXIMUM_COMMAND.localized_name())
    if len(args) != 2:
        await show(update, usage)
        return
    sku, typed = args[0][:64], args[1][:20]
    readable, maximum = _maximum(typed)
    if not readable:
        if _is_number(typed):  # "-1": a number, but no maximum
            said = _("Le maximum est un nombre plus grand que 0 (ou « aucun » pour l’enlever).")
        else:
            said = _("« {typed} » n’est pas un nombre.").format(typed=escape(typed))
        await show(update, said + "\n" + usage)
        return
    try:
        product = await set_max_per_person(context.session, sku, maximum, producer_id=producer_id)
    except StaleAction:
        await show(update, _("Je ne connais pas le produit « {sku} ».").format(sku=escape(sku)))
        return
    except InvalidQuantity:
        await show(
            update,
            _(
                "Ce maximum n’est pas possible pour ce produit : un multiple de sa quantité de "
                "vente, au plus 999."
            ),
        )
        return
    if product.max_per_person is None:
        text = _("{product} : plus de maximum par personne.").format(
            product=escape(product_name(product))
        )
    else:
        text = _("{product} : au plus {maximum} par personne et par semaine.").format(
            product=escape(product_name(product)),
            maximum=escape(quantity_phrase(product, product.max_per_person)),
        )
    await show(update, text)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/membres, its buttons, and /maximum."""
    return [
        CommandHandler(list(COMMAND.names), find_member),
        CommandHandler(list(MAXIMUM_COMMAND.names), set_maximum),
        button(ShowMember, show_member, admin=True),
        button(AskMove, ask_move, admin=True),
        button(MoveMember, move, admin=True),
        button(AskBlock, ask_block, admin=True),
        button(BlockMember, block, admin=True),
        button(UnblockMember, unblock, admin=True),
    ]
