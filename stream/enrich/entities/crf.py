"""The statistical tagger: a linear-chain CRF (CRFsuite) over lean, cached token features.

Features are built to generalize past the 2002 newswire the model is trained on: besides the
word itself they describe its clitic-stripped reading, affixes of the word and of its bare
reading, shape, its word clusters learned from 31k unlabelled 2018 news articles
(``stream/data/word-clusters.tsv``, ``python -m stream.training.train_clusters``: a surname
the model
never saw shares a cluster with the surnames it did), membership of a word in the names of OUR
gazetteer, whether a gazetteer name covers the position, trigger classes (titles,
organisation/place head nouns, speech verbs) of the word and its neighbours, and punctuation
breaks.

The same :func:`sequence_features` serves training (``python -m stream.training.train_ner``)
and the
reference tagging; :class:`CrfTagger` computes exactly the same scores, but sums each word's
feature weights once per distinct word (see :mod:`stream.enrich.entities.crf_decode`), so
tagging costs
a table gather and CRFsuite's Viterbi, whatever the number of features.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pycrfsuite

from stream.enrich.entities.crf_attrs import AttributeIds, WordIds
from stream.enrich.entities.crf_decode import ROLES, Decoder, Vec
from stream.enrich.entities.gazetteer import Gazetteer, Match
from stream.enrich.entities.triggers import trigger_classes
from stream.enrich.normalize import clitic_variants

__all__ = [
    "CLUSTERS_PATH",
    "MODEL_PATH",
    "ClusterDataError",
    "CrfTagger",
    "FeatureCache",
    "ModelMissingError",
    "default_clusters",
    "known_names_path",
    "load_clusters",
    "load_known_names",
    "sequence_features",
]

MODEL_PATH = Path(__file__).resolve().parents[2] / "data" / "ner-crf.crfsuite"
CLUSTERS_PATH = Path(__file__).resolve().parents[2] / "data" / "word-clusters.tsv"
# Per-word feature caches are cleared when they reach this many words: a day of news has
# ~100k distinct forms, so the cache stays warm while memory stays bounded (~100 MB worst case).
_CACHE_WORDS = 150_000
# At most this many words are kept scored across resets (CrfTagger.precompute), so a reset
# still frees room for half the cache: the 56k clustered words fit.
_PINNED_WORDS = _CACHE_WORDS // 2
# Words scored per batch when precomputing: one gather of ~300k weight rows, ~20 MB at a time.
_SCORE_CHUNK = 4096

# word -> (coarse, mid, fine) cluster ids, see stream/training/train_clusters.py
Clusters = Mapping[str, tuple[str, str, str]]


class ClusterDataError(ValueError):
    """A word-cluster file line that is not ``word<TAB>coarse<TAB>mid<TAB>fine``."""


def load_clusters(path: Path = CLUSTERS_PATH) -> dict[str, tuple[str, str, str]]:
    """Read a word-cluster file; a malformed line raises :class:`ClusterDataError`."""
    out: dict[str, tuple[str, str, str]] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4 or not parts[0] or not all(p.isdigit() for p in parts[1:]):
                raise ClusterDataError(f"{path.name}:{lineno}: expected word and 3 cluster ids")
            out[parts[0]] = (parts[1], parts[2], parts[3])
    return out


@lru_cache(maxsize=1)
def default_clusters() -> dict[str, tuple[str, str, str]]:
    """The shipped word clusters, loaded once per process."""
    return load_clusters(CLUSTERS_PATH)


class ModelMissingError(RuntimeError):
    """The trained CRF model file (or its known-names file) is absent: run
    ``python -m stream.training.train_ner``."""


def known_names_path(model: Path) -> Path:
    """Where the training script writes, beside ``model``, the gazetteer names (normalized
    words, space-separated) that occur in the model's training text."""
    return model.with_name(model.stem + "-known-names.tsv")  # a package-data pattern


def load_known_names(model: Path) -> frozenset[tuple[str, ...]]:
    """The known names of ``model`` (see :func:`known_names_path`); ``#`` lines are comments."""
    path = known_names_path(model)
    if not path.is_file():
        raise ModelMissingError(
            f"{path}: no known-names file; run `python -m stream.training.train_ner`"
        )
    with path.open(encoding="utf-8") as f:
        return frozenset(
            tuple(line.split()) for line in f if line.strip() and not line.startswith("#")
        )


def _shape(norm: str) -> str:
    if norm.isdigit():
        return "num"
    if norm.isascii():
        return "latin" if norm.isalpha() else "mixed"
    if any(ch.isdigit() for ch in norm):
        return "armix"
    return "ar"


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
            if len(self._own) >= _CACHE_WORDS:
                self._own.clear()
            feats = self._own[norm] = self._word_features(norm)
        return feats

    def ctx(self, norm: str) -> tuple[list[str], list[str], list[str], list[str]]:
        """Features this word contributes to its neighbours at -1, +1, -2, +2."""
        feats = self._ctx.get(norm)
        if feats is None:
            if len(self._ctx) >= _CACHE_WORDS:
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
        shape = _shape(norm)
        if shape != "ar":
            feats.append("sh=" + shape)
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


