"""The topic taxonomy: a YAML data file loaded once and validated, errors naming file and line.

The file format is documented at the top of ``stream/data/taxonomy.yaml``. Loading turns every
term into tuples of normalized, article-stripped token stems (what
:mod:`stream.enrich.topics.tagger`
matches on) and checks everything a typo could break: unknown keys, weights that are not
numbers, thresholds outside (0, 1], a term written twice in one tag, a required or proximity
word that no term of the tag contains, a malformed entity hook. Nothing here scores text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from stream.enrich.normalize import tokenize

__all__ = [
    "DEFAULT_PATH",
    "EntityHook",
    "NearRule",
    "Scoring",
    "TagSpec",
    "Taxonomy",
    "TaxonomyError",
    "Term",
    "default_taxonomy",
    "load_taxonomy",
    "parse_taxonomy",
]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "taxonomy.yaml"

Key = tuple[str, ...]  # a word or phrase as normalized, article-stripped token stems

_TAG_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_ENTITY_ID = re.compile(r"^(per|org|loc)\.[a-z0-9_]+$")
_ENTITY_PREFIX = re.compile(r"^(per|org|loc)\.[a-z0-9_]*\*$")
_ENTITY_COUNTRY = re.compile(r"^(PER|ORG|LOC|\*)@([A-Z]{2})$")
_TOP_KEYS = {"version", "scoring", "term_sets", "tags"}
_TAG_KEYS = {"description", "threshold", "terms", "required", "exclude", "near", "entities"}
_NEAR_KEYS = {"a", "b", "within", "weight"}
_SCORING_KEYS = (
    "title_weight",
    "summary_weight",
    "repeat_decay",
    "reference_tokens",
    "squash_scale",
)
_MERGE_TAG = "tag:yaml.org,2002:merge"
# A proximity window wider than a sentence measures co-occurrence, not proximity.
_MAX_WITHIN = 20

try:  # libyaml's composer is several times faster; both give the same nodes and marks
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[attr-defined,assignment,unused-ignore]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


class TaxonomyError(ValueError):
    """A taxonomy file that is not valid YAML or breaks the format; the message starts with
    ``file:line``."""


@dataclass(frozen=True, slots=True)
class Scoring:
    title_weight: float
    summary_weight: float
    repeat_decay: float
    reference_tokens: float
    squash_scale: float


@dataclass(frozen=True, slots=True)
class Term:
    label: str  # the first spelling, normalized: what evidence reports
    keys: tuple[Key, ...]  # every spelling
    weight: float
    where: str


@dataclass(frozen=True, slots=True)
class NearRule:
    a: tuple[Key, ...]
    b: tuple[Key, ...]
    within: int
    weight: float
    where: str


@dataclass(frozen=True, slots=True)
class EntityHook:
    kind: Literal["id", "prefix", "country"]
    key: str  # the id, the id prefix, or the country code
    etype: str | None  # for kind "country": PER/ORG/LOC, or None for any type
    weight: float
    where: str


@dataclass(frozen=True, slots=True)
class TagSpec:
    name: str
    description: str
    threshold: float
    terms: tuple[Term, ...]
    required: tuple[tuple[Key, ...], ...]  # every group needs one hit of a term containing a key
    exclude: tuple[Key, ...]
    near: tuple[NearRule, ...]
    entities: tuple[EntityHook, ...]
    where: str


@dataclass(frozen=True, slots=True)
class Taxonomy:
    version: int
    scoring: Scoring
    tags: tuple[TagSpec, ...]
    source: str


def load_taxonomy(path: Path = DEFAULT_PATH) -> Taxonomy:
    """Read and validate a taxonomy file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path.name}: cannot read taxonomy: {exc}") from exc
    return parse_taxonomy(text, path.name)


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """The taxonomy in use (the shipped one unless a reload chose another file), loaded once per
    process and again after :func:`stream.enrich.topics.reload.reload_taxonomy`."""
    from stream.enrich.version import taxonomy_path  # the one record of which file is in use

    return load_taxonomy(taxonomy_path())


