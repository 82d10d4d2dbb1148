"""A trained linear-chain CRF's weights, for scoring tokens from per-word score vectors.

A CRF's state score for token ``i`` and label ``y`` is the sum of the weights of the token's
attributes for ``y``. Almost all of a token's attributes depend on one word only (the word
itself, or a neighbour at a fixed distance), so their sum is a small vector per (word, role),
computed once per distinct word and cached: scoring an article is a table gather and a few
additions, whatever the number of features the model was trained with. The compiled core
(``stream/enrich/entities/native``) does those additions and the Viterbi over the
transitions read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt
import pycrfsuite

__all__ = ["LABELS", "ROLES", "Vec", "Weights", "WrongLabelsError"]

Vec = npt.NDArray[np.float64]

# The roles a word's attributes play: its own, and as neighbour at -1, +1, -2, +2 of a token.
ROLES = 5
# O plus B-/I- of PER, ORG, LOC: fixed by stream/training/train_ner.py.
LABELS = 7


class WrongLabelsError(RuntimeError):
    """The model has not the expected labels."""


class Weights:
    """Label scores of attributes, and the transition weights, of one model."""

    def __init__(self, tagger: pycrfsuite.Tagger) -> None:
        info = tagger.info()
        self.labels: list[str] = list(tagger.labels())
        pos = {label: k for k, label in enumerate(self.labels)}
        n = len(self.labels)
        if n != LABELS or "O" not in pos:
            raise WrongLabelsError(f"expected O and B-/I- of PER, ORG, LOC: {self.labels}")
        weights: dict[str, Vec] = {}
        for (attr, label), w in info.state_features.items():
            vec = weights.get(attr)
            if vec is None:
                vec = weights[attr] = np.zeros(n)
            vec[pos[label]] = w
        # One matrix of every attribute's weights after a zero row, so a feature list is scored
        # by one gather and one sum; attributes map to rows from 1, so 0 means "unknown".
        self._index: dict[str, int] = {a: k for k, a in enumerate(weights, start=1)}
        self._matrix: Vec = np.zeros((len(weights) + 1, n))
        if weights:
            self._matrix[1:] = np.array(list(weights.values()))
        # transitions[a, b]: the weight of label b following label a
        self.transitions: Vec = np.zeros((n, n))
        for (src, dst), w in info.transitions.items():
            self.transitions[pos[src], pos[dst]] = w

    def score(self, attrs: Sequence[str]) -> Vec:
        """Summed weight vector of ``attrs`` (attributes the model does not know weigh 0)."""
        out: Vec = self.score_many([attrs])[0]
        return out

    def score_many(self, lists: Sequence[Sequence[str]]) -> Vec:
        """:meth:`score` of each list (lists x labels), in one gather and one cumulative sum.

        Each list is summed from a zero row, first attribute first, then padded with zero rows:
        the same additions in the same order as adding each ``w`` to a zero vector one by one,
        so the scores are bit-identical and CRFsuite's close decisions are kept. (A running sum
        from +0.0 is never -0.0, so the padding changes no bit. The sum runs over the middle
        axis, which numpy adds row after row, never pairwise: pairwise summation is only for
        the innermost axis. ``add.reduceat`` may add in another order and is not used.)
        """
        get = self._index.get
        return self.score_ids([list(filter(None, map(get, attrs))) for attrs in lists])

    @property
    def matrix(self) -> Vec:
        """Every attribute's weights (attributes + 1 rows, labels columns), row 0 all zeros."""
        return self._matrix

    @property
    def attribute_ids(self) -> dict[str, int]:
        """Each attribute's row of the weight matrix (from 1), for :meth:`score_ids`."""
        return self._index

    def score_ids(self, ids: Sequence[Sequence[int]]) -> Vec:
        """:meth:`score_many` of lists of known attributes given by their ids (none 0)."""
        lengths = np.fromiter(map(len, ids), dtype=np.intp, count=len(ids))
        # row k: the zero row, then list k's attribute rows, then zero rows up to the width
        span = np.arange(int(lengths.max(initial=0)) + 1)
        rows = np.zeros((len(ids), len(span)), dtype=np.intp)
        rows[(span > 0) & (span <= lengths[:, None])] = np.fromiter(
            chain.from_iterable(ids), dtype=np.intp, count=int(lengths.sum())
        )
        out: Vec = self._matrix[rows].sum(axis=1)
        return out
