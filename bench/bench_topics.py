"""Topic tags: per-tag precision / recall / F1 of the rules alone and of rules + learned model,
side by side, and the cost of tagging, printed (not asserted).

Gold: the hand-labelled articles of ``stream/data/labels/topics.jsonl`` (docs/annotation.md,
docs/topic-evaluation.md), split by outlet:

* ``test``: BBC Arabic and CNN Arabic, outlets nothing was written, trained or tuned on — the
  cross-outlet figures;
* ``dev``: a seeded 15% of the training outlets' articles, not fitted on — in-outlet figures.

(a) rules = the taxonomy alone (``stream.enrich.topics.tagger.tag_topics``), (b) combined =
what the pipeline emits (``stream.enrich.topics.combined.tag_topics``). Both get the entities
the pipeline extracts.

Cost: mean / p50 / p99 wall time per article of each tagger (tokenization included; entity
extraction not), fastest of :data:`REPEATS` runs, on the dev and test articles.

    .venv/bin/python bench/bench_topics.py [--split test,dev] [--errors TAG --split dev]
        [--drawn PREFIX] [--exclude-drawn PREFIX] [--ci 2000]

``--drawn`` / ``--exclude-drawn`` keep only the items whose ``drawn`` (how the sampling drew them,
docs/topic-evaluation.md) starts / does not start with PREFIX: ``--split test --drawn test-boost``
scores the keyword-drawn test additions alone, ``--exclude-drawn test-`` the original 629.
``--ci ROUNDS`` adds each tag's 95% bootstrap interval of the combined F1 (articles resampled).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rasad.core.article import Entity, TopicTag  # noqa: E402
from stream.enrich.entities.extract import extract_entities  # noqa: E402
from stream.enrich.topics.combined import tag_topics  # noqa: E402
from stream.enrich.topics.tagger import tag_topics as rule_topics  # noqa: E402
from stream.enrich.topics.taxonomy import default_taxonomy  # noqa: E402
from stream.training.labels import TopicItem, load_topic_items  # noqa: E402

# Each article is timed this many times and its fastest run kept: the machine is shared (Kafka,
# OpenSearch, other builds), and a scheduler hiccup is not the tagger's cost.
REPEATS = 3
SPLIT_NAMES = {"test": "cross-outlet TEST (BBC + CNN)", "dev": "in-outlet DEV"}

Tagging = Callable[[dict[str, str], Sequence[Entity]], list[TopicTag]]
Counts = tuple[int, int, int]  # true positives, false positives, false negatives


def counts(tag: str, gold: Sequence[frozenset[str]], pred: Sequence[set[str]]) -> Counts:
    tp = sum(tag in g and tag in p for g, p in zip(gold, pred, strict=True))
    fp = sum(tag not in g and tag in p for g, p in zip(gold, pred, strict=True))
    fn = sum(tag in g and tag not in p for g, p in zip(gold, pred, strict=True))
    return tp, fp, fn


def prf(c: Counts) -> tuple[float, float, float]:
    tp, fp, fn = c
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return precision, recall, f1


def f1_interval(
    tag: str, gold: Sequence[frozenset[str]], pred: Sequence[set[str]], rounds: int
) -> tuple[float, float]:
    """95% bootstrap interval of the tag's F1: the articles resampled with replacement ``rounds``
    times (seeded), the 2.5th and 97.5th percentiles of the resamples' F1."""
    per = np.array([counts(tag, [g], [p]) for g, p in zip(gold, pred, strict=True)], dtype=np.int64)
    picks = np.random.default_rng(17).integers(0, len(per), size=(rounds, len(per)))
    tp, fp, fn = (per[:, j][picks].sum(axis=1) for j in range(3))
    f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    low, high = np.percentile(f1, [2.5, 97.5])
    return float(low), float(high)


def report(
    title: str,
    tags: Sequence[str],
    gold: Sequence[frozenset[str]],
    rules: Sequence[set[str]],
    combined: Sequence[set[str]],
    ci_rounds: int = 0,
) -> None:
    print(f"\n{title} (n={len(gold)})")
    ci_head = " | combined F1 95% CI" if ci_rounds else ""
    print(f"  {'':<13} {'':>5} | {'rules alone':^20} | {'rules + model':^20}")
    print(
        f"  {'tag':<13} {'gold':>5} | {'P':>6} {'R':>6} {'F1':>6} | {'P':>6} {'R':>6} {'F1':>6}"
        + ci_head
    )
    total = {"rules": [0, 0, 0], "combined": [0, 0, 0]}
    for tag in tags:
        row = []
        for name, pred in (("rules", rules), ("combined", combined)):
            c = counts(tag, gold, pred)
            total[name] = [a + b for a, b in zip(total[name], c, strict=True)]
            row.append(" ".join(f"{v:6.3f}" for v in prf(c)))
        ci = ""
        if ci_rounds:
            ci = " | {:.3f}-{:.3f}".format(*f1_interval(tag, gold, combined, ci_rounds))
        print(f"  {tag:<13} {sum(tag in g for g in gold):5d} | {row[0]} | {row[1]}{ci}")
    micro = [" ".join(f"{v:6.3f}" for v in prf((t[0], t[1], t[2]))) for t in total.values()]
    print(f"  {'micro':<13} {'':>5} | {micro[0]} | {micro[1]}")


