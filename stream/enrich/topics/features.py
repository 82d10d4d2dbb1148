"""The features the learned topic model reads: one set per article, each with where it first
occurs (so a model's contribution can be shown as evidence with offsets).

Features are strings with a one-letter prefix, all over normalized, article-stripped stems
(``normalize.scan`` then ``article_stem``: "والعقوبات" -> "عقوبات", "وزير" stays "وزير"):

* ``w:<stem>``  the stem occurs anywhere (title, summary or body);
* ``t:<stem>``  the stem occurs in the title (a headline states the subject);
* ``m:<stem>``  the stem occurs at least :data:`MANY` times (a subject is repeated, a passing
  mention is not);
* ``b:<stem> <stem>``  two adjacent stems in one field (word bigrams: "حقوق انسان");
* ``e:<entity id>``  an entity the pipeline extracted (``loc.iran``, ``org.un``).

Presence only: a feature is in the set or not, so inference is a sum of weights over the set.
Training (``stream/training/train_topics.py``) and inference (:mod:`.model`) call the same
function, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rasad.core.article import Entity, TextField
from stream.enrich.normalize import article_stem, scan

__all__ = ["MANY", "Where", "article_features"]

FIELDS: tuple[TextField, ...] = ("title", "summary", "body")
# A stem seen this often is more than a passing mention: a background clause names a topic once
# or twice, an article about it names it again and again.
MANY = 3
# Tokens shorter than this carry no topic (prepositions, "في", digits split from numbers).
_MIN_LETTERS = 2

Where = tuple[TextField, int, int]  # field and character offsets of a feature's first occurrence


def article_features(fields: Mapping[str, str], entities: Sequence[Entity]) -> dict[str, Where]:
    """Every feature of an article, mapped to where it first occurs."""
    found: dict[str, Where] = {}
    counts: dict[str, int] = {}
    for name in FIELDS:
        text = fields.get(name) or ""
        if text:
            _field_features(name, text, found, counts)
    for stem, count in counts.items():
        if count >= MANY:
            found["m:" + stem] = found["w:" + stem]
    for entity in entities:
        if entity.mentions:
            m = entity.mentions[0]
            found.setdefault("e:" + entity.id, (m.field, m.start, m.end))
    return found


def _field_features(
    name: TextField, text: str, found: dict[str, Where], counts: dict[str, int]
) -> None:
    _, norms, starts, ends = scan(text)
    stems = list(map(_stem_of, norms))
    prev = ""
    prev_start = 0
    for stem, start, end in zip(stems, starts, ends, strict=True):
        if len(stem) < _MIN_LETTERS:
            prev = ""
            continue
        where = (name, start, end)
        key = "w:" + stem
        if key not in found:
            found[key] = where
        counts[stem] = counts.get(stem, 0) + 1
        if name == "title":
            found.setdefault("t:" + stem, where)
        if prev:
            found.setdefault(f"b:{prev} {stem}", (name, prev_start, end))
        prev, prev_start = stem, start


_STEMS: dict[str, str] = {}
# Distinct token forms remembered with their stems: about a day of news (as the taggers' caches).
_STEMS_MAX = 200_000


def _stem_of(norm: str) -> str:
    stem = _STEMS.get(norm)
    if stem is None:
        if len(_STEMS) >= _STEMS_MAX:
            _STEMS.clear()
        stem = _STEMS[norm] = article_stem(norm)
    return stem
