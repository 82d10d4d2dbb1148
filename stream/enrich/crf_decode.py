"""Fast exact tagging with a trained linear-chain CRF from per-word score vectors.

A CRF's state score for token ``i`` and label ``y`` is the sum of the weights of the token's
attributes for ``y``. Almost all of a token's attributes depend on one word only (the word
itself, or a neighbour at a fixed distance), so their sum is a small vector per (word, role),
computed once per distinct word and cached: scoring an article is a table gather and a few
array additions, whatever the number of features the model was trained with.

CRFsuite's own Viterbi (C) then decodes those scores. It cannot take a score vector, but it
takes attribute VALUES: a token carrying attributes ``a_1..a_k`` with values ``v_1..v_k`` scores
``sum_j v_j * w(a_j, y)`` for label ``y``. With ``k = labels - 1`` attributes of the model whose
weight vectors, together with the all-ones vector, span the label space, any score vector ``e``
is reproduced up to a constant per token (which no path comparison sees) by solving one small
linear system, so CRFsuite decodes our scores exactly with a handful of attributes a token
instead of dozens of string features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pycrfsuite

__all__ = ["ROLES", "Decoder", "NoBasisError", "Vec"]

Vec = npt.NDArray[np.float64]

# The roles a word's attributes play: its own, and as neighbour at -1, +1, -2, +2 of a token.
ROLES = 5
# A basis vector must add at least this much to the rank's smallest singular value: a nearly
# dependent basis would amplify rounding into score errors that flip close decisions.
_MIN_CONDITION = 1e-3


# O plus B-/I- of PER, ORG, LOC: fixed by stream/train_ner.py; decode() spells out the
# labels - 1 basis attributes of an item, which builds items 2x faster than dict(zip(...)).
_LABELS = 7


class NoBasisError(RuntimeError):
    """The model has not the expected labels, or too few independent attributes to carry
    arbitrary label scores."""


class Decoder:
    """Label scores of attributes, and exact Viterbi over given scores, for one model."""

    def __init__(self, tagger: pycrfsuite.Tagger) -> None:
        info = tagger.info()
        self.labels: list[str] = list(tagger.labels())
        self._tagger = tagger
        pos = {label: k for k, label in enumerate(self.labels)}
        n = len(self.labels)
        if n != _LABELS:
            raise NoBasisError(f"expected O and B-/I- of PER, ORG, LOC ({_LABELS} labels): {n}")
        self._weights: dict[str, Vec] = {}
        for (attr, label), w in info.state_features.items():
            vec = self._weights.get(attr)
            if vec is None:
                vec = self._weights[attr] = np.zeros(n)
            vec[pos[label]] = w
        # One matrix of every attribute's weights after a zero row, so a feature list is scored
        # by one gather and one sum; attributes map to rows from 1, so 0 means "unknown".
        self._index: dict[str, int] = {a: k for k, a in enumerate(self._weights, start=1)}
        self._matrix: Vec = np.zeros((len(self._weights) + 1, n))
        if self._weights:
            self._matrix[1:] = np.array(list(self._weights.values()))
        self.zero: Vec = np.zeros(n)
        self._basis, self._solve = self._find_basis(n)

    def _find_basis(self, n: int) -> tuple[list[str], Vec]:
        """Greedily pick n-1 attributes (densest weight vectors first) that with the all-ones
        vector form a well-conditioned basis; return them and the matrix that maps a score
        vector to their values."""
        rows: list[Vec] = [np.ones(n)]
        names: list[str] = []
        dense = sorted(self._weights.items(), key=lambda kv: (-np.count_nonzero(kv[1]), kv[0]))
        for name, vec in dense:
            trial = np.array([*rows, vec / np.linalg.norm(vec)])
            if np.linalg.svd(trial, compute_uv=False)[-1] > _MIN_CONDITION:
                rows.append(trial[-1])
                names.append(name)
                if len(rows) == n:
                    break
        if len(rows) < n:
            raise NoBasisError(f"only {len(rows) - 1} independent attributes for {n} labels")
        basis = np.array([np.ones(n)] + [self._weights[a] for a in names])
        # scores @ inv(basis) = [shift, v_1 .. v_{n-1}]; the shift is dropped
        solve: Vec = np.asarray(np.linalg.inv(basis)[:, 1:], dtype=np.float64)
        return names, solve

    def score(self, attrs: Sequence[str]) -> Vec:
        """Summed weight vector of ``attrs`` (attributes the model does not know weigh 0)."""
        out: Vec = self.score_many([attrs])[0]
        return out

    def score_many(self, lists: Sequence[Sequence[str]]) -> Vec:
        """:meth:`score` of each list (lists x labels), in one gather and one cumulative sum.

        Each list is summed from a zero row, first attribute first, then padded with zero rows:
        the same additions in the same order as adding each ``w`` to a zero vector one by one,
        so the scores are bit-identical and CRFsuite's close decisions are kept. (A running sum
        from +0.0 is never -0.0, so the padding changes no bit; ``add.reduceat`` and ``sum`` may
        add in another order and are not used.)
        """
        get = self._index.get
        rows = [[0, *filter(None, map(get, attrs))] for attrs in lists]
        width = max(map(len, rows))
        flat = [k for r in rows for k in (*r, *[0] * (width - len(r)))]
        gathered = self._matrix[flat].reshape(len(rows), width, -1)
        out: Vec = np.cumsum(gathered, axis=1)[:, -1]
        return out

    def decode(self, emit: Vec) -> list[str]:
        """Best label sequence for state scores ``emit`` (tokens x labels)."""
        a, b, c, d, e, f = self._basis
        values = (emit @ self._solve).tolist()
        items = [{a: p, b: q, c: r, d: s, e: t, f: u} for p, q, r, s, t, u in values]
        labels: list[str] = self._tagger.tag(items)
        return labels
