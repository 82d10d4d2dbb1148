"""Reprocessing stored articles: the request a worker reads, the change it records per article,
and the diff report made of those changes (pure data; the engine I/O is in
``indexers/index/reprocess_store.py``, the worker in ``stream/reprocess.py``).

A request carries everything the worker needs, read once from the engine document: the raw
article (the text to re-enrich), its cluster (kept: clustering records arrival, not models) and
what it was tagged with before, so the worker can say what changed without reading it again.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from rasad.core.article import Article, Cluster, EnrichedArticle, JsonModel, TopicTag

Outcome = Literal["changed", "unchanged", "stale", "failed"]
# Examples kept per tag and direction (gained/lost) in a report: enough to judge a change.
EXAMPLES_PER_TAG = 3


class EntityRef(JsonModel):
    type: str
    id: str
    name: str


class Previous(JsonModel):
    """An article's enrichment as stored before the reprocess."""

    enrichment_id: str | None = None
    topics: list[TopicTag] = Field(default_factory=list)
    entities: list[EntityRef] = Field(default_factory=list)


class ReprocessRequest(JsonModel):
    run: str
    article: Article
    cluster: Cluster | None = None
    previous: Previous


class ArticleChange(JsonModel):
    """What one reprocessed article gained and lost."""

    run: str
    article_id: str
    title: str
    outcome: Outcome
    old_enrichment: str | None = None
    new_enrichment: str | None = None
    tags_gained: list[TopicTag] = Field(default_factory=list)
    tags_lost: list[TopicTag] = Field(default_factory=list)
    old_tags: list[str] = Field(default_factory=list)
    new_tags: list[str] = Field(default_factory=list)
    entities_gained: list[EntityRef] = Field(default_factory=list)
    entities_lost: list[EntityRef] = Field(default_factory=list)
    processed_at: AwareDatetime


def change_of(request: ReprocessRequest, new: EnrichedArticle, now: datetime) -> ArticleChange:
    """Compare the stored enrichment with the new one (outcome changed or unchanged)."""
    old_tags = {t.tag: t for t in request.previous.topics}
    new_tags = {t.tag: t for t in new.topics}
    old_entities = {(e.type, e.id): e for e in request.previous.entities}
    new_entities = {(e.type, e.id): EntityRef(type=e.type, id=e.id, name=e.name)
                    for e in new.entities}  # fmt: skip
    gained = [new_tags[t] for t in sorted(new_tags.keys() - old_tags.keys())]
    lost = [old_tags[t] for t in sorted(old_tags.keys() - new_tags.keys())]
    e_gained = [new_entities[k] for k in sorted(new_entities.keys() - old_entities.keys())]
    e_lost = [old_entities[k] for k in sorted(old_entities.keys() - new_entities.keys())]
    changed = bool(gained or lost or e_gained or e_lost)
    return ArticleChange(
        run=request.run,
        article_id=new.id,
        title=new.title,
        outcome="changed" if changed else "unchanged",
        old_enrichment=request.previous.enrichment_id,
        new_enrichment=new.enrichment.id if new.enrichment else None,
        tags_gained=gained,
        tags_lost=lost,
        old_tags=sorted(old_tags),
        new_tags=sorted(new_tags),
        entities_gained=e_gained,
        entities_lost=e_lost,
        processed_at=now,
    )


def unwritten(request: ReprocessRequest, outcome: Outcome, now: datetime) -> ArticleChange:
    """The record of an article the reprocess did not change: stale (a newer version is
    indexed) or failed (enrichment failed; the request is in the dead letters)."""
    return ArticleChange(
        run=request.run,
        article_id=request.article.id,
        title=request.article.title,
        outcome=outcome,
        old_enrichment=request.previous.enrichment_id,
        old_tags=sorted(t.tag for t in request.previous.topics),
        processed_at=now,
    )


class Counts(JsonModel):
    gained: int = 0
    lost: int = 0


