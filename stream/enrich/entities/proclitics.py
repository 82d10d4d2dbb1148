"""How many proclitic letters a name the tagger found starts with: "وبطهران" names "طهران",
"للمقاومة" names "المقاومة", but "فادي", "كلاي" and "بالميراس" are names whole.

The tagger labels whitespace tokens, so the proclitic of a name's first token is decided here,
from two lexicons: the gazetteer's name words and the words of 2018 news that the word
clusters hold (``stream/data/word-clusters.tsv``: words seen often enough to cluster). A token
the news knows as it is written ("فادي", "كايل") keeps a letter that would leave a short
homonym ("ادي", a place; "ايل"); an unknown token that is و + a word the news knows
("وجولن", "وديمار") loses the و.
"""

from __future__ import annotations

from collections.abc import Container

from stream.enrich.normalize import clitic_variants

__all__ = ["model_strip"]

# A stripped reading this short is often a homonym of another name ("ادي", "لاي").
_SHORT = 3


def model_strip(norm: str, name_words: Container[str], news_words: Container[str]) -> int:
    """Proclitic characters to drop from the first token of a model span: down to the article
    when the token carries one (للمقاومه -> المقاومه, بالعراق -> العراق) unless the token is a
    word of the news whose article reading is not (بالميراس); otherwise when the token is not
    itself a name word but its stripped reading is (لبوتين -> بوتين, while وليد and فلاديمير
    stay whole, and فادي too: a word of the news whose reading "ادي" is short, unless the
    letter is the conjunction و: وعلي -> علي); or when the
    token starts with و, is no word of the news and its reading is (وجولن -> جولن)."""
    variants = clitic_variants(norm)
    known = norm in news_words
    if not norm.startswith("ال"):
        for v in variants[1:]:
            if v.startswith("ال") and len(v) > 3:
                if known and v not in news_words and v not in name_words:
                    break
                return _cut(norm, v)
    if norm in name_words:
        return 0
    for v in variants[1:]:
        cut = len(norm) - len(v)
        # the article is part of the name ("الصندوق", never "صندوق"), and two letters left
        # are rarely a name ("كود" is not ك + "ود")
        if v in name_words and len(v) > 2 and not norm[:cut].endswith("ال"):
            if known and len(v) <= _SHORT and not norm.startswith("و"):
                return 0  # "فادي", "كايل"; the conjunction stays a clitic: "وعلي"
            return cut
    if norm.startswith("و") and not known:
        for v in variants[1:]:
            if len(v) >= _SHORT and v in news_words and not v.startswith("ال"):
                return _cut(norm, v)
    return 0


def _cut(norm: str, reading: str) -> int:
    """Characters before ``reading`` in ``norm`` (the ل + ال contraction restores an alef)."""
    return len(norm) - len(reading) + (0 if norm.endswith(reading) else 1)
