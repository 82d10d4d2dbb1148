"""The article schema, defined once and used by every stage.

A raw :class:`Article` is what a producer publishes to the raw topic; an :class:`EnrichedArticle`
is the same article with what the enrichment stage adds. Both travel as UTF-8 JSON (orjson) keyed
by the article id. ``SCHEMA_VERSION`` changes when a field changes meaning.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

SourceKind = Literal["state", "private", "public-service"]
# truncated: the text was longer than the size limit and was cut there (see limit_text).
BodyKind = Literal["full_text", "summary", "none", "truncated"]
DateFlag = Literal["ok", "missing", "future", "unparsable"]
EntityType = Literal["PER", "ORG", "LOC"]
TextField = Literal["title", "summary", "body"]


class SchemaError(ValueError):
    """Bytes that are not a valid article of this schema (bad JSON or a missing/invalid field)."""


class JsonModel(BaseModel):
    """A frozen, strict record that travels as orjson bytes (articles, alert hits)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> bytes:
        """UTF-8 JSON with real Arabic characters (no \\u escapes).

        The bytes of ``orjson.dumps(self.model_dump(mode="json"))``, written by orjson straight
        from the models' fields: an enriched article is ~50 small models, and building the
        intermediate dicts took most of the encoding time. A model whose JSON is not simply its
        fields (aliases, serializers, computed fields) takes the ``model_dump`` road.
        """
        try:
            return orjson.dumps(self, default=_fields_of, option=orjson.OPT_UTC_Z)
        except orjson.JSONEncodeError:  # not plain (or not encodable at all: raises again)
            return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        try:
            return cls.model_validate_json(data)
        except ValueError as exc:
            raise SchemaError(f"not a valid {cls.__name__}: {exc}") from exc


def _fields_of(value: object) -> dict[str, Any]:
    """orjson's ``default``: a plain model is its fields (orjson writes an aware datetime as
    pydantic does with OPT_UTC_Z: ISO 8601, "Z" for UTC); anything else is not plain."""
    if isinstance(value, BaseModel) and _is_plain(type(value)):
        return value.__dict__
    raise TypeError(f"{type(value).__name__} is not a plain model")


def _is_plain(cls: type[BaseModel]) -> bool:
    """Is ``model_dump(mode="json")`` of this model class just its fields, by name?"""
    plain = _PLAIN.get(cls)
    if plain is None:
        decorators = cls.__pydantic_decorators__
        plain = _PLAIN[cls] = (
            not cls.model_computed_fields
            and not decorators.field_serializers
            and not decorators.model_serializers
            and cls.model_config.get("extra") != "allow"
            and all(
                f.serialization_alias is None and f.alias is None and not f.exclude
                for f in cls.model_fields.values()
            )
        )
    return plain


_PLAIN: dict[type, bool] = {}  # model class -> _is_plain


class Source(JsonModel):
    id: str = Field(description="Feed-registry id of the outlet, e.g. 'aljazeera'.")
    name: str = Field(description="Display name of the outlet.")
    country: str = Field(description="ISO 3166-1 alpha-2 country of the outlet, or 'INT'.")
    kind: SourceKind = Field(description="Ownership: state, private or public-service.")


class Article(JsonModel):
    id: str = Field(description="Stable id: hex SHA-256 prefix of the canonical URL.")
    url: str = Field(description="The link as the feed gave it.")
    canonical_url: str = Field(description="Normalised URL the id is derived from.")
    title: str = Field(description="Clean text (never HTML).")
    summary: str = Field("", description="Clean text of the feed's description.")
    body: str = Field("", description="Clean body text; see body_kind.")
    body_kind: BodyKind = Field(
        "summary", description="Whether body is full text, a summary, or text cut at the limit."
    )
    published_at: AwareDatetime = Field(description="UTC; falls back to fetched_at, see date_flag.")
    date_flag: DateFlag = Field("ok", description="Why published_at may be fetched_at instead.")
    fetched_at: AwareDatetime = Field(description="When the producer fetched the feed (UTC).")
    source: Source
    feed_url: str = Field(description="The feed the article came from.")
    language: str | None = Field(None, description="Language the feed declared, if any.")
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list, description="The feed's own categories.")
    image_url: str | None = None
    content_hash: str = Field(description="Hash of title+summary+body: a change is a new version.")
    version: int = Field(1, ge=1, description="1, then +1 each time the content hash changes.")
    schema_version: int = SCHEMA_VERSION


class Mention(JsonModel):
    field: TextField
    start: int = Field(ge=0, description="Offset into the original (not normalised) text.")
    end: int = Field(ge=0)
    text: str = Field(description="The surface text, exactly as in the original.")


class Entity(JsonModel):
    type: EntityType
    id: str = Field(description="Stable id: gazetteer id, or derived from the normalised name.")
    name: str = Field(description="Canonical Arabic name.")
    name_en: str | None = Field(None, description="English name where known.")
    count: int = Field(ge=1)
    salience: float = Field(ge=0.0, le=1.0, description="Higher when in title / first paragraph.")
    in_title: bool = False
    origin: Literal["gazetteer", "model", "pattern"] = "gazetteer"
    mentions: list[Mention]


class Evidence(JsonModel):
    kind: Literal["term", "entity", "model"]
    value: str = Field(
        description="The matched (normalised) term, the entity id, or the learned model's feature."
    )
    field: TextField
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    weight: float


class TopicTag(JsonModel):
    tag: str
    score: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence]


class Language(JsonModel):
    code: str = Field(description="ISO 639-1 code ('ar', 'en', 'fa', …) or 'und'.")
    script: str = Field(description="Dominant script: Arabic, Latin, Cyrillic, … or Unknown.")
    confidence: float = Field(ge=0.0, le=1.0)


class Cluster(JsonModel):
    id: str = Field(description="Id of the same-story cluster (its first article's id).")
    first_id: str = Field(description="The cluster's first-seen article.")
    first_seen: AwareDatetime
    exact_duplicate: bool = Field(description="Same body hash as an earlier article.")


class Enrichment(JsonModel):
    """Which enrichment made an article: what ``rasad reprocess`` compares and records."""

    id: str = Field(description="Hash of code and every data file: equal ids, equal enrichment.")
    code: str = Field(description="Hash of the enrichment's Python sources (stream/enrich).")
    files: dict[str, str] = Field(
        default_factory=dict, description="Data file (models, gazetteers, taxonomy) -> its hash."
    )
    run: str | None = Field(None, description="The reprocess run that made it; None when live.")


class EnrichedArticle(Article):
    lang: Language
    entities: list[Entity] = Field(default_factory=list)
    topics: list[TopicTag] = Field(default_factory=list)
    cluster: Cluster | None = None
    enriched_at: AwareDatetime
    enrichment: Enrichment | None = Field(None, description="None only before versioning.")


def limit_text(article: Article, max_chars: int) -> Article:
    """The article with title, summary and body cut to ``max_chars`` characters each.

    Cutting is visible: ``body_kind`` becomes ``truncated``. Enrichment and indexing cost
    grows with the text, so one oversized article must not stall a partition.
    """
    fields = {"title": article.title, "summary": article.summary, "body": article.body}
    if all(len(text) <= max_chars for text in fields.values()):
        return article
    cut = {name: text[:max_chars] for name, text in fields.items()}
    return article.model_copy(update={**cut, "body_kind": "truncated"})
