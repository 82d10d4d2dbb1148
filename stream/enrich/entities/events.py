"""Names inside the name of a competition, prize or festival are none (docs/annotation.md 1.6).

Leagues, cups, tournaments, prizes and festivals are not annotated (MISC), and nothing inside
them is: "دوري الأمير محمد بن سلمان للمحترفين" names a league, not the crown prince; "كأس
الملك سلمان", "جائزة زايد للكتاب", "بطولة أوروبا", "كأس آسيا", "جائزة أبوظبي الكبرى" name no
person and no place. A person or place found right after such a head noun (past royal titles)
is dropped; organisations are kept ("كأس الاتحاد" is rarer and often the federation itself).
"بطولة" before a person without a title is "starring" ("من بطولة هيا عبدالسلام"): kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from stream.enrich.normalize import clitic_variants, normalize

__all__ = ["names_an_event"]

_EVENT_HEADS = frozenset(
    normalize(w)
    for w in ["كأس", "بطولة", "جائزة", "دوري", "مهرجان", "سباق", "ماراثون", "مسابقة", "أولمبياد"]
)
# Titles between the head and a person the event is named after ("كأس الملك سلمان").
_TITLES = frozenset(
    normalize(w) for w in ["الملك", "الملكة", "الأمير", "الأميرة", "الشيخ", "السلطان"]
)


_STARRING = normalize("بطولة")


def names_an_event(norms: Sequence[str], breaks: Sequence[bool], start: int, etype: str) -> bool:
    """Whether the name of type ``etype`` starting at token ``start`` follows an event's head
    noun (in the construct state, past any proclitic: "بجائزة", not "الجائزة"), past royal
    titles."""
    k = start - 1
    while k >= 0 and not breaks[k + 1] and norms[k] in _TITLES:
        k -= 1
    if k < 0 or breaks[k + 1]:
        return False
    word = norms[k]
    for v in clitic_variants(word):
        if v in _EVENT_HEADS:
            if v == _STARRING and etype == "PER" and k == start - 1:
                return False
            return not word[: len(word) - len(v)].endswith(("ال", "لل"))
    return False
