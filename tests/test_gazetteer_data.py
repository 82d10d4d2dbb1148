"""The curated Arabic gazetteer (stream/data/gazetteer/*.yaml) is well-formed and covers the news.

These tests read the YAML with PyYAML directly, so they specify the data itself and do not
depend on the loader/matcher in stream/enrich/entities/gazetteer.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.shared_data import SEED_DIR

REPO = Path(__file__).resolve().parents[1]
GAZETTEER_DIR = REPO / "stream" / "data" / "gazetteer"

# Issue 4 asks for at least 3,000 entries on world and Middle-East politics.
MIN_ENTRIES = 3000

ID_RE = re.compile(r"^(per|org|loc)\.[a-z0-9]+(?:_[a-z0-9]+)*$")
ISO2_RE = re.compile(r"^[A-Z]{2}$")
ARABIC_LETTER_RE = re.compile(r"[\u0621-\u064A\u0671-\u06D3]")
LATIN_RE = re.compile(r"[A-Za-z]")
REQUIRED_KEYS = {"id", "type", "name", "name_en", "aliases"}
ALLOWED_KEYS = REQUIRED_KEYS | {"role", "country"}
PREFIX_FOR_TYPE = {"PER": "per", "ORG": "org", "LOC": "loc"}
FILE_TYPES = {
    "countries": "LOC",
    "cities": "LOC",
    "regions": "LOC",
    "organisations": "ORG",
    "media": "ORG",
}
LETTER_FOLDS = str.maketrans({"ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك", "گ": "ك", "ؤ": "و", "ئ": "ي"})
# Common Arabic words and bare first names that would flood the matcher with false hits.
FORBIDDEN_SURFACES = [
    "محمد",
    "علي",
    "أمل",
    "سلام",
    "عباس",
    "رئيسي",
    "القاعدة",
    "فتح",
    "كيف",
    "مالية",
    "المنفى",
]

# Surface forms that genuinely name two different entities in Arabic news; the matcher must
# disambiguate them from context. Anything else shared between two ids is a data error.
KNOWN_AMBIGUITIES: dict[str, set[str]] = {
    # عُمان (Oman) and عمّان (Amman) differ only in vowel marks and shadda.
    "عمان": {"loc.oman", "loc.amman"},
}

# Entities of the seed article (../shared/seed/) and the id each surface form must resolve to.
SEED_ENTITIES = {
    "دونالد ترمب": "per.donald_trump",
    "رودي غولياني": "per.rudy_giuliani",
    "جو ليبرمان": "per.joe_lieberman",
    "مايكل موكازي": "per.michael_mukasey",
    "روبرت جوزيف": "per.robert_joseph",
    "المجلس الوطني للمقاومة الإيرانية": "org.ncri",
    "إيران": "loc.iran",
    "طهران": "loc.tehran",
    "الولايات المتحدة": "loc.usa",
    "أوروبا": "loc.europe",
}

# Spelling variants of foreign names that Arabic media use side by side (issue 4, point 4).
REQUIRED_VARIANTS = {
    "per.donald_trump": ["ترمب", "ترامب"],
    "per.rudy_giuliani": ["غولياني", "جولياني"],
    "per.mike_pompeo": ["بومبيو", "بومبيوا"],
    "per.benjamin_netanyahu": ["نتنياهو", "نتانياهو"],
    "per.recep_tayyip_erdogan": ["أردوغان"],
    "per.ali_khamenei": ["خامنئي", "خامنه اي"],
    "per.emmanuel_macron": ["ماكرون", "ماكرن"],
    "per.maryam_rajavi": ["مريم رجوي"],
    "loc.usa": ["الولايات المتحدة الأمريكية", "الولايات المتحدة الأميركية", "أمريكا", "أميركا"],
}


def match_key(text: str) -> str:
    """Fold a surface form the way a matcher compares it: no marks, folded letters, no article."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[\u064B-\u065F\u0670\u0640\u200c-\u200f]", "", text)
    text = re.sub("[أإآٱ]", "ا", text)
    text = text.translate(LETTER_FOLDS)
    tokens = re.sub(r"[^\w\s]", " ", text).split()
    # Strip the article only when a real word remains (الخليج -> خليج, but not ال + 2 letters).
    return " ".join(t[2:] if t.startswith("ال") and len(t) > 4 else t for t in tokens)


def _load() -> list[tuple[str, dict[str, Any]]]:
    entries: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(GAZETTEER_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, list), f"{path.name}: top level must be a YAML list"
        entries.extend((path.name, item) for item in data)
    return entries


@pytest.fixture(scope="module")
def entries() -> list[tuple[str, dict[str, Any]]]:
    return _load()


@pytest.fixture(scope="module")
def surface_index(entries: list[tuple[str, dict[str, Any]]]) -> dict[str, set[str]]:
    index: dict[str, set[str]] = defaultdict(set)
    for _, e in entries:
        for surface in [e["name"], *e["aliases"]]:
            index[match_key(surface)].add(e["id"])
    return index


def test_gazetteer_is_split_into_category_files() -> None:
    names = {p.stem for p in GAZETTEER_DIR.glob("*.yaml")}
    assert names >= set(FILE_TYPES)
    assert any(n.startswith("people_") for n in names)


def test_has_at_least_3000_entries_of_every_type(entries: list[tuple[str, dict[str, Any]]]) -> None:
    assert len(entries) >= MIN_ENTRIES
    by_type: dict[str, int] = defaultdict(int)
    for _, e in entries:
        by_type[e.get("type", "?")] += 1
    # Each type must be substantial, not a token handful.
    assert by_type["PER"] >= 1000 and by_type["ORG"] >= 500 and by_type["LOC"] >= 1000, by_type


