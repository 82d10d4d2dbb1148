"""The features the learned topic model reads: one set per article, and where one of them first
occurs (so a model's contribution can be shown as evidence with offsets).

Features are strings with a one-letter prefix, all over normalized, article-stripped stems
(``normalize.scan`` then ``article_stem``: "والعقوبات" -> "عقوبات", "وزير" stays "وزير"):

* ``w:<stem>``  the stem occurs anywhere (title, summary or body);
* ``t:<stem>``  the stem occurs in the title (a headline states the subject);
* ``m:<stem>``  the stem occurs at least :data:`MANY` times (a subject is repeated, a passing
  mention is not);
* ``e:<entity id>``  an entity the pipeline extracted (``loc.iran``, ``org.un``);
* ``p:<tag>:<where>``  where the taxonomy rules' evidence for ``<tag>`` sits
  (:func:`evidence_positions`): ``title``, ``lead`` (summary, or the body's first
  :data:`LEAD_PARAGRAPHS` paragraphs within :data:`LEAD_CHARS` characters) or ``aside`` (neither:
  the signature of a passing mention, docs/annotation.md 2.1 "subject, not mention");
  ``terms2`` / ``terms3``: at least 2 / 3 distinct taxonomy terms or hooks of ``<tag>`` matched
  (a background clause names its topic one way, a developed part names it several).

Presence only: a feature is in the set or not, so inference is a sum of weights over the set.
Training (``stream/training/train_topics.py``) and inference (:mod:`.model`) call the same
function, so the two cannot drift apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import chain

from rasad.core.article import Entity, TextField
from stream.enrich.normalize import article_stem, scan
from stream.enrich.topics.credits import EvidenceRow
from stream.enrich.word_cache import per_word

__all__ = [
    "LEAD_CHARS",
    "LEAD_PARAGRAPHS",
    "MANY",
    "MIN_LETTERS",
    "FeatureRows",
    "Where",
    "article_features",
    "evidence_positions",
    "locate",
]

FIELDS: tuple[TextField, ...] = ("title", "summary", "body")
# A stem seen this often is more than a passing mention: a background clause names a topic once
# or twice, an article about it names it again and again.
MANY = 3
# Stems shorter than this carry no topic (a split-off digit or letter); training drops them.
MIN_LETTERS = 2

# The lead: what an article is about is stated in its first paragraphs (one sentence each at
# BBC, two or three at Sky News Arabia); a passing mention sits further down.
LEAD_PARAGRAPHS = 2
LEAD_CHARS = 400

Where = tuple[TextField, int, int]  # field and character offsets of a feature's first occurrence


def evidence_positions(
    fields: Mapping[str, str], raw: Mapping[str, tuple[float, Sequence[EvidenceRow]]]
) -> set[str]:
    """``p:<tag>:title|lead|aside`` for each tag with rule evidence (``raw``: the rules' raw
    score and evidence rows by tag): whether any of it is in the title, in the lead, or only
    further down the body. The model learns per tag how much each weighs: an article about
    sanctions names them in its title or lead, a war report gives them one clause below."""
    body = fields.get("body") or ""
    end = body.find("\n")
    for _ in range(LEAD_PARAGRAPHS - 1):
        if end >= 0:
            end = body.find("\n", end + 1)
    lead_end = min(LEAD_CHARS, len(body) if end < 0 else end)
    found: set[str] = set()
    for tag, (_, rows) in raw.items():
        title = any(row[3] == "title" for row in rows)
        lead = any(row[3] == "summary" or (row[3] == "body" and row[4] < lead_end) for row in rows)
        if title:
            found.add(f"p:{tag}:title")
        if lead:
            found.add(f"p:{tag}:lead")
        if not title and not lead:
            found.add(f"p:{tag}:aside")
        terms = len({row[2] for row in rows})
        if terms >= 2:
            found.add(f"p:{tag}:terms2")
            if terms >= 3:
                found.add(f"p:{tag}:terms3")
    return found


def article_features(fields: Mapping[str, str], entities: Sequence[Entity]) -> set[str]:
    """Every feature of an article. Built with ``map`` over C-level string methods: this runs
    on every article, and a Python loop per token cost more than all the rules. Features of
    one-letter stems (a split-off digit or letter) are made too, and never weigh anything: the
    model has none (training ignores them, see ``stream/training/train_topics.py``)."""
    found: set[str] = set()
    per_field = _fields_stems(fields)
    for name, stems in per_field:
        if name == "title":
            found.update(map("t:".__add__, stems))
    counts = Counter(chain.from_iterable(stems for _, stems in per_field))
    found.update(map("w:".__add__, counts))
    found.update(["m:" + s for s, n in counts.items() if n >= MANY])
    found.update(["e:" + e.id for e in entities if e.mentions])
    return found


class FeatureRows:
    """The rows a model gives to features, looked up the way :func:`article_features` makes
    them but without making them: a stem, a pair of stems or an entity id is looked up in one
    table per feature kind, so an article's ~1,000 feature strings are never built (they cost
    more than the model's sum). Same features, same rows: a test checks it on real articles."""

    def __init__(self, rows: Mapping[str, int]) -> None:
        kinds: dict[str, dict[str, int]] = {k: {} for k in ("w", "t", "m", "e")}
        for feature, row in rows.items():
            kind, _, value = feature.partition(":")
            if kind in kinds:
                kinds[kind][value] = row
        self.words, self.titles, self.many = kinds["w"], kinds["t"], kinds["m"]
        self.entities = kinds["e"]

    def of(self, fields: Mapping[str, str], entities: Sequence[Entity]) -> set[int]:
        """The rows of :func:`article_features`' features that the model has: each kind's
        known values are one C-level intersection with the model's table (most of an
        article's stems are not in it), as :meth:`.model.TopicModel.rows_of` does."""
        titles, words, many = self.titles, self.words, self.many
        found: set[int] = set()
        per_field = _fields_stems(fields)
        for name, stems in per_field:
            if name == "title":
                found.update(map(titles.__getitem__, titles.keys() & stems))
        counts = Counter(chain.from_iterable(stems for _, stems in per_field))
        found.update(map(words.__getitem__, words.keys() & counts.keys()))
        found.update([many[s] for s in many.keys() & counts.keys() if counts[s] >= MANY])
        found.update(
            [self.entities[e.id] for e in entities if e.mentions and e.id in self.entities]
        )
        return found


