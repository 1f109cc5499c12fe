"""A producer's statement as a PDF and as CSV: every line sold in the period, the refunds, then
gross sales, refunds, commission and net due (:mod:`models.statements`)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import dates, numbers

from handlers.documents.pickup_list import FONT, new_pdf
from handlers.i18n import (
    _,
    current_locale,
    format_date,
    format_price,
    format_quantity,
    format_rate,
)
from handlers.units import unit_name
from handlers.week_texts import order_number
from models.cells import spreadsheet_row
from models.statements import Statement, month_bounds


def period_name(statement: Statement, timezone: ZoneInfo) -> str:
    """ "décembre 2026" for a month, "cycle n° 12" for a cycle."""
    if statement.period.startswith("cycle:"):
        return _("cycle {number}").format(number=statement.period.split(":", 1)[1])
    start, _end = month_bounds(statement.period, timezone)
    return dates.format_date(start, "LLLL y", locale=current_locale())


def percent(value: Decimal) -> str:
    """ "2,5 %" in French (a narrow no-break space), "2.5%" in English."""
    return format_rate(value)


def summary_rows(statement: Statement) -> list[tuple[str, int]]:
    """The statement's sums, each with its label, as both documents and the chat show them."""
    return [
        (_("Ventes brutes"), statement.gross_cents),
        (_("Remboursements (manques)"), -statement.refunds_cents),
        (_("Ventes"), statement.sales_cents),
        (
            _("Commission du réseau ({percent})").format(
                percent=percent(statement.commission_percent)
            ),
            -statement.commission_cents,
        ),
        (_("Net dû"), statement.net_cents),
    ]


def _money(cents: int) -> str:
    return numbers.format_decimal(Decimal(cents) / 100, "0.00", locale=current_locale())


def statement_csv(statement: Statement, timezone: ZoneInfo) -> bytes:
    """The statement as CSV for a spreadsheet of the current locale (``;`` and decimal commas in
    French, ``,`` and points in English; UTF-8 with a BOM): one row per line, per refund, then
    the sums."""
    locale = current_locale()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if locale == "fr" else ",", lineterminator="\r\n")
    writer.writerow(
        spreadsheet_row(
            [
                _("Producteur"),
                _("Période"),
                _("Date de retrait"),
                _("Commande"),
                _("Produit"),
                _("Quantité"),
                _("Unité"),
                _("Poids (kg)"),
                _("Montant (€)"),
                _("Montant"),
            ]
        )
    )
    period = period_name(statement, timezone)
    for line in statement.lines:
        writer.writerow(
            spreadsheet_row(
                [
                    statement.producer_name,
                    period,
                    line.pickup_day.astimezone(timezone).date().isoformat(),
                    line.order_id,
                    line.product,
                    numbers.format_decimal(line.quantity, "0.###", locale=locale),
                    unit_name(line.sale_unit, line.quantity),
                    ""
                    if line.weight_kg is None
                    else numbers.format_decimal(line.weight_kg, "0.###", locale=locale),
                    _money(line.amount_cents),
                    _("estimé") if line.estimate else _("définitif"),
                ]
            )
        )
    for refund in statement.refunds:
        writer.writerow(
            spreadsheet_row(
                [
                    statement.producer_name,
                    period,
                    "",
                    refund.order_id,
                    _("Remboursement (manque) : {product}").format(product=refund.product),
                    "",
                    "",
                    "",
                    _money(-refund.cents),
                    "",
                ]
            )
        )
    for label, cents in summary_rows(statement):
        writer.writerow(
            spreadsheet_row(
                [statement.producer_name, period, "", "", label, "", "", "", _money(cents), ""]
            )
        )
    return buffer.getvalue().encode("utf-8-sig")


def statement_pdf(statement: Statement, network: str, timezone: ZoneInfo) -> bytes:
    """The statement as a printable A4 PDF: a heading, the lines cycle by cycle, the refunds,
    then the sums."""
    from fpdf.enums import XPos, YPos

    pdf = new_pdf(network)
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(
        0,
        9,
        _("Relevé — {producer}").format(producer=statement.producer_name),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, period_name(statement, timezone), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    if not statement.lines and not statement.refunds:
        pdf.cell(0, 8, _("Aucune vente sur cette période."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    day = None
    for line in statement.lines:
        if line.pickup_day != day:
            day = line.pickup_day
            pdf.ln(2)
            pdf.set_font(FONT, "B", 11)
            pdf.cell(
                0,
                6,
                _("Retrait du {day}").format(day=format_date(day.astimezone(timezone))),
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            pdf.set_font(FONT, "", 9.5)
        quantity = (
            f"{format_quantity(line.quantity)}\u00a0{unit_name(line.sale_unit, line.quantity)}"
        )
        if line.weight_kg is not None:
            quantity += f" · {format_quantity(line.weight_kg)}\u00a0kg"
        amount = format_price(line.amount_cents)
        if line.estimate:
            amount = _("≈ {total}").format(total=amount)
        pdf.cell(25, 5.5, order_number(line.order_id))
        pdf.cell(pdf.epw - 25 - 45 - 30, 5.5, line.product)
        pdf.cell(45, 5.5, quantity)
        pdf.cell(30, 5.5, amount, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if statement.refunds:
        pdf.ln(2)
        pdf.set_font(FONT, "B", 11)
        pdf.cell(0, 6, _("Remboursements (manques)"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 9.5)
        for refund in statement.refunds:
            pdf.cell(25, 5.5, order_number(refund.order_id))
            pdf.cell(pdf.epw - 25 - 30, 5.5, refund.product)
            pdf.cell(
                30, 5.5, format_price(-refund.cents), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
    pdf.ln(4)
    sums = summary_rows(statement)
    for index, (label, cents) in enumerate(sums):
        pdf.set_font(FONT, "B" if index == len(sums) - 1 else "", 11)  # the net due
        pdf.cell(pdf.epw - 40, 6.5, label)
        pdf.cell(40, 6.5, format_price(cents), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if statement.estimates:
        pdf.ln(2)
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(
            0,
            5,
            _("≈ : montant estimé (produit vendu au poids, pas encore pesé)."),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    return bytes(pdf.output())


def file_stem(statement: Statement) -> str:
    """ "releve-2026-12-jardins"-like names, without extension."""
    period = statement.period.replace(":", "-")
    return _("releve-{period}-{producer}").format(period=period, producer=statement.producer_id)