class CrfTagger:
    """A loaded model, tagging with exactly the scores of :func:`sequence_features` but summed
    once per distinct word (see :mod:`stream.enrich.entities.crf_decode`); load once and reuse."""

    def __init__(self, model: Path, gazetteer: Gazetteer, clusters: Clusters) -> None:
        if not model.is_file():
            raise ModelMissingError(
                f"{model}: no CRF model; run `python -m stream.training.train_ner`"
            )
        tagger = pycrfsuite.Tagger()
        tagger.open(str(model))
        # Gazetteer names the model's training text holds: its "O" on them is informed (see
        # stream.enrich.entities.extract._combine).
        self.known = load_known_names(model)
        self._dec = Decoder(tagger)
        self.cache = FeatureCache(gazetteer, clusters)
        self._attrs = AttributeIds(self._dec.attribute_ids)
        dec = self._dec
        self._fixed = {name: dec.score([name]) for name in ("BOS", "EOS", "brk", "brk+")}
        for t in ("PER", "ORG", "LOC"):
            for name in (f"G=B-{t}", f"G=I-{t}", f"G=E-{t}", f"G+1={t}", f"G-1={t}"):
                self._fixed[name] = dec.score([name])
        self._rows: dict[str, int] = {}
        # (word row, role, label) score table; grows by doubling, reset with the word caches
        self._table: Vec = np.zeros((1024, ROLES, len(dec.labels)))
        # Words whose rows survive the reset of the table (see precompute)
        self._pinned: list[str] = []

    def precompute(self, words: Iterable[str]) -> None:
        """Score rows of ``words`` now, kept across table resets: a word's row depends on the
        word alone (its features, the gazetteer, the clusters), never on its sentence, so the
        words a worker will meet most (the clustered vocabulary) need not cost it mid-stream."""
        pinned = dict.fromkeys([*self._pinned, *words])
        if len(pinned) > _PINNED_WORDS:
            raise ValueError(f"{len(pinned)} words to keep scored; at most {_PINNED_WORDS}")
        new = [w for w in pinned if w not in self._rows]
        for at in range(0, len(new), _SCORE_CHUNK):
            self._add_rows(new[at : at + _SCORE_CHUNK])
        self._pinned = list(pinned)

    def _add_rows(self, words: Sequence[str]) -> None:
        """Score distinct ``words`` that have no row yet, in one batch: one gather for all
        their feature lists costs far less than one per word (numpy's per-call overhead)."""
        first = len(self._rows)
        self._reserve(first + len(words))
        roles = [self._word_ids(w) for w in words]
        rows = self._table[first : first + len(words)]
        # A word's own features are ~3x its neighbour features: scored apart, the short lists
        # are not padded to the long ones' width.
        rows[:, 0] = self._dec.score_ids([r[0] for r in roles])
        near = self._dec.score_ids([ids for r in roles for ids in r[1:]])
        rows[:, 1:] = near.reshape(len(words), ROLES - 1, -1)
        self._rows.update(zip(words, range(first, first + len(words)), strict=True))

    def _word_ids(self, norm: str) -> WordIds:
        """The attribute ids of :meth:`FeatureCache.own` and :meth:`FeatureCache.ctx` of
        ``norm``, found without spelling out the features (see
        :mod:`stream.enrich.entities.crf_attrs`)."""
        cache = self.cache  # a tagger's cache withholds no word's identity (no ``rare``)
        facts = cache._facts(norm)
        bare = facts.variants[-1]
        marks = (facts.gaz_types, facts.triggers, facts.nisba)
        bare_cluster = cache.clusters.get(bare)
        return self._attrs.word(norm, bare, _shape(norm), facts.cluster, bare_cluster, marks)

    def _reserve(self, rows: int) -> None:
        size = len(self._table)
        while size < rows:
            size *= 2
        if size > len(self._table):
            grown = np.zeros((size, *self._table.shape[1:]))
            grown[: len(self._table)] = self._table
            self._table = grown

    def _reset(self) -> None:
        """Forget every row but the pinned ones, moved to the front of the table."""
        keep = self._table[[self._rows[w] for w in self._pinned]]
        self._table[: len(keep)] = keep
        self._rows = dict(zip(self._pinned, range(len(keep)), strict=True))

    def rows(self, norms: Sequence[str]) -> list[int]:
        """Table rows of ``norms``, scoring the words not seen yet (in one batch)."""
        found = list(map(self._rows.get, norms))
        if None in found:
            self._add_rows(
                [*dict.fromkeys(w for w, r in zip(norms, found, strict=True) if r is None)]
            )
            found = list(map(self._rows.get, norms))
        return found  # type: ignore[return-value]  # every word has a row now

    def tag(
        self, norms: Sequence[str], breaks: Sequence[bool], matches: Sequence[Match]
    ) -> list[str]:
        return self._dec.decode(self.scores(norms, breaks, matches)) if norms else []

    def scores(self, norms: Sequence[str], breaks: Sequence[bool], matches: Sequence[Match]) -> Vec:
        """State scores (tokens x labels) of a non-empty sentence: its features' weights."""
        n = len(norms)
        if len(self._rows) + n > _CACHE_WORDS:
            self._reset()  # before, not during, an article: its rows must stay valid
        rows = self.rows(norms)  # before reading the table: it may grow
        m = self._table[rows]
        emit = m[:, 0].copy()
        emit[1:] += m[:-1, 1]
        emit[:-1] += m[1:, 2]
        fixed = self._fixed
        emit[0] += fixed["BOS"]
        emit[-1] += fixed["EOS"]
        brk = np.fromiter(breaks, dtype=bool, count=n)
        if n > 2:
            emit[2:] += m[:-2, 3] * ~brk[1:-1, None]
            emit[:-2] += m[2:, 4] * ~brk[2:, None]
        emit[brk] += fixed["brk"]
        emit[:-1][brk[1:]] += fixed["brk+"]
        for g in matches:  # the additions of _match_features, in its order
            t, start, end = g.entry.type, g.start, g.end
            emit[start] += fixed["G=B-" + t]
            if end - start > 1:
                emit[start + 1 : end] += fixed["G=I-" + t]
                emit[end - 1] += fixed["G=E-" + t]
            if start > 0:
                emit[start - 1] += fixed["G+1=" + t]
            if end < n:
                emit[end] += fixed["G-1=" + t]
        return emit
