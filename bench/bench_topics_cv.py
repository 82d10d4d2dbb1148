"""Topic tags on the training outlets: nested outlet cross-validation of the learned
combination, per tag, printed (not asserted). Nothing of dev or test is read.

The training articles are grouped by outlet (Sky News Arabia, Al Arabiya, France 24, the feed
outlets), as ``stream/training/train_topics.py`` groups them. Every article gets out-of-fold
logits from fits without its outlet; then, for each outlet in turn, the settings (C, rule
weight, aside share, threshold) are chosen exactly as training chooses them, on the other
outlets' out-of-fold logits, and scored on that outlet. Summed over the outlets this is the
figure a choice made on the training outlets earns on an outlet it never saw: what the choices
of the model (features, labels, grids) are made on.

    PYTHONPATH=. .venv/bin/python bench/bench_topics_cv.py [--fit-only PREFIX]
        [--without PREFIX] [--errors TAG,...]

``--fit-only PREFIX``: items whose annotator starts with PREFIX are fitted on but not scored, so
a labelling round is compared with and without it (``--without PREFIX``) on the same articles.
``--errors TAGS`` lists those tags' nested false positives and misses (id, title).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stream.enrich.topics.taxonomy import default_taxonomy  # noqa: E402
from stream.training.labels import TopicItem, load_topic_items  # noqa: E402
from stream.training.train_topics import (  # noqa: E402
    Example,
    choose,
    examples,
    out_of_fold,
    seed,
)


def nested(train: Sequence[Example], tags: Sequence[str], scored: np.ndarray) -> np.ndarray:
    """Predictions [article, tag] of the scored articles, each outlet's by settings chosen on
    the other outlets' scored articles."""
    quiet = io.StringIO()
    with contextlib.redirect_stderr(quiet):
        spec = seed(train, tags)
        logits = out_of_fold(train, tags)
    groups = np.array([ex.outlet for ex in train])
    pred = np.zeros((len(train), len(tags)), dtype=bool)
    for group in sorted(set(groups)):
        inside = np.where((groups != group) & scored)[0]
        outside = np.where(groups == group)[0]
        with contextlib.redirect_stderr(quiet):
            chosen = choose([train[i] for i in inside], tags, sub(logits, inside), spec)
        for k, tag in enumerate(tags):
            c, rule_weight, aside, threshold = chosen[tag]
            rule = np.array([train[i].rule(tag, aside) for i in outside])
            pred[outside, k] = logits[c][outside, k] + rule_weight * rule >= threshold
    return pred


def sub(logits: dict[float, np.ndarray], rows: np.ndarray) -> dict[float, np.ndarray]:
    return {c: matrix[rows] for c, matrix in logits.items()}


def report(
    items: Sequence[TopicItem], tags: Sequence[str], pred: np.ndarray, scored: np.ndarray
) -> None:
    print(f"nested outlet CV, {int(scored.sum())} training articles scored")
    print(f"{'tag':<13} {'gold':>5} {'P':>6} {'R':>6} {'F1':>6}")
    total = np.zeros(3, dtype=np.int64)
    for k, tag in enumerate(tags):
        gold = np.array([tag in i.labels for i in items]) & scored
        p = pred[:, k] & scored
        c = np.array([(gold & p).sum(), (~gold & p).sum(), (gold & ~p).sum()])
        total += c
        print(f"{tag:<13} {int(gold.sum()):>5} {line(c)}")
    print(f"{'micro':<13} {'':>5} {line(total)}")


def line(c: np.ndarray) -> str:
    tp, fp, fn = (int(v) for v in c)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return f"{precision:>6.3f} {recall:>6.3f} {f1:>6.3f}"


def errors(items: Sequence[TopicItem], tag: str, pred: np.ndarray, scored: np.ndarray) -> None:
    for i, (item, p) in enumerate(zip(items, pred, strict=True)):
        if scored[i] and (tag in item.labels) != p:
            kind = "missed" if p == 0 else "false +"
            print(f"  {kind:<8} {item.source.id} {sorted(item.labels)} {item.source.title[:90]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit-only", metavar="PREFIX", help="fit on these annotators' items only")
    parser.add_argument("--without", metavar="PREFIX", help="leave these annotators' items out")
    parser.add_argument("--errors", metavar="TAGS", help="comma-separated: list their errors")
    args = parser.parse_args()
    tags = [t.name for t in default_taxonomy().tags]
    items = [i for i in load_topic_items() if i.split == "train"]
    if args.without:
        items = [i for i in items if not i.annotator.startswith(args.without)]
    fit_only = args.fit_only
    scored = np.array([not (fit_only and i.annotator.startswith(fit_only)) for i in items])
    train = examples(items)
    pred = nested(train, tags, scored)
    report(items, tags, pred, scored)
    for tag in args.errors.split(",") if args.errors else []:
        print(f"{tag} nested errors:")
        errors(items, tag, pred[:, tags.index(tag)], scored)


if __name__ == "__main__":
    main()
