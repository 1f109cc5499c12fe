"""Producers' accounts (``/releves``): for the team, what the network owes whom this month —
each producer's gross sales, refunds, commission and net due, the statement as PDF and CSV, the
payout marked done, the statements sent to every producer through the outbox; for a producer,
their own statement."""

from __future__ import annotations

import re
import zlib
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.admin_only import refusal as admin_refusal
from handlers.buttons import button
from handlers.callback_data import CallbackData, CallbackDataError
from handlers.common import escape, show
from handlers.context import DesserteContext
from handlers.delivery import deliver
from handlers.documents.statement import (
    file_stem,
    percent,
    period_name,
    statement_csv,
    statement_pdf,
    summary_rows,
)
from handlers.i18n import _, format_date, format_price, lazy_gettext, ngettext, use_locale
from handlers.menu import ADMIN, PRODUCER, Command
from models.errors import StaleAction
from models.outbox import Kind, Part, enqueue, parts
from models.producers import producer_members
from models.statements import (
    AlreadyPaid,
    Statement,
    mark_paid,
    month_of,
    shift_month,
    statements,
)

COMMAND = Command(
    "releves",
    "statements",
    lazy_gettext("Comptes des producteurs : ventes, commission, ce qui est dû"),
    PRODUCER | ADMIN,
    aliases=("releve", "statement", "comptes"),
)

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _check_month(month: str) -> None:
    """Refuse a forged month in a button's data."""
    if not _MONTH.fullmatch(month):
        raise CallbackDataError(f"not a month: {month!r}")


class ShowAccounts(CallbackData, prefix="acc"):
    """What the network owes whom for a month."""

    month: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_month(self.month)


class StatementFiles(CallbackData, prefix="acc:f"):
    """A producer's statement for the month, as PDF and CSV, to the admin."""

    month: str
    producer_id: int

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_month(self.month)


class AskPayout(CallbackData, prefix="acc:p"):
    """Asks before marking a producer paid ``amount`` cents for the month."""

    month: str
    producer_id: int
    amount: int

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_month(self.month)


class ConfirmPayout(AskPayout, prefix="acc:p!"):
    """The payout is done: recorded."""


class SendStatements(CallbackData, prefix="acc:s"):
    """Each producer gets their statement for the month through the outbox."""

    month: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_month(self.month)


async def _month_statements(context: DesserteContext, month: str, **kwargs: Any) -> list[Statement]:
    services = context.services
    return await statements(
        context.session,
        timezone=services.timezone,
        commission_percent=services.commission_percent,
        month=month,
        **kwargs,
    )


def _estimates_line(count: int) -> str:
    return ngettext(
        "≈ {count} montant encore estimé (pesée à faire) : le dû peut encore changer.",
        "≈ {count} montants encore estimés (pesées à faire) : le dû peut encore changer.",
        count,
    ).format(count=count)


def statement_text(statement: Statement, context: DesserteContext) -> str:
    """A producer's statement in a message: the sums, whether it was paid."""
    lines = [
        _("💶 <b>Relevé — {producer}</b>").format(producer=escape(statement.producer_name)),
        escape(period_name(statement, context.services.timezone)),
        ngettext("{count} ligne vendue", "{count} lignes vendues", len(statement.lines)).format(
            count=len(statement.lines)
        ),
        "",
    ]
    by_day: dict[datetime, int] = {}
    for line in statement.lines:
        by_day[line.pickup_day] = by_day.get(line.pickup_day, 0) + line.amount_cents
    if len(by_day) > 1:
        for day, cents in by_day.items():
            lines.append(
                _("Retrait du {day} : {amount}").format(
                    day=format_date(day.astimezone(context.services.timezone)),
                    amount=format_price(cents),
                )
            )
        lines.append("")
    for label, cents in summary_rows(statement):
        lines.append(f"• {escape(label)} : {format_price(cents)}")
    if statement.estimates:
        lines.append(_estimates_line(statement.estimates))
    if statement.paid_at is not None and statement.paid_cents is not None:
        lines.append(
            _("✅ Payé le {day} : {amount}.").format(
                day=format_date(statement.paid_at.astimezone(context.services.timezone)),
                amount=format_price(statement.paid_cents),
            )
        )
    return "\n".join(lines)


