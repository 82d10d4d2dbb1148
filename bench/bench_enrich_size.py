"""How does enrichment time grow with the text? One article of 10 KB, 100 KB and 1 MB bodies.

Bodies are real corpus text (articles joined by blank lines), enriched as `rasad enrich` does.
Prints, per size, the characters enriched (after the RASAD_STREAM_ENRICH_MAX_CHARS cut), the
seconds, the microseconds per character and the peak memory growth. Linear work shows as a flat
µs/char; `--max-chars 0` lifts the cut to measure the enrichment code itself.

    .venv/bin/python bench/bench_enrich_size.py [--sizes 10000,100000,1000000] [--max-chars N]
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rasad.cli.stream import read_article
from rasad.core.settings import Settings
from stream.enrich.cluster import StoryClusters
from stream.enrich.pipeline import enrich, warm_up
from tests.shared_data import DATA

CORPUS = DATA / "corpus" / "ant-multisource.jsonl.gz"
CLOCK = datetime(2026, 12, 7, tzinfo=UTC)


def corpus_text(chars: int) -> str:
    """At least `chars` characters of corpus bodies, cut at `chars`."""
    parts: list[str] = []
    total = 0
    with gzip.open(CORPUS, "rb") as handle:
        for line in handle:
            body = str(orjson.loads(line).get("text") or "")
            parts.append(body)
            total += len(body) + 2
            if total >= chars:
                break
    return "\n\n".join(parts)[:chars]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="body sizes in bytes")
    parser.add_argument(
        "--max-chars",
        type=int,
        default=Settings().stream_enrich_max_chars,
        help="the enrichment cut (default: the setting); 0 = no cut",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    limit = args.max_chars or sys.maxsize
    warm_up()
    # Arabic is ~2 bytes per character in UTF-8: a body of N bytes is about N/2 characters.
    text = corpus_text(max(sizes))
    print(f"{'body':>9} {'chars':>9} {'enriched':>9} {'seconds':>8} {'µs/char':>8} {'+RSS MB':>8}")
    for size in sizes:
        body = text.encode()[:size].decode(errors="ignore")
        data = orjson.dumps({"title": "عنوان", "body": body})
        article = read_article(data, "bench", CLOCK)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        enriched = enrich(article, StoryClusters({}), CLOCK, limit)
        seconds = time.perf_counter() - started
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        done = len(enriched.body)
        print(
            f"{size:>9} {len(body):>9} {done:>9} {seconds:>8.2f} "
            f"{seconds / max(done, 1) * 1e6:>8.1f} {grown:>8.0f}  ({enriched.body_kind})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
