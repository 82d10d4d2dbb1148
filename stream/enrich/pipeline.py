"""The one enrichment function: what the Faust agent runs on every article, and `rasad enrich`.

language -> entities -> topics -> cluster, each a pure function of its own module. Entities and
topic tags are only looked for in Arabic text: the gazetteer, the tagger and the taxonomy are
Arabic, and on Persian or English they would find noise. Other articles pass through with their
language and a cluster, never dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rasad.core.article import (
    Article,
    Cluster,
    EnrichedArticle,
    Entity,
    Language,
    Source,
    TopicTag,
    limit_text,
)
from stream.enrich.cluster import StoryClusters
from stream.enrich.entities.resources import precompute_vocabulary
from stream.enrich.language import identify_language
from stream.enrich.long_text import extract_long
from stream.enrich.topics.combined import tag_topics
from stream.enrich.version import current as enrichment_version

__all__ = ["EnrichmentError", "assemble", "enrich", "is_arabic", "warm_up"]


class EnrichmentError(RuntimeError):
    """One step of enrichment failed on an article; ``step`` names it for the dead letter."""

    def __init__(self, step: str, cause: Exception) -> None:
        super().__init__(f"{step}: {type(cause).__name__}: {cause}")
        self.step = step
        self.cause = cause


# The default of RASAD_STREAM_ENRICH_MAX_CHARS (see its description).
DEFAULT_MAX_CHARS = 200_000


def enrich(
    article: Article,
    clusters: StoryClusters | None,
    now: datetime,
    max_chars: int = DEFAULT_MAX_CHARS,
    *,
    keep_cluster: Cluster | None = None,
) -> EnrichedArticle:
    """The article with its language, entities, topic tags and same-story cluster.

    ``now`` (timezone-aware) is when the article is processed: it stamps ``enriched_at`` and
    places the article in the clustering window. Text beyond ``max_chars`` per field is cut
    first (``body_kind: truncated``), so the work per article is bounded. A reprocess passes
    ``clusters=None`` and the article's ``keep_cluster``: a story's clustering is a fact of its
    arrival, not of the models.
    """
    article = limit_text(article, max_chars)
    fields = {"title": article.title, "summary": article.summary, "body": article.body}
    try:
        lang = identify_language(fields)
    except Exception as exc:
        raise EnrichmentError("language", exc) from exc
    entities: list[Entity] = []
    topics: list[TopicTag] = []
    if is_arabic(lang):
        try:
            entities = extract_long(fields)
        except Exception as exc:
            raise EnrichmentError("entities", exc) from exc
        try:
            topics = tag_topics(fields, entities)
        except Exception as exc:
            raise EnrichmentError("topics", exc) from exc
    cluster = keep_cluster
    if clusters is not None:
        try:
            # A summary-only feed item has its text in body or summary depending on the producer.
            text = article.body or article.summary
            cluster = clusters.assign(article.id, article.title, text, now)
        except Exception as exc:
            raise EnrichmentError("cluster", exc) from exc
    return assemble(article, lang, entities, topics, cluster, now)


def assemble(
    article: Article,
    lang: Language,
    entities: list[Entity],
    topics: list[TopicTag],
    cluster: Cluster | None,
    now: datetime,
) -> EnrichedArticle:
    """The enriched article from the article and what each step found."""
    # The article's own fields as they are (``dict(article)`` iterates the model, twice the
    # cost); the nested models are validated already and pydantic does not revalidate them.
    return EnrichedArticle.model_validate(
        {
            **article.__dict__,
            "lang": lang,
            "entities": entities,
            "topics": topics,
            "cluster": cluster,
            "enriched_at": now,
            "enrichment": enrichment_version(),
        }
    )


def warm_up() -> None:
    """Load every data file and model now (they are cached once loaded), so a missing or broken
    one stops a worker at start instead of dead-lettering every article it reads.

    Raises :class:`EnrichmentError` naming the step whose data failed to load.
    """
    now = datetime.now(UTC)
    probe = Article(
        id="warm-up",
        url="about:warm-up",
        canonical_url="about:warm-up",
        title="وزير الخارجية الإيراني يزور بغداد",
        body="قال وزير الخارجية الإيراني إن العقوبات الأميركية على طهران لن تغير سياستها.",
        published_at=now,
        fetched_at=now,
        source=Source(id="warm-up", name="warm-up", country="INT", kind="private"),
        feed_url="about:warm-up",
        content_hash="warm-up",
    )
    enrich(probe, StoryClusters({}), now)
    precompute_vocabulary()


def is_arabic(lang: Language) -> bool:
    """Are entities and topic tags looked for in an article of this language?"""
    # "und" in the Arabic script is a short text with no telling word or letter (a bare name
    # such as "ترامب"): Arabic is by far the likeliest reading in an Arabic-news pipeline.
    return lang.script == "Arabic" and lang.code in ("ar", "und")
