"""A cycle's orders as CSV and as an XLSX workbook (one row per line, plus a totals sheet).

openpyxl is imported when a workbook is made, not with the bot.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import numbers

from handlers.i18n import _, current_locale
from handlers.units import unit_name
from handlers.week_texts import order_status
from models.cells import spreadsheet_row
from models.exports import ExportLine, Totals
from models.pickup_day import PickupList

EURO_FORMAT = '#,##0.00 "€"'
QUANTITY_FORMAT = "#,##0.###"


def headers() -> list[str]:
    """The column titles, in the current locale."""
    return [
        _("Consommateur"),
        _("Point de retrait"),
        _("Producteur"),
        _("Produit"),
        _("Quantité"),
        _("Unité"),
        _("Prix unitaire (€)"),
        _("Total (€)"),
        _("Poids (kg)"),
        _("Montant"),
        _("N° de commande"),
        _("Statut"),
        _("Confirmée le"),
    ]


def _weight(line: ExportLine) -> Decimal | None:
    """A weighed product's weight: real once weighed, else the estimate (None: not weighed)."""
    if line.price_per_kg_cents is None:
        return None
    if line.weight_kg is not None:
        return line.weight_kg
    if not line.price_per_kg_cents:
        return None
    # The estimate's amount over the price per kilo: the estimated weight, to the gram.
    return (Decimal(line.total_cents) / line.price_per_kg_cents).quantize(Decimal("0.001"))


def amount_state(line: ExportLine) -> str:
    """ "estimé" while a weighed line is not weighed yet, else "définitif"."""
    return _("estimé") if line.estimate else _("définitif")


def _euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _confirmed(line: ExportLine, timezone: ZoneInfo) -> datetime | None:
    """When the line's order was first confirmed, in the network's time, as a spreadsheet
    reads a date (no time zone)."""
    if line.confirmed_at is None:
        return None
    return line.confirmed_at.astimezone(timezone).replace(tzinfo=None, second=0, microsecond=0)


def orders_csv(lines: list[ExportLine], timezone: ZoneInfo) -> bytes:
    """The lines as CSV for a spreadsheet of the current locale; each names its order (number,
    status, when it was confirmed: ``2026-12-08 14:32``, the network's time).

    French spreadsheets expect ``;`` between fields and a decimal comma, English ones ``,`` and
    a decimal point; the UTF-8 BOM makes Excel read the accents right.
    """
    locale = current_locale()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if locale == "fr" else ",", lineterminator="\r\n")
    writer.writerow(spreadsheet_row(headers()))
    for line in lines:
        writer.writerow(
            spreadsheet_row(
                [
                    line.consumer,
                    line.pickup_point,
                    line.producer,
                    line.product,
                    numbers.format_decimal(line.quantity, "0.###", locale=locale),
                    unit_name(line.unit),
                    numbers.format_decimal(_euros(line.unit_price_cents), "0.00", locale=locale),
                    numbers.format_decimal(_euros(line.total_cents), "0.00", locale=locale),
                    ""
                    if (weight := _weight(line)) is None
                    else numbers.format_decimal(weight, "0.###", locale=locale),
                    amount_state(line),
                    line.order_id,
                    order_status(line.status),
                    f"{confirmed:%Y-%m-%d %H:%M}"
                    if (confirmed := _confirmed(line, timezone))
                    else "",
                ]
            )
        )
    return buffer.getvalue().encode("utf-8-sig")


def pickup_lists_csv(lists: list[PickupList]) -> bytes:
    """The pickup lists as CSV, one row per order: who, where, the order, the phone, the total,
    what is still to pay (0 once paid), whether it is an estimate and whether it was collected."""
    locale = current_locale()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if locale == "fr" else ",", lineterminator="\r\n")
    writer.writerow(
        spreadsheet_row(
            [
                _("Consommateur"),
                _("Point de retrait"),
                _("Commande"),
                _("Téléphone"),
                _("Total (€)"),
                _("À payer (€)"),
                _("Montant"),
                _("Retirée"),
            ]
        )
    )
    for listing in lists:
        for entry in listing.entries:
            writer.writerow(
                spreadsheet_row(
                    [
                        entry.member_name,
                        listing.point.name,
                        entry.order_id,
                        entry.phone or "",
                        numbers.format_decimal(_euros(entry.total_cents), "0.00", locale=locale),
                        numbers.format_decimal(_euros(entry.to_pay_cents), "0.00", locale=locale),
                        _("estimé") if entry.to_weigh else _("définitif"),
                        _("oui") if entry.collected else _("non"),
                    ]
                )
            )
    return buffer.getvalue().encode("utf-8-sig")


def orders_xlsx(lines: list[ExportLine], totals: Totals, title: str, timezone: ZoneInfo) -> bytes:
    """A workbook: the lines (numbers as numbers, euros formatted, the order's number, status
    and confirmation date) and a totals sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("Commandes")
    bold = Font(bold=True)
    sheet.append(spreadsheet_row(headers()))
    for cell in sheet[1]:
        cell.font = bold
    for line in lines:
        sheet.append(
            spreadsheet_row(
                [
                    line.consumer,
                    line.pickup_point,
                    line.producer,
                    line.product,
                    line.quantity,
                    unit_name(line.unit),
                    _euros(line.unit_price_cents),
                    _euros(line.total_cents),
                    _weight(line),
                    amount_state(line),
                    line.order_id,
                    order_status(line.status),
                    _confirmed(line, timezone),
                ]
            )
        )
    for row in sheet.iter_rows(min_row=2):
        row[4].number_format = QUANTITY_FORMAT
        row[6].number_format = EURO_FORMAT
        row[7].number_format = EURO_FORMAT
        row[8].number_format = QUANTITY_FORMAT
        row[12].number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "A2"
    for index, width in enumerate((24, 22, 28, 30, 10, 12, 14, 12, 10, 12, 14, 14, 18), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width

    summary = workbook.create_sheet(_("Totaux"))
    summary.column_dimensions["A"].width = 34
    summary.column_dimensions["B"].width = 16
    summary.append(spreadsheet_row([title]))
    summary["A1"].font = Font(bold=True, size=13)
    summary.append([])
    summary.append([_("Commandes"), totals.orders])
    summary.append([_("Chiffre d’affaires (€)"), _euros(totals.revenue_cents)])
    average = _euros(totals.revenue_cents) / totals.orders if totals.orders else Decimal(0)
    summary.append([_("Panier moyen (€)"), average.quantize(Decimal("0.01"))])
    for section, values in (
        (_("Par producteur"), totals.per_producer),
        (_("Par point de retrait"), totals.per_pickup_point),
    ):
        summary.append([])
        summary.append(spreadsheet_row([section, _("Total (€)")]))
        for cell in summary[summary.max_row]:
            cell.font = bold
        for name, cents in values.items():
            summary.append(spreadsheet_row([name or "—", _euros(cents)]))
    for row in summary.iter_rows(min_row=4):
        if isinstance(row[1].value, Decimal):
            row[1].number_format = EURO_FORMAT
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
