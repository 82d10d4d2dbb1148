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

Most tokens of news text are plainly outside any name, and for them CRFsuite's work is wasted:
:meth:`Decoder.decode` first proves, with a few whole-array steps, which tokens every best path
labels O (a bound on how far the best path through another label can catch up from either
side), and CRFsuite decodes only the rest, each run of proven-O tokens standing in as one token
that only O can label. The best path through the proven tokens is the best path: the labels
are the same, for a quarter of the items.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

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


# O plus B-/I- of PER, ORG, LOC: fixed by stream/training/train_ner.py; decode() spells out the
# labels - 1 basis attributes of an item, which builds items 2x faster than dict(zip(...)).
_LABELS = 7
# A sequence shorter than this (a title) goes to CRFsuite whole: proving its O tokens would
# cost more than decoding them.
_MIN_PROVE = 24
# Rounds of bound tightening from each side: each lets a token's bound see one token further.
# Two prove ~84% of news tokens O; a third adds ~5% for more than it saves (bench_stream.py).
_PROVE_ROUNDS = 2
# A token is proven O only by at least this margin, far above the rounding of the scores
# CRFsuite rebuilds from attribute values (~1e-13): no proof rests on a near tie.
_PROOF_MARGIN = 1e-6
# Score deficit of every label but O on a token standing in for a run of proven-O tokens:
# larger than any difference of transition weights, so only O labels it.
_FORCE_O = 1e4


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
        if "O" not in pos:
            raise NoBasisError(f"no O label among {self.labels}")
        self._o = pos["O"]
        trans = np.zeros((n, n))
        for (src, dst), w in info.transitions.items():
            trans[pos[src], pos[dst]] = w
        stay = trans[self._o, self._o]
        # Bounds of :meth:`_proven_o`, label-major (labels x tokens) so that every step works
        # on contiguous rows: [a, y, 1] = T(a, y); [b, y, 1] = T(y, b) - T(O, O).
        self._into = trans[:, :, None].copy()
        self._onward = trans.T[:, :, None] - stay
        self._stay = stay
        # How much better than O a label's transitions can make it, from any previous label
        # (max_a T(a, y) - T(a, O)) and towards any next one (max_b T(y, b) - T(O, b)).
        self._gain_in: Vec = (trans - trans[:, [self._o]]).max(axis=0)[:, None]
        self._gain_out: Vec = (trans - trans[[self._o], :]).max(axis=1)[:, None]
        self._force_o: Vec = np.full(n, -_FORCE_O)
        self._force_o[self._o] = 0.0

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
        from +0.0 is never -0.0, so the padding changes no bit. The sum runs over the middle
        axis, which numpy adds row after row, never pairwise: pairwise summation is only for
        the innermost axis. ``add.reduceat`` may add in another order and is not used.)
        """
        get = self._index.get
        return self.score_ids([list(filter(None, map(get, attrs))) for attrs in lists])

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

    def decode(self, emit: Vec) -> list[str]:
        """Best label sequence for state scores ``emit`` (tokens x labels)."""
        n = len(emit)
        if n < _MIN_PROVE:
            return self._viterbi(emit)
        proven = self._proven_o(emit)
        # One stand-in per run of proven tokens (its first), none for the others of the run.
        first = proven.copy()
        first[1:] &= ~proven[:-1]
        keep = ~proven | first
        short = emit[keep]
        stand_in = proven[keep]
        short[stand_in] = self._force_o
        decided = self._viterbi(short)
        labels = ["O"] * n
        open_ = np.flatnonzero(~proven).tolist()
        told = [y for y, s in zip(decided, stand_in.tolist(), strict=True) if not s]
        for i, y in zip(open_, told, strict=True):
            labels[i] = y
        return labels

    def _viterbi(self, emit: Vec) -> list[str]:
        """CRFsuite's Viterbi over ``emit``, carried by the basis attributes' values."""
        a, b, c, d, e, f = self._basis
        values = (emit @ self._solve).tolist()
        items = [{a: p, b: q, c: r, d: s, e: t, f: u} for p, q, r, s, t, u in values]
        labels: list[str] = self._tagger.tag(items)
        return labels

    def _proven_o(self, emit: Vec) -> npt.NDArray[np.bool_]:
        """Tokens that every best path labels O.

        With ``F_i(y)``/``B_i(y)`` the best scores of the paths before and after token ``i``
        through label ``y`` (CRFsuite's chain: state scores and transitions, no start or end
        weights), ``i`` is O on every best path when ``F_i(O) - F_i(y) > B_i(y) - B_i(O)`` for
        every other ``y``. Both sides are bounded without decoding: a lower bound ``lo`` of
        the left gap from the token's own scores (any previous label could have led to O
        instead), tightened by the Viterbi step from the previous token's bound; an upper bound
        ``hi`` of the right gap likewise from the next token's.
        """
        scores = np.ascontiguousarray(emit.T)  # labels x tokens: each step on whole rows
        o = self._o
        gap = scores[o] - scores  # how much O beats each label on each token's own scores
        lo = gap - self._gain_in
        lo[:, 0] = gap[:, 0]  # nothing before the first token
        hi = np.empty_like(gap)
        hi[:] = self._gain_out
        hi[:, -1] = 0.0  # nothing after the last token
        ahead = gap[:, 1:] + self._stay
        for _ in range(_PROVE_ROUNDS):
            step = np.maximum.reduce(self._into - lo[:, None, :-1], axis=0)
            np.maximum(lo[:, 1:], ahead - step, out=lo[:, 1:])
            step = np.maximum.reduce(self._onward + (hi[:, 1:] - gap[:, 1:])[:, None, :], axis=0)
            np.minimum(hi[:, :-1], step, out=hi[:, :-1])
        wins = lo - hi > _PROOF_MARGIN
        wins[o] = True
        proven: npt.NDArray[np.bool_] = wins.all(axis=0)
        return proven
