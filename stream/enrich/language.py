"""Language and script identification of an article, without a model download.

Two steps, both pure:

1. The dominant *script* from character counts (Arabic, Latin, Cyrillic, …).
2. Within the Arabic and Latin scripts, the *language* from small profiles: function words that
   are frequent in one language and rare in its neighbours, plus letters only one of them uses.
   Persian and Urdu are written in the Arabic script and Iranian outlets publish in all three, so
   this step is what keeps a Persian article out of the Arabic entity and topic stages' way.

Function words decide; letters only break ties on short texts (a title), because Arabic outlets
also write پ چ گ in foreign names and some type ی ک on Persian keyboards.

A text with no profile match gets ``und`` with its script: non-Arabic articles pass through
tagged, never dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from itertools import filterfalse
from typing import Any

import numpy as np

from rasad.core.article import Language

__all__ = ["identify_language"]

# ~350 words: plenty to decide; the cap keeps long and hostile multi-megabyte bodies cheap.
_SAMPLE_CHARS = 2000

# Each script as its character ranges (all in the Basic Multilingual Plane).
_SCRIPT_RANGES = {
    "Arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc",
    "Latin": "A-Za-z\u00c0-\u024f",
    "Cyrillic": "\u0400-\u04ff",
    "Greek": "\u0370-\u03ff",
    "Hebrew": "\u0590-\u05ff",
    "Devanagari": "\u0900-\u097f",
    "Han": "\u4e00-\u9fff",
    "Kana": "\u3040-\u30ff",
    "Hangul": "\uac00-\ud7af",
}
_SCRIPTS = tuple(_SCRIPT_RANGES)
# Arabic-script letters but not letters: digits, punctuation and diacritics; they do not count
# for the Arabic script.
_ARABIC_NON_LETTERS = re.compile(
    "[\u0609-\u061f\u064b-\u065f\u0660-\u066d\u0670\u06d4\u06f0-\u06f9]"
)
# A letter: a word character that is not a digit or the underscore.
_LETTER = re.compile(r"[^\W\d_]")
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words, written as they appear (Persian/Urdu with ی ک, Arabic with ي ك). Words shared
# between the languages of one script (و، من، به، تا، ما …) are left out: they cannot decide.
_PROFILES: dict[str, dict[str, frozenset[str]]] = {
    "Arabic": {
        "ar": _words(
            "في على إلى الى أن إن التي الذي الذين عن مع هذا هذه كان كانت قد لم لن ثم حيث "
            "بين وفي وقال قال أو وأن بعد عند كما أيضا أي ذلك تلك منذ خلال التى إلي فيه عليه"
        ),
        "fa": _words(
            "است این آن که را از با برای های می شده شد بود یک کرد کند خود نیز اند هم "
            "ایران بر پس اما شود دارد کرده وی ای"
        ),
        "ur": _words("کے کی میں ہے ہیں سے نے کو اور بھی کا یہ وہ تھا گیا کر پر لیے ہو رہے"),
    },
    "Latin": {
        "en": _words(
            "the of and to in is that for on with was as by it at from are be this has have "
            "which were said its an been not"
        ),
        "fr": _words(
            "le la les des du et est une que qui dans pour sur au aux par pas avec il ce se "
            "sont été cette ont son leur"
        ),
    },
}

# Letters one language of the script writes and its neighbours do not (or rarely).
_LETTERS: dict[str, str] = {
    "ar": "\u0629\u0649\u064a\u0643\u0623\u0625",  # ة ى ي ك أ إ
    "fa": "\u067e\u0686\u0698\u06af\u06a9\u06cc",  # پ چ ژ گ ک ی
    "ur": "\u0679\u0688\u0691\u06ba\u06be\u06c1\u06d2",  # ٹ ڈ ڑ ں ھ ہ ے
}
# A distinctive letter counts this much of a function word: enough to decide a bare title,
# too little to outvote the function words of a full article.
_LETTER_WEIGHT = 0.05

# Word characters without digits and underscore; a letter.
_WORD = re.compile(r"[^\W\d_]+")

# Every character of the BMP gets a class, so one table lookup and one bincount count the
# letters, each script and each language's distinctive letters of a text at once (a regex pass
# per count costs ~30 ns a character). Class 2*s + letter for script s (0: no listed script),
# then one class per language with distinctive letters (all Arabic letters).
_LETTER_CLASS = {code: 2 * (len(_SCRIPTS) + 1) + i for i, code in enumerate(_LETTERS)}
_CLASSES = 2 * (len(_SCRIPTS) + 1) + len(_LETTERS)
_BMP = 0x10000


def _class_table() -> np.ndarray[Any, np.dtype[np.uint8]]:
    chars = "".join(map(chr, range(_BMP)))
    script = np.zeros(_BMP, dtype=np.uint8)
    for s, ranges in enumerate(_SCRIPT_RANGES.values(), start=1):
        for m in re.finditer(f"[{ranges}]", chars):
            script[m.start()] = s
    for m in _ARABIC_NON_LETTERS.finditer(chars):
        script[m.start()] = 0
    letter = np.zeros(_BMP, dtype=np.uint8)
    for m in _LETTER.finditer(chars):
        letter[m.start()] = 1
    table = script * 2 + letter
    arabic_letter = 2 * (_SCRIPTS.index("Arabic") + 1) + 1
    for code, letters in _LETTERS.items():
        for ch in letters:
            # _count_classes counts a distinctive letter as an Arabic letter too
            if table[ord(ch)] != arabic_letter:
                raise ValueError(f"distinctive letter {ch!r} of {code!r} is not an Arabic letter")
            table[ord(ch)] = _LETTER_CLASS[code]
    return table


_TABLE = _class_table()


def _count_classes(text: str) -> list[int]:
    """How many characters of ``text`` fall in each class of ``_TABLE``."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    counts: list[int] = np.bincount(
        _TABLE[np.minimum(points, _BMP - 1)], minlength=_CLASSES
    ).tolist()
    astral = points[points >= _BMP]
    if astral.size:  # beyond the BMP: no listed script (class 0), but maybe letters
        counts[0] -= int(astral.size)
        letters = len(_NOT_LETTERS.sub("", "".join(map(chr, astral.tolist()))))
        counts[1] += letters
        counts[0] += int(astral.size) - letters
    return counts


