"""Named entities (PER, ORG, LOC) of an article: the spans of each field (:mod:`.spans`,
gazetteer first, then the CRF tagger) grouped per entity across title, summary and body.

Offsets point into the original field text, past any proclitic ("وبطهران" -> "طهران").
Non-gazetteer ids are derived from the normalized name, so the same name gets the same id in
every article.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache

from rasad.core.article import Entity, EntityType, Mention, TextField
from stream.enrich.entities.coref import LEAD_CHARS, canonical_words, orig_offset, resolve
from stream.enrich.entities.resources import first_names
from stream.enrich.entities.spans import Span, find_spans
from stream.enrich.normalize import clitic_variants

__all__ = ["EntityInputError", "Span", "extract_entities", "find_spans"]

FIELDS: tuple[TextField, ...] = ("title", "summary", "body")
_PREFIX: dict[EntityType, str] = {"PER": "per", "ORG": "org", "LOC": "loc"}
# Marks removed from a model entity's display name (diacritics, tatweel, bidi/zero-width).
_MARKS = {
    ord(c): None
    for c in [chr(x) for x in range(0x064B, 0x0660)]
    + ["\u0670", "\u0640", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\ufeff"]
}


class EntityInputError(ValueError):
    """Fields that are not a mapping of title/summary/body to strings."""


def extract_entities(fields: Mapping[str, str]) -> list[Entity]:
    """Entities of an article's ``title``/``summary``/``body`` (missing fields count as empty),
    most salient first."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise EntityInputError(f"unknown field(s) {sorted(unknown)}; expected {FIELDS}")
    found: list[tuple[TextField, str, list[Span]]] = []
    # A feed item without full text has its summary as body too (producers.parse): its names
    # are found once. find_spans is a function of the text alone.
    spans_of: dict[str, list[Span]] = {}
    for fname in FIELDS:
        text = fields.get(fname, "")
        if not isinstance(text, str):
            raise EntityInputError(f"field {fname!r} must be a string, not {type(text).__name__}")
        spans = spans_of.get(text)
        if spans is None:
            spans = spans_of[text] = find_spans(text)
        found.append((fname, text, spans))
    names = {span.tokens for _, _, spans in found for span in spans}
    groups: dict[str, _Group] = {}
    surnames: dict[str, list[str]] = {}  # last word -> keys of full names without an entry
    order: list[str] = []
    for fname, text, spans in found:
        for raw in spans:
            span = _unclitic(raw, text, names)
            key = _group_key(span, groups, surnames)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(span)
                order.append(key)
                if span.entry is None and span.type == "PER" and len(span.tokens) > 1:
                    surnames.setdefault(span.tokens[-1], []).append(key)
            in_lead = fname == "summary" or (fname == "body" and span.start < LEAD_CHARS)
            group.add(fname, span, text, in_lead)
    entities = [groups[k].entity(k) for k in order]
    return resolve(fields, entities, first_names())


class _Group:
    """Mentions of one entity across the fields of one article."""

    def __init__(self, span: Span) -> None:
        self.first = span
        self.mentions: list[Mention] = []
        self.surfaces: Counter[str] = Counter()
        self.in_title = False
        self.in_lead = False

    def add(self, fname: TextField, span: Span, text: str, in_lead: bool) -> None:
        surface = text[span.start : span.end]
        self.mentions.append(Mention(field=fname, start=span.start, end=span.end, text=surface))
        self.surfaces[" ".join(surface.translate(_MARKS).split())] += 1
        self.in_title |= fname == "title"
        self.in_lead |= in_lead

    def _fullest(self) -> str:
        """The name in the most words ("هاني شاكر", not the "شاكر" written more often), then
        the most often written."""
        return max(self.surfaces.items(), key=lambda kv: (len(kv[0].split()), kv[1]))[0]

    def entity(self, key: str) -> Entity:
        span, count = self.first, len(self.mentions)
        salience = 0.5 * self.in_title + 0.25 * self.in_lead + 0.25 * min(count, 5) / 5
        entry = span.entry
        return Entity(
            type=span.type,
            id=key,
            name=entry.name if entry else self._fullest(),
            name_en=entry.name_en if entry else None,
            count=count,
            salience=round(salience, 3),
            in_title=self.in_title,
            origin="gazetteer" if entry else "pattern" if span.origin == "pattern" else "model",
            mentions=self.mentions,
        )


def _group_key(span: Span, groups: Mapping[str, _Group], surnames: Mapping[str, list[str]]) -> str:
    if span.entry is not None:
        return span.entry.id
    key = _name_id(span.type, span.tokens)
    if key in groups or span.type != "PER" or len(span.tokens) != 1:
        return key
    # A lone surname after the full name ("صفوي" after "علي صفوي") is the same person.
    owners = surnames.get(span.tokens[0], [])
    return owners[0] if len(owners) == 1 else key


def _unclitic(span: Span, text: str, names: set[tuple[str, ...]]) -> Span:
    """A model span whose first token still carries a proclitic the tagger could not judge
    ("لإيران", "وأوروبا") loses it when the article names the entity without it elsewhere."""
    if span.origin != "model":
        return span
    head, rest = span.tokens[0], span.tokens[1:]
    for v in clitic_variants(head)[1:]:
        strip = len(head) - len(v) + (0 if head.endswith(v) else 1)
        # the article stays: "الأهلى" is not "أهلى" because the title writes "أهلى"
        if (v, *rest) in names and not head[: len(head) - len(v)].endswith("ال"):
            start = span.start + orig_offset(text[span.start : span.end], strip)
            return Span(span.type, start, span.end, span.origin, None, (v, *rest))
    return span


@lru_cache(maxsize=100_000)  # names recur across articles; bounded like the other caches
def _name_id(etype: EntityType, tokens: tuple[str, ...]) -> str:
    """A name's id without an entry: one for "عبد الوهاب" / "عبدالوهاب", in every article."""
    name = " ".join(canonical_words(tokens))
    return f"{_PREFIX[etype]}.x{hashlib.blake2b(name.encode(), digest_size=5).hexdigest()}"