def _fields_stems(fields: Mapping[str, str]) -> list[tuple[TextField, list[str]]]:
    """The stems of each non-empty field, in :data:`FIELDS` order."""
    return [(name, field_stems(text)) for name in FIELDS if (text := fields.get(name) or "")]


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
    if kind not in ("w", "t", "m"):
        return None
    for name in ("title",) if kind == "t" else FIELDS:
        text = fields.get(name) or ""
        if not text:
            continue
        stems = field_stems(text)
        if value in stems:
            _, _, starts, ends = scan(text)
            i = stems.index(value)
            return name, starts[i], ends[i]
    return None


# text -> stems of the last fields seen (one article's title, summary and body): the features
# are built from them and evidence is located in them, once per field.
_RECENT: dict[str, list[str]] = {}
_RECENT_MAX = 4
_STEMS: dict[str, str] = {}
# Distinct token forms remembered with their stems: about a day of news (as the taggers' caches).
_STEMS_MAX = 200_000


def field_stems(text: str) -> list[str]:
    """The article stems of a field's tokens (``scan`` order); the same list for the same text
    while it is one of the last few seen. Callers must not modify it."""
    stems = _RECENT.get(text)
    if stems is None:
        if len(_RECENT) >= _RECENT_MAX:
            del _RECENT[next(iter(_RECENT))]
        stems = _RECENT[text] = per_word(_STEMS, scan(text)[1], article_stem, _STEMS_MAX)
    return stems
