"""Entities of a long body in linear time: the body in segments, their entities merged.

Entity extraction compares each candidate name with the others of its text, so its cost grows
faster than the text (bench/bench_enrich_size.py). A news article is at most ~21,000 characters
(the corpus' longest), where that does not show; a body longer than :data:`SEGMENT_CHARS` is
cut at paragraph or sentence breaks into segments of at most that size, each extracted on its
own, and the entities of one id merged: counts add up, mentions keep their offsets in the
whole body, salience is recomputed from the merged counts. Articles up to the segment size
(every corpus article) are extracted whole, exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rasad.core.article import Entity, Mention
from stream.enrich.entities.extract import extract_entities

# Above every corpus article (longest 21,119 characters), so real articles are extracted whole;
# small enough that the superlinear part of extraction stays a few percent (0.6 s per segment).
SEGMENT_CHARS = 50_000
# A segment ends at the last paragraph break, else sentence end, else space in its second half.
_BREAKS = (re.compile(r"\n"), re.compile(r"[.!?؟।]\s"), re.compile(r"\s"))


def segments(text: str, size: int = SEGMENT_CHARS) -> list[tuple[int, str]]:
    """(offset, piece) pairs covering `text`, each piece at most `size` characters."""
    out: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > size:
        end = start + size
        for pattern in _BREAKS:
            found = [m.end() for m in pattern.finditer(text, start + size // 2, end)]
            if found:
                end = found[-1]
                break
        out.append((start, text[start:end]))
        start = end
    out.append((start, text[start:]))
    return out


def extract_long(fields: Mapping[str, str], size: int = SEGMENT_CHARS) -> list[Entity]:
    """What :func:`extract_entities` finds, in time linear in the body's length."""
    body = fields.get("body", "")
    if len(body) <= size:
        return extract_entities(fields)
    pieces = segments(body, size)
    first_offset, first_piece = pieces[0]
    found = [(first_offset, extract_entities({**fields, "body": first_piece}))]
    found += [(offset, extract_entities({"body": piece})) for offset, piece in pieces[1:]]
    merged: dict[str, Entity] = {}
    lead: dict[str, bool] = {}
    for offset, entities in found:
        for entity in entities:
            mentions = [_shifted(m, offset) for m in entity.mentions]
            known = merged.get(entity.id)
            if known is None:
                # Only the first segment holds the article's lead (title, summary, first lines).
                lead[entity.id] = offset == 0 and _in_lead(entity)
                merged[entity.id] = entity.model_copy(update={"mentions": mentions})
            else:
                count, all_mentions = known.count + entity.count, known.mentions + mentions
                merged[entity.id] = known.model_copy(
                    update={"count": count, "mentions": all_mentions}
                )
    out = [_rescored(e, lead[e.id]) for e in merged.values()]
    first_seen = {e.id: _position(e) for e in out}
    return sorted(out, key=lambda e: (-e.salience, first_seen[e.id]))


def _shifted(mention: Mention, offset: int) -> Mention:
    if mention.field != "body" or offset == 0:
        return mention
    return mention.model_copy(update={"start": mention.start + offset, "end": mention.end + offset})


# The salience formula of stream.enrich.entities.extract: title 0.5, lead 0.25, and up to 0.25
# for being mentioned often (saturating at five mentions).
def _salience(in_title: bool, in_lead: bool, count: int) -> float:
    return round(0.5 * in_title + 0.25 * in_lead + 0.25 * min(count, 5) / 5, 3)


def _in_lead(entity: Entity) -> bool:
    return entity.salience > _salience(entity.in_title, False, entity.count) + 1e-9


def _rescored(entity: Entity, in_lead: bool) -> Entity:
    salience = _salience(entity.in_title, in_lead, entity.count)
    return entity.model_copy(update={"salience": salience})


def _position(entity: Entity) -> tuple[int, int]:
    order = {"title": 0, "summary": 1, "body": 2}
    return min((order[m.field], m.start) for m in entity.mentions)
