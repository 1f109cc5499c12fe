"""The wording pass, as people read it: a farm's name after "à"/"de" takes its article ("aux
Jardins de la Vonne", never "à Les Jardins"), and the catalogs hold no "(s)"/"(e)" shortcuts,
no obsolete entries, one apostrophe in French, and the days read "1er décembre"."""

from __future__ import annotations

from datetime import date

import pytest
from babel.messages.pofile import read_po

from handlers.i18n import format_date, of_name, to_name, use_locale
from handlers.package_data import shipped_dir

LOCALES = shipped_dir("handlers", "locales")


@pytest.mark.parametrize(
    ("name", "to", "of"),
    [
        ("Les Jardins de la Vonne", "aux Jardins de la Vonne", "des Jardins de la Vonne"),
        ("Le Fournil de Lucie", "au Fournil de Lucie", "du Fournil de Lucie"),
        ("La Chèvrerie du Marais", "à La Chèvrerie du Marais", "de La Chèvrerie du Marais"),
        ("Ferme du Grand Pré", "à Ferme du Grand Pré", "de Ferme du Grand Pré"),
        ("Émile", "à Émile", "d’Émile"),
    ],
)
def test_a_name_after_a_preposition_takes_its_article(name, to, of):
    with use_locale("fr"):
        assert to_name(name) == to
        assert of_name(name) == of
    with use_locale("en"):
        assert to_name(name) == f"to {name}"


def test_the_article_stays_outside_the_bold_name():
    with use_locale("fr"):
        assert to_name("Les Jardins", "<b>{}</b>") == "aux <b>Jardins</b>"
        assert to_name("Ferme du Pré", "<b>{}</b>") == "à <b>Ferme du Pré</b>"


def _catalog(locale: str):
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as stream:
        return read_po(stream, locale=locale)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_catalogs_have_no_shortcuts_and_no_obsolete_entries(locale):
    catalog = _catalog(locale)
    assert not catalog.obsolete, sorted(catalog.obsolete)[:5]
    for message in catalog:
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in texts:
            assert "(s)" not in text, text
            assert "(e)" not in text, text
            if locale == "fr":
                assert "'" not in text, text  # the French apostrophe is ’
                assert " à Les " not in text, text
                assert " de Les " not in text, text


def test_the_first_of_the_month_reads_1er():
    with use_locale("fr"):
        assert format_date(date(2026, 12, 1)) == "mardi 1er décembre"
    with use_locale("en"):
        assert format_date(date(2026, 12, 1)) == "Tuesday 1 December"


async def test_a_cards_labels_read_as_one_list(app, sandbox, session, clock):
    from datetime import timedelta

    from tests.factories import load_demo_network, open_cycle_with_stock

    await load_demo_network(session)
    await open_cycle_with_stock(session, clock() - timedelta(hours=1))
    alice = sandbox.user("Alice", language="fr")
    await alice.send("farine")
    await alice.press("Farine de blé T80")
    assert "🏷 Bio, Nature & Progrès" in alice.last_message.text
    bob = sandbox.user("Bob", language="en")
    await bob.send("farine")
    await bob.press("Farine de blé T80")
    assert "🏷 Organic, Nature & Progrès" in bob.last_message.text
