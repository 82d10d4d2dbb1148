"""The CRF's token features: one cached list per distinct word, and the per-sentence features
(neighbours, gazetteer matches, punctuation breaks) that training and tagging share.

See :mod:`stream.enrich.entities.crf` for what the features describe and why.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from entities_native import word_shape

from stream.enrich.entities.gazetteer import Gazetteer, Match
from stream.enrich.entities.triggers import trigger_classes
from stream.enrich.normalize import clitic_variants

# word -> (coarse, mid, fine) cluster ids, see stream/training/train_clusters.py
Clusters = Mapping[str, tuple[str, str, str]]
# Per-word feature caches are cleared when they reach this many words: a day of news has
# ~100k distinct forms, so the cache stays warm while memory stays bounded (~100 MB worst case).
CACHE_WORDS = 150_000


def shape(norm: str) -> str:
    """A word's shape: num (digits only), latin (ASCII letters only), mixed (other ASCII), armix
    (other, with a digit) or ar; defined once, in the compiled core (``native/src/words.rs``), which
    scores the tagger's new words."""
    return word_shape(norm)


@dataclass(frozen=True, slots=True)
class _Facts:
    """A word's lookups that its own and its neighbour features share."""

    variants: tuple[str, ...]
    cluster: tuple[str, str, str] | None
    gaz_types: tuple[str, ...]
    triggers: tuple[str, ...]
    nisba: bool


@dataclass(slots=True)
class FeatureCache:
    """Per-word feature lists for one gazetteer and one set of word clusters."""

    gazetteer: Gazetteer
    clusters: Clusters = field(default_factory=dict)
    # Training only: words whose identity features are withheld (the rarest, see train_ner's
    # --rare), so the model learns to tag from clusters, affixes and context the way it must
    # for names it has never seen.
    rare: Collection[str] = ()
    _own: dict[str, list[str]] = field(default_factory=dict)
    _ctx: dict[str, tuple[list[str], list[str], list[str], list[str]]] = field(default_factory=dict)

    def own(self, norm: str) -> list[str]:
        feats = self._own.get(norm)
        if feats is None:
            if len(self._own) >= CACHE_WORDS:
                self._own.clear()
            feats = self._own[norm] = self._word_features(norm)
        return feats

    def ctx(self, norm: str) -> tuple[list[str], list[str], list[str], list[str]]:
        """Features this word contributes to its neighbours at -1, +1, -2, +2."""
        feats = self._ctx.get(norm)
        if feats is None:
            if len(self._ctx) >= CACHE_WORDS:
                self._ctx.clear()
            feats = self._ctx[norm] = self._context_features(norm)
        return feats

    def _facts(self, norm: str) -> _Facts:
        """What the word's own and its neighbour features read."""
        variants = clitic_variants(norm)
        return _Facts(
            variants,
            self._cluster(variants),
            self._gaz_types(variants),
            trigger_classes(norm),
            self._nisba(variants),
        )

    def _context_features(self, norm: str) -> tuple[list[str], list[str], list[str], list[str]]:
        known = self._facts(norm)
        marks = [*("gw=" + t for t in known.gaz_types), *("t=" + t for t in known.triggers)]
        cl = known.cluster
        near = ["w=" + norm, "s=" + known.variants[-1], "p2=" + norm[:2], "x2=" + norm[-2:], *marks]
        if known.nisba:
            near.append("nisba")
        far = ["w=" + norm, *marks]
        if cl:
            near += ["c8=" + cl[1], "c12=" + cl[2]]
            far.append("c8=" + cl[1])
        return (
            [f"-1{f}" for f in near],
            [f"+1{f}" for f in near],
            [f"-2{f}" for f in far],
            [f"+2{f}" for f in far],
        )

    def _cluster(self, variants: Sequence[str]) -> tuple[str, str, str] | None:
        """Clusters of the least-stripped reading the corpus saw often enough to cluster."""
        for v in variants:
            cl = self.clusters.get(v)
            if cl is not None:
                return cl
        return None

    def _gaz_types(self, variants: Sequence[str]) -> tuple[str, ...]:
        word_types = self.gazetteer.word_types
        found: set[str] = set()
        for v in variants:
            found.update(word_types.get(v, ()))
        return tuple(sorted(found))

    def _word_features(self, norm: str) -> list[str]:
        known = self._facts(norm)
        bare = known.variants[-1]
        feats = [] if norm in self.rare else ["w=" + norm, "s=" + bare]
        feats += [
            "p2=" + norm[:2],
            "p3=" + norm[:3],
            "x2=" + norm[-2:],
            "x3=" + norm[-3:],
            "bp3=" + bare[:3],
            "bx3=" + bare[-3:],
            "p4=" + norm[:4],
            "x1=" + norm[-1:],
            "x4=" + norm[-4:],
            "bp2=" + bare[:2],
            "bp4=" + bare[:4],
            "bx2=" + bare[-2:],
            "bx4=" + bare[-4:],
            "len=" + str(min(len(bare), 8)),
        ]
        kind = shape(norm)
        if kind != "ar":
            feats.append("sh=" + kind)
        cl = known.cluster
        if cl:
            feats += ["c4=" + cl[0], "c8=" + cl[1], "c12=" + cl[2]]
        else:
            feats.append("c=none")
        # The bare reading's clusters too: "وبطهران" clusters with clitic-bearing forms,
        # "طهران" with the cities.
        bare_cl = self.clusters.get(bare)
        if bare_cl and bare_cl != cl:
            feats += ["bc8=" + bare_cl[1], "bc12=" + bare_cl[2]]
        feats.extend("gw=" + t for t in known.gaz_types)
        feats.extend("t=" + t for t in known.triggers)
        # A nisba adjective of a known place (الإيرانية from ايران) is context, not a name.
        if known.nisba:
            feats.append("nisba")
        return feats

    def _nisba(self, variants: Sequence[str]) -> bool:
        for v in variants:
            base = v[:-2] if v.endswith("يه") else v[:-1] if v.endswith("ي") else ""
            if base and "LOC" in self.gazetteer.word_types.get(base, ()):
                return True
        return False


