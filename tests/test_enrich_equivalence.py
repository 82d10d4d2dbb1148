"""The fast paths of enrichment compute exactly what their plain definitions say.

Tokens, name breaks, shingles, MinHash signatures and script counts are built with caches,
table lookups and vectorised steps; each is checked here against the straightforward definition
it replaces, on real corpus text and on generated hostile text (marks, bidi controls,
presentation forms, underscores, digits, characters beyond the BMP).
"""

from __future__ import annotations

import re
import zlib

import numpy as np
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.enrich import language
from stream.enrich.cluster import StoryClusters, shingle_hashes
from stream.enrich.normalize import gaps_break, normalize, scan, scan_breaks
from tests.stream_fixtures import REWRITTEN_PAIR, UNRELATED, WIRE_PAIR, corpus_row

FAST = settings(max_examples=300, deadline=None)
CORPUS_IDS = [*WIRE_PAIR, *REWRITTEN_PAIR, UNRELATED]
# Characters that stress the definitions: Arabic letters and clitics, diacritics and tatweel,
# ZWNJ and RLM, presentation forms ligature, digits of three systems, "_", Latin with special
# case mappings, a superscript digit, an emoji and a mathematical letter beyond the BMP.
PIECES = [*"ابتوفلكالةىيأإ ًُّـ\u200c\u200f\ufefb\ufdf2 19٣۳_.،\n\tİßΣ²😀𝐀", "ال", "وال", "لل"]
HOSTILE = st.lists(st.sampled_from(PIECES), max_size=40).map("".join) | st.text(max_size=60)

# The token definition: a letter or digit, then letters, digits and the marks normalize deletes.
WORD = re.compile(
    r"[^\W_](?:[^\W_]|[\u0610-\u061a\u064b-\u065f\u0670\u0640\u06d6-\u06ed\u200c\u200d])*"
)


def reference_scan(text: str) -> tuple[list[str], list[str], list[int], list[int]]:
    out: tuple[list[str], list[str], list[int], list[int]] = ([], [], [], [])
    for m in WORD.finditer(text):
        norm = normalize(m.group())
        if norm:
            for column, value in zip(out, (m.group(), norm, m.start(), m.end()), strict=True):
                column.append(value)  # type: ignore[attr-defined]
    return out


@FAST
@given(text=HOSTILE)
def test_scan_is_the_regex_tokens_with_their_offsets(text: str) -> None:
    assert scan(text) == reference_scan(text)


def test_scan_of_corpus_articles_is_the_regex_tokens() -> None:
    for corpus_id in CORPUS_IDS:
        row = corpus_row(corpus_id)
        for text in (row["title"], row["text"]):
            assert scan(text) == reference_scan(text)


@FAST
@given(text=HOSTILE)
def test_breaks_from_the_scanned_gaps_are_the_breaks_between_the_tokens(text: str) -> None:
    _, _, starts, ends = scan(text)
    assert scan_breaks(text) == gaps_break(text, starts, ends)


def test_breaks_of_corpus_articles_from_the_scanned_gaps() -> None:
    for corpus_id in CORPUS_IDS:
        row = corpus_row(corpus_id)
        for text in (row["title"], row["text"]):
            _, _, starts, ends = scan(text)
            assert scan_breaks(text) == gaps_break(text, starts, ends)


ARTICLE = re.compile(r"(?<!\w)[وف]?(?:[بك]?ال|لل)(?=\w{3})")
CONTENT_WORD = re.compile(r"[^\W\d_]{3,}")


def reference_shingles(title: str, body: str) -> set[int]:
    """The clustering shingles by definition: content words of the whole normalized text."""
    words = CONTENT_WORD.findall(ARTICLE.sub("", normalize(f"{title}\n{body}")))
    return {zlib.crc32(w.encode()) for w in words}


@FAST
@given(title=HOSTILE, body=HOSTILE)
def test_shingles_by_chunk_are_the_shingles_of_the_whole_text(title: str, body: str) -> None:
    assert shingle_hashes(title, body) == reference_shingles(title, body)


def test_signatures_are_datasketch_minhashes_of_the_shingles() -> None:
    clusters = StoryClusters({})
    for corpus_id in CORPUS_IDS:
        row = corpus_row(corpus_id)
        title, body = row["title"], row["text"]
        assert shingle_hashes(title, body) == reference_shingles(title, body)
        words = set(CONTENT_WORD.findall(ARTICLE.sub("", normalize(f"{title}\n{body}"))))
        expected = MinHash(num_perm=128, seed=1, scheme="affine32", hashfunc=zlib.crc32)
        expected.update_batch([w.encode() for w in words])
        signature = clusters._signature(title, body)
        assert signature is not None
        assert np.array_equal(signature, expected.hashvalues)


def reference_counts(text: str) -> dict[str, int]:
    """Letters, each script's characters and each language's distinctive letters, by regex."""
    counts = {"letters": len(re.sub(r"[\W\d_]+", "", text))}
    for name, ranges in language._SCRIPT_RANGES.items():
        counts[name] = len(re.sub(f"[^{ranges}]+", "", text))
    counts["Arabic"] -= len(language._ARABIC_NON_LETTERS.findall(text))
    for code, letters in language._LETTERS.items():
        counts[code] = len(re.findall(f"[{letters}]", text))
    return counts


def table_counts(text: str) -> dict[str, int]:
    classes = language._count_classes(text)
    scripts = len(language._SCRIPTS)
    counts = {
        "letters": sum(classes[1 : 2 * (scripts + 1) : 2]) + sum(classes[2 * (scripts + 1) :])
    }
    for s, name in enumerate(language._SCRIPTS, start=1):
        counts[name] = classes[2 * s] + classes[2 * s + 1]
    counts["Arabic"] += sum(classes[2 * (scripts + 1) :])
    for code, c in language._LETTER_CLASS.items():
        counts[code] = classes[c]
    return counts


@FAST
@given(text=HOSTILE | st.text(alphabet=st.characters(), max_size=60))
def test_script_counts_by_table_are_the_regex_counts(text: str) -> None:
    assert table_counts(text) == reference_counts(text)
