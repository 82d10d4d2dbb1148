"""Arabic normalization and clitic-aware tokenization for matching (never for display).

``normalize`` folds the spelling variation Arabic news text carries into one matching form, so a
gazetteer alias, a taxonomy term or a search query written one way matches text written another:

* diacritics (harakat, shadda, sukun, superscript alef, Quranic marks) and tatweel are removed;
* alef variants أ إ آ ٱ ٲ ٳ become ا; alef maqsura ى becomes ي (Egyptian outlets write final ي
  as ى and vice versa, so both directions must land on one letter);
* taa marbuta ة becomes ه (outlets and transliterated names drop its dots as often as not);
* Persian/Urdu letters fold to the Arabic letters Arabic media use for them: ک→ك, ی ې ے→ي,
  ۀ ە ھ ہ→ه, پ→ب, چ→ج, ژ→ز, ڤ→ف, and گ→ك (Gulf/Levantine outlets write the Persian "g" as ك
  or ج; ك is what the Persian keyboard's own fallback gives, so گلپایگانی matches كلبايكاني);
* Arabic-Indic and Persian digits become ASCII, ٫ ٬ ٪ become . , %;
* zero-width and bidi controls (ZWNJ, ZWJ, LRM, RLM, ALM, embeddings, isolates, BOM, soft
  hyphen) are removed and exotic spaces become one ASCII space;
* punctuation is unified: ، ؛ ؟ to , ; ?; every quotation mark to "; dashes to -;
* Latin letters are lowercased; Arabic presentation forms are decomposed first (NFKC).

The hamza seats ؤ ئ ء are kept: folding them merges unrelated words and no name depends on it.
The function is idempotent: ``normalize(normalize(x)) == normalize(x)``.

``tokenize`` returns word tokens with offsets into the ORIGINAL text, their normalized form and
a conservative stem; ``clitic_variants`` lists the readings of a token with its proclitics
(و ف, ب ل ك, the article ال and their combinations وبال لل فال …) stripped, for dictionary
lookups that decide which reading is a known word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, compress
from typing import cast

from entities_native import clitic_variants as native_clitic_variants

__all__ = [
    "Token",
    "article_stem",
    "clitic_variants",
    "gaps_break",
    "has_presentation_forms",
    "normalize",
    "scan",
    "scan_breaks",
    "token_breaks",
    "tokenize",
]

_DELETE = (
    # harakat, shadda, sukun, maddah/hamza marks above/below, subscript alef …
    [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670", "\u0640"]  # superscript alef, tatweel
    + [chr(c) for c in range(0x0610, 0x061B)]  # honorific signs above letters
    + [chr(c) for c in range(0x06D6, 0x06EE) if c not in (0x06E5, 0x06E6)]  # Quranic marks
    + ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\ufeff", "\u00ad"]
    + [chr(c) for c in range(0x202A, 0x202F)]  # bidi embeddings and overrides
    + [chr(c) for c in range(0x2066, 0x206A)]  # bidi isolates
)

_MAP = {
    **dict.fromkeys("أإآٱٲٳ", "ا"),
    "ى": "ي",
    "ة": "ه",
    "ک": "ك",
    "گ": "ك",
    **dict.fromkeys("یېےۍ", "ي"),
    **dict.fromkeys("ۀەھہۂ", "ه"),
    "ۃ": "ه",
    "پ": "ب",
    "چ": "ج",
    "ژ": "ز",
    "ڤ": "ف",
    "ڨ": "ق",
    **{chr(0x0660 + d): str(d) for d in range(10)},
    **{chr(0x06F0 + d): str(d) for d in range(10)},
    "٫": ".",
    "٬": ",",
    "٪": "%",
    "،": ",",
    "؛": ";",
    "؟": "?",
    "۔": ".",
    **dict.fromkeys("«»“”„‟″〝〞＂", '"'),
    **dict.fromkeys("‘’‚‛′`´", "'"),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    **dict.fromkeys(
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
        "\u200a\u202f\u205f\u3000",
        " ",
    ),
}

_TABLE: dict[int, str | None] = {ord(ch): None for ch in _DELETE}
_TABLE.update({ord(k): v for k, v in _MAP.items()})

# Presentation forms (U+FB50-FDFF, U+FE70-FEFF) only appear in text pasted from old PDFs; NFKC
# is slow, so it runs only when one is present.
_PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]")

# A word: letters/digits plus the marks normalization deletes, so "مُحَمَّد" or "ـطهران" stays
# one token and the deleted marks never split a word. Bidi marks (RLM …) are NOT word characters:
# ANERcorp and real feeds glue an RLM to a word's end and it must not become part of the token.
_WORD = re.compile(
    r"[^\W_]"
    r"(?:[^\W_]|[\u0610-\u061a\u064b-\u065f\u0670\u0640\u06d6-\u06ed\u200c\u200d])*"
)
_WORD_SPLIT = re.compile(f"({_WORD.pattern})")
# The same words in a text without "_", where "\\w" is "[^\\W_]": one character class per
# character instead of an alternation, ~1.6x faster. ("_" is a word character to the regex
# engine but never part of a word here: "#عاصي_الحلاني" is two words.)
_WORD_SPLIT_NO_UNDERSCORE = re.compile(
    r"([^\W_][\w\u0610-\u061a\u064b-\u065f\u0670\u0640\u06d6-\u06ed\u200c\u200d]*)"
)

# Proclitics of article_stem (clitic_variants strips the same ones, in clitics.rs).
_CONJ = ("و", "ف")
_PREP = ("ب", "ل", "ك")
# The article is stripped for ``Token.stem`` only when three letters remain ("الله" stays).
_MIN_STEM = 3


def normalize(text: str) -> str:
    """The matching form of ``text`` (see the module docstring); idempotent."""
    if _PRESENTATION.search(text):
        text = unicodedata.normalize("NFKC", text)
    return text.translate(_TABLE).lower()


def has_presentation_forms(text: str) -> bool:
    """Does ``normalize(text)`` apply NFKC to the whole text? Without presentation forms it maps
    character by character, keeps whitespace whitespace and creates none, so normalizing each
    whitespace-separated chunk on its own gives the chunks of ``normalize(text)``; with them,
    NFKC may also change characters elsewhere (an alef followed by a combining hamza)."""
    return _PRESENTATION.search(text) is not None


@dataclass(frozen=True, slots=True)
class Token:
    """One word: ``text``/``start``/``end`` refer to the original string, ``norm`` to its
    normalized form and ``stem`` to ``norm`` without an article-bearing proclitic."""

    text: str
    norm: str
    stem: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Word tokens of ``text`` (punctuation and spaces are separators, not tokens)."""
    surfaces, norms, starts, ends = scan(text)
    return [
        Token(surface, norm, _norm_stem(surface)[1], start, end)
        for surface, norm, start, end in zip(surfaces, norms, starts, ends, strict=True)
    ]


