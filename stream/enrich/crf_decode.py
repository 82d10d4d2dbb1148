"""Fast exact decoding of a trained linear-chain CRF from per-word score vectors.

A CRF's state score for token ``i`` and label ``y`` is the sum of the weights of the token's
attributes for ``y``. Almost all of a token's attributes depend on one word only (the word
itself, or a neighbour at a fixed distance), so their sum is a small vector per (word, role)
that is computed once per distinct word and cached: scoring an article is then a table gather
and a few array additions, whatever the number of features the model was trained with.

Viterbi is exact but skips the bulk of the work: a token whose ``O`` score beats every other
label by more than any transition could recover is ``O`` on every best path (an exchange
argument: relabelling it ``O`` strictly raises the score of any path), so the sequence splits
there into short independent segments around the candidate names, decoded in full. On news
text ~85% of tokens are decided by that test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["Decoder", "ROLES"]

Vec = npt.NDArray[np.float64]

# The roles a word's attributes play: its own, and as neighbour at -1, +1, -2, +2 of a token.
ROLES = 5
# Rounds of elimination: each narrows the neighbours' allowed labels; on news text the third
# round changes almost nothing.
_ELIMINATION_ROUNDS = 3


class Decoder:
    """Labels, transition matrix and attribute weights of one model."""

    def __init__(
        self,
        labels: Sequence[str],
        state: dict[tuple[str, str], float],
        transitions: dict[tuple[str, str], float],
    ) -> None:
        self.labels = list(labels)
        pos = {label: k for k, label in enumerate(self.labels)}
        n = len(self.labels)
        self.o = pos["O"]
        self.trans: Vec = np.zeros((n, n))
        for (a, b), w in transitions.items():
            self.trans[pos[a], pos[b]] = w
        self._weights: dict[str, Vec] = {}
        for (attr, label), w in state.items():
            vec = self._weights.get(attr)
            if vec is None:
                vec = self._weights[attr] = np.zeros(n)
            vec[pos[label]] = w
        self.zero: Vec = np.zeros(n)
        t = self.trans
        # What relabelling a token y -> O changes in its left transition (from label a) and in
        # its right one (to label b): _left[a, y], _right[b, y].
        self._left: Vec = t[:, self.o][:, None] - t
        self._right: Vec = (t[self.o, :][None, :] - t).T

    def known(self, attr: str) -> bool:
        return attr in self._weights

    def score(self, attrs: Sequence[str]) -> Vec:
        """Summed weight vector of ``attrs`` (attributes the model does not know weigh 0)."""
        out = self.zero.copy()
        weights = self._weights
        for a in attrs:
            w = weights.get(a)
            if w is not None:
                out += w
        return out

    def decode(self, emit: Vec) -> list[str]:
        """Best label sequence for state scores ``emit`` (tokens x labels)."""
        n = len(emit)
        undecided = np.flatnonzero(self._maybe_names(emit)).tolist()
        out = ["O"] * n
        k = 0
        while k < len(undecided):
            i = undecided[k]
            j = i + 1
            k += 1
            while k < len(undecided) and undecided[k] == j:
                j += 1
                k += 1
            out[i:j] = self._segment(emit, i, j, n)
        return out

    def _maybe_names(self, emit: Vec) -> npt.NDArray[np.bool_]:
        """Tokens that are not provably O. Label y is ruled out at a token when relabelling it
        O gains, whatever labels still allowed at its neighbours (dead-end elimination: the
        best path only uses allowed labels, so every rule-out is exact); repeated while the
        allowed sets shrink."""
        n, o = len(emit), self.o
        gain = emit[:, o : o + 1] - emit  # n x labels
        allowed = np.ones(emit.shape, dtype=bool)
        inf = np.inf
        for _ in range(_ELIMINATION_ROUNDS):
            bound = gain.copy()
            # min over the labels a allowed at t-1 of _left[a, y]; none at t = 0
            bound[1:] += np.where(allowed[:-1, :, None], self._left[None], inf).min(axis=1)
            bound[:-1] += np.where(allowed[1:, :, None], self._right[None], inf).min(axis=1)
            keep = bound <= 0
            keep[:, o] = True
            if (keep == allowed).all():
                break
            allowed = keep
        return np.asarray(allowed.sum(axis=1) > 1)

    def _segment(self, emit: Vec, i: int, j: int, n: int) -> list[str]:
        """Viterbi over tokens [i, j) between tokens fixed to O (or the sequence ends)."""
        t, o = self.trans, self.o
        score = emit[i] + (t[o] if i > 0 else 0.0)
        back: list[npt.NDArray[np.intp]] = []
        for pos in range(i + 1, j):
            cand = score[:, None] + t
            best = cand.argmax(axis=0)
            back.append(best)
            score = cand[best, np.arange(len(best))] + emit[pos]
        if j < n:
            score = score + t[:, o]
        y = int(score.argmax())
        path = [y]
        for best in reversed(back):
            y = int(best[y])
            path.append(y)
        labels = self.labels
        return [labels[y] for y in reversed(path)]