def parse_taxonomy(text: str, name: str) -> Taxonomy:
    """Validate taxonomy YAML ``text``; ``name`` (a file name) prefixes every error."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise TaxonomyError(f"{name}{line}: not valid YAML: {exc}") from exc
    return _Parser(name).taxonomy(root)


class _Parser:
    def __init__(self, name: str) -> None:
        self.name = name
        self.constructor = _Loader("")

    def where(self, node: yaml.Node) -> str:
        return f"{self.name}:{node.start_mark.line + 1}"

    def fail(self, node: yaml.Node, message: str) -> TaxonomyError:
        return TaxonomyError(f"{self.where(node)}: {message}")

    # -- generic node helpers -------------------------------------------------------------

    def mapping(self, node: yaml.Node | None, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """(key, key node, value node) of a mapping, own keys first, then "<<"-merged keys that
        the mapping does not override (YAML merge semantics)."""
        if not isinstance(node, yaml.MappingNode):
            raise (
                self.fail(node, f"{what} must be a mapping")
                if node
                else TaxonomyError(f"{self.name}: {what} is missing")
            )
        own: list[tuple[str, yaml.Node, yaml.Node]] = []
        merged: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in sources:
                    merged.extend(self.mapping(source, "a merged (<<) value"))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, f"keys of {what} must be plain strings")
            own.append((str(key_node.value), key_node, value_node))
        seen = {key for key, _, _ in own}
        if len(seen) != len(own):
            dup = next(k for i, (k, _, _) in enumerate(own) if k in {x for x, _, _ in own[:i]})
            node_of = next(n for k, n, _ in reversed(own) if k == dup)
            raise self.fail(node_of, f"{dup!r} appears twice in {what}")
        return own + [entry for entry in merged if entry[0] not in seen]

    def number(self, node: yaml.Node, what: str) -> float:
        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, f"{what} must be a number, not {value!r}")
        return float(value)

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise self.fail(node, f"{what} must be a non-empty string")
        return str(node.value).strip()

    def strings(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(node, f"{what} must be a non-empty list")
        return [(self.string(item, f"an item of {what}"), item) for item in node.value]

    def key(self, text: str, node: yaml.Node) -> Key:
        stems = tuple(token.stem for token in tokenize(text))
        if not stems:
            raise self.fail(node, f"term {text!r} has no words")
        return stems

    # -- sections -------------------------------------------------------------------------

    def taxonomy(self, root: yaml.Node | None) -> Taxonomy:
        top = dict((k, (kn, vn)) for k, kn, vn in self.mapping(root, "the taxonomy"))
        for key, (key_node, _) in top.items():
            if key not in _TOP_KEYS:
                raise self.fail(key_node, f"unknown top-level key {key!r}")
        if "version" not in top or "tags" not in top or "scoring" not in top:
            raise TaxonomyError(f"{self.name}: 'version', 'scoring' and 'tags' are required")
        version_node = top["version"][1]
        version = self.number(version_node, "version")
        if version != 1:
            raise self.fail(version_node, f"unsupported taxonomy version {version:g}")
        tags = tuple(
            self.tag(name, key_node, value_node)
            for name, key_node, value_node in self.mapping(top["tags"][1], "'tags'")
        )
        if not tags:
            raise self.fail(top["tags"][1], "'tags' is empty")
        return Taxonomy(1, self.scoring(top["scoring"][1]), tags, self.name)

    def scoring(self, node: yaml.Node) -> Scoring:
        values: dict[str, float] = {}
        for key, key_node, value_node in self.mapping(node, "'scoring'"):
            if key not in _SCORING_KEYS:
                raise self.fail(key_node, f"unknown scoring key {key!r}")
            values[key] = self.number(value_node, key)
            if values[key] <= 0:
                raise self.fail(value_node, f"{key} must be positive")
        missing = [k for k in _SCORING_KEYS if k not in values]
        if missing:
            raise self.fail(node, f"scoring lacks {missing}")
        if values["repeat_decay"] > 1:
            raise self.fail(node, "repeat_decay must be in (0, 1]")
        return Scoring(**values)

    def tag(self, name: str, name_node: yaml.Node, node: yaml.Node) -> TagSpec:
        if not _TAG_NAME.match(name):
            raise self.fail(name_node, f"tag name {name!r} must be lowercase ascii (a-z0-9-)")
        fields = {k: (kn, vn) for k, kn, vn in self.mapping(node, f"tag {name!r}")}
        for key, (key_node, _) in fields.items():
            if key not in _TAG_KEYS:
                raise self.fail(key_node, f"tag {name!r}: unknown key {key!r}")
        for key in ("threshold", "terms"):
            if key not in fields:
                raise self.fail(name_node, f"tag {name!r} lacks {key!r}")
        threshold_node = fields["threshold"][1]
        threshold = self.number(threshold_node, "threshold")
        if not 0 < threshold <= 1:
            raise self.fail(threshold_node, "threshold must be in (0, 1]")
        terms = self.terms(fields["terms"][1], name)
        known = [key for term in terms for key in term.keys]
        required: list[tuple[Key, ...]] = []
        if "required" in fields:
            groups = fields["required"][1]
            if not isinstance(groups, yaml.SequenceNode) or not groups.value:
                raise self.fail(groups, "'required' must be a list of lists of terms")
            for group in groups.value:
                required.append(self.contained(group, "a required group", known))
        exclude: tuple[Key, ...] = ()
        if "exclude" in fields:
            exclude = tuple(
                self.key(t, n) for t, n in self.strings(fields["exclude"][1], "exclude")
            )
        near: list[NearRule] = []
        if "near" in fields:
            rules = fields["near"][1]
            if not isinstance(rules, yaml.SequenceNode):
                raise self.fail(rules, "'near' must be a list of {a, b, within, weight}")
            near = [self.near(rule) for rule in rules.value]
        hooks: list[EntityHook] = []
        if "entities" in fields:
            for key, key_node, value_node in self.mapping(fields["entities"][1], "'entities'"):
                hooks.append(self.hook(key, key_node, self.number(value_node, "a hook weight")))
        description = (
            self.string(fields["description"][1], "description") if "description" in fields else ""
        )
        return TagSpec(
            name=name,
            description=description,
            threshold=threshold,
            terms=terms,
            required=tuple(required),
            exclude=exclude,
            near=tuple(near),
            entities=tuple(hooks),
            where=self.where(name_node),
        )

    def terms(self, node: yaml.Node, tag: str) -> tuple[Term, ...]:
        out: list[Term] = []
        first_seen: dict[Key, str] = {}
        for text, key_node, value_node in self.mapping(node, f"terms of {tag!r}"):
            weight = self.number(value_node, f"the weight of {text!r}")
            keys: list[Key] = []
            for spelling in text.split("|"):
                if not spelling.strip():
                    raise self.fail(key_node, f"empty spelling in {text!r}")
                key = self.key(spelling, key_node)
                if key in keys:  # "مباراة|المباراة": the same stems, harmless
                    continue
                if key in first_seen:
                    raise self.fail(
                        key_node, f"{spelling!r} is already a term of {tag!r} ({first_seen[key]})"
                    )
                first_seen[key] = self.where(key_node)
                keys.append(key)
            out.append(Term(" ".join(keys[0]), tuple(keys), weight, self.where(key_node)))
        if not out:
            raise self.fail(node, f"tag {tag!r} has no terms")
        return tuple(out)

    def contained(self, node: yaml.Node, what: str, known: list[Key]) -> tuple[Key, ...]:
        """Keys of a list of words, each of which some term of the tag must contain: a required
        word no term can match would silently disable the tag."""
        keys = []
        for text, item in self.strings(node, what):
            key = self.key(text, item)
            if not any(_contains(term_key, key) for term_key in known):
                raise self.fail(item, f"{text!r} in {what} is not contained in any term of the tag")
            keys.append(key)
        return tuple(keys)

    def near(self, node: yaml.Node) -> NearRule:
        fields = {k: (kn, vn) for k, kn, vn in self.mapping(node, "a 'near' rule")}
        for key, (key_node, _) in fields.items():
            if key not in _NEAR_KEYS:
                raise self.fail(key_node, f"unknown key {key!r} in a 'near' rule")
        missing = sorted(_NEAR_KEYS - set(fields))
        if missing:
            raise self.fail(node, f"a 'near' rule lacks {missing}")
        within_node = fields["within"][1]
        within = self.number(within_node, "within")
        if within != int(within) or not 1 <= within <= _MAX_WITHIN:
            raise self.fail(within_node, f"within must be an integer from 1 to {_MAX_WITHIN}")
        a = tuple(self.key(t, n) for t, n in self.strings(fields["a"][1], "a"))
        b = tuple(self.key(t, n) for t, n in self.strings(fields["b"][1], "b"))
        weight = self.number(fields["weight"][1], "weight")
        return NearRule(a, b, int(within), weight, self.where(node))

    def hook(self, key: str, node: yaml.Node, weight: float) -> EntityHook:
        where = self.where(node)
        if _ENTITY_ID.match(key):
            return EntityHook("id", key, None, weight, where)
        if _ENTITY_PREFIX.match(key):
            return EntityHook("prefix", key[:-1], None, weight, where)
        country = _ENTITY_COUNTRY.match(key)
        if country:
            etype = None if country.group(1) == "*" else country.group(1)
            return EntityHook("country", country.group(2), etype, weight, where)
        raise self.fail(
            node, f"entity hook {key!r} is not '<type>.<slug>', '<type>.<prefix>*' or 'TYPE@CC'"
        )


def _contains(haystack: Key, needle: Key) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))
