"""The entity extractor's loaded resources: the curated gazetteer and the CRF tagger, loaded once
per process, and what is derived from them once (the vocabulary's scores, common first names)."""

from __future__ import annotations

from functools import lru_cache

from stream.enrich.entities.crf import MODEL_PATH, CrfTagger, default_clusters
from stream.enrich.entities.gazetteer import Gazetteer, default_gazetteer
from stream.enrich.normalize import normalize

__all__ = ["first_names", "precompute_vocabulary", "resources"]


@lru_cache(maxsize=1)
def resources() -> tuple[Gazetteer, CrfTagger]:
    """The curated gazetteer and the CRF tagger that sees its matches."""
    gaz = default_gazetteer()
    return gaz, CrfTagger(MODEL_PATH, gaz, default_clusters())


def precompute_vocabulary() -> None:
    """Score the clustered vocabulary (~56k words, ~2 s) now rather than on first sight.

    About two thirds of the words a fresh worker meets are in it, each ~40 us when first seen;
    only a word's own scores are kept, which no sentence changes.
    """
    _gaz, tagger = resources()
    tagger.precompute(default_clusters())


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Normalized first words of the gazetteer's people of several words ("محمد", "عمرو",
    "شيرين"), less those that name a person alone ("ترمب"): a one-word person the tagger
    found that is one of these and joins nobody names nobody in particular."""
    gaz, _tagger = resources()
    people = [e for e in gaz.entries.values() if e.type == "PER"]
    words = [normalize(n).split() for e in people for n in (e.name, *e.aliases)]
    alone = {w[0] for w in words if len(w) == 1}
    return frozenset(w[0] for w in words if len(w) > 1 and w[0] not in alone)
