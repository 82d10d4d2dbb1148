"""Topic tags: score an article against the taxonomy (``stream/data/taxonomy.yaml``).

Every term of every tag is compiled once into one dictionary keyed by the normalized stem of
its first word; tagging is a single pass over each field's tokens, looking up each token's
clitic readings ("وبالعقوبات" -> "بالعقوبات", "العقوبات", "عقوبات"). Per tag, the longest term
starting at a token wins and the words inside it do not count again.

A tag's evidence is the sum of its hits: a term's k-th hit counts ``repeat_decay**(k-1)`` of its
weight (title hits first, at ``title_weight``), proximity rules and entity hooks add theirs,
body and summary evidence is damped by ``sqrt(body_tokens / reference_tokens)`` for long
articles (a long article mentions more things in passing), and the total is squashed to
``1 - exp(-evidence / squash_scale)``. The tag is emitted when that score reaches its threshold,
its required groups are met and no excluding term occurs; its evidence lists the matched terms
and entity mentions with offsets into the original text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress

from rasad.core.article import Entity, Evidence, TextField, TopicTag
from stream.enrich.normalize import clitic_variants, scan
from stream.enrich.topics.credits import Credits, EvidenceRow
from stream.enrich.topics.taxonomy import Key, TagSpec, Taxonomy, default_taxonomy
from stream.enrich.word_cache import per_word

__all__ = ["EvidenceRow", "RawTag", "Tagger", "default_tagger", "tag_topics", "to_evidence"]

_FIELDS: tuple[TextField, ...] = ("title", "summary", "body")
# An emitted tag before it becomes a TopicTag: name, score, evidence rows in text order.
RawTag = tuple[str, float, list[EvidenceRow]]
# Evidence kept per tag: the strongest hits explain a tag; the 40th "إيران" adds nothing but
# bytes to every enriched message.
_MAX_EVIDENCE = 20
# A phrase never spans sentence or clause punctuation.
_BREAK = re.compile(r"[.,;:!?()\[\]{}\n\u060c\u061b\u061f]")
# How much of a summary is compared with the body's opening to call it a repeat of the lead;
# descriptions are cut mid-sentence by feeds, so a prefix is what can be compared.
_LEAD_CHARS = 120
# Distinct token forms remembered with their term candidates: about a day of news; the cache is
# dropped and rebuilt when full rather than tracking recency on every token.
_CACHE_SIZE = 200_000


@dataclass(slots=True)
class _Hit:
    term: int
    label: str  # the spelling that matched, normalized
    field: TextField
    first: int  # token index of the first word
    last: int  # token index of the last word
    start: int  # character offsets into the original field text
    end: int


@dataclass(slots=True)
class _Tag:
    """One tag compiled for scoring: term weights and labels by term index (auxiliary terms,
    added for proximity operands and excluding words, weigh 0), and rules as term-index sets."""

    name: str
    threshold: float
    weights: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    required: list[frozenset[int]] = field(default_factory=list)
    exclude: frozenset[int] = frozenset()
    near: list[tuple[frozenset[int], frozenset[int], int, float, str]] = field(default_factory=list)
    hooks: list[tuple[str, str, str | None, float]] = field(default_factory=list)


# first stem -> [(remaining stems, label, ((tag index, term index), ...))], longest phrase first
_Candidate = tuple[Key, str, tuple[tuple[int, int], ...]]
_Index = dict[str, list[_Candidate]]


class Tagger:
    """A taxonomy compiled for matching, once; only its token cache changes afterwards."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.scoring = taxonomy.scoring
        targets: dict[Key, list[tuple[int, int]]] = {}
        self.tags = [_compile(t, spec, targets) for t, spec in enumerate(taxonomy.tags)]
        index: _Index = {}
        for key, where in targets.items():
            index.setdefault(key[0], []).append((key[1:], " ".join(key), tuple(where)))
        for candidates in index.values():
            candidates.sort(key=lambda c: len(c[0]), reverse=True)
        self.index = index
        # normalized token -> candidates of all its clitic readings; most tokens have none
        self._candidates: dict[str, tuple[_Candidate, ...]] = {}
        # (tag, entity id, entity type) -> the tag's hook weight for the entity (0: none)
        self._hook_weights: dict[tuple[str, str, str], float] = {}

    def _candidates_of(self, norms: list[str]) -> list[tuple[_Candidate, ...]]:
        """The term candidates of each token (mostly none), from the token cache."""
        return per_word(self._candidates, norms, self._lookup, _CACHE_SIZE)

    def _lookup(self, norm: str) -> tuple[_Candidate, ...]:
        """The candidates of all of a token's clitic readings; most words start no term, which
        one C-level test tells instead of a lookup per reading."""
        variants = clitic_variants(norm)
        if self.index.keys().isdisjoint(variants):
            return ()
        return tuple(c for v in variants for c in self.index.get(v, ()))

    def tag(self, fields: Mapping[str, str], entities: Sequence[Entity]) -> list[TopicTag]:
        return [
            TopicTag(tag=name, score=score, evidence=to_evidence(rows))
            for name, score, rows in self.raw(fields, entities)
        ]

    def raw(self, fields: Mapping[str, str], entities: Sequence[Entity]) -> list[RawTag]:
        """The emitted tags as plain tuples (name, score, evidence rows): what :meth:`tag`
        returns before it becomes pydantic objects, for callers that decide again (the
        combined tagger scores every tag with any evidence and emits a few)."""
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown article field(s) {sorted(unknown)}; expected {_FIELDS}")
        hits: list[list[_Hit]] = [[] for _ in self.tags]
        body_tokens = 0
        read: set[TextField] = set()  # a summary repeating the lead is skipped, entities too
        for name in _FIELDS:
            text = fields.get(name) or ""
            if name == "summary" and _repeats_body(text, fields.get("body") or ""):
                continue
            read.add(name)
            if text:
                count = self._match(name, text, hits)
                if name == "body":
                    body_tokens = count
        damp = max(1.0, math.sqrt(body_tokens / self.scoring.reference_tokens))
        out: list[RawTag] = []
        for tag, tag_hits in zip(self.tags, hits, strict=True):
            if not tag_hits and not tag.hooks:
                continue
            result = self._score(tag, tag_hits, entities, damp, read)
            if result is not None:
                out.append((tag.name, *result))
        return out

    def _match(self, name: TextField, text: str, hits: list[list[_Hit]]) -> int:
        """Record every tag's term hits in one field; return the field's token count."""
        _, norms, starts, ends = scan(text)
        found = self._candidates_of(norms)
        covered = [0] * len(self.tags)  # per tag: first token not inside an earlier match
        n = len(norms)
        for i in compress(range(n), found):  # only the tokens with candidates
            following: tuple[str, ...] | None = None  # readings of the next token, if needed
            for rest, label, where in found[i]:
                if rest:
                    # Most phrases fail on their second word: test it before the full check.
                    if following is None:
                        following = clitic_variants(norms[i + 1]) if i + 1 < n else ()
                    if rest[0] not in following or not _rest_matches(
                        text, norms, starts, ends, i, rest
                    ):
                        continue
                last = i + len(rest)
                for t, term in where:
                    if covered[t] > i:
                        continue
                    covered[t] = last + 1
                    hits[t].append(_Hit(term, label, name, i, last, starts[i], ends[last]))
        return n

    def _score(
        self,
        tag: _Tag,
        hits: list[_Hit],
        entities: Sequence[Entity],
        damp: float,
        read: set[TextField],
    ) -> tuple[float, list[EvidenceRow]] | None:
        matched = {hit.term for hit in hits}
        if tag.exclude & matched or any(not group & matched for group in tag.required):
            return None
        scoring = self.scoring
        credits = Credits(scoring)
        # _match records hits field by field in token order, and at most one per tag and
        # token: they are already ordered by (field, first token).
        factor, decay, seen, evidence = (
            credits.factor,
            credits.decay,
            credits.seen,
            credits.evidence,
        )
        weights = tag.weights
        for hit in hits:
            weight = weights[hit.term]
            if weight:  # credits.credit(), inlined: most evidence is term hits
                k = seen.get(hit.term, 0)
                seen[hit.term] = k + 1
                w = weight * factor[hit.field] * decay**k
                if hit.field == "title":
                    credits.head += w
                else:
                    credits.rest += w
                if w > 0:
                    evidence.append((w, "term", hit.label, hit.field, hit.start, hit.end))
        _credit_near(tag, hits, credits)
        if tag.hooks:
            self._credit_hooks(tag, hits, entities, read, credits)
        total = credits.head + credits.rest / damp
        score = round(1.0 - math.exp(-max(total, 0.0) / scoring.squash_scale), 4)
        if score < tag.threshold or not evidence:
            return None
        strongest = sorted(evidence, key=lambda ev: -ev[0])[:_MAX_EVIDENCE]
        strongest.sort(key=lambda ev: (_FIELDS.index(ev[3]), ev[4]))
        return score, strongest

    def _credit_hooks(
        self,
        tag: _Tag,
        hits: list[_Hit],
        entities: Sequence[Entity],
        read: set[TextField],
        credits: Credits,
    ) -> None:
        """Entities the tag hooks on; a name the terms already counted ("إيران" is a term,
        loc.iran an entity) counts once."""
        spans = [(h.field, h.start, h.end) for h in hits if tag.weights[h.term]]
        weights_of = self._hook_weights
        if len(weights_of) >= _CACHE_SIZE:
            weights_of.clear()
        for entity in entities:
            key = (tag.name, entity.id, entity.type)
            hook = weights_of.get(key)
            if hook is None:
                hook = weights_of[key] = _hook_weight(tag.hooks, entity)
            if not hook:
                continue
            mentions = sorted(entity.mentions, key=lambda m: (_FIELDS.index(m.field), m.start))
            for m in mentions:
                if m.field in read and not any(
                    f == m.field and s < m.end and m.start < e for f, s, e in spans
                ):
                    credits.credit(entity.id, hook, "entity", entity.id, m.field, m.start, m.end)


