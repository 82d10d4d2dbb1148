"""A body longer than one segment is extracted segment by segment in linear time, and what
comes out still points into the whole body (stream/enrich/long_text.py)."""

from __future__ import annotations

import gzip

import orjson

from stream.enrich.entities.extract import extract_entities
from stream.enrich.long_text import extract_long, segments
from tests.shared_data import CORPUS


def long_body(chars: int) -> str:
    parts: list[str] = []
    with gzip.open(CORPUS, "rb") as handle:
        for line in handle:
            parts.append(str(orjson.loads(line).get("text") or ""))
            if sum(map(len, parts)) > chars:
                break
    return "\n".join(parts)[:chars]


def test_segments_cover_the_text_in_order_each_within_the_size() -> None:
    text = long_body(30_000)

    pieces = segments(text, 4_000)

    assert "".join(piece for _, piece in pieces) == text
    assert all(len(piece) <= 4_000 for _, piece in pieces)
    assert [offset for offset, _ in pieces] == [
        sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))
    ]
    assert all(piece.endswith(("\n", " ", ". ")) for _, piece in pieces[:-1])


def test_a_body_within_one_segment_is_extracted_whole() -> None:
    fields = {"title": "ترامب يلتقي بوتين", "body": long_body(3_000)}

    assert extract_long(fields, 4_000) == extract_entities(fields)


def test_mentions_of_a_segmented_body_point_into_the_whole_body() -> None:
    fields = {"title": "ترامب يلتقي بوتين في هلسنكي", "body": long_body(20_000)}

    entities = extract_long(fields, 4_000)

    assert len(entities) > 20
    for entity in entities:
        assert entity.count == len(entity.mentions)
        for m in entity.mentions:
            assert fields[m.field][m.start : m.end] == m.text
    whole = {e.id for e in extract_entities(fields)}
    assert len(whole & {e.id for e in entities}) >= 0.9 * len(whole)
