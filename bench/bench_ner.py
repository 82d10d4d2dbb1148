"""Entity extraction: quality on the project's labelled news and on ANERcorp, cost per article.

    .venv/bin/python bench/bench_ner.py [--articles 2000] [--profile]
    .venv/bin/python bench/bench_ner.py --split dev --model M --skip-cost   # tuning, see main()

Prints, first, per-type precision/recall/F1 of the whole extractor (exact character span and
type) on the labelled news of stream/data/labels/entities.jsonl: the cross-outlet test split
(BBC, CNN: outlets nothing is trained or tuned on; only with ``--split test``) and the
in-outlet dev split, each beside the figures from before issue 17 (bench/ner_news.py). Then
entity-level precision/recall/F1 per type (exact span and type, on ANERcorp's own tokens)
for the whole extractor, for it without the shape patterns (ANERcorp's conventions), and for its
parts (gazetteer alone, CRF alone), recall on test entities
whose name never occurs as an entity in the train split (a proxy for names of current news no
training data has seen), and the cost of ``extract_entities`` per corpus article (mean, p50,
p99, articles/s on one core) with a cProfile summary of where the time goes, and how many
entities per article come from the gazetteer and from the model on that 2018 news.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import itertools
import json
import pstats
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ner_news import BEFORE, report_beside, score_items

import stream.enrich.entities.spans as spans_module
from stream.enrich.entities.crf import MODEL_PATH, CrfTagger, default_clusters
from stream.enrich.entities.extract import extract_entities, find_spans
from stream.enrich.entities.gazetteer import default_gazetteer
from stream.enrich.normalize import normalize, token_breaks, tokenize
from stream.training.labels import load_entity_items
from stream.training.train_ner import (
    ANERCORP,
    Sentence,
    entities,
    gold_from_runtime,
    read_conll,
    report,
    score,
)
from tests import shared_data

CORPUS = shared_data.DATA / "corpus"


def spans_to_gold(sent: Sentence, spans: list[tuple[int, int, str]]) -> list[str]:
    """Project char spans onto the gold tokens they overlap (B- on the first, I- after)."""
    out = ["O"] * len(sent.spans)
    for start, end, kind in spans:
        inside = [g for g, (s, e) in enumerate(sent.spans) if s < end and e > start]
        for k, g in enumerate(inside):
            out[g] = ("B-" if k == 0 else "I-") + kind
    return out


def quality(split: str) -> None:
    gaz, tagger = spans_module.resources()  # type: ignore[attr-defined]
    test = read_conll(ANERCORP / f"{split}_data.txt")
    gold, full, gaz_only, crf_only = [], [], [], []
    for sent in test:
        found = find_spans(sent.text)
        gold.append(list(sent.tags))
        full.append(spans_to_gold(sent, [(s.start, s.end, s.type) for s in found]))
        gaz_only.append(spans_to_gold(sent, [(s.start, s.end, s.type) for s in found if s.entry]))
        tokens = tokenize(sent.text)
        norms = [t.norm for t in tokens]
        breaks = token_breaks(sent.text, tokens)
        labels = tagger.tag(norms, breaks, gaz.match(norms, breaks))
        crf_only.append(gold_from_runtime(sent, [t.start for t in tokens], labels))
    # ANERcorp's annotators leave bodies named by common words untagged ("وزارة الخارجية",
    # "البرلمان"; docs/annotation.md 1.9): the extractor under its conventions runs without the
    # shape patterns. Printed beside the extractor as it runs, never instead of it.
    shapes = spans_module.shape_names  # type: ignore[attr-defined]
    spans_module.shape_names = lambda *_: []  # type: ignore[attr-defined]
    try:
        conventions = [
            spans_to_gold(sent, [(s.start, s.end, s.type) for s in find_spans(sent.text)])
            for sent in test
        ]
    finally:
        spans_module.shape_names = shapes  # type: ignore[attr-defined]
    for title, pred in (
        ("extractor", full),
        ("extractor without shape patterns (ANERcorp's conventions)", conventions),
        ("gazetteer alone", gaz_only),
        ("CRF alone", crf_only),
    ):
        print(
            f"\n## ANERcorp {split}, {title} (PERS->PER, MISC dropped)\n{report(score(gold, pred))}"
        )
    unseen_recall(test, gold, full)


def news_quality(split: str) -> None:
    items = load_entity_items()
    splits = ["test", "dev"] if split == "test" else ["dev"]
    names = {"test": "cross-outlet test (BBC, CNN)", "dev": "in-outlet dev"}
    for name in splits:
        chosen = [i for i in items if i.split == name]
        counts = score_items(chosen, extract_entities)
        print(f"\n## labelled news, {names[name]}, {len(chosen)} items, extractor")
        print(report_beside(counts, BEFORE[name]))


def _names(sents: list[Sentence], seqs: list[list[str]]) -> list[tuple[int, str, str]]:
    out = []
    for i, (sent, seq) in enumerate(zip(sents, seqs, strict=True)):
        for start, end, kind in entities(seq):
            words = sent.text[sent.spans[start][0] : sent.spans[end - 1][1]]
            out.append((i, normalize(words), kind))
    return out


def unseen_recall(test: list[Sentence], gold: list[list[str]], pred: list[list[str]]) -> None:
    train = read_conll(ANERCORP / "train_data.txt")
    seen = {name for _, name, _ in _names(train, [list(s.tags) for s in train])}
    hit: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for i, seq in enumerate(gold):
        predicted = entities(pred[i])
        for start, end, kind in entities(seq):
            words = test[i].text[test[i].spans[start][0] : test[i].spans[end - 1][1]]
            if normalize(words) in seen:
                continue
            total[kind] += 1
            hit[kind] += (start, end, kind) in predicted
    print("\n## recall on test entities never seen as entities in train")
    for kind in ("PER", "ORG", "LOC"):
        print(f"{kind:5} {hit[kind] / max(1, total[kind]):6.3f}  (n={total[kind]})")


def cost(n: int, profile: bool) -> None:
    with gzip.open(CORPUS / "ant-multisource.jsonl.gz", "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in itertools.islice(f, n)]
    articles = [
        {"title": d.get("title") or "", "summary": d.get("abstract") or "", "body": d["text"]}
        for d in docs
    ]
    words = [sum(len(tokenize(v)) for v in a.values()) for a in articles]
    extract_entities(articles[0])  # load gazetteer and model outside the timing
    origins: Counter[str] = Counter()
    for a in articles:  # warm the per-word caches the way a running worker has them
        origins.update(e.origin for e in extract_entities(a))
    # CPU time of this process, not wall time: the bench machine is shared, and a neighbour's
    # load must not read as our cost.
    times = []
    for a in articles:
        t0 = time.process_time()
        extract_entities(a)
        times.append(time.process_time() - t0)
    times.sort()
    mean = statistics.fmean(times)
    print(f"\n## extract_entities on {n} corpus articles (title+summary+body, warm caches)")
    print(f"words/article mean {statistics.fmean(words):.0f}")
    # 2018 news: the gazetteer's entities are the check that names of current news are found
    print(
        f"entities/article: gazetteer {origins['gazetteer'] / n:.2f}, "
        f"model {origins['model'] / n:.2f}"
    )
    print(
        f"CPU mean {mean * 1e3:.3f} ms  p50 {times[len(times) // 2] * 1e3:.3f} ms  "
        f"p99 {times[int(len(times) * 0.99)] * 1e3:.3f} ms  -> {1 / mean:.0f} articles/s/core"
    )
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        for a in articles:
            extract_entities(a)
        prof.disable()
        print("\n## where the time goes (cProfile, tottime)")
        pstats.Stats(prof).sort_stats("tottime").print_stats(14)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    # Choices are tuned on dev with a model trained on train alone (`python -m
    # stream.training.train_ner --out M`); the shipped model (train+dev) is reported on test.
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--model", type=Path, default=MODEL_PATH, help="CRF model to use")
    args = parser.parse_args()
    if args.model != MODEL_PATH:
        gaz = default_gazetteer()
        tagger = CrfTagger(args.model, gaz, default_clusters())
        spans_module.resources = lambda: (gaz, tagger)  # type: ignore[attr-defined,assignment]
    if not args.skip_quality:
        news_quality(args.split)
        quality(args.split)
    if args.skip_cost:
        return
    cost(args.articles, args.profile)


if __name__ == "__main__":
    main()
