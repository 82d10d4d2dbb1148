"""Entity spans (PER, ORG, LOC) of one text, from three parts that each do what they are good
at, combined with a fixed precedence:

1. the curated gazetteer (``stream/data/gazetteer``), matched longest-first on normalized,
   clitic-stripped tokens: exact, with canonical names, English names and stable ids;
2. the CRF tagger (``stream/data/ner-crf.crfsuite``), which also sees gazetteer and trigger
   features, for the names the gazetteer lacks; a model span overlapping a gazetteer match loses;
3. trigger words (titles, head nouns) act through the tagger's features, where they generalize,
   rather than as hand rules, which misfire on descriptions ("حركة المعارضة الإيرانية").

Offsets point into the original text, past any proclitic ("وبطهران" -> "طهران").
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection
from dataclasses import dataclass

from rasad.core.article import EntityType
from stream.enrich.entities.coref import orig_offset
from stream.enrich.entities.events import names_an_event
from stream.enrich.entities.gazetteer import Gazetteer, GazetteerEntry, Match
from stream.enrich.entities.head_nouns import head_nouns_only
from stream.enrich.entities.joins import join_pieces
from stream.enrich.entities.patterns import shape_names
from stream.enrich.entities.place_words import may_name_place
from stream.enrich.entities.proclitics import model_strip
from stream.enrich.entities.resources import resources
from stream.enrich.entities.triggers import trigger_classes
from stream.enrich.normalize import clitic_variants, normalize, scan, scan_breaks

__all__ = ["Span", "find_spans"]


# Function words that never stand inside a name (normalized): prepositions, complementizers,
# relatives, demonstratives, negations, auxiliaries.
_PARTICLE_WORDS = (
    "في من إن أن عن مع قد لم لن ما التي الذي الذين هذا هذه كان كانت ثم أو حيث لقد إنه أنه"
)
_PARTICLES = frozenset(normalize(w) for w in _PARTICLE_WORDS.split())
# Currency words are never a name alone ("3 آلاف ريال"; "ريال مدريد" is two): annotation 1.5.
_CURRENCIES = frozenset(
    normalize(w) for w in ["ريال", "دولار", "جنيه", "يورو", "درهم", "دينار", "ليرة"]
)

# Type words before a media outlet's name stay outside it (docs/annotation.md 1.5).
_MEDIA_TYPES = frozenset(normalize(w) for w in ["صحيفة", "جريدة", "قناة", "موقع", "مجلة"])


@dataclass(frozen=True, slots=True)
class Span:
    """A name found in one text: ``start``/``end`` are char offsets into that text, past any
    proclitic; ``tokens`` are the normalized tokens of the name (proclitics stripped)."""

    type: EntityType
    start: int
    end: int
    origin: str  # "gazetteer" | "model" | "pattern"
    entry: GazetteerEntry | None
    tokens: tuple[str, ...]


def find_spans(text: str) -> list[Span]:
    """All entity spans of one text, in text order, non-overlapping (see :func:`_combine`)."""
    gaz, tagger = resources()
    clusters = tagger.cache.clusters
    surfaces, norms, starts, ends = scan(text)
    if not norms:
        return []
    breaks = scan_breaks(text)
    matches, labels = tagger.find(norms, breaks)
    spans: list[Span] = []
    model = [
        (i, _cut(norms, i, j), etype)
        for i, j, etype in _label_spans(labels, breaks)
        if not (j == i + 1 and _CURRENCIES.intersection(clitic_variants(norms[i])))
    ]
    combined = _combine(matches, model, norms, tagger.known)
    combined = join_pieces(text, norms, starts, ends, combined, _PARTICLES)
    combined = [c for c in combined if c[3] is not None or not head_nouns_only(norms, c[0], c[1])]
    pattern_strip: dict[int, int] = {}
    shape_strip: dict[int, int] = {}
    names = [(m.start, m.end, m.entry.type) for m in matches] + [c[:3] for c in combined]
    for i, j, strip, etype in shape_names(norms, breaks, names, may_name_place):
        inside = [c for c in combined if c[0] < j and c[1] > i]
        if all(i <= c[0] and c[1] <= j and (c[0], c[1]) != (i, j) for c in inside):
            # longest outermost span wins (docs/annotation.md 1.1): "منتخب مصر" over "مصر";
            # a group's head noun joins its name and keeps its identity ("جماعة حزب الله")
            same = inside[0][3] if [c[:3] for c in inside] == [(i + 1, j, etype)] else None
            combined = [c for c in combined if c not in inside] + [(i, j, etype, same)]
            pattern_strip[i] = strip
        elif any((c[0], c[1]) == (i, j) for c in inside):
            # the same name found by the tagger: the shape knows its proclitic ("ومنتخب")
            shape_strip[i] = strip
    # a person or place inside a league's or prize's name is none ("كأس الملك سلمان")
    combined = [
        c for c in combined if c[2] == "ORG" or not names_an_event(norms, breaks, c[0], c[2])
    ]
    match_strip = {m.start: m.strip for m in matches}  # matches never overlap: one per start
    for i, j, etype, entry in sorted(combined, key=lambda c: c[0]):
        known = pattern_strip.get(i, shape_strip.get(i))
        if known is None:
            known = match_strip.get(i)
        strip = known if known is not None else model_strip(norms[i], gaz.word_types, clusters)
        if etype == "ORG" and j > i + 1 and norms[i][strip:] in _MEDIA_TYPES:
            i, strip = i + 1, 0  # "قناة المسيرة" names the outlet "المسيرة"
        start = starts[i] + orig_offset(surfaces[i], strip)
        name = (norms[i][strip:], *norms[i + 1 : j])
        if entry is None:
            entry = _known_name(gaz, name, etype)
        origin = "gazetteer" if entry is not None else "pattern" if i in pattern_strip else "model"
        spans.append(Span(etype, start, ends[j - 1], origin, entry, name))
    return spans


def _combine(
    matches: list[Match],
    model: list[tuple[int, int, EntityType]],
    norms: list[str],
    known: Collection[tuple[str, ...]],
) -> list[tuple[int, int, EntityType, GazetteerEntry | None]]:
    """Merge gazetteer matches and model spans into non-overlapping (start, end, type, entry).

    The gazetteer is authoritative for identity and fills what the model misses; the model,
    which saw the gazetteer matches as features, is authoritative for type and boundaries in
    context: "ريال مدريد" is a club (ORG) although "مدريد" is a city, and in "الملك عبدالله
    الثاني" the title is not part of the name. On ANERcorp's test split this beats letting
    the gazetteer win outright by ~4 F1 points (bench/bench_ner.py).

    A gazetteer match the model left untagged is kept when the model's "O" is uninformed
    about it (:func:`_novel`): a name absent from its training text (2002 newswire), such as
    ترمب، الحوثيين، داعش، فيسبوك, the names of current news; or a name of several words, which
    no everyday phrase spells. A one-word name the training text holds is the model's call, as
    its annotators' was: "مسقط" in "مسقط رأسه" is a birthplace, not Muscat. Multi-word names
    stay because ANERcorp's annotators left some untagged that analysts look for ("البيت
    الأبيض", "صندوق النقد الدولي", "الجيش الإسرائيلي"): deferring to the model there scores
    ~0.9 F1 point more on ANERcorp's test split and loses ~6% of the gazetteer entities of
    2018 news, those among them (bench/bench_ner.py)."""
    out: list[tuple[int, int, EntityType, GazetteerEntry | None]] = []
    used: set[int] = set()
    crossed: set[int] = set()  # matches the model saw a name in, with other bounds
    # Matches are ordered and never overlap, so those overlapping [i, j) are one slice.
    starts = [m.start for m in matches]
    ends = [m.end for m in matches]
    for i, j, etype in model:
        # a match an earlier model span fell inside is spoken for: "حركة الجهاد الإسلامي" of
        # "حركة الجهاد الإسلامي في فلسطين" leaves "فلسطين" to its own span
        window = matches[bisect_right(ends, i) : bisect_left(starts, j)]
        over = [m for m in window if id(m) not in used]
        same = [m for m in over if m.entry.type == etype]
        longer = i <= over[0].start and over[-1].end <= j if over else True
        if longer and (not over or (i, j) != (over[0].start, over[-1].end)):
            out.append((i, j, etype, None))  # the model's span is longer: its own name
        elif len(same) == 1 and same[0].start <= i and j <= same[0].end:
            # Inside a known name of the same type: the gazetteer names it, the model bounds
            # the mention ("مكة" of "مكة المكرمة", "عبدالله الثاني" of "الملك عبدالله الثاني").
            out.append((i, j, etype, same[0].entry))
        elif len(over) == 1 == len(same) and over[0].start < i == _past_titles(over[0], norms):
            # The model bounds a titled name past its titles and beyond the gazetteer's form
            # ("الشيخ حمد بن خليفة" known, "حمد بن خليفة آل ثاني" written): same person.
            out.append((i, max(j, over[0].end), etype, over[0].entry))
        elif len(over) == 1 and (over[0].start, over[0].end) == (i, j):
            out.append((i, j, etype, None))  # same words, another type: the model read context
        else:
            crossed.update(id(m) for m in over)
            continue  # crossing spans: the gazetteer matches below decide
        used.update(id(m) for m in over)
    covered = {k for i, j, _, _ in out for k in range(i, j)}
    for m in matches:
        if id(m) in used or any(k in covered for k in range(m.start, m.end)):
            continue
        if id(m) in crossed or _novel(m, known):
            out.append((_past_titles(m, norms), m.end, m.entry.type, m.entry))
    out.sort()
    return out


def _known_name(gaz: Gazetteer, name: tuple[str, ...], etype: EntityType) -> GazetteerEntry | None:
    """The gazetteer entry a model span names word for word, if of the model's type: a longer
    match may have covered it ("فلسطين" inside "حركة الجهاد الإسلامي في فلسطين")."""
    entry_id = gaz.index.get(name)
    entry = gaz.entries[entry_id] if entry_id is not None else None
    return entry if entry is not None and entry.type == etype else None


def _novel(m: Match, known: Collection[tuple[str, ...]]) -> bool:
    """Whether the model's "O" is uninformed about a gazetteer name: a name of several words,
    or one absent from the tagger's training text."""
    return m.end - m.start > 1 or m.key not in known


