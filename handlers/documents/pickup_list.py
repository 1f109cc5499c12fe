"""The printable pickup lists (PDF): per point, consumers in alphabetical order, their lines,
their total and a box to tick when they collect; then a preparation page per producer, what
goes into which bag (point, order number, member, product, quantity), with the producer's
totals per product.

fpdf2's core fonts only know Latin-1 (no €, no œ): the list uses DejaVu Sans, the TrueType font
matplotlib ships, so every accent and the euro sign print. fpdf2 (and PIL with it) is imported
when a list is printed, not with the bot; the fonts are found without importing matplotlib.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers.i18n import _, format_date, format_price, format_quantity, format_time, ngettext
from handlers.units import unit_name
from handlers.week_texts import order_number
from models.exports import ExportLine, Preparation, preparations
from models.pickup_day import PickupEntry, PickupList

if TYPE_CHECKING:
    from fpdf import FPDF

FONT = "DejaVu"
LINE_HEIGHT = 5.5
BOX = 4.5


@cache
def fonts() -> Path:
    """The folder of the DejaVu fonts matplotlib ships (found without importing matplotlib)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        found = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"
        if (found / "DejaVuSans.ttf").is_file():
            return found
    import matplotlib  # an unusual layout: ask matplotlib itself

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def new_pdf(network: str) -> FPDF:
    """A4 portrait with the network and page number in the footer (DejaVu Sans as ``FONT``)."""
    return _list_pdf_class()(network)


_new_pdf = new_pdf


@cache
def _list_pdf_class() -> type[FPDF]:
    from fpdf import FPDF

    class ListPdf(FPDF):
        def __init__(self, network: str) -> None:
            super().__init__(orientation="portrait", unit="mm", format="A4")
            self.network = network
            self.add_font(FONT, "", str(fonts() / "DejaVuSans.ttf"))
            self.add_font(FONT, "B", str(fonts() / "DejaVuSans-Bold.ttf"))
            self.set_auto_page_break(auto=True, margin=16)
            self.set_margins(15, 15, 15)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, "", 8)
            self.cell(
                0,
                5,
                _("{network} — page {page}").format(network=self.network, page=self.page_no()),
                align="C",
            )

    return ListPdf


def _amount(cents: int, estimate: bool) -> str:
    """ "17,29 €", or "≈ 17,10 €" while a weighed product is not weighed yet."""
    return _("≈ {total}").format(total=format_price(cents)) if estimate else format_price(cents)


def _weight_note(line: ExportLine) -> str:
    """A weighed product's weight ("· 1,82 kg"), or a blank to write it in ("· ____ kg")."""
    if line.price_per_kg_cents is None:
        return ""
    if line.weight_kg is None:
        return " · ____\u00a0kg"
    return f" · {format_quantity(line.weight_kg)}\u00a0kg"


def _entry_height(entry: PickupEntry) -> float:
    return LINE_HEIGHT * (len(entry.items) + 1 + (entry.phone is not None)) + 3


def _write_entry(pdf: FPDF, entry: PickupEntry) -> None:
    if pdf.will_page_break(_entry_height(entry)):
        pdf.add_page()
    top = pdf.get_y()
    pdf.rect(pdf.l_margin, top + 0.6, BOX, BOX)
    pdf.set_x(pdf.l_margin + BOX + 3)
    pdf.set_font(FONT, "B", 11)
    width = pdf.epw - BOX - 3
    who = f"{entry.member_name} · {order_number(entry.order_id)}"
    pdf.cell(width - 70, LINE_HEIGHT, who)
    pdf.cell(30, LINE_HEIGHT, _amount(entry.total_cents, entry.to_weigh > 0), align="R")
    pdf.cell(40, LINE_HEIGHT, _to_pay(entry.to_pay_cents, entry.to_weigh > 0), align="R")
    pdf.ln(LINE_HEIGHT)
    pdf.set_font(FONT, "", 9.5)
    if entry.phone is not None:
        pdf.set_x(pdf.l_margin + BOX + 7)
        pdf.cell(width - 4, LINE_HEIGHT, _("Tél. {phone}").format(phone=entry.phone))
        pdf.ln(LINE_HEIGHT)
    for line in entry.items:
        pdf.set_x(pdf.l_margin + BOX + 7)
        pdf.cell(
            width - 4 - 70,
            LINE_HEIGHT,
            _("{product} — {producer}").format(product=line.product, producer=line.producer),
        )
        pdf.cell(
            40,
            LINE_HEIGHT,
            f"{format_quantity(line.quantity)}\u00a0{unit_name(line.unit, line.quantity)}"
            + _weight_note(line),
        )
        pdf.cell(30, LINE_HEIGHT, _amount(line.total_cents, line.estimate), align="R")
        pdf.ln(LINE_HEIGHT)
    pdf.set_draw_color(200, 200, 200)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + pdf.epw, pdf.get_y() + 1)
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(3)


