"""The learned topic model: per-tag logistic regressions exported as data, scored without
scikit-learn.

The file (``stream/data/topic-model.tsv``, written by ``stream/training/train_topics.py``) is
UTF-8, tab-separated, one record per line; ``#`` starts a comment line:

* ``tag <name> <bias> <rule_weight> <threshold> <aside_weight>``: one line per tag, before its
  weights. ``bias`` is the regression's intercept; the combined logit is the regression's logit
  plus ``rule_weight`` times the taxonomy rules' score when the rules emit the tag (times
  ``aside_weight`` too, in [0, 1], when none of the rules' evidence is in the title or lead: a
  passing mention), and the tag is emitted when that reaches ``threshold`` (all chosen on the
  training outlets).
* ``w <name> <feature> <weight>``: a feature's weight for one tag. Features are those of
  :mod:`.features` (``p:<tag>:<where>``: where the rules' evidence for ``<tag>`` sits) plus
  ``h:<tag>:<term>`` (a taxonomy term or entity hook of ``<tag>`` matched) and ``r:<tag>`` (the
  rules' raw score of ``<tag>``, a number in [0, 1], times its weight).

A file that breaks the format is refused with ``file:line`` in the message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_MODEL",
    "ModelError",
    "TagModel",
    "TopicModel",
    "default_model",
    "load_model",
    "parse_model",
    "sigmoid",
]

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "data" / "topic-model.tsv"
_PREFIXES = ("w:", "t:", "m:", "e:", "h:", "p:", "r:")


class ModelError(ValueError):
    """A topic model file that cannot be read or breaks the format; starts with ``file:line``."""


@dataclass(frozen=True, slots=True)
class TagModel:
    name: str
    bias: float
    rule_weight: float
    threshold: float
    aside_weight: float  # the rules' share when their evidence is only aside (not title/lead)


@dataclass(frozen=True, slots=True)
class TopicModel:
    tags: tuple[TagModel, ...]
    features: tuple[str, ...]  # the model's features, by row of ``weights``
    rows: Mapping[str, int]  # feature -> row
    # weights[row, tag]: one row per feature, so an article's logits are one numpy sum over its
    # rows (a Python loop over ~500 features x 17 tags cost a millisecond per article).
    weights: np.ndarray
    biases: np.ndarray  # by tag

    def rows_of(self, features: AbstractSet[str]) -> list[int]:
        """The rows of the article's features the model weighs (most are not in it), in row
        order: the features come as a set, whose order changes from process to process, and
        sums and ties must not (the same article, the same scores and evidence everywhere).
        The known features are one C-level intersection with the model's keys."""
        return sorted(map(self.rows.__getitem__, self.rows.keys() & features))

    def logits(self, weights: np.ndarray, raw: Mapping[str, float]) -> list[float]:
        """The regressions' logits, in tag order, from the weight rows of an article's features
        (``self.weights[rows]``, rows from :meth:`rows_of`: indexed once per article and read
        again by :meth:`strongest`) and the rules' raw scores by tag (``r:<tag>`` features
        carry the score as their value)."""
        z = self.biases + weights.sum(axis=0)
        get = self.rows.get
        scored = [(r, score) for tag, score in raw.items() if (r := get("r:" + tag)) is not None]
        if scored:
            z += np.array([s for _, s in scored]) @ self.weights[[r for r, _ in scored]]
        return z.tolist()  # type: ignore[no-any-return]

    def strongest(self, rows: list[int], weights: np.ndarray, tag: int) -> list[tuple[float, str]]:
        """The article's features that raise ``tag``, strongest first, with their weights
        (``weights``: ``self.weights[rows]``, as for :meth:`logits`)."""
        column = weights[:, tag]
        raising = np.flatnonzero(column > 0)  # a few of the article's rows: sort only those
        order = raising[np.argsort(-column[raising], kind="stable")]  # ties: the file's order
        features = self.features
        return [
            (w, features[rows[k]])
            for w, k in zip(column[order].tolist(), order.tolist(), strict=True)
        ]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def load_model(path: Path = DEFAULT_MODEL) -> TopicModel:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path.name}: cannot read topic model: {exc}") from exc
    return parse_model(text, path.name)


@lru_cache(maxsize=1)
def default_model() -> TopicModel:
    """The shipped model, loaded once per process."""
    return load_model(DEFAULT_MODEL)


def parse_model(text: str, name: str) -> TopicModel:
    """Validate model ``text``; ``name`` (a file name) prefixes every error."""
    tags: list[TagModel] = []
    index: dict[str, int] = {}
    weights: dict[str, list[tuple[int, float]]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"{name}:{lineno}"
        cells = line.split("\t")
        if cells[0] == "tag" and len(cells) == 6:
            if cells[1] in index:
                raise ModelError(f"{where}: tag {cells[1]!r} is declared twice")
            index[cells[1]] = len(tags)
            bias, rule_weight, threshold, aside = (_number(c, where) for c in cells[2:])
            if not 0 <= aside <= 1:
                raise ModelError(f"{where}: aside weight {aside:g} is not in [0, 1]")
            tags.append(TagModel(cells[1], bias, rule_weight, threshold, aside))
        elif cells[0] == "w" and len(cells) == 4:
            tag, feature = cells[1], cells[2]
            if tag not in index:
                raise ModelError(f"{where}: weight for undeclared tag {tag!r}")
            if not feature.startswith(_PREFIXES) or len(feature) < 3:
                raise ModelError(f"{where}: feature {feature!r} has no known prefix {_PREFIXES}")
            weights.setdefault(feature, []).append((index[tag], _number(cells[3], where)))
        else:
            raise ModelError(
                f"{where}: expected 'tag<TAB>name<TAB>bias<TAB>rule_weight<TAB>threshold<TAB>"
                f"aside_weight' or "
                f"'w<TAB>tag<TAB>feature<TAB>weight', got {line[:60]!r}"
            )
    if not tags:
        raise ModelError(f"{name}: no tag declared")
    names = tuple(weights)
    matrix = np.zeros((len(names), len(tags)))
    for row, feature in enumerate(names):
        for i, w in weights[feature]:
            matrix[row, i] = w
    rows = {f: r for r, f in enumerate(names)}
    return TopicModel(tuple(tags), names, rows, matrix, np.array([t.bias for t in tags]))


def _number(cell: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise ModelError(f"{where}: {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise ModelError(f"{where}: {cell!r} is not a finite number")
    return value
