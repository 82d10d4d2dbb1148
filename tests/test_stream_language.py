"""Language and script identification: Arabic vs the languages Arabic news sits beside.

Non-Arabic samples are Article 1 of the Universal Declaration of Human Rights in each language
(the UN's official translations): real text, short like a feed item.
"""

from __future__ import annotations

import pytest

from stream.enrich.language import identify_language
from tests.stream_fixtures import SEED, corpus_row

UDHR = {
    "fa": "تمام افراد بشر آزاد به دنیا می‌آیند و از لحاظ حیثیت و حقوق با هم برابرند. "
    "همه دارای عقل و وجدان هستند و باید نسبت به یکدیگر با روح برادری رفتار کنند.",
    "ur": "تمام انسان آزاد اور حقوق و عزت کے اعتبار سے برابر پیدا ہوئے ہیں۔ انہیں ضمیر اور عقل "
    "ودیعت ہوئی ہے۔ اس لئے انہیں ایک دوسرے کے ساتھ بھائی چارے کا سلوک کرنا چاہئے۔",
    "en": "All human beings are born free and equal in dignity and rights. They are endowed "
    "with reason and conscience and should act towards one another in a spirit of brotherhood.",
    "fr": "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont "
    "doués de raison et de conscience et doivent agir les uns envers les autres dans un esprit "
    "de fraternité.",
}


def test_the_seed_article_is_arabic() -> None:
    title, _, body = SEED.read_text(encoding="utf-8").partition("\n")
    lang = identify_language({"title": title, "body": body})
    assert (lang.code, lang.script) == ("ar", "Arabic")
    assert lang.confidence > 0.9


@pytest.mark.parametrize(
    "corpus_id",
    ["AL-culture-1-20180218", "BB-technology-84-20180316", "CN-middleEast-864-20180510"],
)
def test_corpus_articles_of_every_outlet_are_arabic(corpus_id: str) -> None:
    row = corpus_row(corpus_id)
    lang = identify_language({"title": row["title"], "body": row["text"]})
    assert lang.code == "ar"


def test_an_arabic_title_alone_is_arabic() -> None:
    lang = identify_language({"title": "قمة لآلاف المعارضين للنظام الإيراني ودعوة للتغيير"})
    assert (lang.code, lang.script) == ("ar", "Arabic")


@pytest.mark.parametrize("code", ["fa", "ur"])
def test_persian_and_urdu_are_told_from_arabic(code: str) -> None:
    lang = identify_language({"body": UDHR[code]})
    assert (lang.code, lang.script) == (code, "Arabic")


@pytest.mark.parametrize("code", ["en", "fr"])
def test_latin_script_languages(code: str) -> None:
    lang = identify_language({"body": UDHR[code]})
    assert (lang.code, lang.script) == (code, "Latin")


def test_an_unprofiled_language_is_undetermined_with_its_script() -> None:
    lang = identify_language({"title": "Все люди рождаются свободными и равными"})
    assert (lang.code, lang.script) == ("und", "Cyrillic")


def test_text_without_letters_is_undetermined() -> None:
    lang = identify_language({"title": "2018 - 12:30", "body": ""})
    assert (lang.code, lang.script, lang.confidence) == ("und", "Unknown", 0.0)
