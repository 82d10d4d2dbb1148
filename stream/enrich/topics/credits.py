"""The evidence one tag collects for one article, before it becomes pydantic objects."""

from __future__ import annotations

from typing import Literal

from rasad.core.article import TextField
from stream.enrich.topics.taxonomy import Scoring

__all__ = ["Credits", "EvidenceKind", "EvidenceRow"]

EvidenceKind = Literal["term", "entity"]
# One piece of evidence before it becomes an Evidence: weight, kind, value, field, start, end.
EvidenceRow = tuple[float, EvidenceKind, str, TextField, int, int]


class Credits:
    """The evidence one tag collects for one article: title and other-field weight, each
    repeat of one key decayed, and every credited piece for the evidence list."""

    __slots__ = ("decay", "evidence", "factor", "head", "rest", "seen")

    def __init__(self, scoring: Scoring) -> None:
        self.factor = {
            "title": scoring.title_weight,
            "summary": scoring.summary_weight,
            "body": 1.0,
        }
        self.decay = scoring.repeat_decay
        self.seen: dict[object, int] = {}
        self.head = 0.0
        self.rest = 0.0
        self.evidence: list[EvidenceRow] = []

    def credit(
        self,
        key: object,
        weight: float,
        kind: EvidenceKind,
        value: str,
        f: TextField,
        s: int,
        e: int,
    ) -> None:
        k = self.seen.get(key, 0)
        self.seen[key] = k + 1
        w = weight * self.factor[f] * self.decay**k
        if f == "title":
            self.head += w
        else:
            self.rest += w
        if w > 0:
            self.evidence.append((w, kind, value, f, s, e))
