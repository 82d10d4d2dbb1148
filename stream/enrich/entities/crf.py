"""The statistical tagger: a linear-chain CRF (CRFsuite) over lean, cached token features.

Features are built to generalize past the 2002 newswire the model is trained on: besides the
word itself they describe its clitic-stripped reading, affixes of the word and of its bare
reading, shape, its word clusters learned from 31k unlabelled 2018 news articles
(``stream/data/word-clusters.tsv``, ``python -m stream.training.train_clusters``: a surname
the model never saw shares a cluster with the surnames it did), membership of a word in the
names of OUR gazetteer, whether a gazetteer name covers the position, trigger classes (titles,
organisation/place head nouns, speech verbs) of the word and its neighbours, and punctuation
breaks.

The same :func:`sequence_features` serves training (``python -m stream.training.train_ner``)
and the reference tagging (CRFsuite's own); :class:`CrfTagger` finds exactly the same labels, but
sums each word's feature weights once per distinct word (see
:mod:`stream.enrich.entities.crf_weights`), and the compiled core
(``stream/enrich/entities/native``) spells out and scores a word's features the first time it is
seen (``words.rs``, the features of :class:`FeatureCache`), adds a sentence's rows and decodes
them, whatever the number of features.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pycrfsuite
from entities_native import Chain, Scorer

from stream.enrich.entities.crf_features import CACHE_WORDS, Clusters, FeatureCache
from stream.enrich.entities.crf_weights import ROLES, Vec, Weights
from stream.enrich.entities.gazetteer import Gazetteer, Match
from stream.enrich.entities.triggers import TRIGGERS

__all__ = [
    "CLUSTERS_PATH",
    "MODEL_PATH",
    "ClusterDataError",
    "CrfTagger",
    "ModelMissingError",
    "default_clusters",
    "known_names_path",
    "load_clusters",
    "load_known_names",
]

MODEL_PATH = Path(__file__).resolve().parents[2] / "data" / "ner-crf.crfsuite"
CLUSTERS_PATH = Path(__file__).resolve().parents[2] / "data" / "word-clusters.tsv"
# At most this many words are kept scored across resets (CrfTagger.precompute), so a reset
# still frees room for half the cache: the 56k clustered words fit.
_PINNED_WORDS = CACHE_WORDS // 2
# Entity types of gazetteer matches, in the order the compiled core is given their weights.
_TYPES = ("PER", "ORG", "LOC")


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


class CrfTagger:
    """A loaded model, tagging with exactly the scores of :func:`sequence_features` but summed
    once per distinct word (see :mod:`stream.enrich.entities.crf_weights`); load once and reuse."""

    def __init__(self, model: Path, gazetteer: Gazetteer, clusters: Clusters) -> None:
        if not model.is_file():
            raise ModelMissingError(
                f"{model}: no CRF model; run `python -m stream.training.train_ner`"
            )
        tagger = pycrfsuite.Tagger()
        tagger.open(str(model))
        # Gazetteer names the model's training text holds: its "O" on them is informed (see
        # stream.enrich.entities.spans._combine).
        self.known = load_known_names(model)
        self._weights = weights = Weights(tagger)
        self.cache = FeatureCache(gazetteer, clusters)
        self._gazetteer = gazetteer
        self._scorer = Scorer(
            weights.matrix,
            weights.attribute_ids,
            dict(clusters),
            {word: list(types) for word, types in gazetteer.word_types.items()},
            TRIGGERS,
        )
        self.labels = weights.labels

        def score(name: str) -> list[float]:
            return weights.score([name]).tolist()  # type: ignore[no-any-return]

        self._chain = Chain(
            weights.transitions.tolist(),
            (score("BOS"), score("EOS")),
            (score("brk"), score("brk+")),
            [
                (t, [score(f"G={p}-{t}") for p in "BIE"] + [score(f"G+1={t}"), score(f"G-1={t}")])
                for t in _TYPES
            ],
        )
        self._type_ids = {t: k for k, t in enumerate(_TYPES)}
        self._rows: dict[str, int] = {}
        # (word row, role, label) score table; grows by doubling, reset with the word caches
        self._table: Vec = np.zeros((1024, ROLES, len(weights.labels)))
        # Words whose rows survive the reset of the table (see precompute)
        self._pinned: list[str] = []

    def precompute(self, words: Iterable[str]) -> None:
        """Score rows of ``words`` now, kept across table resets: a word's row depends on the
        word alone (its features, the gazetteer, the clusters), never on its sentence, so the
        words a worker will meet most (the clustered vocabulary) need not cost it mid-stream."""
        pinned = dict.fromkeys([*self._pinned, *words])
        if len(pinned) > _PINNED_WORDS:
            raise ValueError(f"{len(pinned)} words to keep scored; at most {_PINNED_WORDS}")
        self._add_rows([w for w in pinned if w not in self._rows])
        self._pinned = list(pinned)

    def _add_rows(self, words: Sequence[str]) -> None:
        """Score distinct ``words`` that have no row yet, in one call of the compiled scorer
        (``native/src/words.rs``)."""
        first = len(self._rows)
        self._reserve(first + len(words))
        self._scorer.fill(self._table, first, words)
        self._rows.update(zip(words, range(first, first + len(words)), strict=True))

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
        """CRFsuite's best labels of a sentence with gazetteer ``matches`` (see
        :func:`sequence_features`)."""
        if not norms:
            return []
        if len(self._rows) + len(norms) > CACHE_WORDS:
            self._reset()  # before, not during, an article: its rows must stay valid
        rows = self.rows(norms)  # before reading the table: it may grow
        types = self._type_ids
        found = [(types[g.entry.type], g.start, g.end) for g in matches]
        return list(map(self.labels.__getitem__, self._chain.tag(self._table, rows, breaks, found)))

    def find(self, norms: Sequence[str], breaks: Sequence[bool]) -> tuple[list[Match], list[str]]:
        """The gazetteer's matches over a sentence and CRFsuite's best labels given them: what
        ``Gazetteer.match`` then :meth:`tag` give, the scan and the decoding in one call of the
        compiled core."""
        if not norms:
            return [], []
        if len(self._rows) + len(norms) > CACHE_WORDS:
            self._reset()  # before, not during, an article: its rows must stay valid
        rows = self.rows(norms)  # before reading the table: it may grow
        gaz = self._gazetteer
        found, labels = self._chain.scan_tag(gaz.names, self._table, norms, rows, breaks)
        return gaz.read(norms, found), list(map(self.labels.__getitem__, labels))
