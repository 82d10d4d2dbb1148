"""Topic tags as the pipeline emits them: the taxonomy rules and the learned model, combined.

One pass of the rules (:mod:`.tagger`) with every threshold lowered to "any evidence" gives each
tag's raw rule score and its matched terms; the rules' own decision is that score reaching the
taxonomy's threshold. The model (:mod:`.model`) reads the article's words, entities, the matched
terms, where they sit (title, lead or further down) and the raw scores, and per tag

    combined = model logit + rule_weight * (rule score if the rules emit the tag, else 0)

(the rule score times ``aside_weight`` when none of the tag's rule evidence is in the title or
lead: a passing mention, docs/annotation.md 2.1) is compared with the tag's threshold
(``rule_weight``, ``aside_weight`` and the threshold were chosen on the training outlets by
``stream/training/train_topics.py``). An emitted tag's score is
``sigmoid(combined - threshold)``: 0.5 at the threshold, towards 1 with more evidence.

Evidence: the rules' terms and entity hooks (what an analyst reads), then the model's strongest
positive word and entity features (kind ``"model"``, the feature as value, the offsets of its
first occurrence).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from rasad.core.article import Entity, Evidence, TopicTag
from stream.enrich.topics.features import (
    FeatureRows,
    article_features,
    evidence_positions,
    locate,
)
from stream.enrich.topics.model import TopicModel, default_model, sigmoid
from stream.enrich.topics.tagger import EvidenceRow, Tagger, to_evidence
from stream.enrich.topics.taxonomy import Taxonomy, default_taxonomy

__all__ = [
    "Signaller",
    "Signals",
    "TopicCombiner",
    "default_combiner",
    "default_signaller",
    "signals",
    "tag_topics",
]

# The lowest threshold the taxonomy format allows ((0, 1]): every tag with any evidence is
# scored, so the model sees the rules' raw scores and matched terms for all 17 tags.
_ANY_EVIDENCE = 1e-9
# The model's features named as evidence per tag: enough to say why, few enough to read.
_MODEL_EVIDENCE = 3


# The rules' raw score and evidence rows per tag with any evidence.
RawScores = dict[str, tuple[float, list[EvidenceRow]]]


@dataclasses.dataclass(frozen=True, slots=True)
class Signals:
    """What the model reads of one article."""

    features: set[str]  # words, entities (see .features)
    # the rules' raw score and evidence rows per tag with any evidence: plain tuples, made into
    # pydantic objects only for the few tags emitted
    raw: RawScores
    positions: set[str]  # where each tag's rule evidence sits (``p:`` features, see .features)

    def model_features(self) -> set[str]:
        """The features, the positions and one ``h:<tag>:<term>`` per matched rule term or
        entity hook."""
        return self.features | self.positions | rule_hits(self.raw)


def rule_hits(raw: RawScores) -> set[str]:
    """One ``h:<tag>:<term>`` feature per matched rule term or entity hook."""
    return {f"h:{tag}:{row[2]}" for tag, (_, rows) in raw.items() for row in rows}


class Signaller:
    """The rules compiled to score every tag with any evidence, and their own thresholds."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.thresholds = {t.name: t.threshold for t in taxonomy.tags}
        self.rules = Tagger(
            dataclasses.replace(
                taxonomy,
                tags=tuple(dataclasses.replace(t, threshold=_ANY_EVIDENCE) for t in taxonomy.tags),
            )
        )

    def raw(self, fields: Mapping[str, str], entities: Sequence[Entity]) -> RawScores:
        """The rules' raw score and evidence rows per tag with any evidence."""
        return {tag: (score, rows) for tag, score, rows in self.rules.raw(fields, entities)}

    def signals(self, fields: Mapping[str, str], entities: Sequence[Entity]) -> Signals:
        raw = self.raw(fields, entities)
        return Signals(article_features(fields, entities), raw, evidence_positions(fields, raw))

    def rule_scores(self, raw: RawScores) -> dict[str, float]:
        """The rules' own decisions: score by tag, for the tags the rules alone emit."""
        return {tag: score for tag, (score, _) in raw.items() if score >= self.thresholds[tag]}


class TopicCombiner:
    """The rules (with their thresholds) and the model, compiled once."""

    def __init__(self, taxonomy: Taxonomy, model: TopicModel) -> None:
        self.signaller = Signaller(taxonomy)
        unknown = [t.name for t in model.tags if t.name not in self.signaller.thresholds]
        if unknown:
            raise ValueError(f"topic model tags {unknown} are not in the taxonomy")
        self.model = model
        self.feature_rows = FeatureRows(model.rows)

    def tag(self, fields: Mapping[str, str], entities: Sequence[Entity]) -> list[TopicTag]:
        raw = self.signaller.raw(fields, entities)
        rules = self.signaller.rule_scores(raw)
        raw_scores = {tag: score for tag, (score, _) in raw.items()}
        positions = evidence_positions(fields, raw)
        hits = self.model.rows_of(rule_hits(raw) | positions)
        rows = sorted(self.feature_rows.of(fields, entities).union(hits))
        weights = self.model.weights[rows]
        logits = self.model.logits(weights, raw_scores)
        out: list[TopicTag] = []
        for i, (spec, z) in enumerate(zip(self.model.tags, logits, strict=True)):
            rule = rules.get(spec.name, 0.0)
            if rule and f"p:{spec.name}:aside" in positions:
                rule *= spec.aside_weight
            margin = z + spec.rule_weight * rule - spec.threshold
            if margin < 0:
                continue
            evidence = to_evidence(raw[spec.name][1]) if spec.name in raw else []
            evidence += self._model_evidence(i, rows, weights, fields, entities)
            if evidence:
                out.append(
                    TopicTag(tag=spec.name, score=round(sigmoid(margin), 4), evidence=evidence)
                )
        return out

    def _model_evidence(
        self,
        tag: int,
        rows: list[int],
        weights: np.ndarray,
        fields: Mapping[str, str],
        entities: Sequence[Entity],
    ) -> list[Evidence]:
        """The located features (words, entities) that raised this tag the most."""
        out = []
        for w, feature in self.model.strongest(rows, weights, tag):
            where = locate(feature, fields, entities)
            if where is not None:
                f, start, end = where
                out.append(
                    Evidence(
                        kind="model",
                        value=feature,
                        field=f,
                        start=start,
                        end=end,
                        weight=round(w, 3),
                    )
                )
                if len(out) == _MODEL_EVIDENCE:
                    break
        return out


@lru_cache(maxsize=1)
def default_signaller() -> Signaller:
    """The shipped taxonomy's rules at "any evidence", compiled once per process."""
    return Signaller(default_taxonomy())


def signals(fields: Mapping[str, str], entities: Sequence[Entity]) -> Signals:
    """What a model reads of an article (training calls this too, before any model exists)."""
    return default_signaller().signals(fields, entities)


@lru_cache(maxsize=1)
def default_combiner() -> TopicCombiner:
    """The shipped taxonomy and model, compiled once per process."""
    return TopicCombiner(default_taxonomy(), default_model())


def tag_topics(fields: Mapping[str, str], entities: Sequence[Entity]) -> list[TopicTag]:
    """Topic tags of an article: ``fields`` maps "title", "summary", "body" to text."""
    return default_combiner().tag(fields, entities)
