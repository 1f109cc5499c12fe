"""Sentences for the reasons a CSV file is refused (used by the command line and the chat)."""

from __future__ import annotations

from handlers.i18n import _, lazy_gettext
from models.catalog_csv import RowError


class _Params(dict[str, object]):
    """A reason's parameters; one it names but the error lacks stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


REASONS = {
    "bad_encoding": lazy_gettext("le fichier n’est pas en UTF-8"),
    "bad_header": lazy_gettext("ligne d’en-tête invalide (séparateur attendu : la virgule)"),
    "missing_column": lazy_gettext("colonne obligatoire absente"),
    "unknown_column": lazy_gettext("colonne inconnue"),
    "extra_values": lazy_gettext("plus de valeurs que de colonnes"),
    "missing_value": lazy_gettext("valeur obligatoire manquante"),
    "bad_price": lazy_gettext("prix illisible (exemple : 3,20)"),
    "negative_price": lazy_gettext("prix négatif"),
    "zero_price": lazy_gettext("prix nul"),
    "bad_amount": lazy_gettext("quantité de l’unité invalide (nombre positif attendu)"),
    "bad_unit_measure": lazy_gettext("unité inconnue (g, kg, ml, cl, l, pièce ou botte)"),
    "bad_step": lazy_gettext("pas de vente invalide (nombre positif attendu)"),
    "bad_maximum": lazy_gettext("maximum par personne invalide (nombre positif attendu)"),
    "bad_sku": lazy_gettext("référence (sku) invalide"),
    "duplicate_sku": lazy_gettext("référence (sku) en double"),
    "bad_slug": lazy_gettext("identifiant invalide (lettres minuscules, chiffres et tirets)"),
    "duplicate_slug": lazy_gettext("identifiant en double"),
    "unknown_producer": lazy_gettext("producteur inconnu (importez d’abord les producteurs)"),
    "bad_label": lazy_gettext("label invalide"),
    "bad_kind": lazy_gettext("type de point invalide (public ou company)"),
    "bad_time": lazy_gettext("heure invalide (exemple : 17:30)"),
    "bad_window": lazy_gettext("la fin du créneau doit suivre son début"),
    "sku_of_other_producer": lazy_gettext("cette référence appartient déjà à un autre producteur"),
    "bad_number": lazy_gettext("nombre illisible"),
    "bad_latitude": lazy_gettext("latitude invalide (un nombre entre -90 et 90, ex. 46.58)"),
    "bad_longitude": lazy_gettext("longitude invalide (un nombre entre -180 et 180, ex. 0.34)"),
    "bad_yes_no": lazy_gettext("réponse invalide (oui ou non)"),
    "bad_photo": lazy_gettext("photo invalide (adresse https:// attendue)"),
    "bad_recipe": lazy_gettext(
        "recette invalide (exemple : CAR-KG:0,4;POI-BOT:0,3, chaque ingrédient une fois)"
    ),
    "unknown_ingredient": lazy_gettext("ingrédient inconnu (référence absente du catalogue)"),
    "ingredient_is_dish": lazy_gettext("un plat ne peut pas servir d’ingrédient"),
    "too_long": lazy_gettext("texte trop long ({maximum} caractères au plus)"),
    "too_large": lazy_gettext("nombre trop grand (au plus {maximum})"),
    "estimate_too_large": lazy_gettext(
        "le prix estimé (estimated_kg × price_per_kg) dépasse le prix le plus haut ({maximum})"
    ),
    "too_precise": lazy_gettext("trop de décimales ({decimals} au plus)"),
    "bad_character": lazy_gettext("caractère nul interdit"),
    "bad_csv": lazy_gettext("fichier CSV illisible (une cellule dépasse la taille permise)"),
}

SHOWN_VALUE = 40
"""A refused value is quoted up to this many characters."""


def describe(error: RowError) -> str:
    """One line for a refused row: where, which column, why (the value quoted, cut short)."""
    reason = str(REASONS.get(error.code, error.code)).format_map(_Params(error.params))
    value = error.params.get("value")
    if value not in (None, ""):
        shown = str(value)
        if len(shown) > SHOWN_VALUE:
            shown = shown[: SHOWN_VALUE - 1] + "…"
        reason = _("{reason} : « {value} »").format(reason=reason, value=shown) if reason else shown
    if error.column:
        return _("ligne {line}, colonne {column} : {reason}").format(
            line=error.line, column=error.column, reason=reason
        )
    return _("ligne {line} : {reason}").format(line=error.line, reason=reason)
