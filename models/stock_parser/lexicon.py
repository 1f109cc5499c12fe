"""The parser's words (folded by ``models.text``): stems, units, number words, fillers, and one farm's vocabulary.

Everything here is a table or a pure function of one word; :class:`FarmLexicon` adds what
depends on the producer's catalog (the stems of product names and aliases, the sale units).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from text_to_num import text2num  # type: ignore[import-untyped]

from models.stock_parser.types import CatalogItem
from models.text import fold_with_offsets


def stem(word: str) -> str:
    """The word without a plural ``s``/``x`` (words of more than 3 letters)."""
    if len(word) > 3 and word[-1] in "sx":
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    folded, _ = fold_with_offsets(text)
    return [m.group() for m in re.finditer(r"[a-z][a-z0-9]*", folded)]


@lru_cache(maxsize=4096)
def number_words_value(number_words: tuple[str, ...]) -> Decimal | None:
    """The value of French number words (``("trente", "et", "un")`` → 31), None if not one."""
    try:
        return Decimal(text2num(" ".join(number_words), "fr"))
    except (ValueError, InvalidOperation):
        return None


def decimal(text: str) -> Decimal:
    """``"1,5"`` or ``"1.5"`` as a Decimal."""
    return Decimal(text.replace(",", "."))


def is_whole(value: Decimal) -> bool:
    return value == value.to_integral_value()


# ---------------------------------------------------------------- tables


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


NUMBER_WORDS = _wordset(
    "zero un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
    "quinze seize vingt vingts trente quarante cinquante soixante cent cents mille"
)
HALF = _wordset("demi demie")
APPROX = {
    "dizaine": 10, "dizaines": 10, "quinzaine": 15, "vingtaine": 20, "trentaine": 30,
    "quarantaine": 40, "cinquantaine": 50, "soixantaine": 60, "centaine": 100,
}  # fmt: skip


def _unit_words() -> dict[str, str]:
    table: dict[str, str] = {}
    for canon, names in {
        "g": "g gr grs gramme grammes",
        "kg": "kg kgs kilo kilos kilogramme kilogrammes",
        "l": "l lt lts litre litres",
        "cl": "cl",
        "ml": "ml",
        "piece": "piece pieces pc pcs pce pces unite unites u",
        "douzaine": "douzaine douzaines dz",
        "botte": "botte bottes",
        "barquette": "barquette barquettes barq barqs",
        "boite": "boite boites bte btes",
        "sachet": "sachet sachets",
        "pot": "pot pots",
        "bouteille": "bouteille bouteilles btl btle",
    }.items():
        for word in names.split():
            table[word] = canon
    return table


UNIT_WORDS = _unit_words()
"""Unit word as written → canonical unit."""
CONTAINERS = _wordset(
    "cagette cagettes caisse caisses colis carton cartons paquet paquets bocal bocaux plateau "
    "plateaux panier paniers sac sacs seau seaux filet filets tranche tranches part parts "
    "portion portions lot lots pain pains plaquette plaquettes"
)
UNIT_DISPLAY = {"piece": "pièce", "boite": "boîte"}
DIMENSIONS: dict[str, tuple[str, int]] = {
    "g": ("mass", 1), "kg": ("mass", 1000), "ml": ("volume", 1), "cl": ("volume", 10),
    "l": ("volume", 1000), "piece": ("count", 1), "douzaine": ("count", 12),
    "botte": ("botte", 1),
}  # fmt: skip
"""Canonical unit → (dimension, size in the dimension's base unit)."""
CONTINUOUS = frozenset({"g", "kg", "ml", "cl", "l"})
MEASURES = frozenset({"g", "kg", "l", "cl", "ml"})

STOP = _wordset("de d du des la le les l au aux a en sur par avec")
OF = _wordset("de d du des")
SEP_WORDS = _wordset("et ni mais puis ou")
ADD_VERBS = _wordset("ajoute ajouter ajoutez ajoutes ajout rajoute rajouter rajoutez rajout")
REMOVE_VERBS = _wordset(
    "enleve enlever enlevez enleves retire retirer retirez retires vendu vendus vendue vendues"
)
ZERO_WORDS = _wordset(
    "epuise epuisee epuises epuisees rupture ruptures fini finie finis finies termine "
    "terminee termines terminees nada"
)
EACH = _wordset("chacun chacune chacuns chacunes chaque")
DATE_BEFORE = _wordset("semaine sem lundi mardi mercredi jeudi vendredi samedi dimanche le du au")
MONTHS = _wordset(
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "janv fev sept oct nov dec"
)
PRICE_AFTER = _wordset("euro euros eur e")
HOURS = _wordset("h heure heures")
FILLERS = _wordset(
    """
    bonjour bonsoir salut coucou hello hey bjr slt cc merci mercii cordialement cdt bises
    bisous biz amities bonne bon bonnes journee soiree semaine weekend week end voici voila
    mon ma mes notre nos votre vos ton ta tes stock stocks pour cette ce cet ces prochaine
    prochain derniere dernier derniers dernieres je j tu il ils elle elles on nous vous y ai
    as avons avez ont aurai aura aurons auront aurez est sont etait c ca cela qu que qui reste
    restent rester dispo dispos disponible disponibles environ env approx total tout tous
    toute toutes encore seulement uniquement juste x mise jour maj update svp stp sil plait
    ok oui non bien tres aujourd hui demain hier lundi mardi mercredi jeudi vendredi samedi
    dimanche livraison livrer livre quantite quantites voir vu car donc alors aussi apres
    avant depuis marche saison annee an paques noel mois ete hiver automne printemps equipe
    courage petite petit petits petites beau belle beaux belles jolie joli jolis bio special
    meme comme habitude chez moi te t me m s n se ne eu fait faire peu pres rien tjrs
    toujours ici voila sinon enfin bref mettre mets met mis actuellement actuel actuelle
    maintenant nouveau nouvelle niveau cote qte qtes qt entre euh hum bah
    """
)
CORRECTIONS = _wordset("euh pardon plutot oups non correction erreur")
"""Words that, between two quantities, take the first one back (``12, euh non 10``)."""
RANGE_WORDS = _wordset("a ou")
"""``8 à 10``, ``8 ou 10`` (and ``entre 8 et 10``): a range, its lower bound is kept."""
THIS = _wordset("cette ce cet")


def canon_unit(label: str) -> str:
    """The canonical unit of a catalog label (``"Bottes"`` → ``botte``, ``"kg"`` → ``kg``)."""
    label_words = words(label)
    word = label_words[0] if label_words else label.lower()
    return UNIT_WORDS.get(word, stem(word))


# ---------------------------------------------------------------- one farm's vocabulary


@dataclass(frozen=True)
class Product:
    """A catalog item with its words: name and alias stems, head word, canonical units."""

    item: CatalogItem
    name_set: frozenset[str]
    alias_sets: tuple[frozenset[str], ...]
    head: str
    sale_unit: str  # canonical
    measure: str  # canonical
    continuous: bool

    @classmethod
    def of(cls, item: CatalogItem) -> Product:
        name_words = [stem(w) for w in words(item.name) if w not in STOP]
        aliases = tuple(
            frozenset(stem(w) for w in words(alias) if w not in STOP) for alias in item.aliases
        )
        sale_unit = canon_unit(item.sale_unit)
        return cls(
            item=item,
            name_set=frozenset(name_words),
            alias_sets=tuple(a for a in aliases if a),
            head=name_words[0] if name_words else "",
            sale_unit=sale_unit,
            measure=canon_unit(item.unit_measure),
            continuous=sale_unit in CONTINUOUS,
        )


class FarmLexicon:
    """One producer's products and the words they give the parser (computed once)."""

    def __init__(self, catalog: Sequence[CatalogItem]) -> None:
        self.products: list[Product] = [Product.of(item) for item in catalog]
        self.by_sku: dict[str, Product] = {p.item.sku: p for p in self.products}
        vocab: set[str] = set()
        for product in self.products:
            vocab.update(product.name_set)
            for alias_set in product.alias_sets:
                vocab.update(alias_set)
        self.vocab = frozenset(vocab)
        """Every stem of a product name or alias."""
        self.sale_units = frozenset(p.sale_unit for p in self.products)
        self.vocab_by_letter: dict[str, list[str]] = {}
        for word in sorted(vocab):
            self.vocab_by_letter.setdefault(word[0], []).append(word)

    def unit_of(self, word: str) -> str | None:
        """The canonical unit ``word`` stands for right after a number, or None."""
        canon = UNIT_WORDS.get(word)
        if canon is None and (
            stem(word) in self.sale_units
            or word in self.sale_units
            or (word in CONTAINERS and stem(word) not in self.vocab)
        ):
            canon = stem(word)
        return canon