def scan(text: str) -> tuple[list[str], list[str], list[int], list[int]]:
    """``tokenize`` as parallel lists (surfaces, norms, starts, ends), without building Token
    objects: the entity tagger's hot path.

    The lists of the last few texts are remembered and returned again, the same objects: the
    entity tagger and the topic tagger read the same fields of one article one after the other.
    Callers must not modify them."""
    return _scanned(text)[0]


def scan_breaks(text: str) -> list[bool]:
    """``gaps_break(text, starts, ends)`` of ``scan(text)``, judged from the gaps the tokenizer
    split out already: one C-level map over a small table of distinct gaps (" ", "، ", ". ")
    instead of slicing and testing every gap in a Python loop."""
    (_, _, starts, ends), gaps = _scanned(text)
    if gaps is None:  # words of marks only were dropped, and the gaps around them merged
        return gaps_break(text, starts, ends)
    known = _GAP_BREAKS
    out = list(map(known.get, gaps))
    if None in out:
        if len(known) >= _GAPS_MAX:
            known.clear()
        for i, gap in enumerate(gaps):
            if out[i] is None:
                out[i] = known[gap] = _breaks(gap)
    return out  # type: ignore[return-value]  # every gap is judged now


_Scan = tuple[list[str], list[str], list[int], list[int]]
# text -> scan(text) and the gap before each token (None: see scan_breaks) of the last texts
# scanned: title, summary and body of the article being enriched (the topic tagger re-reads
# them after the entity tagger), with room for one more.
_RECENT: dict[str, tuple[_Scan, list[str] | None]] = {}
_RECENT_MAX = 4
# gap between two tokens -> does it break a name (see gaps_break); news uses a few hundred.
_GAP_BREAKS: dict[str, bool] = {}
_GAPS_MAX = 50_000