def drawn_filter(items: Sequence[TopicItem], keep: str, drop: str | None) -> list[TopicItem]:
    """The items whose ``drawn`` starts with ``keep`` and (if given) not with ``drop``."""
    return [
        i
        for i in items
        if i.drawn.startswith(keep) and (drop is None or not i.drawn.startswith(drop))
    ]


def show_errors(tag: str, items: Sequence[TopicItem], pred: Sequence[set[str]], what: str) -> None:
    print(f"\n{what} errors on {tag}:")
    for item, p in zip(items, pred, strict=True):
        if (tag in item.labels) != (tag in p):
            kind = "FN" if tag in item.labels else "FP"
            print(f"  {kind} {item.source.id}: {item.source.title[:90]}")


def predict(
    tagging: Tagging, inputs: Iterable[tuple[dict[str, str], Sequence[Entity]]]
) -> list[set[str]]:
    return [{t.tag for t in tagging(fields, entities)} for fields, entities in inputs]


def cost(inputs: Sequence[tuple[dict[str, str], Sequence[Entity]]]) -> None:
    """Per-article wall time of each tagger, interleaved so both see the same machine load."""
    for fields, entities in inputs:  # warm caches (token forms, country lookups) for both
        rule_topics(fields, entities)
        tag_topics(fields, entities)
    times: dict[str, list[float]] = {"rules alone": [], "rules + model": []}
    for fields, entities in inputs:
        for name, tagging in (("rules alone", rule_topics), ("rules + model", tag_topics)):
            best = float("inf")
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                tagging(fields, entities)
                best = min(best, time.perf_counter() - t0)
            times[name].append(best * 1e3)
    words = statistics.mean(len(f["body"].split()) for f, _ in inputs)
    print(
        f"\ncost of tagging per article, {len(inputs)} dev + test articles (mean body "
        f"{words:.0f} words, fastest of {REPEATS} runs each; entity extraction not included)"
    )
    for name, ms in times.items():
        ms.sort()
        print(f"  {name:<14} mean {statistics.mean(ms):.3f} ms  p50 {ms[len(ms) // 2]:.3f} ms  "
              f"p99 {ms[int(len(ms) * 0.99)]:.3f} ms")  # fmt: skip
    extra = statistics.mean(times["rules + model"]) - statistics.mean(times["rules alone"])
    print(f"  the model adds {extra:+.3f} ms per article")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", default="test,dev", help="comma-separated: test, dev")
    parser.add_argument("--errors", metavar="TAG", help="list false positives/negatives of TAG")
    parser.add_argument("--no-cost", action="store_true", help="skip the timing")
    parser.add_argument("--drawn", default="", metavar="PREFIX", help="only items drawn so")
    parser.add_argument("--exclude-drawn", metavar="PREFIX", help="leave out items drawn so")
    parser.add_argument(
        "--ci", type=int, default=0, metavar="ROUNDS", help="bootstrap 95%% CI of each tag's F1"
    )
    args = parser.parse_args()
    splits = [s for s in args.split.split(",") if s]
    if set(splits) - set(SPLIT_NAMES):
        parser.error(f"--split takes {sorted(SPLIT_NAMES)}")
    tags = [t.name for t in default_taxonomy().tags]
    items = drawn_filter(load_topic_items(), args.drawn, args.exclude_drawn)
    timed: list[tuple[dict[str, str], Sequence[Entity]]] = []
    for split in splits:
        chosen = [i for i in items if i.split == split]
        inputs = []
        for item in chosen:
            fields = {"title": item.source.title, "body": item.source.body}
            inputs.append((fields, extract_entities(fields)))
        timed += inputs
        rules, combined = predict(rule_topics, inputs), predict(tag_topics, inputs)
        gold = [i.labels for i in chosen]
        report(SPLIT_NAMES[split], tags, gold, rules, combined, args.ci)
        if args.errors in tags:
            show_errors(args.errors, chosen, rules, f"{split}, rules alone")
            show_errors(args.errors, chosen, combined, f"{split}, rules + model")
    if not args.no_cost:
        cost(timed)


if __name__ == "__main__":
    main()
