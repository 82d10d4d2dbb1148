"""The statistical tagger: a linear-chain CRF (CRFsuite) over lean, cached token features.

Features are built to generalize past the 2002 newswire the model is trained on: besides the
word itself they describe its clitic-stripped reading, affixes, shape, membership of a word in
the names of OUR gazetteer, whether a gazetteer name covers the position, trigger classes
(titles, organisation/place head nouns, speech verbs) of the word and its neighbours, and
punctuation breaks. Everything about a word that does not depend on its position is computed
once per distinct word and cached, already filtered to the attributes the model knows, so
tagging an article costs list concatenation plus the CRF's Viterbi pass.

The same :func:`sequence_features` serves training (``python -m stream.train_ner``) and
tagging, so the two can never drift apart.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pycrfsuite

from stream.enrich.gazetteer import Gazetteer, Match
from stream.enrich.normalize import clitic_variants
from stream.enrich.triggers import trigger_classes

__all__ = ["MODEL_PATH", "CrfTagger", "FeatureCache", "ModelMissingError", "sequence_features"]

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "ner-crf.crfsuite"
# Per-word feature caches are cleared when they reach this many words: a day of news has
# ~100k distinct forms, so the cache stays warm while memory stays bounded (~100 MB worst case).
_CACHE_WORDS = 150_000


class ModelMissingError(RuntimeError):
    """The trained CRF model file is absent: run ``python -m stream.train_ner``."""


def _shape(norm: str) -> str:
    if norm.isdigit():
        return "num"
    if norm.isascii():
        return "latin" if norm.isalpha() else "mixed"
    if any(ch.isdigit() for ch in norm):
        return "armix"
    return "ar"


@dataclass(slots=True)
class FeatureCache:
    """Per-word feature lists for one gazetteer, optionally filtered to a model's attributes."""

    gazetteer: Gazetteer
    known: Collection[str] | None = None
    # Training only: words whose identity features are withheld (hapaxes), so the model learns
    # to tag from affixes and context the way it must for names it has never seen.
    rare: Collection[str] = ()
    _own: dict[str, list[str]] = field(default_factory=dict)
    _ctx: dict[str, tuple[list[str], list[str], list[str], list[str]]] = field(default_factory=dict)

    def own(self, norm: str) -> list[str]:
        feats = self._own.get(norm)
        if feats is None:
            if len(self._own) >= _CACHE_WORDS:
                self._own.clear()
            feats = self._keep(self._word_features(norm))
            self._own[norm] = feats
        return feats

    def ctx(self, norm: str) -> tuple[list[str], list[str], list[str], list[str]]:
        """Features this word contributes to its neighbours at -1, +1, -2, +2."""
        feats = self._ctx.get(norm)
        if feats is None:
            if len(self._ctx) >= _CACHE_WORDS:
                self._ctx.clear()
            base = _context_core(norm, self._gaz_types(norm))
            feats = (
                self._keep([f"-1{f}" for f in base]),
                self._keep([f"+1{f}" for f in base]),
                self._keep([f"-2{f}" for f in base[:1] + base[2:]]),
                self._keep([f"+2{f}" for f in base[:1] + base[2:]]),
            )
            self._ctx[norm] = feats
        return feats

    def _keep(self, feats: list[str]) -> list[str]:
        known = self.known
        return feats if known is None else [f for f in feats if f in known]

    def _gaz_types(self, norm: str) -> tuple[str, ...]:
        word_types = self.gazetteer.word_types
        found: set[str] = set()
        for v in clitic_variants(norm):
            found.update(word_types.get(v, ()))
        return tuple(sorted(found))

    def _word_features(self, norm: str) -> list[str]:
        variants = clitic_variants(norm)
        bare = variants[-1]
        feats = [] if norm in self.rare else ["w=" + norm, "s=" + bare]
        feats += [
            "p2=" + norm[:2],
            "p3=" + norm[:3],
            "x2=" + norm[-2:],
            "x3=" + norm[-3:],
        ]
        shape = _shape(norm)
        if shape != "ar":  # the common case carries no information and costs CRF time
            feats.append("sh=" + shape)
        feats.extend("gw=" + t for t in self._gaz_types(norm))
        feats.extend("t=" + t for t in trigger_classes(norm))
        # A nisba adjective of a known place (الإيرانية from ايران) is context, not a name.
        for v in variants:
            base = v[:-2] if v.endswith("يه") else v[:-1] if v.endswith("ي") else ""
            if base and "LOC" in self.gazetteer.word_types.get(base, ()):
                feats.append("nisba")
                break
        return feats


def _context_core(norm: str, gaz_types: tuple[str, ...]) -> list[str]:
    """What a word says about its neighbour: itself (first), its bare reading (second; not
    used at distance 2), its gazetteer and trigger classes."""
    core = ["w=" + norm, "s=" + clitic_variants(norm)[-1]]
    core.extend("gw=" + t for t in gaz_types)
    core.extend("t=" + t for t in trigger_classes(norm))
    return core


_BOS = ["BOS"]
_EOS = ["EOS"]


def sequence_features(
    norms: Sequence[str],
    breaks: Sequence[bool],
    matches: Sequence[Match],
    cache: FeatureCache,
) -> list[list[str]]:
    """One feature list per token; ``breaks[i]``: punctuation between tokens i-1 and i."""
    n = len(norms)
    gaz_pos: dict[int, str] = {}
    for m in matches:
        gaz_pos[m.start] = "G=B-" + m.entry.type
        for k in range(m.start + 1, m.end):
            gaz_pos[k] = "G=I-" + m.entry.type
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
            feats.append(g)
        xseq.append(feats)
    return xseq


class CrfTagger:
    """A loaded model plus its word-feature cache; load once per process and reuse."""

    def __init__(self, model: Path, gazetteer: Gazetteer) -> None:
        if not model.is_file():
            raise ModelMissingError(f"{model}: no CRF model; run `python -m stream.train_ner`")
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(model))
        known = set(self._tagger.info().attributes)
        self.cache = FeatureCache(gazetteer, known)

    def tag(
        self, norms: Sequence[str], breaks: Sequence[bool], matches: Sequence[Match]
    ) -> list[str]:
        if not norms:
            return []
        labels: list[str] = self._tagger.tag(sequence_features(norms, breaks, matches, self.cache))
        return labels
