"""Within-article coreference: short mentions join the full entity named in the same article.

News names a person in full once ("سيرغي سكريبال") and then by one part ("سكريبال"), and a
Saudi outlet calls its country "المملكة". Alone, such a mention is missed (the tagger has no
context for it) or becomes an entity of its own, so dashboards count "محمد" and "شيرين" beside
"شيرين عبد الوهاب". :func:`resolve` is a pure function over the extractor's output and the
article's fields:

1. every further occurrence of a found name, or of the last name of a found person of two or
   more words, becomes a mention of that entity ("name propagation"), unless two entities of
   the article claim that word (a first name is not propagated: on the labelled news dev split
   that found no more names and cost two points of PER precision);
2. a one-word person entity that is the first or last name of exactly one fuller person of the
   article joins it; so does a bare first name in the text;
3. "المملكة" alone joins the one kingdom the article names (Saudi Arabia, Morocco, Jordan,
   Bahrain, the United Kingdom); with none named, it is left alone;
4. a one-word person found only by the tagger that is a common first name and joined nobody is
   dropped: alone it names nobody a reader could look up (see FIRST_NAMES).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from operator import itemgetter

from rasad.core.article import Entity, Mention, TextField
from stream.enrich.normalize import clitic_variants, normalize, scan

__all__ = ["KINGDOMS", "canonical_words", "orig_offset", "resolve"]

# Gazetteer ids of the states news calls "the Kingdom" (المملكة).
KINGDOMS = ("loc.saudi_arabia", "loc.morocco", "loc.jordan", "loc.bahrain", "loc.uk")
_KINGDOM_WORD = normalize("المملكة")
# The lead of a wire story (its first paragraph) is ~2 sentences, 300-400 characters; feed
# bodies often have no paragraph breaks, so a character bound serves both (salience).
LEAD_CHARS = 400
# A last name shorter than this is too often a word of its own ("علي", "ماي" = May).
_MIN_PART = 4
# Words the press writes joined to the next one or apart (normalized; see the gazetteer).
_JOINABLE = ("عبد", "ابو")


# a character a mention covers, in the per-field maps of resolve()
_TAKEN = b"\x01"
# a word's last two letters, at C speed over a list (map)
_LAST_TWO = itemgetter(slice(-2, None))


@dataclass(slots=True)
class _Found:
    entity: Entity
    mentions: list[Mention]


def resolve(
    fields: Mapping[str, str], entities: Sequence[Entity], first_names: frozenset[str]
) -> list[Entity]:
    """The entities of one article with short mentions joined to their full entity (module
    docstring); ``first_names`` are normalized common first names. Most salient first."""
    found = [_Found(e, list(e.mentions)) for e in entities]
    _join_parts(found)
    _join_kingdom(found)
    found = [f for f in found if f.mentions]
    keys = _keys(found)
    # per field, one byte per character: 1 where a mention already covers it
    taken = {fname: bytearray(len(text)) for fname, text in fields.items()}
    for f in found:
        for m in f.mentions:
            taken[m.field][m.start : m.end] = _TAKEN * (m.end - m.start)
    for fname, text in fields.items():
        _propagate(fname, text, keys, taken[fname])  # type: ignore[arg-type]
    out = [
        _rebuilt(f)
        for f in found
        if not (
            f.entity.origin == "model"
            and f.entity.type == "PER"
            and len(f.mentions) == len(f.entity.mentions)
            and _is_bare_first(f, first_names)
        )
    ]
    rank = {e.id: i for i, e in enumerate(entities)}
    out.sort(key=lambda e: (-e.salience, rank[e.id]))
    return out


@lru_cache(maxsize=100_000)  # names recur across articles; bounded like the other caches
def _raw(text: str) -> tuple[str, ...]:
    return tuple(normalize(text).replace("_", " ").split())


def _words(text: str) -> tuple[str, ...]:
    return canonical_words(_raw(text))


def canonical_words(words: Sequence[str]) -> tuple[str, ...]:
    """Normalized words with "عبد"/"ابو" joined to the next word, as the press writes them
    either way ("عبد الوهاب" / "عبدالوهاب"): one spelling for comparing and for ids."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in _JOINABLE and i + 1 < len(words):
            out.append(words[i] + words[i + 1])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return tuple(out)


def _is_bare_first(f: _Found, first_names: frozenset[str]) -> bool:
    words = {_words(m.text) for m in f.mentions}
    return all(len(w) == 1 and w[0] in first_names for w in words)


def _join_parts(found: list[_Found]) -> None:
    """Step 2: a one-word person joins the one fuller person it is a part of (its mentions
    move there; it is left empty)."""
    people = [f for f in found if f.entity.type == "PER"]
    full = [(f, _ends(_raw(f.entity.name))) for f in people if len(_words(f.entity.name)) > 1]
    by_end: dict[str, list[int]] = {}  # an end word -> the full names it ends, in order
    for k, (_, ends) in enumerate(full):
        for word in ends:
            by_end.setdefault(word, []).append(k)
    for f in people:
        words = {_words(m.text) for m in f.mentions}
        if any(len(w) != 1 for w in words):
            continue
        parts = {w[0] for w in words}
        fewest = min((by_end.get(p, []) for p in parts), key=len, default=[])
        owners = [full[k][0] for k in fewest if full[k][0] is not f and parts <= full[k][1]]
        if len(owners) == 1:
            owners[0].mentions.extend(f.mentions)
            f.mentions = []