def _to_pay(cents: int, estimate: bool) -> str:
    """The "to pay" column: the amount (≈ while a line is still to weigh), or that nothing is
    owed."""
    if cents <= 0:
        return _("payé")
    return _("à payer : {amount}").format(amount=_amount(cents, estimate))


def _write_list(pdf: FPDF, pickup: PickupList, timezone: ZoneInfo) -> None:
    from fpdf.enums import XPos, YPos

    pdf.add_page()
    point = pickup.point
    day: datetime = pickup.cycle.pickup_starts_at.astimezone(timezone)
    pdf.set_font(FONT, "B", 16)
    pdf.cell(
        0,
        9,
        _("Liste de retrait — {point}").format(point=point.name),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, point.address, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(
        0,
        6,
        _("{day}, de {start} à {end}").format(
            day=format_date(day),
            start=format_time(point.window_start),
            end=format_time(point.window_end),
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    count = len(pickup.entries)
    pdf.cell(
        0,
        6,
        ngettext("{count} commande — {total}", "{count} commandes — {total}", count).format(
            count=count, total=_amount(pickup.total_cents, pickup.to_weigh > 0)
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.cell(
        0,
        6,
        _("Reste à encaisser : {amount}").format(amount=format_price(pickup.to_pay_cents)),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(4)
    if not pickup.entries:
        pdf.set_font(FONT, "", 11)
        pdf.cell(0, 8, _("Aucune commande à retirer ici pour ce cycle."))
        return
    for entry in pickup.entries:
        _write_entry(pdf, entry)


def _quantity(quantity: Decimal, unit: str) -> str:
    return f"{format_quantity(quantity)}\u00a0{unit_name(unit, quantity)}"


def _write_preparation(pdf: FPDF, preparation: Preparation, day: str) -> None:
    """A producer's page: the totals to bring, then each bag's lines, by point."""
    from fpdf.enums import XPos, YPos

    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(
        0,
        9,
        _("Préparation — {producer}").format(producer=preparation.producer),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(FONT, "", 10)
    pdf.cell(
        0,
        6,
        _("Retrait du {day} : ce qui va dans chaque sac").format(day=day),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(2)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, LINE_HEIGHT, _("En tout"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    for product, unit, quantity in preparation.totals:
        pdf.cell(pdf.epw - 40, LINE_HEIGHT, f"  {product}")
        pdf.cell(40, LINE_HEIGHT, _quantity(quantity, unit), align="R")
        pdf.ln(LINE_HEIGHT)
    point = None
    widths = (22, 55, pdf.epw - 22 - 55 - 35, 35)
    for bag in preparation.bags:
        if bag.pickup_point != point or pdf.will_page_break(LINE_HEIGHT * 2):
            point = bag.pickup_point
            pdf.ln(3)
            pdf.set_font(FONT, "B", 11)
            pdf.cell(0, LINE_HEIGHT, point, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font(FONT, "B", 9)
            for width, title in zip(
                widths,
                (_("Commande"), _("Membre"), _("Produit"), _("Quantité")),
                strict=True,
            ):
                pdf.cell(width, LINE_HEIGHT, title)
            pdf.ln(LINE_HEIGHT)
            pdf.set_font(FONT, "", 9.5)
        pdf.cell(widths[0], LINE_HEIGHT, order_number(bag.order_id))
        pdf.cell(widths[1], LINE_HEIGHT, bag.member_name[:32])
        pdf.cell(widths[2], LINE_HEIGHT, bag.product[:48])
        pdf.cell(widths[3], LINE_HEIGHT, _quantity(bag.quantity, bag.unit), align="R")
        pdf.ln(LINE_HEIGHT)


def pickup_lists_pdf(lists: list[PickupList], network: str, timezone: ZoneInfo) -> bytes:
    """One PDF with a page (or more) per pickup list, then a preparation page (or more) per
    producer."""
    pdf = _new_pdf(network)
    pdf.set_title(_("Listes de retrait"))
    pdf.set_creator(network)
    if not lists:
        pdf.add_page()
        pdf.set_font(FONT, "", 12)
        pdf.cell(0, 10, _("Aucune commande à retirer pour ce cycle."))
    for pickup in lists:
        _write_list(pdf, pickup, timezone)
    if lists:
        day = format_date(lists[0].cycle.pickup_starts_at.astimezone(timezone))
        for preparation in preparations(lists):
            _write_preparation(pdf, preparation, day)
    return bytes(pdf.output())
