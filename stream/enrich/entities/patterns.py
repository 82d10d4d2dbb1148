"""Organisation names built from common words, found by their shape (docs/annotation.md 1.5).

News names most bodies without a proper name: "وزارة الخارجية", "مجلس الوزراء المصري",
"القيادة العامة", "المقاومة الشعبية", "الجيش الوطني", "المنتخب المصري", "منتخب الأرجنتين".
Neither the gazetteer (which cannot list every ministry of every state) nor a tagger trained
on 2002 newswire finds them reliably, yet their shape is fixed:

- a *construct head* (وزارة، مجلس، هيئة، مفوضية، وكالة، مديرية) + a definite noun
  + any definite nisba adjectives: "وزارة الخارجية الأميركية";
- a *definite head* (الجيش، المنتخب، المقاومة، القيادة، الحرس، النيابة) + one or more
  definite nisba adjectives: "الجيش الإسرائيلي", "القيادة العامة" (the guidelines: الجيش and
  المنتخب alone are common nouns, with a nisba they are names);
- a *nisba head* (لجنة، محكمة، مؤسسة، منظمة، مديرية) + a definite noun + at least one
  nisba: "مؤسسة النقد العربي السعودي", "مديرية الصناعات الدفاعية" ("لجنة التحكيم", a jury,
  has none);
- a *remit head* (اللجنة، المفوضية، الأمانة، الهيئة، الوكالة، المؤسسة، المجلس) + nisbas + its
  remit: "المفوضية العليا المستقلة للانتخابات", "الأمانة العامة لمجلس الأمن القومي"; a name
  after لل is the body's owner and stays outside ("اللجنة الثورية العليا للحوثيين"); without
  a remit or owner it is a description ("الوكالة الإيرانية");
- "منتخب" + a place: "منتخب مصر";
- a *group head* (حركة، جماعة، ميليشيا/ميليشيات) + an organisation found already: "جماعة
  حزب الله", "ميليشيات حزب الله" (the head directly before the name is inside, guidelines
  1.5); not "تنظيم", as often the verbal noun ("تنظيم الهيئة العامة للطيران", its regulation);
- and two place shapes: a facility head (استاد، ملعب، مطار، سجن، ميناء، قاعدة) + a name
  found already, or a royal title + a name ("استاد الملك فهد", where the tagger saw a person),
  + any nisbas: "استاد سان سيرو", "مطار دمشق الدولي", "استاد الملك فهد الدولي" are one LOC
  (guidelines 1.6), never a person, and so is a town head + a royal title ("مدينة الملك
  عبدالله الاقتصادية"); a town head (بلدة، قرية، مدينة) + a definite word that
  may name a place (place_words.py) nothing has found: "بلدة الطارمية" -> LOC "الطارمية" (the
  generic head outside, guidelines 1.3), unless a nisba follows ("مدينة الإنتاج الإعلامي").

A nisba here is a definite word ending in ي or ية. Function words never extend a pattern.

Two shapes were dropped once the tagger learned them from the labelled news: "وكالة" + an
organisation ("وكالة فرانس برس") and "البرلمان" alone. Without them the extractor's F1 on the
news train and dev splits is unchanged, and the false positives they made under ANERcorp's
conventions (which tag "فرانس برس" alone and leave "البرلمان" untagged) are gone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import compress
from operator import itemgetter

from rasad.core.article import EntityType
from stream.enrich.normalize import clitic_variants, normalize

__all__ = ["shape_names"]

_CONSTRUCT_HEADS = frozenset(normalize(w) for w in ["وزارة", "مجلس", "هيئة", "مفوضية", "وكالة"])
_DEFINITE_HEADS = frozenset(
    normalize(w) for w in ["الجيش", "المنتخب", "المقاومة", "القيادة", "الحرس", "النيابة"]
)
# Construct heads that name a body only with a nisba ("مؤسسة النقد العربي السعودي",
# "مديرية الصناعات الدفاعية"); without one they are common ("لجنة التحكيم", a jury).
_NISBA_HEADS = frozenset(normalize(w) for w in ["لجنة", "محكمة", "مؤسسة", "منظمة", "مديرية"])
# Definite heads that name a body only with nisbas and its remit ("المفوضية العليا المستقلة
# للانتخابات", "الأمانة العامة لمجلس الأمن القومي"); "الوكالة الإيرانية" alone is a description.
_REMIT_HEADS = frozenset(
    normalize(w)
    for w in ["اللجنة", "المفوضية", "الأمانة", "الهيئة", "الوكالة", "المؤسسة", "المجلس"]
)
_TEAM = frozenset((normalize("منتخب"),))
_GROUPS = frozenset(
    normalize(w) for w in ["حركة", "جماعة", "ميليشيا", "ميليشيات", "مليشيا", "مليشيات"]
)
_FACILITIES: frozenset[str] = frozenset(
    normalize(w) for w in ["استاد", "ملعب", "مطار", "سجن", "ميناء", "قاعدة"]
)
# Titles facilities are named after: "استاد الملك فهد", "مطار الملكة علياء".
_ROYAL_TITLES = frozenset(
    normalize(w) for w in ["الملك", "الملكة", "الأمير", "الأميرة", "السلطان", "الشيخ"]
)
_KIN = frozenset(normalize(w) for w in ["بن", "بنت"])
# Heads of a town's name, generic (outside the name): "بلدة الطارمية" names "الطارمية".
_TOWNS = frozenset(normalize(w) for w in ["بلدة", "قرية", "مدينة", "بلدات", "قرى"])
_ALL_HEADS = (
    _CONSTRUCT_HEADS
    | _NISBA_HEADS
    | _REMIT_HEADS
    | _DEFINITE_HEADS
    | _TEAM
    | _GROUPS
    | _FACILITIES
    | _TOWNS
)
_HEAD_ENDS = frozenset(h[-2:] for h in _ALL_HEADS)
_LAST_TWO = itemgetter(slice(-2, None))  # a word's last two letters
# Definite words ending in ي/ية that are not adjectives of a body ("الماضي" = last, "الحالي").
_NOT_NISBA = frozenset(
    normalize(w)
    for w in [
        "الماضي",
        "الماضية",
        "الحالي",
        "الحالية",
        "التالي",
        "التالية",
        "الثاني",
        "الثانية",
        "الذي",
        "التي",
        "الرسمي",
        "الرسمية",
    ]
)


@lru_cache(maxsize=200_000)  # one entry per distinct word, like the normalizer's caches
def _any_head(norm: str) -> bool:
    """Whether any reading of the word is a head word of some shape."""
    return not _ALL_HEADS.isdisjoint(clitic_variants(norm))


def _head(norm: str, heads: frozenset[str], definite: bool = False) -> int | None:
    """Proclitic characters before a head word ("بوزارة" -> 1), or None if not a head; a
    construct head (``definite`` false) must not carry the article ("الهيئة العامة")."""
    for v in clitic_variants(norm):
        if v in heads:
            strip = len(norm) - len(v) + (0 if norm.endswith(v) else 1)
            if definite or not norm[:strip].endswith(("ال", "لل")):
                return strip
    return None


# Adjectives that name bodies as a nisba does ("القيادة العامة", "المقاومة المشتركة").
_ADJECTIVES = frozenset(
    normalize(w) for w in ["العامة", "العليا", "المشتركة", "الموحدة", "المستقلة", "الدائمة"]
)


def _nisba(norm: str) -> bool:
    return norm in _ADJECTIVES or (
        norm.startswith("ال")
        and len(norm) > 4
        and (norm.endswith("ي") or norm.endswith("يه"))
        and norm not in _NOT_NISBA
    )


def _nisbas(norms: Sequence[str], breaks: Sequence[bool], k: int) -> int:
    """End of the run of nisba adjectives from ``k``."""
    while k < len(norms) and not breaks[k] and _nisba(norms[k]):
        k += 1
    return k


def shape_names(
    norms: Sequence[str],
    breaks: Sequence[bool],
    names: Sequence[tuple[int, int, str]],
    place_word: Callable[[str], bool],
) -> list[tuple[int, int, int, EntityType]]:
    """(start, end, proclitic chars of the first token, type) token spans of names by
    shape (module docstring), left to right, non-overlapping; ``names`` are the (start, end,
    type) names found already (gazetteer and tagger); ``place_word`` tells whether a word may
    name a town."""
    places = {i: j for i, j, t in names if t == "LOC"}
    orgs = {i: j for i, j, t in names if t == "ORG"}
    anything = {i: j for i, j, _ in names}
    out: list[tuple[int, int, int, EntityType]] = []
    after = 0  # a shape found ends here: the next cannot start inside it
    # few words are heads; every reading of a word ends as the word does (clitic_variants)
    ends = map(_HEAD_ENDS.__contains__, map(_LAST_TWO, norms))  # C-level: most words fail
    for i in [i for i in compress(range(len(norms)), ends) if _any_head(norms[i])]:
        if i < after:
            continue
        facility = _head(norms[i], _FACILITIES)
        if facility is None and i + 1 < len(norms) and norms[i + 1] in _ROYAL_TITLES:
            facility = _head(norms[i], _TOWNS)  # "مدينة الملك عبدالله الاقتصادية"
        if facility is not None:
            end = _facility_end(norms, breaks, i, anything)
            if end > i:
                out.append((i, end, facility, "LOC"))
                after = end
                continue
        town = _head(norms[i], _TOWNS) is not None
        if town and _town_name(norms, breaks, i + 1, place_word, names):
            out.append((i + 1, i + 2, 0, "LOC"))
            after = i + 2
            continue
        group = _head(norms[i], _GROUPS)
        if group is not None and i + 1 in orgs and not breaks[i + 1]:
            out.append((i, orgs[i + 1], group, "ORG"))
            after = orgs[i + 1]
            continue
        end, strip = _shape_at(norms, breaks, i, places, anything)
        if end > i:
            out.append((i, end, strip, "ORG"))
            after = end
    return out


def _facility_end(
    norms: Sequence[str], breaks: Sequence[bool], i: int, anything: dict[int, int]
) -> int:
    """End of a facility's name from its head at ``i`` (i when none): a name found after the
    head, or after a royal title (a one-word name and its "بن" chain when nothing found it),
    then any nisbas ("الدولي")."""
    k = i + 1
    while k < len(norms) and not breaks[k] and norms[k] in _ROYAL_TITLES:
        k += 1
    if k >= len(norms) or breaks[k]:
        return i
    if k in anything:
        end = anything[k]
    elif k > i + 1 and not norms[k].startswith("ال") and norms[k] not in _KIN:
        end = k + 1
        while end + 1 < len(norms) and norms[end] in _KIN and not breaks[end + 1]:
            end += 2
    else:
        return i
    return _nisbas(norms, breaks, end)


def _town_name(
    norms: Sequence[str],
    breaks: Sequence[bool],
    k: int,
    place_word: Callable[[str], bool],
    names: Sequence[tuple[int, int, str]],
) -> bool:
    """Whether token ``k``, after a town head, is a town's one-word name nothing found:
    definite, not a known non-name, no nisba after it (a facility: "مدينة الإنتاج
    الإعلامي"), and a word that may name a place."""
    if k >= len(norms) or breaks[k] or any(s <= k < e for s, e, _ in names):
        return False
    word = norms[k]
    if not word.startswith("ال") or len(word) <= 4 or word in _NOT_NISBA:
        return False
    if k + 1 < len(norms) and not breaks[k + 1] and _nisba(norms[k + 1]):
        return False
    return place_word(word)


def _shape_at(
    norms: Sequence[str],
    breaks: Sequence[bool],
    i: int,
    places: dict[int, int],
    anything: dict[int, int],
) -> tuple[int, int]:
    """(end, strip) of the shape starting at token ``i``; end == i when none does."""
    nxt = i + 1 < len(norms) and not breaks[i + 1]
    construct = _head(norms[i], _CONSTRUCT_HEADS)
    if construct is not None and nxt and norms[i + 1].startswith("ال"):
        return _nisbas(norms, breaks, i + 2), construct
    named = _head(norms[i], _NISBA_HEADS)
    if named is not None and nxt and norms[i + 1].startswith("ال"):
        end = _nisbas(norms, breaks, i + 2)
        if end > i + 2:
            return end, named
    remit = _head(norms[i], _REMIT_HEADS, definite=True)
    if remit is not None and nxt and _nisba(norms[i + 1]):
        remit_end = _remit(norms, breaks, _nisbas(norms, breaks, i + 1), anything)
        if remit_end is not None:
            return remit_end, remit
    definite = _head(norms[i], _DEFINITE_HEADS, definite=True)
    if definite is not None and nxt and _nisba(norms[i + 1]):
        return _nisbas(norms, breaks, i + 1), definite
    team = _head(norms[i], _TEAM)
    if team is not None and nxt and i + 1 in places:
        return places[i + 1], team
    return i, 0


def _remit(
    norms: Sequence[str], breaks: Sequence[bool], k: int, names: dict[int, int]
) -> int | None:
    """End of a body's name that runs on with its remit from ``k``: "للانتخابات", "لإدارة
    الكوارث", "لمجلس الأمن القومي" (ل + a definite noun, or ل + a noun + a definite noun),
    then any nisbas; ``k`` itself when the definite noun is a name found, the body's owner,
    which stays outside ("اللجنة الثورية العليا للحوثيين"); None when neither follows."""
    if k >= len(norms) or breaks[k] or not norms[k].startswith("ل") or len(norms[k]) < 4:
        return None
    if norms[k].startswith("لل"):
        return k if k in names else _nisbas(norms, breaks, k + 1)
    if k + 1 < len(norms) and not breaks[k + 1] and norms[k + 1].startswith("ال"):
        return _nisbas(norms, breaks, k + 2)
    return None