class Example(JsonModel):
    article_id: str
    title: str
    tag: str
    direction: Literal["gained", "lost"]
    old: list[str]
    new: list[str]
    evidence: list[str] = Field(description="The tag's evidence values (terms, entities, model).")


class DiffReport(JsonModel):
    run: str
    articles: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict)
    tags: dict[str, Counts] = Field(default_factory=dict)
    entity_types: dict[str, Counts] = Field(default_factory=dict)
    examples: list[Example] = Field(default_factory=list)


def summarize(run: str, changes: list[ArticleChange]) -> DiffReport:
    """Per tag and per entity type: how many articles gained and lost it, with examples."""
    outcomes: Counter[str] = Counter(c.outcome for c in changes)
    tags: Counter[tuple[str, str]] = Counter()
    types: Counter[tuple[str, str]] = Counter()
    examples: list[Example] = []
    for change in sorted(changes, key=lambda c: c.article_id):
        for direction, tag_list in (("gained", change.tags_gained), ("lost", change.tags_lost)):
            for tag in tag_list:
                tags[(tag.tag, direction)] += 1
                if tags[(tag.tag, direction)] <= EXAMPLES_PER_TAG:
                    examples.append(_example(change, tag, direction))
        for direction, refs in (("gained", change.entities_gained), ("lost", change.entities_lost)):
            types.update((entity_type, direction) for entity_type in {r.type for r in refs})
    return DiffReport(
        run=run,
        articles=len(changes),
        outcomes=dict(sorted(outcomes.items())),
        tags=_counts(tags),
        entity_types=_counts(types),
        examples=examples,
    )


def _counts(tally: Counter[tuple[str, str]]) -> dict[str, Counts]:
    names = sorted({name for name, _ in tally})
    return {n: Counts(gained=tally[(n, "gained")], lost=tally[(n, "lost")]) for n in names}


def _example(change: ArticleChange, tag: TopicTag, direction: str) -> Example:
    return Example(
        article_id=change.article_id,
        title=change.title,
        tag=tag.tag,
        direction="gained" if direction == "gained" else "lost",
        old=change.old_tags,
        new=change.new_tags,
        evidence=[f"{e.kind}:{e.value}" for e in tag.evidence][:5],
    )


def render_text(report: DiffReport) -> str:
    """The report for a terminal: counts per tag and entity type, then examples."""
    lines = [f"reprocess {report.run}: {report.articles} articles"]
    lines.append("  " + ", ".join(f"{k} {v}" for k, v in report.outcomes.items()))
    lines.append("tags (articles gained / lost):")
    for tag, c in report.tags.items():
        lines.append(f"  {tag:<24} +{c.gained:<6} -{c.lost}")
    if not report.tags:
        lines.append("  no tag changed")
    lines.append("entity types (articles gained / lost an entity):")
    for entity_type, c in report.entity_types.items():
        lines.append(f"  {entity_type:<24} +{c.gained:<6} -{c.lost}")
    if not report.entity_types:
        lines.append("  no entity changed")
    if report.examples:
        lines.append("examples:")
    for ex in report.examples:
        sign = "+" if ex.direction == "gained" else "-"
        lines.append(f"  {sign}{ex.tag}  {ex.title[:70]}")
        lines.append(f"      {', '.join(ex.old) or '-'} -> {', '.join(ex.new) or '-'}")
        if ex.evidence:
            lines.append(f"      evidence: {', '.join(ex.evidence)}")
    return "\n".join(lines)


class RunParams(JsonModel):
    """Which stored articles a run re-enriches: the same parameters resume the same run."""

    since: str | None = None
    query: str = ""
    source: str | None = None
    sample: int | None = None


class RunRecord(JsonModel):
    """A reprocess run as stored: its selection, how far sending got (resumable) and, once
    done, its diff report."""

    id: str
    params: RunParams
    state: Literal["sending", "processing", "done"]
    started_at: AwareDatetime
    total: int
    sent: int = 0
    cursor: list[str | float | int] | None = None
    finished_at: AwareDatetime | None = None
    report: DiffReport | None = None
