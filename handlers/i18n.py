"""The translation layer: gettext catalogs from ``locales/``, and Babel formatting per locale.

The catalogs are the repository's ``locales/``, shipped as ``handlers/locales/`` in the wheel
(:func:`handlers.package_data.shipped_dir`).

French is the source language: message ids are the French texts, ``fr`` is the identity
catalog and ``en`` translates. The ``.po`` files are compiled in memory at first use, so a fresh
install needs no compile step. The current locale is a context variable, set once per update by
the middleware (:func:`use_locale`), so handlers simply call ``_("…")``.
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext as stdlib_gettext
import io
import logging
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache

from babel import dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, NullTranslations, Translations

from handlers.package_data import shipped_dir

log = logging.getLogger(__name__)

LOCALES_DIR = shipped_dir("handlers", "locales")
SUPPORTED_LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


def set_default_locale(locale: str) -> None:
    """Make ``locale`` the fallback for code that runs outside any member's context."""
    global DEFAULT_LOCALE
    DEFAULT_LOCALE = normalize_locale(locale)


def normalize_locale(language_code: str | None, default: str | None = None) -> str:
    """The supported locale closest to a Telegram ``language_code`` (``en-GB`` → ``en``);
    ``default`` (a network's), else the process's default, for any other language."""
    if language_code:
        base = language_code.replace("_", "-").split("-")[0].lower()
        if base in SUPPORTED_LOCALES:
            return base
    if default in SUPPORTED_LOCALES:
        return default
    return DEFAULT_LOCALE


@cache
def translations(locale: str) -> stdlib_gettext.NullTranslations:
    """The compiled catalog of ``locale`` (an empty one, logged, when it is missing).

    Typed as the standard library's interface, which Babel's classes implement: Babel annotates
    its ``pgettext`` as returning ``str | object`` although it returns a message.
    """
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        log.warning("no catalog for locale %s at %s", locale, po_path)
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def current_locale() -> str:
    """The locale of the member being served (or the default)."""
    return _current.get()


@contextlib.contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Within the block, ``_()`` and the formatters speak ``locale``."""
    token = _current.set(normalize_locale(locale))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def activate(locale: str | None) -> None:
    """Switch the current context (one update's task) to ``locale``."""
    _current.set(normalize_locale(locale))


def gettext(message: str) -> str:
    """``message`` translated into the current locale."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, translated into the current locale."""
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` translated in a ``context`` (for short words with several meanings)."""
    return translations(_current.get()).pgettext(context, message)


def lazy_gettext(message: str) -> LazyProxy:
    """A module-level text that is translated when it is used, in the locale of that moment."""
    return LazyProxy(gettext, message, enable_cache=False)


_ = gettext


def format_price(cents: int, locale: str | None = None) -> str:
    """An amount in cents as a person reads it: fr ``3,20 €``, en ``€3.20``."""
    return _price(cents, locale or _current.get())


def format_quantity(quantity: Decimal | int, locale: str | None = None) -> str:
    """A quantity without useless decimals: ``1,5`` (fr), ``1.5`` (en), ``12``."""
    return _quantity(Decimal(quantity), locale or _current.get())


# Babel formats a number in tens of microseconds, and a page shows dozens of prices and
# quantities, most of them seen before: the last few thousand are remembered.
@lru_cache(maxsize=4096)
def _price(cents: int, locale: str) -> str:
    return numbers.format_currency(Decimal(cents) / 100, "EUR", locale=locale).replace(
        "\u202f", "\u00a0"
    )


@lru_cache(maxsize=4096)
def _quantity(quantity: Decimal, locale: str) -> str:
    return numbers.format_decimal(quantity, format="#,##0.###", locale=locale)


def format_date(day: date | datetime, locale: str | None = None) -> str:
    """A day as a person says it: fr ``mardi 3 décembre`` (``mardi 1er décembre``), en
    ``Tuesday 3 December``."""
    code = locale or _current.get()
    if day.day == 1 and code == "fr":
        return dates.format_date(day, "EEEE d'er' MMMM", locale=code)
    return dates.format_date(day, "EEEE d MMMM", locale=code)


def format_time(moment: time | datetime, locale: str | None = None) -> str:
    """A time of day: fr ``17:00``, en ``5:00 PM``."""
    return dates.format_time(moment, "short", locale=locale or _current.get())


def format_datetime(moment: datetime, locale: str | None = None) -> str:
    """A day and a time: fr ``mardi 3 décembre à 23:59``."""
    return _("{day} à {time}").format(
        day=format_date(moment, locale), time=format_time(moment, locale)
    )


def format_percent(ratio: float, locale: str | None = None) -> str:
    """A ratio as a signed percentage: fr ``+12,5 %`` (a narrow no-break space before the
    sign, as French writes it), en ``+12.5%``."""
    return _percent(ratio, "+#,##0.#{space}%;-#,##0.#{space}%", locale)


def format_share(ratio: float, locale: str | None = None) -> str:
    """A ratio as a share, unsigned and whole: fr ``62 %``, en ``62%``."""
    return _percent(ratio, "#,##0{space}%", locale)


def format_rate(percent: Decimal, locale: str | None = None) -> str:
    """A rate given in percent, unsigned, up to two decimals: fr ``2,5 %``, en ``2.5%``."""
    return _percent(percent / 100, "#,##0.##{space}%", locale)


def _percent(ratio: float | Decimal, pattern: str, locale: str | None) -> str:
    code = locale or _current.get()
    space = "\u202f" if code == "fr" else ""
    return numbers.format_percent(ratio, format=pattern.format(space=space), locale=code)


_CONTRACTIONS = {
    # (preposition, article) → what French writes instead of "à Les", "de Le"…
    ("à", "Les"): "aux",
    ("à", "Le"): "au",
    ("de", "Les"): "des",
    ("de", "Le"): "du",
}
_VOWELS = frozenset("aeiouyàâéèêëîïôûùAEIOUYÀÂÉÈÊËÎÏÔÛÙŒœ")


def _before_name(preposition: str, name: str, markup: str) -> str:
    """``preposition`` ("à" or "de") before ``name`` as French writes it: "aux" + "Jardins de
    la Vonne" for "Les Jardins de la Vonne", "au Moulin", "du Moulin", "d’Émile"; the rest of
    the name (after a contracted article) goes through ``markup`` (``"<b>{}</b>"``)."""
    article, _space, rest = name.partition(" ")
    contracted = _CONTRACTIONS.get((preposition, article))
    if contracted is not None and rest:
        return f"{contracted} {markup.format(rest)}"
    if preposition == "de" and name[:1] in _VOWELS:
        return f"d’{markup.format(name)}"
    return f"{preposition} {markup.format(name)}"


def to_name(name: str, markup: str = "{}") -> str:
    """ "aux Jardins de la Vonne", "à Ferme du Grand Pré" (French), "to Les Jardins…" (English):
    the name (already escaped for HTML) after "to", as the member's language says it."""
    if current_locale() == "en":
        return f"to {markup.format(name)}"
    return _before_name("à", name, markup)


def of_name(name: str, markup: str = "{}") -> str:
    """ "des Jardins de la Vonne", "d’Émile" (French), "of Les Jardins…" (English): the name
    (already escaped for HTML) after "of", as the member's language says it."""
    if current_locale() == "en":
        return f"of {markup.format(name)}"
    return _before_name("de", name, markup)
