"""The compiled gazetteer scan (stream/enrich/entities/native, names.rs) against the Python scan
it replaced, kept here as the specification: the same matches, readings and keys on real news."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from stream.enrich.entities.gazetteer import Gazetteer, Match, default_gazetteer
from stream.enrich.normalize import clitic_variants, scan, scan_breaks
from tests.shared_data import corpus_texts

# Every 60th corpus article (~525 of 31,525, every outlet and category), title and body.
_EVERY = 60


def strip_len(norm: str, variant: str) -> int:
    """Normalized characters of ``norm`` before the ``variant`` reading starts (for "للامم"
    read as "الامم", the clitic is the one ل)."""
    if variant.startswith("ال") and not norm.endswith(variant):
        return len(norm) - len(variant) + 1
    return len(norm) - len(variant)


def reference_match(gaz: Gazetteer, norms: Sequence[str], breaks: Sequence[bool]) -> list[Match]:
    """Longest-first, left-to-right, non-overlapping: at each token that may start a name, the
    longest run of unbroken tokens first, and for each length the token's readings in
    ``clitic_variants`` order (least-stripped first)."""
    out: list[Match] = []
    end = 0
    for i, norm in enumerate(norms):
        most = max(gaz.first.get(v, 0) for v in clitic_variants(norm))
        if i < end or not most:
            continue
        span = 1
        while span < most and i + span < len(norms) and not breaks[i + span]:
            span += 1
        found = next(
            (
                Match(gaz.entries[gaz.index[key]], i, i + length, strip_len(norm, v), key)
                for length in range(span, 0, -1)
                for v in clitic_variants(norm)
                if (key := (v, *norms[i + 1 : i + length])) in gaz.index
            ),
            None,
        )
        if found:
            out.append(found)
            end = found.end
    return out


def test_corpus_articles_get_the_python_scans_matches() -> None:
    gaz = default_gazetteer()
    texts = found = stripped = 0
    for article_id, text in corpus_texts(_EVERY):
        _, norms, _, _ = scan(text)
        breaks = scan_breaks(text)
        matches = gaz.match(norms, breaks)
        assert matches == reference_match(gaz, norms, breaks), article_id
        texts += 1
        found += len(matches)
        stripped += sum(m.strip > 0 for m in matches)
    assert texts > 1000
    assert found > 5000
    assert stripped > 500  # names behind proclitics were read through them


@pytest.mark.parametrize(
    ("text", "key", "strip"),
    [
        ("وبطهران", ("طهران",), 2),
        ("للامم المتحده", ("الامم", "المتحده"), 1),
        ("والولايات المتحدة", ("الولايات", "المتحده"), 1),
        ("فلبنان", ("لبنان",), 1),
    ],
)
def test_a_name_is_read_through_its_proclitics(text: str, key: tuple[str, ...], strip: int) -> None:
    _, norms, _, _ = scan(text)
    (match,) = default_gazetteer().match(norms, scan_breaks(text))
    assert (match.key, match.strip, match.start, match.end) == (key, strip, 0, len(norms))


def test_a_name_never_spans_a_break() -> None:
    text = "الولايات، المتحدة"
    _, norms, _, _ = scan(text)
    keys = [m.key for m in default_gazetteer().match(norms, scan_breaks(text))]
    assert ("الولايات", "المتحده") not in keys


def test_breaks_of_another_length_are_refused() -> None:
    with pytest.raises(ValueError, match="1 breaks for 2 tokens"):
        default_gazetteer().match(["الولايات", "المتحده"], [False])