def _match_features(m: Match, n: int) -> list[tuple[int, str]]:
    """(position, feature) of a gazetteer match in a sentence of ``n`` tokens: where it begins,
    continues and ends, and the tokens just before and after it (a title before a known name,
    a nisba or a second surname after it)."""
    t = m.entry.type
    out = [(m.start, "G=B-" + t)]
    out += [(k, "G=I-" + t) for k in range(m.start + 1, m.end)]
    if m.end - m.start > 1:
        out.append((m.end - 1, "G=E-" + t))
    if m.start > 0:
        out.append((m.start - 1, "G+1=" + t))
    if m.end < n:
        out.append((m.end, "G-1=" + t))
    return out


_BOS = ["BOS"]
_EOS = ["EOS"]


def sequence_features(
    norms: Sequence[str],
    breaks: Sequence[bool],
    matches: Sequence[Match],
    cache: FeatureCache,
) -> list[list[str]]:
    """One feature list per token (training; tagging sums the same features as vectors in
    :class:`CrfTagger`); ``breaks[i]``: punctuation between tokens i-1 and i."""
    n = len(norms)
    gaz_pos: dict[int, list[str]] = {}
    for m in matches:
        for k, feat in _match_features(m, n):
            gaz_pos.setdefault(k, []).append(feat)
    own = [cache.own(w) for w in norms]
    ctx = [cache.ctx(w) for w in norms]
    last = n - 1
    xseq: list[list[str]] = []
    for i in range(n):
        feats = own[i] + (ctx[i - 1][0] if i else _BOS) + (ctx[i + 1][1] if i < last else _EOS)
        if i > 1 and not breaks[i - 1]:
            feats += ctx[i - 2][2]
        if i + 2 < n and not breaks[i + 2]:
            feats += ctx[i + 2][3]
        if breaks[i]:
            feats.append("brk")
        if i < last and breaks[i + 1]:
            feats.append("brk+")
        g = gaz_pos.get(i)
        if g:
            feats += g
        xseq.append(feats)
    return xseq
