"""Is enrichment output unchanged? A digest of `rasad enrich`'s output over corpus articles.

Enriches the first N corpus articles exactly as `rasad enrich` does (the same input reader, one
shared cluster state, a fixed clock) and prints the SHA-256 of the JSON lines. A refactoring
that must not change behaviour keeps the digest; a deliberate enrichment change moves it, and
its commit says so. Recorded digests are in docs/benchmarks.md ("Enrichment output digest").

    .venv/bin/python bench/bench_enrich_digest.py [--articles 3000] [--expect HEX] [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rasad.cli.stream import read_article
from stream.enrich.cluster import StoryClusters
from stream.enrich.pipeline import enrich
from tests.shared_data import DATA

CORPUS = DATA / "corpus" / "ant-multisource.jsonl.gz"
# Any fixed instant: enrichment stamps it into every article.
CLOCK = datetime(2026, 12, 7, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--expect", help="the digest the output must have")
    parser.add_argument("--out", type=Path, help="also write the JSON lines here")
    args = parser.parse_args()
    digest = hashlib.sha256()
    clusters = StoryClusters({})
    out = args.out.open("wb") if args.out else None
    with gzip.open(CORPUS, "rb") as f:
        for n, line in enumerate(f):
            if n >= args.articles:
                break
            row = orjson.loads(line)
            data = orjson.dumps({"title": row["title"], "body": row["text"], "url": row["url"]})
            enriched = enrich(read_article(data, "corpus", CLOCK), clusters, CLOCK)
            json_line = orjson.dumps(enriched.model_dump(mode="json")) + b"\n"
            digest.update(json_line)
            if out is not None:
                out.write(json_line)
    if out is not None:
        out.close()
    print(f"articles={min(n + 1, args.articles)} sha256={digest.hexdigest()}")
    if args.expect and args.expect != digest.hexdigest():
        print(f"DIFFERENT from the expected {args.expect}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