def _label_spans(labels: list[str], breaks: list[bool]) -> list[tuple[int, int, EntityType]]:
    """(start, end, type) token spans of an IOB2 sequence; a stray I- opens a span, and so does
    an I- after punctuation: names do not span it ("دينغ ( دين )" is two names)."""
    out: list[tuple[int, int, EntityType]] = []
    start, kind = -1, ""
    for i, label in enumerate(labels):
        if label == "O":  # most tokens: close any open span, nothing to open
            if start >= 0:
                out.append((start, i, kind))  # type: ignore[arg-type]
                start = -1
            continue
        if start >= 0 and (label[0] == "B" or breaks[i] or label[2:] != kind):
            out.append((start, i, kind))  # type: ignore[arg-type]
            start = -1
        if start < 0:
            start, kind = i, label[2:]
    if start >= 0:
        out.append((start, len(labels), kind))  # type: ignore[arg-type]
    return out


def _past_titles(m: Match, norms: list[str]) -> int:
    """Start of a person's gazetteer name past its leading titles ("الشيخ حمد بن خليفة" is
    named "حمد بن خليفة"), as the tagger bounds names; a name that is all title ("العاهل
    الأردني") keeps them."""
    if m.entry.type != "PER":
        return m.start
    start = m.start
    while start + 1 < m.end and "ptitle" in trigger_classes(norms[start]):
        start += 1
    return start if start < m.end and "ptitle" not in trigger_classes(norms[start]) else m.start


def _cut(norms: list[str], i: int, j: int) -> int:
    """End of a model span ``[i, j)`` cut before its first particle: the tagger sometimes runs
    an organisation on over unknown words ("منظمة الصحة العالمية إن متحور أوميكرون"), and no
    name holds a bare particle (none of ANERcorp's train and dev names does)."""
    for k in range(i + 1, j):
        if norms[k] in _PARTICLES:
            return k
    return j
