"""The chart of the last cycles: revenue as bars, the average basket as a line (PNG).

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state, no display),
so it is safe to render from a worker thread. matplotlib (and numpy, PIL with it) is imported
when a chart is drawn, not with the bot: most processes never draw one.
"""

from __future__ import annotations

import io
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale, numbers
from babel.dates import format_date as babel_format_date

from handlers.i18n import _, current_locale, ngettext
from models.reports import CycleFigures

REVENUE_COLOUR = "#7cb342"
BASKET_COLOUR = "#e65100"


def format_euros(value: float, locale: str | None = None) -> str:
    """Whole euros as a person reads them on an axis: fr ``1 200 €``, en ``€1,200``."""
    code = locale or current_locale()
    pattern = Locale.parse(code).currency_formats["standard"].pattern
    whole = pattern.split(";")[0].replace(".00", "")
    return numbers.format_currency(
        Decimal(round(value)), "EUR", format=whole, locale=code, currency_digits=False
    ).replace("\u202f", "\u00a0")


def revenue_chart(history: list[CycleFigures], timezone: ZoneInfo) -> bytes:
    """A PNG of ``history`` (oldest first): revenue bars and the average basket line (a cycle
    without orders has no basket: the line skips it); "no sales" across the chart when none
    of the cycles sold anything."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    locale = current_locale()
    figure = Figure(figsize=(9, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    revenue_axis = figure.add_subplot()
    positions = list(range(len(history)))
    labels = [
        babel_format_date(f.pickup_starts_at.astimezone(timezone), "d MMM", locale=locale)
        for f in history
    ]
    revenue = [f.revenue_cents / 100 for f in history]
    basket = [f.average_basket_cents / 100 if f.orders else float("nan") for f in history]
    known = [b for b in basket if b == b]  # NaN is not equal to itself
    bars = revenue_axis.bar(
        positions, revenue, color=REVENUE_COLOUR, label=_("Chiffre d’affaires"), zorder=2
    )
    revenue_axis.set_ylabel(_("Chiffre d’affaires"))
    revenue_axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_euros(v, locale)))
    revenue_axis.grid(axis="y", alpha=0.3, zorder=0)
    revenue_axis.set_xticks(positions, labels, rotation=45, ha="right")
    basket_axis = revenue_axis.twinx()
    (line,) = basket_axis.plot(
        positions, basket, color=BASKET_COLOUR, marker="o", label=_("Panier moyen")
    )
    basket_axis.set_ylabel(_("Panier moyen"))
    basket_axis.set_ylim(bottom=0, top=max([*known, 1.0]) * 1.25)
    basket_axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_euros(v, locale)))
    revenue_axis.set_ylim(bottom=0, top=max([*revenue, 1.0]) * 1.15)
    revenue_axis.set_title(
        ngettext("Le dernier cycle", "Les {count} derniers cycles", len(history)).format(
            count=len(history)
        )
    )
    if not any(revenue):
        revenue_axis.text(
            0.5,
            0.5,
            ngettext("Aucune vente sur ce cycle", "Aucune vente sur ces cycles", len(history)),
            transform=revenue_axis.transAxes,
            ha="center",
            va="center",
            color="#757575",
            fontsize=14,
        )
    revenue_axis.legend(handles=[bars, line], loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
