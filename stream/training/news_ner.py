"""The project's entity-labelled news as tagger training sentences (``train_ner --news``).

A labelled item (stream.training.labels.EntityItem) carries character spans; the tagger learns
token labels. Following docs/annotation.md 1.1, a whitespace token is B-/I- when any of its
characters is inside a span, so "للسعودية" (span "لسعودية") is B-LOC, as ANERcorp tags clitics;
the runtime tokens then inherit the labels of the whitespace tokens they start in
(stream.training.train_ner.token_labels). An item's title and lead are two sequences, as the
stream tags them (the title and body fields).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stream.training.labels import EntityItem, Split, load_entity_items
from stream.training.train_ner import Sentence

__all__ = ["item_sentences", "news_sentences"]

_WORD = re.compile(r"\S+")


def item_sentences(item: EntityItem) -> list[Sentence]:
    """The title and the lead of one item as gold-token sentences."""
    out = []
    for lo, hi in ((0, item.title_chars), (item.title_chars + 1, len(item.text))):
        spans: list[tuple[int, int]] = []
        tags: list[str] = []
        prev: tuple[int, int, str] | None = None
        for m in _WORD.finditer(item.text, lo, hi):
            inside = next((s for s in item.spans if s.start < m.end() and m.start() < s.end), None)
            if inside is None:
                tags.append("O")
            else:
                key = (inside.start, inside.end, inside.type)
                tags.append(("I-" if key == prev else "B-") + inside.type)
            prev = None if inside is None else (inside.start, inside.end, inside.type)
            spans.append((m.start() - lo, m.end() - lo))
        if spans:
            out.append(Sentence(item.text[lo:hi], tuple(spans), tuple(tags)))
    return out


def news_sentences(splits: Iterable[Split]) -> list[Sentence]:
    """Sentences of the labelled items of ``splits``, in file order. Never pass "test": its
    outlets are held out from training and tuning (stream.training.labels)."""
    wanted = set(splits)
    if "test" in wanted:
        raise ValueError("the test split's outlets are never trained on")
    return [s for item in load_entity_items() if item.split in wanted for s in item_sentences(item)]