def test_every_entry_has_exactly_the_schema_fields(
    entries: list[tuple[str, dict[str, Any]]],
) -> None:
    problems = []
    for fname, e in entries:
        if not isinstance(e, dict):
            problems.append(f"{fname}: entry is not a mapping: {e!r}")
            continue
        keys = set(e)
        if not keys >= REQUIRED_KEYS or not keys <= ALLOWED_KEYS:
            problems.append(f"{fname}: {e.get('id')}: keys {sorted(keys)}")
            continue
        if not isinstance(e["aliases"], list) or not all(isinstance(a, str) for a in e["aliases"]):
            problems.append(f"{fname}: {e['id']}: aliases must be a list of strings")
        if not isinstance(e["name_en"], str) or not e["name_en"].strip():
            problems.append(f"{fname}: {e['id']}: empty name_en")
        if "role" in e and (not isinstance(e["role"], str) or not e["role"].strip()):
            problems.append(f"{fname}: {e['id']}: empty role")
        if "country" in e and not ISO2_RE.match(str(e["country"])):
            problems.append(f"{fname}: {e['id']}: country {e['country']!r} is not ISO-3166 alpha-2")
    assert not problems, "\n".join(problems[:50])


def test_ids_are_unique_well_formed_and_match_type(
    entries: list[tuple[str, dict[str, Any]]],
) -> None:
    seen: dict[str, str] = {}
    problems = []
    for fname, e in entries:
        eid, etype = e["id"], e["type"]
        if etype not in PREFIX_FOR_TYPE:
            problems.append(f"{fname}: {eid}: type {etype!r} not in PER/ORG/LOC")
        elif not ID_RE.match(eid) or not eid.startswith(PREFIX_FOR_TYPE[etype] + "."):
            problems.append(f"{fname}: {eid}: id malformed or prefix does not match type {etype}")
        if eid in seen:
            problems.append(f"{fname}: {eid}: duplicate id (also in {seen[eid]})")
        seen[eid] = fname
    assert not problems, "\n".join(problems[:50])


def test_people_files_hold_people_and_place_files_hold_places(
    entries: list[tuple[str, dict[str, Any]]],
) -> None:
    for fname, e in entries:
        stem = fname.removesuffix(".yaml")
        want = "PER" if stem.startswith("people_") else FILE_TYPES.get(stem)
        assert want is None or e["type"] == want, f"{fname}: {e['id']} has type {e['type']}"


def test_names_and_aliases_are_arabic_script(entries: list[tuple[str, dict[str, Any]]]) -> None:
    problems = []
    for fname, e in entries:
        name = e["name"]
        if not ARABIC_LETTER_RE.search(name) or LATIN_RE.search(name):
            problems.append(f"{fname}: {e['id']}: name {name!r} is not Arabic script")
        for alias in e["aliases"]:
            if not ARABIC_LETTER_RE.search(alias) or alias != alias.strip():
                problems.append(
                    f"{fname}: {e['id']}: alias {alias!r} has no Arabic or stray spaces"
                )
    assert not problems, "\n".join(problems[:50])


def test_no_surface_form_names_two_entities_unless_known_ambiguity(
    surface_index: dict[str, set[str]],
) -> None:
    clashes = {
        key: ids
        for key, ids in surface_index.items()
        if len(ids) > 1 and KNOWN_AMBIGUITIES.get(key) != ids
    }
    assert not clashes, "\n".join(f"{k}: {sorted(v)}" for k, v in sorted(clashes.items())[:50])


def test_known_ambiguities_are_still_real(surface_index: dict[str, set[str]]) -> None:
    for key, ids in KNOWN_AMBIGUITIES.items():
        assert surface_index.get(key) == ids, f"stale known ambiguity {key}"


def test_no_alias_is_a_bare_common_word(surface_index: dict[str, set[str]]) -> None:
    for word in FORBIDDEN_SURFACES:
        assert match_key(word) not in surface_index, f"{word!r} must not be a surface form"


@pytest.mark.parametrize(("surface", "entity_id"), sorted(SEED_ENTITIES.items()))
def test_seed_article_entities_are_covered(
    surface: str, entity_id: str, surface_index: dict[str, set[str]]
) -> None:
    assert surface_index.get(match_key(surface)) == {entity_id}


def test_seed_surfaces_really_occur_in_the_seed_article() -> None:
    seed_files = sorted(SEED_DIR.glob("*.txt"))
    if not seed_files:
        pytest.skip(f"seed article not found under {SEED_DIR}")
    text = "\n".join(p.read_text(encoding="utf-8") for p in seed_files)
    missing = [s for s in SEED_ENTITIES if s not in text]
    assert not missing, missing


@pytest.mark.parametrize(("entity_id", "variants"), sorted(REQUIRED_VARIANTS.items()))
def test_foreign_names_carry_their_arabic_spelling_variants(
    entity_id: str, variants: list[str], entries: list[tuple[str, dict[str, Any]]]
) -> None:
    entry = next(e for _, e in entries if e["id"] == entity_id)
    keys = {match_key(s) for s in [entry["name"], *entry["aliases"]]}
    assert all(match_key(v) in keys for v in variants), (entity_id, variants)


def test_cities_are_not_aliases_of_their_countries(surface_index: dict[str, set[str]]) -> None:
    # واشنطن is the city (and the US government by metonymy), never an alias of the country.
    assert surface_index[match_key("واشنطن")] == {"loc.washington_dc"}
    assert surface_index[match_key("طهران")] == {"loc.tehran"}
