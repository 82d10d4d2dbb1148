"""Arabic normalization and clitic-aware tokenization: the matching form of text."""

from __future__ import annotations

import gzip
import itertools
import json

import pytest

from stream.enrich.normalize import clitic_variants, normalize, token_breaks, tokenize
from tests import shared_data

SHARED = shared_data.DATA


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("مُحَمَّدٌ", "محمد"),  # diacritics
        ("الـــسلام", "السلام"),  # tatweel
        ("أحمد إبراهيم آل ٱلعالم", "احمد ابراهيم ال العالم"),  # alef variants
        ("مصطفى", "مصطفي"),  # alef maqsura
        ("الجمهورية", "الجمهوريه"),  # taa marbuta
        ("کرمانشاه", "كرمانشاه"),  # Persian kaf
        ("گلپایگانی", "كلبايكاني"),  # gaf -> kaf, Persian yeh
        ("خامنه\u200cای", "خامنهاي"),  # ZWNJ inside a Persian name
        ("٢٠١٨ و۱۳۹۹", "2018 و1399"),  # Arabic-Indic and Persian digits
        ("طهران\u200f", "طهران"),  # RLM glued to a word (as in ANERcorp)
        ("قال، هل؟ «نعم»؛", 'قال, هل? "نعم";'),  # punctuation unified
        ("ﻻ", "لا"),  # presentation-form ligature
        ("Trump وCNN", "trump وcnn"),  # Latin lowercased
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_is_idempotent_on_real_articles() -> None:
    with gzip.open(SHARED / "corpus" / "ant-multisource.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in itertools.islice(f, 200):
            text = json.loads(line)["text"]
            once = normalize(text)
            assert normalize(once) == once


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("وبطهران", ("وبطهران", "بطهران", "طهران")),
        ("للمقاومة", ("للمقاومه", "المقاومه", "مقاومه")),
        ("والولايات", ("والولايات", "الولايات", "ولايات")),
        ("فبالعراق", ("فبالعراق", "بالعراق", "العراق", "عراق")),
        ("وزير", ("وزير", "زير")),
        ("قم", ("قم",)),
    ],
)
def test_clitic_variants_least_stripped_first(word: str, expected: tuple[str, ...]) -> None:
    assert clitic_variants(normalize(word)) == expected


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("والولايات", "ولايات"),
        ("للمقاومة", "مقاومه"),
        ("بالعراق", "عراق"),
        ("وزير", "وزير"),  # a bare و is never stripped for the stem: it starts words too
        ("لبنان", "لبنان"),
        ("الله", "الله"),  # too short once stripped
    ],
)
def test_stem_strips_only_article_chains(word: str, stem: str) -> None:
    assert tokenize(word)[0].stem == stem


def test_tokens_point_into_the_original_text() -> None:
    text = "قالَ الرئيسُ\u200f، وبِطهران 2018"
    tokens = tokenize(text)
    assert [t.norm for t in tokens] == ["قال", "الرئيس", "وبطهران", "2018"]
    assert all(text[t.start : t.end] == t.text for t in tokens)
    assert tokens[1].text == "الرئيسُ"  # the RLM after it is not part of the word


def test_breaks_mark_punctuation_between_tokens() -> None:
    text = "ترمب، غولياني \u200f و (بومبيو)"
    assert token_breaks(text, tokenize(text)) == [False, True, False, True]


def test_empty_and_hostile_text() -> None:
    assert tokenize("") == []
    assert tokenize("\u200f\u200e ـــ ،،") == []
    assert normalize("\x00\ufeff") == "\x00"
