"""Model attribute ids of a word's CRF features, without spelling each feature out.

A word first seen mid-stream is scored from its feature lists (:mod:`stream.enrich.entities.crf`):
~40 strings per word, each built and hashed to find its attribute. Most of them repeat from
word to word: the affix features of one four-letter prefix or suffix, the cluster features of
one cluster, the gazetteer and trigger marks of one set of classes. :class:`AttributeIds`
looks those up once per distinct part and only spells out the features that name the word
itself, giving the ids in exactly the order of the feature lists (unknown attributes left
out), so the summed scores are bit for bit those of the strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

__all__ = ["AttributeIds", "WordIds"]

# Parts remembered before the memos are dropped: distinct four-letter affixes and mark sets of
# a day of news stay well below this, so the memos are rarely rebuilt and memory stays small.
_MEMO_MAX = 100_000

# Attribute prefixes of the features that spell the word itself and its bare reading, in the
# order of the id tuples of AttributeIds._words and ._bares.
_WORD_ROLES = {"w": 0, "-1w": 1, "+1w": 2, "-2w": 3, "+2w": 4}
_BARE_ROLES = {"s": 0, "-1s": 1, "+1s": 2}
_NO_WORD = (0,) * len(_WORD_ROLES)
_NO_BARE = (0,) * len(_BARE_ROLES)

# (own, -1, +1, -2, +2) attribute id lists of one word
WordIds = tuple[list[int], list[int], list[int], list[int], list[int]]
_Parts = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]


class AttributeIds:
    """The id lists of ``FeatureCache.roles`` (own, then -1, +1, -2, +2) for one model's
    attribute index (attribute -> id from 1; an attribute absent from the index weighs 0)."""

    def __init__(self, index: Mapping[str, int]) -> None:
        self._get: Callable[[str, int], int] = index.get
        self._prefix: dict[str, tuple[int, ...]] = {}
        self._suffix: dict[str, tuple[int, ...]] = {}
        self._bare_prefix: dict[str, tuple[int, ...]] = {}
        self._bare_suffix: dict[str, tuple[int, ...]] = {}
        self._clusters: dict[tuple[str, str, str] | None, _Parts] = {}
        self._bare_clusters: dict[tuple[str, str, str], tuple[int, ...]] = {}
        self._marks: dict[tuple[tuple[str, ...], tuple[str, ...], bool], _Parts] = {}
        # The features naming the word or its bare reading, by word: only the few thousand
        # words of the training text have any, so most new words cost one small-dict miss.
        words: dict[str, list[int]] = {}
        bares: dict[str, list[int]] = {}
        for name, at in index.items():
            role, _, value = name.partition("=")
            if role in _WORD_ROLES:
                words.setdefault(value, [0] * len(_WORD_ROLES))[_WORD_ROLES[role]] = at
            elif role in _BARE_ROLES:
                bares.setdefault(value, [0] * len(_BARE_ROLES))[_BARE_ROLES[role]] = at
        self._words = {w: tuple(ids) for w, ids in words.items()}
        self._bares = {b: tuple(ids) for b, ids in bares.items()}
        get = self._get
        self._len = {k: get(f"len={k}", 0) for k in range(9)}
        self._shape = {s: get("sh=" + s, 0) for s in ("num", "latin", "mixed", "armix")}

    def _ids(self, names: Sequence[str]) -> tuple[int, ...]:
        get = self._get
        return tuple(get(name, 0) for name in names)

    def word(
        self,
        norm: str,
        bare: str,
        shape: str,
        cluster: tuple[str, str, str] | None,
        bare_cluster: tuple[str, str, str] | None,
        marks: tuple[tuple[str, ...], tuple[str, ...], bool],
    ) -> WordIds:
        """Ids of ``norm``'s own features and of the features it lends its neighbours, from its
        bare (most-stripped) reading, shape, clusters and (gazetteer types, trigger classes,
        nisba); zeros (unknown attributes) are dropped."""
        if len(self._prefix) >= _MEMO_MAX or len(self._marks) >= _MEMO_MAX:
            self._forget()
        p = self._prefix.get(norm[:4])
        if p is None:
            k = norm[:4]
            p = self._prefix[k] = self._ids(
                ("p2=" + k[:2], "p3=" + k[:3], "p4=" + k, "-1p2=" + k[:2], "+1p2=" + k[:2])
            )
        x = self._suffix.get(norm[-4:])
        if x is None:
            k = norm[-4:]
            two = k[-2:]
            x = self._suffix[k] = self._ids(
                (
                    "x1=" + k[-1:],
                    "x2=" + two,
                    "x3=" + k[-3:],
                    "x4=" + k,
                    "-1x2=" + two,
                    "+1x2=" + two,
                )
            )
        bp = self._bare_prefix.get(bare[:4])
        if bp is None:
            k = bare[:4]
            bp = self._bare_prefix[k] = self._ids(("bp2=" + k[:2], "bp3=" + k[:3], "bp4=" + k))
        bx = self._bare_suffix.get(bare[-4:])
        if bx is None:
            k = bare[-4:]
            bx = self._bare_suffix[k] = self._ids(("bx2=" + k[-2:], "bx3=" + k[-3:], "bx4=" + k))
        cl = self._clusters.get(cluster)
        if cl is None:
            cl = self._clusters[cluster] = self._cluster_ids(cluster)
        mk = self._marks.get(marks)
        if mk is None:
            mk = self._marks[marks] = self._mark_ids(marks)
        w = self._words.get(norm, _NO_WORD)
        s = self._bares.get(bare, _NO_BARE)
        own = [w[0], s[0], p[0], p[1], x[1], x[2], bp[1], bx[1]]
        own += [p[2], x[0], x[3], bp[0], bp[2], bx[0], bx[2], self._len[min(len(bare), 8)]]
        if shape != "ar":
            own.append(self._shape[shape])
        own += cl[0]
        if bare_cluster and bare_cluster != cluster:
            bc = self._bare_clusters.get(bare_cluster)
            if bc is None:
                bc = self._bare_clusters[bare_cluster] = self._ids(
                    ("bc8=" + bare_cluster[1], "bc12=" + bare_cluster[2])
                )
            own += bc
        own += mk[0]
        before = [w[1], s[1], p[3], x[4], *mk[1], *cl[1]]
        after = [w[2], s[2], p[4], x[5], *mk[2], *cl[2]]
        far_before = [w[3], *mk[3], *cl[3]]
        far_after = [w[4], *mk[4], *cl[4]]
        return (
            [i for i in own if i],
            [i for i in before if i],
            [i for i in after if i],
            [i for i in far_before if i],
            [i for i in far_after if i],
        )

    def _cluster_ids(self, cluster: tuple[str, str, str] | None) -> _Parts:
        if cluster is None:
            return self._ids(("c=none",)), (), (), (), ()
        _, mid, fine = cluster
        return (
            self._ids(("c4=" + cluster[0], "c8=" + mid, "c12=" + fine)),
            self._ids(("-1c8=" + mid, "-1c12=" + fine)),
            self._ids(("+1c8=" + mid, "+1c12=" + fine)),
            self._ids(("-2c8=" + mid,)),
            self._ids(("+2c8=" + mid,)),
        )

    def _mark_ids(self, marks: tuple[tuple[str, ...], tuple[str, ...], bool]) -> _Parts:
        gaz_types, triggers, nisba = marks
        names = [*("gw=" + t for t in gaz_types), *("t=" + t for t in triggers)]
        near = [*names, "nisba"] if nisba else names
        return (
            self._ids(near),
            self._ids(["-1" + f for f in near]),
            self._ids(["+1" + f for f in near]),
            self._ids(["-2" + f for f in names]),
            self._ids(["+2" + f for f in names]),
        )

    def _forget(self) -> None:
        for memo in (self._prefix, self._suffix, self._bare_prefix, self._bare_suffix):
            memo.clear()
        self._clusters.clear()
        self._bare_clusters.clear()
        self._marks.clear()