def _join_kingdom(found: list[_Found]) -> None:
    """Step 3 for an "المملكة" found as a place of its own (the tagger tags it in Saudi
    news): its mentions move to the one kingdom the article names."""
    kingdoms = [f for f in found if f.entity.id in KINGDOMS]
    if len(kingdoms) != 1:
        return
    for f in found:
        alone = all(_raw(m.text) == (_KINGDOM_WORD,) for m in f.mentions)
        if f.entity.type == "LOC" and f is not kingdoms[0] and alone:
            kingdoms[0].mentions.extend(f.mentions)
            f.mentions = []


def _ends(name: tuple[str, ...]) -> set[str]:
    """First and last word of a name, as written and with "عبد"/"ابو" joined."""
    joined = canonical_words(name)
    return {name[0], name[-1], joined[0], joined[-1]}


def _keys(found: list[_Found]) -> dict[tuple[str, ...], _Found]:
    """Step 1 and 3: the word sequences whose further occurrences join an entity."""
    keys: dict[tuple[str, ...], _Found] = {}
    ambiguous: set[tuple[str, ...]] = set()
    for f in found:
        raw = {_raw(m.text) for m in f.mentions} | {_raw(f.entity.name)}
        names = raw | {canonical_words(n) for n in raw}
        if f.entity.type == "PER":
            full = [n for n in names if len(n) > 1]
            names |= {(n[-1],) for n in full if len(n[-1]) >= _MIN_PART}
        for name in names:
            if name and name in keys and keys[name] is not f:
                ambiguous.add(name)
            keys.setdefault(name, f)
    kingdoms = [f for f in found if f.entity.id in KINGDOMS]
    if len(kingdoms) == 1:
        keys.setdefault((_KINGDOM_WORD,), kingdoms[0])
    for name in ambiguous:
        del keys[name]
    return keys


def _propagate(
    fname: TextField,
    text: str,
    keys: Mapping[tuple[str, ...], _Found],
    taken: bytearray,
) -> None:
    """Add a mention for each untaken occurrence of a key in ``text`` (longest key first),
    reading the first word past any proclitic ("وسكريبال")."""
    if not keys or not text:
        return
    surfaces, norms, starts, ends = scan(text)
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for key in sorted(keys, key=len, reverse=True):
        by_first.setdefault(key[0], []).append(key)
    # Every reading of a word past its proclitics ends as the word does: a word whose last two
    # letters end no key's first word starts no key (most words; one set look-up each).
    endings = {k[-2:] for k in by_first}
    after = -1  # a name found ends here: the next cannot start inside it
    for i in compress(range(len(norms)), map(endings.__contains__, map(_LAST_TWO, norms))):
        hit = None if i < after else _match_at(norms, i, by_first)
        if hit is None:
            continue
        key, strip = hit
        start, end = starts[i] + orig_offset(surfaces[i], strip), ends[i + len(key) - 1]
        after = i + len(key)
        if taken.find(_TAKEN, start, end) < 0:
            mention = Mention(field=fname, start=start, end=end, text=text[start:end])
            keys[key].mentions.append(mention)
            taken[start:end] = _TAKEN * (end - start)


def _match_at(
    norms: Sequence[str], i: int, by_first: Mapping[str, list[tuple[str, ...]]]
) -> tuple[tuple[str, ...], int] | None:
    """The longest key starting at word ``i`` under its least-stripped reading, and how many
    proclitic characters precede it."""
    for v in clitic_variants(norms[i]):
        for key in by_first.get(v, ()):
            if tuple(norms[i + 1 : i + len(key)]) == key[1:]:
                return key, len(norms[i]) - len(v) + (0 if norms[i].endswith(v) else 1)
    return None


def _rebuilt(f: _Found) -> Entity:
    if len(f.mentions) == len(f.entity.mentions):
        return f.entity
    mentions = sorted(
        f.mentions, key=lambda m: (("title", "summary", "body").index(m.field), m.start)
    )
    in_title = any(m.field == "title" for m in mentions)
    in_lead = any(
        m.field == "summary" or (m.field == "body" and m.start < LEAD_CHARS) for m in mentions
    )
    count = len(mentions)
    salience = 0.5 * in_title + 0.25 * in_lead + 0.25 * min(count, 5) / 5
    return f.entity.model_copy(
        update={
            "mentions": mentions,
            "count": count,
            "in_title": in_title,
            "salience": round(salience, 3),
        }
    )


def orig_offset(surface: str, nchars: int) -> int:
    """Index into ``surface`` after its first ``nchars`` normalized characters (diacritics and
    tatweel take no normalized room, so "وَطهران" with one stripped char starts at "طهران")."""
    if nchars <= 0:
        return 0
    count = 0
    for idx, ch in enumerate(surface):
        if count >= nchars and normalize(ch):
            return idx
        count += len(normalize(ch))
    return len(surface)
