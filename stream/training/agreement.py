"""Agreement between the first and the second annotator of the double-annotated sample.

docs/annotation.md (procedure, point 6): a random sample of the labelled news is labelled again,
independently, into ``*_second.jsonl``. Reported: Cohen's kappa per topic tag (present/absent
over the sample) and entity F1 between annotators (exact span and type, the first annotator as
reference). Both are computed from the label rows alone: no article text is needed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stream.training.labels import LABELS_DIR, LabelDataError, label_rows

# The guidelines' threshold: a tag agreed on less than this is re-specified and re-labelled.
KAPPA_FLOOR = 0.6


@dataclass(frozen=True, slots=True)
class TagAgreement:
    tag: str
    items: int
    first: int  # positives given by the first annotator
    second: int  # ... and by the second
    both: int
    kappa: float


@dataclass(frozen=True, slots=True)
class BatchCoverage:
    """One first annotator's batch: its items, and how many of them are labelled twice."""

    items: int
    twice: int

    @property
    def share(self) -> float:
        return self.twice / self.items


@dataclass(frozen=True, slots=True)
class DoubleAnnotated:
    """The second file's rows with the first file's row of the same id, and the first file's
    items per first annotator (a batch is one annotator's items)."""

    pairs: list[tuple[dict[str, Any], dict[str, Any]]]
    batches: Mapping[str, int]

    @property
    def first_items(self) -> int:
        return sum(self.batches.values())

    @property
    def share(self) -> float:
        return len(self.pairs) / self.first_items if self.first_items else 0.0

    def coverage_by_batch(self) -> dict[str, BatchCoverage]:
        """Each first annotator's batch, by annotator id, with how much of it the sample holds
        (docs/annotation.md 3.6: a tenth of each batch is labelled again)."""
        twice = Counter(first["annotator"] for first, _ in self.pairs)
        return {a: BatchCoverage(n, twice[a]) for a, n in sorted(self.batches.items())}


def cohen_kappa(first: Sequence[bool], second: Sequence[bool]) -> float:
    """Cohen's kappa of two binary decisions over the same items. When both annotators give
    one value to every item, chance agreement is 1 and kappa is undefined: it is 1.0 if they
    agree (a tag both found absent everywhere is agreed, not doubtful) and 0.0 if not."""
    if len(first) != len(second) or not first:
        raise ValueError("kappa needs two equally long, non-empty sequences of decisions")
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    p1, p2 = sum(first) / n, sum(second) / n
    chance = p1 * p2 + (1 - p1) * (1 - p2)
    if chance == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - chance) / (1 - chance)


def paired(first_path: Path, second_path: Path) -> DoubleAnnotated:
    """Each second-file row with its first-file row; a second row with no first row, or the
    same annotator on both, is an error naming the id (the sample must be independent)."""
    first = {row["id"]: row for row in label_rows(first_path)}
    pairs = []
    for row in label_rows(second_path):
        original = first.get(row["id"])
        if original is None:
            raise LabelDataError(f"{second_path.name}: {row['id']} is not in {first_path.name}")
        if original["annotator"] == row["annotator"]:
            raise LabelDataError(f"{second_path.name}: {row['id']} has its first annotator")
        pairs.append((original, row))
    return DoubleAnnotated(pairs, Counter(row["annotator"] for row in first.values()))


def topic_agreement(
    pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]], tags: Iterable[str]
) -> list[TagAgreement]:
    labelled = [(frozenset(a["labels"]), frozenset(b["labels"])) for a, b in pairs]
    table = []
    for tag in tags:
        first = [tag in a for a, _ in labelled]
        second = [tag in b for _, b in labelled]
        both = sum(x and y for x, y in zip(first, second, strict=True))
        kappa = cohen_kappa(first, second)
        table.append(TagAgreement(tag, len(labelled), sum(first), sum(second), both, kappa))
    return table


def entity_agreement(
    pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> dict[str, Counter[str]]:
    """True/false positives and false negatives per entity type (and "all") of the second
    annotator's spans against the first's, exact start, end and type."""
    counts: dict[str, Counter[str]] = {}
    for first, second in pairs:
        gold = {(e["start"], e["end"], e["type"]) for e in first["entities"]}
        found = {(e["start"], e["end"], e["type"]) for e in second["entities"]}
        for outcome, spans in (("tp", gold & found), ("fp", found - gold), ("fn", gold - found)):
            for span in spans:
                for key in (span[2], "all"):
                    counts.setdefault(key, Counter())[outcome] += 1
    return counts


def f1(counts: Counter[str]) -> float:
    spans = 2 * counts["tp"] + counts["fp"] + counts["fn"]
    return 2 * counts["tp"] / spans if spans else 1.0


def topics_sample() -> DoubleAnnotated:
    return paired(LABELS_DIR / "topics.jsonl", LABELS_DIR / "topics_second.jsonl")


def entities_sample() -> DoubleAnnotated:
    return paired(LABELS_DIR / "entities.jsonl", LABELS_DIR / "entities_second.jsonl")
