"""The features the learned topic model reads: one set per article, and where one of them first
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

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import pairwise

from rasad.core.article import Entity, TextField
from stream.enrich.normalize import article_stem, scan

__all__ = ["MANY", "Where", "article_features", "locate"]

FIELDS: tuple[TextField, ...] = ("title", "summary", "body")
# A stem seen this often is more than a passing mention: a background clause names a topic once
# or twice, an article about it names it again and again.
MANY = 3
# Tokens shorter than this carry no topic (prepositions, "في", digits split from numbers).
_MIN_LETTERS = 2

Where = tuple[TextField, int, int]  # field and character offsets of a feature's first occurrence


def article_features(fields: Mapping[str, str], entities: Sequence[Entity]) -> set[str]:
    """Every feature of an article (built with set and list comprehensions: this runs on every
    article, and a Python loop doing several things per token cost more than all the rules)."""
    found: set[str] = set()
    every: list[str] = []
    for name in FIELDS:
        text = fields.get(name) or ""
        if not text:
            continue
        stems = _stems(scan(text)[1])
        every += (s for s in stems if len(s) >= _MIN_LETTERS)
        if name == "title":
            found.update(["t:" + s for s in stems if len(s) >= _MIN_LETTERS])
        found.update([f"b:{a} {b}" for a, b in pairwise(stems) if len(a) >= _MIN_LETTERS <= len(b)])
    found.update(["w:" + s for s in every])
    found.update(["m:" + s for s, n in Counter(every).items() if n >= MANY])
    found.update(["e:" + e.id for e in entities if e.mentions])
    return found


def locate(feature: str, fields: Mapping[str, str], entities: Sequence[Entity]) -> Where | None:
    """Where a feature of :func:`article_features` first occurs (None for one it does not
    make: ``h:`` and ``r:`` features are the rules' and carry their own evidence)."""
    kind, _, value = feature.partition(":")
    if kind == "e":
        for entity in entities:
            if entity.id == value and entity.mentions:
                m = entity.mentions[0]
                return m.field, m.start, m.end
        return None
    if kind not in ("w", "t", "m", "b"):
        return None
    wanted = value.split(" ")
    for name in ("title",) if kind == "t" else FIELDS:
        text = fields.get(name) or ""
        if not text:
            continue
        _, norms, starts, ends = scan(text)
        stems = _stems(norms)
        for i in range(len(stems) - len(wanted) + 1):
            if stems[i : i + len(wanted)] == wanted:
                return name, starts[i], ends[i + len(wanted) - 1]
    return None


_STEMS: dict[str, str] = {}
# Distinct token forms remembered with their stems: about a day of news (as the taggers' caches).
_STEMS_MAX = 200_000


def _stems(norms: list[str]) -> list[str]:
    """The article stems of normalized tokens, from the cache (misses filled first)."""
    cache = _STEMS
    new = set(norms).difference(cache)
    if new:
        if len(cache) + len(new) > _STEMS_MAX:
            cache.clear()
            new = set(norms)
        for norm in new:
            cache[norm] = article_stem(norm)
    return list(map(cache.__getitem__, norms))