def _owed_text(context: DesserteContext, month: str, items: list[Statement]) -> str:
    timezone = context.services.timezone
    heading = period_name(Statement(0, "", month, context.services.commission_percent), timezone)
    lines = [
        _("💶 <b>Comptes des producteurs — {month}</b>").format(month=escape(heading)),
        _("Commission du réseau : {percent}").format(
            percent=percent(context.services.commission_percent)
        ),
        "",
    ]
    if not items:
        lines.append(_("Aucune vente ce mois-ci."))
        return "\n".join(lines)
    owed = 0
    for item in items:
        if item.paid_at is not None:
            state = _("✅ payé")
        else:
            state = _("⬜ à payer")
            owed += item.net_cents
        lines.append(
            _(
                "• <b>{producer}</b> : ventes {sales}, remboursements {refunds}, "
                "commission {commission} → dû <b>{net}</b> — {state}"
            ).format(
                producer=escape(item.producer_name),
                sales=format_price(item.gross_cents),
                refunds=format_price(item.refunds_cents),
                commission=format_price(item.commission_cents),
                net=format_price(item.net_cents),
                state=state,
            )
        )
    lines.append("")
    lines.append(_("<b>Reste à payer : {amount}</b>").format(amount=format_price(owed)))
    estimates = sum(item.estimates for item in items)
    if estimates:
        lines.append(_estimates_line(estimates))
    return "\n".join(lines)


def _owed_keyboard(month: str, items: list[Statement]) -> InlineKeyboardMarkup:
    rows = []
    for item in items:
        row = [
            InlineKeyboardButton(
                _("📄 {producer}").format(producer=item.producer_name),
                callback_data=StatementFiles(month, item.producer_id).pack(),
            )
        ]
        if item.paid_at is None and item.net_cents > 0:
            row.append(
                InlineKeyboardButton(
                    _("✅ Payé"),
                    callback_data=AskPayout(month, item.producer_id, item.net_cents).pack(),
                )
            )
        rows.append(row)
    if items:
        rows.append(
            [
                InlineKeyboardButton(
                    _("📨 Envoyer les relevés aux producteurs"),
                    callback_data=SendStatements(month).pack(),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                _("◀️ Mois précédent"), callback_data=ShowAccounts(shift_month(month, -1)).pack()
            ),
            InlineKeyboardButton(
                _("Mois suivant ▶️"), callback_data=ShowAccounts(shift_month(month, 1)).pack()
            ),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def _show_owed(
    update: Update, context: DesserteContext, month: str, notice: str | None = None
) -> None:
    items = await _month_statements(context, month)
    text = _owed_text(context, month, items)
    if notice:
        text = f"{notice}\n\n{text}"
    await show(update, text, _owed_keyboard(month, items))


async def show_statements(update: Update, context: DesserteContext) -> None:
    """/releves: the team sees what the network owes whom this month; a producer sees their
    own statement, with its PDF and CSV."""
    month = month_of(context.services.now(), context.services.timezone)
    args = list(context.args or [])
    producer_id = context.member.producer_id
    if not context.is_admin and producer_id is None:
        await show(update, admin_refusal())
        return
    if args and not _MONTH.fullmatch(args[0]):
        await show(
            update,
            _(
                "Je ne lis pas ce mois : tapez l’année puis le mois, par exemple /{command} {month}."
            ).format(command=COMMAND.localized_name(), month=month),
        )
        return
    if args:
        month = args[0]
    if context.is_admin or producer_id is None:
        await _show_owed(update, context, month)
        return
    (statement,) = await _month_statements(context, month, producer_id=producer_id) or [
        Statement(producer_id, "", month, context.services.commission_percent)
    ]
    await _send_files(update, context, statement)


async def show_accounts(update: Update, context: DesserteContext, data: ShowAccounts) -> None:
    """◀️ / ▶️: another month, in place."""
    await _show_owed(update, context, data.month)


async def _send_files(update: Update, context: DesserteContext, statement: Statement) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    timezone = context.services.timezone
    if update.callback_query is None:
        await show(update, statement_text(statement, context))
    else:  # the accounts stay on screen; the statement comes below them
        await chat.send_message(statement_text(statement, context), parse_mode="HTML")
    stem = file_stem(statement)
    await chat.send_document(
        statement_pdf(statement, context.services.network_name, timezone),
        filename=f"{stem}.pdf",
        caption=f"{stem}.pdf",
    )
    await chat.send_document(
        statement_csv(statement, timezone), filename=f"{stem}.csv", caption=f"{stem}.csv"
    )


async def statement_files(update: Update, context: DesserteContext, data: StatementFiles) -> None:
    """📄: the producer's statement for the month (text, PDF, CSV), to the admin."""
    items = await _month_statements(context, data.month, producer_id=data.producer_id)
    if not items:
        await show(update, _("Ce producteur n’existe plus."))
        return
    await _send_files(update, context, items[0])


async def ask_payout(update: Update, context: DesserteContext, data: AskPayout) -> None:
    """✅ Payé: asks before recording the payout."""
    items = await _month_statements(context, data.month, producer_id=data.producer_id)
    if not items:
        await show(update, _("Ce producteur n’existe plus."))
        return
    item = items[0]
    lines = [
        _("Marquer <b>{producer}</b> payé de <b>{amount}</b> pour {month} ?").format(
            producer=escape(item.producer_name),
            amount=format_price(data.amount),
            month=escape(period_name(item, context.services.timezone)),
        )
    ]
    if item.estimates:
        lines.append(_estimates_line(item.estimates))
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("✅ Oui, c’est payé"),
                    callback_data=ConfirmPayout(data.month, data.producer_id, data.amount).pack(),
                ),
                InlineKeyboardButton(_("Annuler"), callback_data=ShowAccounts(data.month).pack()),
            ]
        ]
    )
    await show(update, "\n".join(lines), keyboard)


