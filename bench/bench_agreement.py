"""Inter-annotator agreement of the labelled news (issue 17, point 2), printed.

    .venv/bin/python bench/bench_agreement.py [--first-annotators A5,A6,A7]

For the topic labels: how much of the first file the double-annotated sample covers (in all,
and per first annotator), and Cohen's kappa per tag with each annotator's positives. For the
entity labels: F1 between annotators per type (exact span and type, the first annotator as
reference). ``--first-annotators`` restricts both to the items those first annotators labelled
(e.g. the later additions). The guidelines' rule: a tag whose kappa is below 0.6 is
re-specified and re-labelled (docs/annotation.md, procedure point 6).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream.enrich.topics.taxonomy import default_taxonomy
from stream.training.agreement import (
    KAPPA_FLOOR,
    DoubleAnnotated,
    entities_sample,
    entity_agreement,
    f1,
    topic_agreement,
    topics_sample,
)


def coverage(name: str, sample: DoubleAnnotated, keep: set[str] | None) -> None:
    print(
        f"{name}: {len(sample.pairs)} of {sample.first_items} items labelled twice "
        f"({sample.share:.1%})"
    )
    for annotator, batch in sample.coverage_by_batch().items():
        if keep is None or annotator in keep:
            print(
                f"  first annotator {annotator}: {batch.twice} of {batch.items} ({batch.share:.1%})"
            )


def kept(sample: DoubleAnnotated, keep: set[str] | None) -> DoubleAnnotated:
    if keep is None:
        return sample
    return DoubleAnnotated([p for p in sample.pairs if p[0]["annotator"] in keep], sample.batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first-annotators", help="comma-separated first annotator ids")
    args = parser.parse_args()
    keep = set(args.first_annotators.split(",")) if args.first_annotators else None

    topics = topics_sample()
    coverage("topics", topics, keep)
    pairs = kept(topics, keep).pairs
    if pairs:
        tags = [spec.name for spec in default_taxonomy().tags]
        print(f"\n{'tag':<14}{'items':>6}{'first':>7}{'second':>8}{'both':>6}{'kappa':>8}")
        for row in topic_agreement(pairs, tags):
            flag = "  below the guidelines' 0.6" if row.kappa < KAPPA_FLOOR else ""
            print(
                f"{row.tag:<14}{row.items:>6}{row.first:>7}{row.second:>8}{row.both:>6}"
                f"{row.kappa:>8.3f}{flag}"
            )
        disagreements = sum(set(a["labels"]) != set(b["labels"]) for a, b in pairs)
        print(f"items with any tag decided differently: {disagreements} of {len(pairs)}")

    entities = entities_sample()
    print()
    coverage("entities", entities, keep)
    pairs = kept(entities, keep).pairs
    if not pairs:
        return
    spans = entity_agreement(pairs)
    for kind in ("PER", "ORG", "LOC", "all"):
        c = spans.get(kind, Counter())
        print(
            f"  entity F1 between annotators, {kind}: {f1(c):.3f} "
            f"(agreed {c['tp']}, second only {c['fp']}, first only {c['fn']})"
        )


if __name__ == "__main__":
    main()