def identify_language(fields: Mapping[str, str]) -> Language:
    """Language and script of an article's text fields (``title``, ``summary``, ``body``)."""
    text = " ".join(fields.get(f, "") for f in ("title", "summary", "body"))[:_SAMPLE_CHARS]
    classes = _count_classes(text)
    total = sum(classes[1 : 2 * (len(_SCRIPTS) + 1) : 2]) + sum(classes[2 * (len(_SCRIPTS) + 1) :])
    if total == 0:
        return Language(code="und", script="Unknown", confidence=0.0)
    counts: dict[str, int] = {}
    for s, name in enumerate(_SCRIPTS, start=1):
        counts[name] = classes[2 * s] + classes[2 * s + 1]
        if name == "Arabic":
            counts[name] += sum(classes[2 * (len(_SCRIPTS) + 1) :])
        if counts[name] * 2 > total:  # a majority: no other script can beat it
            break
    script = max(counts, key=lambda name: counts[name])
    share = min(1.0, counts[script] / total)
    profiles = _PROFILES.get(script)
    if profiles is None:
        return Language(code="und", script=script, confidence=round(share, 3))
    letters = {code: classes[c] for code, c in _LETTER_CLASS.items()}
    code, margin = _best_profile(text, profiles, letters)
    return Language(code=code, script=script, confidence=round(share * margin, 3))


def _best_profile(
    text: str, profiles: Mapping[str, frozenset[str]], letters: Mapping[str, int]
) -> tuple[str, float]:
    """The profile with the most evidence, and its share of all evidence (0 when none);
    ``letters`` counts each language's distinctive letters in ``text``."""
    lookup = _LOOKUPS[id(profiles)]
    scores = dict.fromkeys(profiles, 0.0)
    # The words of the text are its whitespace-separated chunks, except in a chunk with a
    # non-letter (punctuation, digits): there they are the letter runs inside it.
    chunks = Counter(text.lower().split())
    words = Counter({w: chunks[w] for w in lookup.keys() & chunks.keys()})
    for chunk in filterfalse(str.isalpha, chunks):
        for word in _WORD.findall(chunk):
            if word in lookup:
                words[word] += chunks[chunk]
    for word, n in words.items():
        for code in lookup[word]:
            scores[code] += n
    for code in scores:
        if code in letters:
            scores[code] += _LETTER_WEIGHT * letters[code]
    best = max(scores, key=lambda code: scores[code])
    evidence = sum(scores.values())
    if scores[best] == 0:
        return "und", 0.0
    # Add-one smoothing: a title with one matching word is not "certain".
    return best, scores[best] / (evidence + 1.0)


def _lookup(profiles: Mapping[str, frozenset[str]]) -> dict[str, tuple[str, ...]]:
    """word -> the languages whose profile lists it: one dict probe per word of the text."""
    out: dict[str, tuple[str, ...]] = {}
    for code, vocab in profiles.items():
        for word in vocab:
            # _best_profile compares whole chunks with these words: each must be all letters.
            if not word.isalpha():
                raise ValueError(f"function word {word!r} of {code!r} is not all letters")
            out[word] = (*out.get(word, ()), code)
    return out


_LOOKUPS = {id(profiles): _lookup(profiles) for profiles in _PROFILES.values()}