def _credit_near(tag: _Tag, hits: list[_Hit], credits: Credits) -> None:
    """Proximity rules: a term of set ``a`` within ``within`` tokens of one of set ``b``."""
    for n, (a, b, within, weight, label) in enumerate(tag.near):
        partners = [other for other in hits if other.term in b]
        if not partners:  # no hit can be near one: skip the pairwise check
            continue
        for hit in hits:
            if hit.term in a and any(
                other.field == hit.field
                and other is not hit
                and min(abs(other.first - hit.last), abs(hit.first - other.last)) <= within
                for other in partners
            ):
                credits.credit(("near", n), weight, "term", label, hit.field, hit.start, hit.end)


def _compile(t: int, spec: TagSpec, targets: dict[Key, list[tuple[int, int]]]) -> _Tag:
    """Tag ``t``'s terms into ``targets`` (key -> (tag, term) pairs) and its rules into term-index
    sets. A proximity or excluding word that is not a term becomes an auxiliary term of weight
    0; a required word must be contained in a term (the loader checks it)."""
    tag = _Tag(spec.name, spec.threshold)
    keys_of: list[tuple[Key, ...]] = []

    def add(keys: tuple[Key, ...], weight: float, label: str) -> int:
        tag.weights.append(weight)
        tag.labels.append(label)
        keys_of.append(keys)
        for key in keys:
            targets.setdefault(key, []).append((t, len(tag.weights) - 1))
        return len(tag.weights) - 1

    for term in spec.terms:
        add(term.keys, term.weight, term.label)

    def containing(key: Key) -> frozenset[int]:
        return frozenset(
            i for i, keys in enumerate(keys_of) if any(_contains(k, key) for k in keys)
        )

    def word(key: Key) -> frozenset[int]:
        """The terms containing ``key``, and ``key`` itself (as an auxiliary term if no term
        is exactly it): "على" near "عقوبات" must match the bare preposition too."""
        exact = any(key in keys for keys in keys_of)
        found = containing(key)
        return found if exact else found | {add((key,), 0.0, " ".join(key))}

    tag.required = [frozenset().union(*map(containing, group)) for group in spec.required]
    tag.exclude = frozenset().union(*map(word, spec.exclude))
    for rule in spec.near:
        a = frozenset().union(*map(word, rule.a))
        b = frozenset().union(*map(word, rule.b))
        label = f"{' '.join(rule.a[0])} ~ {' '.join(rule.b[0])}"
        tag.near.append((a, b, rule.within, rule.weight, label))
    tag.hooks = [(h.kind, h.key, h.etype, h.weight) for h in spec.entities]
    return tag


