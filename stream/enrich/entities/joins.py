"""Names the tokenizer cuts into pieces, joined back into one span (docs/annotation.md 1.1).

The tokenizer splits at every dot and underscore, and punctuation between tokens is a break to
the tagger, so it tags the pieces of one name as names of their own:

- Latin initials spelled out in Arabic letters, with dots or spaces: "زد.تي.إي", "بي.بي.سي",
  "إي.إس.بي.إن", "بي إن", "آي بي إم" came out as one entity per letter ("بي" alone was the
  commonest false positive on the labelled news);
- names glued by a dot or an underscore with no space: "العربية.نت", a hashtag
  "#الاتحاد_الأوروبي" or "#ندين_نسيب_نجيم" came out as two or three names.

And a lone proclitic written apart before a quoted name ("و"أوبر"", "لـ"العربية.نت"") was
sometimes tagged as a name by itself: a letter, or a function word, alone is never a name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from rasad.core.article import EntityType
from stream.enrich.normalize import normalize

__all__ = ["join_pieces"]

E = TypeVar("E")
Piece = tuple[int, int, EntityType, E | None]

# Arabic spellings of Latin letter names, as news writes initials ("بي إن" = beIN, "آي بي إم" =
# IBM). "في" (V) and "أو" (O) are left out: they are the everyday "in" and "or".
_LETTER_NAMES = (
    "أيه إيه إي آي بي سي دي إف جي جيه إتش اتش جاي كيه كاي إل إم إن كيو آر إس تي يو دبليو إكس "
    "واي زد زي"
)
_LETTERS = frozenset(normalize(w) for w in _LETTER_NAMES.split())
_OPEN = ('"', "«", "“")
_CLOSE = ('"', "»", "”")
# Words a quoted name of initials may run on by ("بي إن سبورتس", "بي إن بي باريبا").
_QUOTED_WORDS = 3
# Gaps that glue the pieces of one name: nothing but a dot or an underscore. Not a hyphen:
# "قمة ترمب-كيم", "روسيا-أوكرانيا" are two names.
_GLUE = frozenset((".", "_"))
# Gaps inside a run of initials: the glue, or one space ("بي إن", "بي.بي.سي", "أيه.إم.سي").
_INITIALS_GAPS = _GLUE | frozenset((" ",))


def join_pieces(
    text: str,
    norms: Sequence[str],
    starts: Sequence[int],
    ends: Sequence[int],
    spans: list[Piece[E]],
    alone: frozenset[str],
) -> list[Piece[E]]:
    """``spans`` (start, end, type, entry) token spans, sorted and non-overlapping, with the
    pieces of one name joined into one span (module docstring) and one-token spans dropped
    that are a single letter or one of ``alone`` (function words). A joined span keeps the
    type of its first piece and no entry: the caller looks the whole name up again."""

    def gap(k: int) -> str:  # the text between token k-1 and token k
        return text[ends[k - 1] : starts[k]]

    kept = [
        s
        for s in spans
        if not (s[1] == s[0] + 1 and (len(norms[s[0]]) < 2 or norms[s[0]] in alone))
    ]
    letters = not _LETTERS.isdisjoint(norms)  # one C-level pass: most texts have no initials
    out: list[Piece[E]] = []
    for s in kept:
        i, j, etype, entry = s
        if letters and any(norms[k] in _LETTERS for k in range(i, j)):
            lo, hi = _initials(norms, gap, i, j)
            if (lo, hi) != (i, j) or _letters_run(norms, gap, i, j):
                i, j, entry = lo, _to_quote(text, starts, ends, lo, hi), None
        prev = out[-1] if out else None
        if prev is not None and (
            prev[1] > i or (prev[1] == i and prev[2] == etype and gap(i) in _GLUE)
        ):
            out[-1] = (prev[0], max(prev[1], j), prev[2], None)
        else:
            out.append((i, j, etype, entry))
    return out


def _to_quote(text: str, starts: Sequence[int], ends: Sequence[int], i: int, j: int) -> int:
    """End of a name of initials that opens a quotation, run on to the closing quote ("بي إن
    سبورتس" in quotes) over a few words and spaces only; ``j`` when it is not quoted."""
    if not text[max(0, starts[i] - 2) : starts[i]].rstrip(" ").endswith(_OPEN):
        return j
    for m in range(j, min(j + _QUOTED_WORDS, len(starts)) + 1):
        if text.startswith(_CLOSE, ends[m - 1]):
            return m
        if m < len(starts) and text[ends[m - 1] : starts[m]] != " ":
            break
    return j


def _joined(norms: Sequence[str], gap: Callable[[int], str], k: int) -> bool:
    """Whether tokens k-1 and k are two letters of one run of initials."""
    return norms[k - 1] in _LETTERS and norms[k] in _LETTERS and gap(k) in _INITIALS_GAPS


def _initials(norms: Sequence[str], gap: Callable[[int], str], i: int, j: int) -> tuple[int, int]:
    """Span ``[i, j)`` widened over the runs of initials at its two ends ("بي" of "بي.بي.سي")."""
    while i > 0 and _joined(norms, gap, i):
        i -= 1
    while j < len(norms) and _joined(norms, gap, j):
        j += 1
    return i, j


def _letters_run(norms: Sequence[str], gap: Callable[[int], str], i: int, j: int) -> bool:
    """Whether the span holds two letters of one run of initials ("بي إن" found whole)."""
    return any(_joined(norms, gap, k) for k in range(i + 1, j))
