"""The stock parser's layers one by one: lexicon, tokens, grammar, resolution."""

from __future__ import annotations

from decimal import Decimal

from models.stock_parser import CatalogItem
from models.stock_parser.grammar import clauses
from models.stock_parser.lexicon import FarmLexicon, number_words_value, stem
from models.stock_parser.resolution import Resolver, to_sale_units
from models.stock_parser.tokens import ADD, CONTENT, FILLER, NUM, SEP, STOPW, UNIT, ZERO, Tokenizer
from models.text import fold_with_offsets

CATALOG = [
    CatalogItem("TOM-ANC", "Tomates anciennes", ("coeur de boeuf",), "kg", Decimal(1), "kg"),
    CatalogItem("TOM-CER", "Tomates cerises", (), "barquette", Decimal(250), "g"),
    CatalogItem("RAD-BOT", "Radis", (), "botte", Decimal(1), "botte"),
    CatalogItem("OEU-6", "Oeufs", (), "boîte", Decimal(6), "pièce"),
]


def layers() -> tuple[FarmLexicon, Resolver, Tokenizer]:
    lexicon = FarmLexicon(CATALOG)
    resolver = Resolver(lexicon)
    return lexicon, resolver, Tokenizer(lexicon, resolver)


# ---------------------------------------------------------------- lexicon


def test_fold_keeps_offsets_into_the_original() -> None:
    assert fold_with_offsets("Radis 3") == ("radis 3", None)
    folded, offsets = fold_with_offsets("Œufs 5")
    assert folded == "oeufs 5"
    assert offsets is not None
    assert offsets[:3] == [0, 0, 1]


def test_stems_and_number_words() -> None:
    assert (stem("radis"), stem("poireaux"), stem("oie")) == ("radi", "poireau", "oie")
    assert number_words_value(("trente", "et", "un")) == 31
    assert number_words_value(("bonjour",)) is None


def test_farm_lexicon_vocabulary_and_units() -> None:
    lexicon, _, _ = layers()
    assert {"tomate", "ancienne", "cerise", "radi", "oeuf", "coeur", "boeuf"} <= lexicon.vocab
    assert lexicon.unit_of("kilos") == "kg"
    assert lexicon.unit_of("barquettes") == "barquette"
    assert lexicon.unit_of("cagettes") == "cagette"
    assert lexicon.unit_of("radis") is None


# ---------------------------------------------------------------- tokens


def test_tokens_classify_numbers_units_operations_and_words() -> None:
    _, _, tokenizer = layers()
    (line,) = tokenizer.tokens("bonjour, +5 kg tomates, plus de radis")
    assert [t.kind for t in line] == [FILLER, SEP, NUM, UNIT, CONTENT, SEP, ZERO, STOPW, CONTENT]
    assert (line[2].value, line[2].sign, line[3].text) == (Decimal(5), "add", "kg")


def test_tokens_number_words_prices_and_lines() -> None:
    _, _, tokenizer = layers()
    first, second = tokenizer.tokens("vingt-cinq radis a 2 euros\najoute 3 kg 500 tomates")
    assert [(t.kind, t.value) for t in first if t.kind == NUM] == [(NUM, Decimal(25))]
    assert second[0].kind == ADD
    assert second[0].prefix
    assert second[1].value == Decimal("3.5")


def test_tokens_correct_typos_of_the_vocabulary() -> None:
    _, _, tokenizer = layers()
    (line,) = tokenizer.tokens("tomatos 4")
    assert (line[0].kind, line[0].text) == (CONTENT, "tomate")


# ---------------------------------------------------------------- grammar


def test_grammar_pairs_quantities_and_names_in_the_clause_order() -> None:
    _, _, tokenizer = layers()
    (clause,) = clauses(tokenizer.tokens("radis 30 tomates cerises 25"))
    assert [([t.text for t in i.content], i.num and i.num.value) for i in clause.items] == [
        (["radi"], Decimal(30)),
        (["tomate", "cerise"], Decimal(25)),
    ]


def test_grammar_merges_a_name_with_the_quantity_of_the_next_line() -> None:
    _, _, tokenizer = layers()
    (clause,) = clauses(tokenizer.tokens("radis :\n12"))
    (item,) = clause.items
    assert [t.text for t in item.content] == ["radi"]
    assert item.num is not None


def test_grammar_carries_a_leading_operation() -> None:
    _, _, tokenizer = layers()
    found = clauses(tokenizer.tokens("enlever 5 radis, 2 tomates anciennes"))
    assert [item.op for clause in found for item in clause.items] == ["remove", "remove"]


# ---------------------------------------------------------------- resolution


def test_resolution_exact_alias_partial_and_none() -> None:
    _, resolver, _ = layers()
    skus = lambda *words: [p.item.sku for p in resolver.match(frozenset(words))]  # noqa: E731
    assert skus("tomate", "cerise") == ["TOM-CER"]
    assert skus("coeur", "boeuf") == ["TOM-ANC"]
    assert skus("tomate") == ["TOM-ANC", "TOM-CER"]
    assert skus("asperge") == []
    assert resolver.correct("anc") == ("ancienne", True)
    assert resolver.correct("zzz") == ("zzz", True)


def test_resolution_typo_corrections_are_sure_only_for_one_edit() -> None:
    _, resolver, _ = layers()
    assert resolver.correct("tomato") == ("tomate", True)  # one letter
    assert resolver.correct("cerisse") == ("cerise", True)
    assert resolver.correct("tomatee") == ("tomate", False)  # the word and more: ask
    assert resolver.correct("tomat") == ("tomate", False)  # one letter short of it: ask


def test_tokens_take_back_self_corrections_and_keep_lower_bounds() -> None:
    _, _, tokenizer = layers()
    values = lambda text: [t.value for t in tokenizer.tokens(text)[0] if t.kind == NUM]  # noqa: E731
    assert values("radis 12, euh non 10") == [Decimal(10)]
    assert values("radis 12 pardon 10 et tomates 3") == [Decimal(10), Decimal(3)]
    assert values("radis entre 8 et 10") == [Decimal(8)]
    assert values("radis 8 a 10") == [Decimal(8)]
    assert values("radis 20aine") == [Decimal(20)]


def test_grammar_reads_a_size_after_the_name() -> None:
    _, _, tokenizer = layers()
    ((item,),) = [c.items for c in clauses(tokenizer.tokens("tomates cerises 250 g : 12"))]
    assert item.size is not None
    assert (item.size[0].value, item.size[1].text) == (Decimal(250), "g")
    assert item.num is not None
    assert item.num.value == 12


def test_resolution_converts_into_sale_units() -> None:
    lexicon, _, _ = layers()
    cherry, eggs, radish = (lexicon.by_sku[s] for s in ("TOM-CER", "OEU-6", "RAD-BOT"))
    assert to_sale_units(cherry, Decimal(1), "kg") == 4
    assert to_sale_units(cherry, Decimal(300), "g") is None
    assert to_sale_units(eggs, Decimal(2), "douzaine") == 4
    assert to_sale_units(radish, Decimal(2), "kg") is None