def _rest_matches(
    text: str, norms: list[str], starts: list[int], ends: list[int], i: int, rest: Key
) -> bool:
    """Do the tokens after ``i`` read ``rest`` (as stems, clitics allowed), with no punctuation
    between them?"""
    if i + len(rest) >= len(norms):
        return False
    for k, expected in enumerate(rest, start=i + 1):
        if expected not in clitic_variants(norms[k]):
            return False
        if _BREAK.search(text, ends[k - 1], starts[k]):
            return False
    return True


def _repeats_body(summary: str, body: str) -> bool:
    """A feed description that is the body's lead (or the whole body, for summary-only items)
    would count the same evidence twice."""
    head = summary.strip()[:_LEAD_CHARS]
    return bool(head) and head in body[: len(head) + _LEAD_CHARS]


def _hook_weight(hooks: list[tuple[str, str, str | None, float]], entity: Entity) -> float:
    """The strongest hook that applies to ``entity`` (0 if none): an exact id, an id prefix,
    or the entity's type and its gazetteer country."""
    best = 0.0
    for kind, key, etype, weight in hooks:
        if kind == "id":
            hit = entity.id == key
        elif kind == "prefix":
            hit = entity.id.startswith(key)
        else:
            hit = (etype is None or etype == entity.type) and _country(entity.id) == key
        if hit and abs(weight) > abs(best):
            best = weight
    return best


@lru_cache(maxsize=20_000)  # one entry per distinct entity id seen; bounded memory
def _country(entity_id: str) -> str | None:
    from stream.enrich.entities.gazetteer import default_gazetteer  # loaded only if a hook needs it

    entry = default_gazetteer().entries.get(entity_id)
    return entry.country if entry is not None else None


def _contains(haystack: Key, needle: Key) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def to_evidence(rows: Sequence[EvidenceRow]) -> list[Evidence]:
    return [
        Evidence(kind=kind, value=value, field=f, start=s, end=e, weight=round(w, 3))
        for w, kind, value, f, s, e in rows
    ]


@lru_cache(maxsize=1)
def default_tagger() -> Tagger:
    """The shipped taxonomy, compiled once per process."""
    return Tagger(default_taxonomy())


def tag_topics(fields: Mapping[str, str], entities: Sequence[Entity]) -> list[TopicTag]:
    """Topic tags of the taxonomy rules alone (the pipeline combines them with the learned
    model: :mod:`stream.enrich.topics.combined`); ``fields`` maps "title", "summary", "body"."""
    return default_tagger().tag(fields, entities)
