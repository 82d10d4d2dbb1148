"""Entity quality on the project's hand-labelled news (stream/data/labels/entities.jsonl).

Scores the whole extractor (``extract_entities``: gazetteer, tagger, patterns, coreference) on
the items of one split, exact character span and type, per type. An item's text is its title,
a newline and its lead (stream.training.labels.entity_text); the title is passed as the
``title`` field and the lead as ``body``, as an article reaches the stream.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from rasad.core.article import Entity
from stream.training.labels import EntityItem

Extractor = Callable[[Mapping[str, str]], list[Entity]]
TYPES = ("PER", "ORG", "LOC")


def predicted_spans(item: EntityItem, extract: Extractor) -> set[tuple[int, int, str]]:
    """(start, end, type) of every mention, as offsets into ``item.text``."""
    fields = {"title": item.text[: item.title_chars], "body": item.text[item.title_chars + 1 :]}
    out: set[tuple[int, int, str]] = set()
    for entity in extract(fields):
        for m in entity.mentions:
            shift = 0 if m.field == "title" else item.title_chars + 1
            out.add((m.start + shift, m.end + shift, entity.type))
    return out


def score_items(items: Iterable[EntityItem], extract: Extractor) -> dict[str, Counter[str]]:
    """tp/fp/fn per type and "ALL", exact span and type."""
    counts: dict[str, Counter[str]] = {k: Counter() for k in (*TYPES, "ALL")}
    for item in items:
        gold: set[tuple[int, int, str]] = {(s.start, s.end, s.type) for s in item.spans}
        pred = predicted_spans(item, extract)
        for spans, outcome in ((gold & pred, "tp"), (pred - gold, "fp"), (gold - pred, "fn")):
            for span in spans:
                counts[span[2]][outcome] += 1
                counts["ALL"][outcome] += 1
    return counts


def errors(item: EntityItem, extract: Extractor) -> tuple[list[str], list[str]]:
    """Missed gold spans and spurious predictions of one item, as "type text" lines."""
    gold: set[tuple[int, int, str]] = {(s.start, s.end, s.type) for s in item.spans}
    pred = predicted_spans(item, extract)

    def show(spans: set[tuple[int, int, str]]) -> list[str]:
        return [f"{t} {item.text[s:e]}" for s, e, t in sorted(spans)]

    return show(gold - pred), show(pred - gold)


# Figures of the extractor before issue 17 (commit a631dcd: CRF on ANERcorp train+dev, the
# curated gazetteer, no coreference), measured with this module before anything changed:
# (P, R, F1) per type. Printed beside today's so a change shows as a difference.
BEFORE: dict[str, dict[str, tuple[float, float, float]]] = {
    "test": {
        "PER": (0.798, 0.711, 0.752),
        "ORG": (0.810, 0.576, 0.673),
        "LOC": (0.869, 0.868, 0.869),
        "ALL": (0.831, 0.719, 0.771),
    },
    "dev": {
        "PER": (0.835, 0.703, 0.763),
        "ORG": (0.721, 0.582, 0.644),
        "LOC": (0.860, 0.794, 0.825),
        "ALL": (0.810, 0.700, 0.751),
    },
}


def prf(c: Counter[str]) -> tuple[float, float, float]:
    p = c["tp"] / max(1, c["tp"] + c["fp"])
    r = c["tp"] / max(1, c["tp"] + c["fn"])
    return p, r, 2 * p * r / max(1e-9, p + r)


def report_beside(counts: dict[str, Counter[str]], before: Mapping[str, tuple[float, ...]]) -> str:
    """Per-type P/R/F1 now, and F1 before with the difference."""
    lines = [f"{'type':5} {'P':>6} {'R':>6} {'F1':>6} {'gold':>6} {'F1 before':>10} {'diff':>7}"]
    for kind, c in counts.items():
        p, r, f = prf(c)
        old = before.get(kind)
        tail = f"{old[2]:10.3f} {f - old[2]:+7.3f}" if old else ""
        lines.append(f"{kind:5} {p:6.3f} {r:6.3f} {f:6.3f} {c['tp'] + c['fn']:6d} {tail}")
    return "\n".join(lines)
