"""Head nouns that are never a name alone (docs/annotation.md 1.5).

The indefinite head nouns of names ("دار", "منظمة", "قناة") are tagged alone by the tagger
when a quote or a bracket cuts them from the name: دار "سوذبيز", منظمة "هيومن رايتس ووتش",
قناة "المسيرة". A name found by the tagger that is only such words is none; glued to its
name by "_" or "." a head noun has joined it already (joins.py) and stays.
"""

from __future__ import annotations

from collections.abc import Sequence

from stream.enrich.normalize import clitic_variants, normalize

__all__ = ["head_nouns_only"]

_WORDS = (
    "دار منظمة وزارة مجلس هيئة لجنة شركة مؤسسة وكالة حركة جماعة تنظيم حزب جبهة صحيفة جريدة"
    " قناة مجلة موقع مجموعة بنك مصرف جامعة محكمة نادي منتخب ميليشيا ميليشيات فصيل تحالف"
    " ائتلاف اتحاد رابطة جمعية مركز معهد مستشفى مطار ملعب استاد سجن ميناء"
)
_HEAD_NOUNS = frozenset(normalize(w) for w in _WORDS.split())


def head_nouns_only(norms: Sequence[str], start: int, end: int) -> bool:
    """Whether tokens ``[start, end)`` are all indefinite head nouns past any proclitic
    ("ودار", "تنظيم دار"; not the club "الاتحاد", which carries the article)."""
    return all(
        any(
            v in _HEAD_NOUNS and not w[: len(w) - len(v)].endswith(("ال", "لل"))
            for v in clitic_variants(w)
        )
        for w in norms[start:end]
    )
