"""Which words may name a place, by the company they keep in 2018 news.

The word clusters (``stream/data/word-clusters.tsv``) put most one-word places of the curated
gazetteer in one coarse cluster ("تعز", "صنعاء", "الحديدة", "زبيد"), while everyday words
scatter over the others ("الإنتاج", "الملاهي", "الشباب"). A word in such a cluster, or one the
news saw too rarely to cluster at all (most towns: "الطارمية", "الباغوز"), may name a place; a
word clustered among ordinary words does not. Used by the place shape of patterns.py and by
``python -m stream.training.build_places``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from functools import lru_cache

from stream.enrich.entities.crf import default_clusters
from stream.enrich.entities.gazetteer import Gazetteer, default_gazetteer

__all__ = ["may_name_place", "place_clusters"]

# A coarse cluster is one of place names when it holds this share of the curated one-word
# places (in the shipped clusters one cluster holds most of them; the rest scatter thinly).
PLACE_CLUSTER_SHARE = 0.1


def place_clusters(gaz: Gazetteer, clusters: Mapping[str, tuple[str, str, str]]) -> set[str]:
    """Coarse clusters holding at least PLACE_CLUSTER_SHARE of the gazetteer's one-word
    places."""
    places = Counter(
        clusters[key[0]][0]
        for key, entry_id in gaz.index.items()
        if len(key) == 1 and gaz.entries[entry_id].type == "LOC" and key[0] in clusters
    )
    total = sum(places.values())
    return {c for c, n in places.items() if n >= PLACE_CLUSTER_SHARE * total}


@lru_cache(maxsize=1)
def _shipped_place_clusters() -> frozenset[str]:
    return frozenset(place_clusters(default_gazetteer(), default_clusters()))


def may_name_place(norm: str) -> bool:
    """Whether a normalized word is unclustered or clustered with the places."""
    cluster = default_clusters().get(norm)
    return cluster is None or cluster[0] in _shipped_place_clusters()