async def confirm_payout(update: Update, context: DesserteContext, data: ConfirmPayout) -> None:
    """Oui, c’est payé: recorded once, then the month's accounts again."""
    items = await _month_statements(context, data.month, producer_id=data.producer_id)
    if not items:
        await show(update, _("Ce producteur n’existe plus."))
        return
    if items[0].net_cents != data.amount:
        await _show_owed(
            update,
            context,
            data.month,
            _("⚠️ Le montant dû a changé depuis (une pesée, un manque) : vérifiez-le à nouveau."),
        )
        return
    try:
        await mark_paid(
            context.session,
            data.producer_id,
            data.month,
            data.amount,
            context.member,
            context.services.now(),
        )
    except AlreadyPaid:
        await _show_owed(update, context, data.month, _("Ce paiement était déjà enregistré."))
        return
    except StaleAction:
        await show(update, _("Ce producteur n’existe plus."))
        return
    await _show_owed(
        update,
        context,
        data.month,
        _("✅ Paiement de {amount} à {producer} enregistré.").format(
            amount=format_price(data.amount), producer=escape(items[0].producer_name)
        ),
    )


async def statement_parts(context: DesserteContext, month: str) -> list[Part]:
    """Each producer's statement for the month, for everyone linked to the producer, in their
    language: the text, the PDF and the CSV."""
    timezone = context.services.timezone
    drafts: list[Part] = []
    for item in await _month_statements(context, month):
        for member in await producer_members(
            context.session, item.producer_id, reachable_only=False
        ):
            with use_locale(member.locale):
                stem = file_stem(item)
                message = parts(
                    member.telegram_id,
                    member.locale,
                    statement_text(item, context),
                    document=statement_pdf(item, context.services.network_name, timezone),
                    filename=f"{stem}.pdf",
                    caption=f"{stem}.pdf",
                    member_id=member.id,
                )
                message.append(
                    Part(
                        member.telegram_id,
                        member.locale,
                        text=f"{stem}.csv",
                        document=statement_csv(item, timezone),
                        filename=f"{stem}.csv",
                        member_id=member.id,
                        part=len(message),
                    )
                )
                drafts += message
    await context.session.commit()
    return drafts


async def send_statements(update: Update, context: DesserteContext, data: SendStatements) -> None:
    """📨: every producer's statement goes out through the outbox (once per amount due)."""
    items = await _month_statements(context, data.month)
    # One topic per month and set of amounts due: sent again only once an amount changed.
    amounts = ".".join(f"{s.producer_id}-{s.net_cents}" for s in items)
    topic = f"statement:{data.month}:{zlib.crc32(amounts.encode()):08x}"
    drafts = await statement_parts(context, data.month)
    written = await enqueue(context.session, topic, Kind.PRODUCER_STATEMENT, drafts)
    producers = len({part.telegram_id for part in drafts})
    notice = (
        ngettext(
            "📨 Relevés envoyés à {count} personne des fermes.",
            "📨 Relevés envoyés à {count} personnes des fermes.",
            producers,
        ).format(count=producers)
        if written
        else _("Ces relevés avaient déjà été envoyés, à l’identique.")
    )
    await _show_owed(update, context, data.month, notice)
    await deliver(context.application, topic)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/releves and the accounts' buttons."""
    return [
        CommandHandler(list(COMMAND.names), show_statements),
        button(ShowAccounts, show_accounts, admin=True),
        button(StatementFiles, statement_files, admin=True),
        button(AskPayout, ask_payout, admin=True),
        button(ConfirmPayout, confirm_payout, admin=True),
        button(SendStatements, send_statements, admin=True),
    ]