def _scanned(text: str) -> tuple[_Scan, list[str] | None]:
    found = _RECENT.get(text)
    if found is None:
        found = _scan(text)
        if len(_RECENT) >= _RECENT_MAX:
            del _RECENT[next(iter(_RECENT))]
        _RECENT[text] = found
    return found


def _scan(text: str) -> tuple[_Scan, list[str] | None]:
    # One regex split gives the words at odd indices and the gaps between them at even ones, so
    # every list below is built by C loops (slicing, accumulate, map) instead of a Python loop
    # per token: the offsets are running sums of the pieces' lengths.
    pieces = (_WORD_SPLIT if "_" in text else _WORD_SPLIT_NO_UNDERSCORE).split(text)
    surfaces = pieces[1::2]
    gaps: list[str] | None = pieces[0:-1:2]  # the text before each word, from the last word
    offsets = list(accumulate(map(len, pieces), initial=0))
    starts = offsets[1:-1:2]
    ends = offsets[2::2]
    known = _NORMS
    if len(known) + len(surfaces) > _NORMS_MAX:
        known.clear()
    norms = list(map(known.get, surfaces))
    if None in norms:
        for i, norm in enumerate(norms):
            if norm is None:
                surface = surfaces[i]
                norms[i] = known[surface] = normalize(surface)
    if "" in norms:  # a word of marks only (a lone tatweel) normalizes to nothing: not a token
        keep = list(map(bool, norms))
        surfaces = list(compress(surfaces, keep))
        norms = list(compress(norms, keep))
        starts = list(compress(starts, keep))
        ends = list(compress(ends, keep))
        gaps = None
    return (surfaces, cast("list[str]", norms), starts, ends), gaps


# surface -> normalized form for scan(), a plain dict (a lru_cache call costs more than the
# lookup); cleared at the same bound as the other per-word caches, ~a day of news.
_NORMS: dict[str, str] = {}
_NORMS_MAX = 200_000


def token_breaks(text: str, tokens: list[Token]) -> list[bool]:
    """``breaks[i]`` is true when punctuation (not just spaces or invisible marks) separates
    ``tokens[i]`` from the token before it, or starts the text before the first token. Names
    and phrases are matched only within a run of unbroken tokens."""
    return gaps_break(text, [t.start for t in tokens], [t.end for t in tokens])


def gaps_break(text: str, starts: list[int], ends: list[int]) -> list[bool]:
    """``token_breaks`` over parallel start/end lists (see :func:`scan`)."""
    out: list[bool] = []
    prev_end = 0
    for start, end in zip(starts, ends, strict=True):
        out.append(_breaks(text[prev_end:start]))
        prev_end = end
    return out


def _breaks(gap: str) -> bool:
    return gap not in _PLAIN_GAPS and bool(normalize(gap).strip())


_PLAIN_GAPS = frozenset(("", " ", "\n"))


@lru_cache(maxsize=200_000)  # ~ the distinct surface forms of a day of news; bounded memory
def _norm_stem(surface: str) -> tuple[str, str]:
    norm = normalize(surface)
    return norm, article_stem(norm)


def article_stem(norm: str) -> str:
    """Strip only proclitic chains that contain the article (وال، بال، لل، وبال، فلل …): they
    are unambiguous, unlike a bare و/ب/ل/ك/ف which starts many words (وزير، بريطانيا، لبنان)."""
    i = 1 if norm[:1] in _CONJ else 0
    if norm[i : i + 2] == "لل" and len(norm) - i - 2 >= _MIN_STEM:
        return norm[i + 2 :]
    j = i + 1 if norm[i : i + 1] in _PREP else i
    if norm[j : j + 2] == "ال" and len(norm) - j - 2 >= _MIN_STEM:
        return norm[j + 2 :]
    return norm


@lru_cache(maxsize=200_000)  # same bound as _norm_stem: one entry per distinct word
def clitic_variants(norm_token: str) -> tuple[str, ...]:
    """Readings of a normalized token with proclitics stripped, least-stripped first (the token
    itself) and most-stripped last, e.g. "وبطهران" -> ("وبطهران", "بطهران", "طهران") and
    "للامم" -> ("للامم", "الامم", "امم"). The preposition ل before the article drops the
    article's alef (ل + الامم = للامم), so its article-bearing reading is restored.

    One implementation (``stream/enrich/entities/native/src/clitics.rs``) serves this and the
    compiled name scan and word scorer, which read words the same way."""
    return native_clitic_variants(norm_token)
