"""The curated gazetteer: YAML data files loaded once, validated, indexed for matching.

Each ``stream/data/gazetteer/*.yaml`` file is a list of entries::

    - id: per.donald_trump      # <per|org|loc>.<ascii_slug>, stable across releases
      type: PER                 # PER | ORG | LOC, must agree with the id prefix
      name: دونالد ترمب         # canonical Arabic name
      name_en: Donald Trump     # optional
      aliases: [ترمب, ترامب]    # optional; spelling variants and short forms
      role: ...                 # optional short English note
      country: US               # optional ISO 3166-1 alpha-2

Names and aliases are indexed as tuples of normalized tokens; text is matched longest-first on
its tokens' clitic variants (see :meth:`Gazetteer.match`), so "والولايات المتحدة" and
"وبطهران" find their entries. A malformed file raises :class:`GazetteerError` naming the file
and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from entities_native import Names

from rasad.core.article import EntityType
from stream.enrich.normalize import normalize, tokenize

__all__ = [
    "DEFAULT_DIR",
    "Gazetteer",
    "GazetteerEntry",
    "GazetteerError",
    "Match",
    "default_gazetteer",
    "load_gazetteer",
]

# (entry number, start, end, strip, reading) of one match of the compiled scan
Found = tuple[int, int, int, int, str]

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "data" / "gazetteer"

_ID = re.compile(r"^(per|org|loc)\.[a-z0-9_]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PREFIX: dict[str, EntityType] = {"per": "PER", "org": "ORG", "loc": "LOC"}
_KEYS = {"id", "type", "name", "name_en", "aliases", "role", "country"}
_REQUIRED = ("id", "type", "name")
# One-word names that are also everyday words in news text ("العديد" = many / al-Udeid,
# "مالي" = financial / Mali, "سيول" = floods / Seoul, "اب" = father, August / Ibb, "ديلي" as in
# "ديلي ميل" / Dili, "عمان" = Oman as often as Amman, "ترأس" = presided / Truss, "بنوك" = banks
# / ب + Nuuk). Alone they do not match; inside a longer name they do, and the tagger still sees
# them as name words.
_COMMON_WORDS = frozenset(("العديد", "مالي", "سيول", "اب", "ديلي", "عمان", "تراس", "نوك"))
# Names written both joined and split in the press ("عبدالله" / "عبد الله").
_JOINABLE = ("عبد", "ابو")
# Word endings of foreign names whose غ is also written ج (see _hard_g).
_HARD_G_ENDINGS = ("نغ", "رغ")

# The C loader parses the ~3,000 entries several times faster; PyYAML without libyaml lacks it.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class GazetteerError(ValueError):
    """A gazetteer file that is not valid YAML or holds an invalid entry."""


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    id: str
    type: EntityType
    name: str
    name_en: str | None
    aliases: tuple[str, ...]
    role: str | None
    country: str | None
    where: str  # "file.yaml:line", for error messages and debugging


@dataclass(frozen=True, slots=True)
class Match:
    """A gazetteer hit over tokens ``[start, end)``; ``strip`` is how many normalized characters
    of the first token are proclitics (و, وب, لل …) outside the name."""

    entry: GazetteerEntry
    start: int
    end: int
    strip: int
    key: tuple[str, ...]  # the name's normalized words as indexed (proclitics stripped)


@dataclass(slots=True)
class Gazetteer:
    entries: dict[str, GazetteerEntry] = field(default_factory=dict)
    index: dict[tuple[str, ...], str] = field(default_factory=dict)
    # longest key length starting with a given token: bounds the longest-first search
    first: dict[str, int] = field(default_factory=dict)
    # types of the names each normalized word occurs in: a cheap "looks like a name" signal
    word_types: dict[str, frozenset[EntityType]] = field(default_factory=dict)
    # keys two entries claim, or one-word names that are everyday words: never matched
    ambiguous: set[tuple[str, ...]] = field(default_factory=set)
    # key -> {entry id: 0 if it is the entry's canonical name, 1 if an alias}
    _claims: dict[tuple[str, ...], dict[str, int]] = field(default_factory=dict)
    _built: bool = False
    # the compiled scan of the index's names (entry numbers: positions in _order), from build()
    _names: Names = field(init=False)
    _order: list[GazetteerEntry] = field(default_factory=list)

    def add(self, entry: GazetteerEntry) -> None:
        if entry.id in self.entries:
            first = self.entries[entry.id].where
            raise GazetteerError(f"{entry.where}: duplicate id {entry.id!r} (first at {first})")
        self.entries[entry.id] = entry
        for rank, surface in enumerate((entry.name, *entry.aliases)):
            key = tuple(t.norm for t in tokenize(surface))
            if not key:
                raise GazetteerError(f"{entry.where}: name or alias {surface!r} has no words")
            for k in _spellings(key):
                self._claims.setdefault(k, {}).setdefault(entry.id, min(rank, 1))
            for word in key:
                self.word_types[word] = self.word_types.get(word, frozenset()) | {entry.type}
        self._built = False

    def build(self) -> None:
        """Resolve which entry each key names: a key that is the canonical name of exactly one
        entry goes to it; a key claimed only as an alias by several entries (two presidents
        called "عون") is ambiguous and matches nothing: guessing would be wrong half the time,
        and the statistical tagger may still tag it."""
        self.index.clear()
        self.first.clear()
        self.ambiguous.clear()
        for key, claims in self._claims.items():
            names = [eid for eid, rank in claims.items() if rank == 0]
            owners = names if names else list(claims)
            if len(owners) != 1 or (len(key) == 1 and key[0] in _COMMON_WORDS):
                self.ambiguous.add(key)
                continue
            self.index[key] = owners[0]
            self.first[key[0]] = max(self.first.get(key[0], 0), len(key))
        self._order = list(self.entries.values())
        number = {entry.id: k for k, entry in enumerate(self._order)}
        self._names = Names(
            [(list(key), number[eid]) for key, eid in self.index.items()],
            [entry.type for entry in self._order],
        )
        self._built = True

    @property
    def names(self) -> Names:
        """The compiled scan of the built index, for a caller that scans in the same call as it
        does more (the CRF tagger); :meth:`read` turns what it finds into matches."""
        if not self._built:
            self.build()
        return self._names

    def match(self, norms: Sequence[str], breaks: Sequence[bool]) -> list[Match]:
        """Longest-first, left-to-right, non-overlapping matches over normalized tokens, found
        by the compiled scan (``stream/enrich/entities/native``, ``names.rs``).

        ``breaks[i]`` is true when punctuation separates token ``i`` from token ``i - 1``; a
        name never spans a break. Only the first token of a name may carry proclitics: of its
        readings (``normalize.clitic_variants``, least-stripped first), the first that starts a
        name of the longest length found is the one matched."""
        return self.read(norms, self.names.scan(norms, breaks))

    def read(self, norms: Sequence[str], found: Iterable[Found]) -> list[Match]:
        """The matches of what the compiled scan found over ``norms``: (entry number, start,
        end, proclitic characters before the reading, the first token's reading)."""
        entries = self._order
        return [
            Match(entries[k], i, j, strip, (v, *norms[i + 1 : j])) for k, i, j, strip, v in found
        ]


def _spellings(key: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    """The key, plus its joined or split spelling when it holds "عبد الله"-like pairs, plus the
    hard-g spelling of its foreign words (see :func:`_hard_g`)."""
    for spelling in _joined_or_split(key):
        yield spelling
        other = _hard_g(spelling)
        if other != spelling:
            yield other


def _hard_g(key: tuple[str, ...]) -> tuple[str, ...]:
    """Foreign names write the hard g as غ or, in Egyptian and some Gulf outlets, as ج:
    "بيونغ يانغ" / "بيونج يانج", "كيم جونغ أون" / "كيم جونج أون", "هامبورغ" / "هامبورج". Only
    words ending in "نغ" or "رغ" (-ng, -rg) are respelled: Arabic words hardly end so, and
    respelling every غ would turn "المغرب" into "المجرب" (tried)."""
    return tuple(w[:-1] + "ج" if w.endswith(_HARD_G_ENDINGS) else w for w in key)


def _joined_or_split(key: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    """The key, plus its joined or split spelling when it holds "عبد الله"-like pairs."""
    yield key
    joined: list[str] = []
    split: list[str] = []
    i = 0
    while i < len(key):
        word = key[i]
        if word in _JOINABLE and i + 1 < len(key):
            joined.append(word + key[i + 1])
            split.extend(key[i : i + 2])
            i += 2
            continue
        joined.append(word)
        head = next((j for j in _JOINABLE if word.startswith(j + "ال") and len(word) > 5), None)
        split.extend((head, word[len(head) :]) if head else (word,))
        i += 1
    for other in (tuple(joined), tuple(split)):
        if other != key:
            yield other


def load_gazetteer(directory: Path = DEFAULT_DIR, exclude: Iterable[str] = ()) -> Gazetteer:
    """Load and validate every ``*.yaml`` file of ``directory`` (sorted by name) but those
    named in ``exclude`` (a build script reads the curated files without its own output)."""
    skip = set(exclude)
    files = sorted(p for p in directory.glob("*.yaml") if p.name not in skip)
    if not files:
        raise GazetteerError(f"{directory}: no gazetteer files (*.yaml)")
    gaz = Gazetteer()
    for path in files:
        for entry in _read_file(path):
            gaz.add(entry)
    gaz.build()
    return gaz


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The shipped gazetteer, loaded once per process."""
    return load_gazetteer(DEFAULT_DIR)


def _read_file(path: Path) -> list[GazetteerEntry]:
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise GazetteerError(f"{path.name}{line}: not valid YAML: {exc}") from exc
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise GazetteerError(f"{path.name}:{root.start_mark.line + 1}: expected a list of entries")
    loader = _Loader("")
    entries: list[GazetteerEntry] = []
    for node in root.value:
        where = f"{path.name}:{node.start_mark.line + 1}"
        if not isinstance(node, yaml.MappingNode):
            raise GazetteerError(f"{where}: an entry must be a mapping")
        raw = loader.construct_mapping(node, deep=True)
        entries.append(_entry(raw, where))
    return entries


def _entry(raw: dict[object, object], where: str) -> GazetteerEntry:
    unknown = set(map(str, raw)) - _KEYS
    if unknown:
        raise GazetteerError(f"{where}: unknown field(s) {sorted(unknown)}")
    for key in _REQUIRED:
        if not isinstance(raw.get(key), str) or not str(raw[key]).strip():
            raise GazetteerError(f"{where}: {key!r} is required and must be a non-empty string")
    entry_id, etype, name = str(raw["id"]), str(raw["type"]), str(raw["name"]).strip()
    if not _ID.match(entry_id):
        raise GazetteerError(f"{where}: id {entry_id!r} is not <per|org|loc>.<ascii_slug>")
    if _PREFIX[entry_id.split(".", 1)[0]] != etype:
        raise GazetteerError(f"{where}: id {entry_id!r} does not agree with type {etype!r}")
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise GazetteerError(f"{where}: 'aliases' must be a list of non-empty strings")
    optional: dict[str, str | None] = {}
    for key in ("name_en", "role", "country"):
        value = raw.get(key)
        if isinstance(value, bool):
            # YAML 1.1 reads unquoted NO/YES/ON/OFF as booleans (Norway's code is NO).
            raise GazetteerError(f'{where}: {key!r} read as a boolean: quote it, e.g. "NO"')
        if value is not None and not isinstance(value, str):
            raise GazetteerError(f"{where}: {key!r} must be a string")
        optional[key] = value.strip() if isinstance(value, str) and value.strip() else None
    country = optional["country"]
    if country is not None and not _COUNTRY.match(country):
        raise GazetteerError(f"{where}: country {country!r} is not an ISO 3166-1 alpha-2 code")
    if not any("\u0600" <= ch <= "\u06ff" for ch in name):
        raise GazetteerError(f"{where}: name {name!r} is not written in Arabic")
    return GazetteerEntry(
        id=entry_id,
        type=_PREFIX[entry_id.split(".", 1)[0]],
        name=name,
        name_en=optional["name_en"],
        aliases=tuple(dict.fromkeys(a.strip() for a in aliases if normalize(a) != normalize(name))),
        role=optional["role"],
        country=country,
        where=where,
    )
