"""Memory of same-story clustering with and without a bound on the window's article count.

    .venv/bin/python bench/bench_cluster_memory.py [--articles 50000] [--bounds 10000 0]

Each bound (0: unbounded, only the 72-hour span) runs in a fresh process: `StoryClusters` over
a dict store (as the GlobalTable holds every record too), fed ANT corpus articles at 20 per
simulated second (the soak rate), with the expiry sweep (leader: deletes from the store) every
``--sweep-every`` articles. The corpus has ~31k articles; beyond that it repeats with a number
appended to the body, so every article is distinct and gets its own signature. Prints the RSS
the clustering state added (current and peak, over the process with the corpus loaded) and the
articles it holds at the end.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import resource
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream.enrich.cluster import ClusterConfig, StoryClusters
from tests.shared_data import CORPUS

START = datetime(2018, 6, 18, tzinfo=UTC)
ARTICLES_PER_S = 20


def measure(articles: int, bound: int, sweep_every: int) -> None:
    """One run in this process: prints ``held rss_mb peak_mb``."""
    with gzip.open(CORPUS, "rb") as handle:
        rows = [orjson.loads(line) for line in handle]
    gc.collect()
    base = psutil.Process().memory_info().rss
    base_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    config = ClusterConfig(max_articles=bound) if bound else ClusterConfig()
    store: dict[bytes, bytes] = {}
    clusters = StoryClusters(store, config)
    now = START
    for n in range(articles):
        row = rows[n % len(rows)]
        lap = n // len(rows)
        body = f"{row.get('text') or ''} {lap}" if lap else row.get("text") or ""
        now = START + timedelta(seconds=n / ARTICLES_PER_S)
        clusters.assign(f"{row['id']}-{lap}", row.get("title") or "", body, now)
        if (n + 1) % sweep_every == 0:
            clusters.expire(now, delete_from_store=True)
    clusters.expire(now, delete_from_store=True)
    gc.collect()
    rss = psutil.Process().memory_info().rss - base
    peak = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base_peak)
    print(len(store), rss / 2**20, peak / 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--bounds", type=int, nargs="+", default=[10_000, 0])
    parser.add_argument("--sweep-every", type=int, default=5_000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        measure(args.articles, args.child, args.sweep_every)
        return
    print(f"{args.articles:,} articles, sweep every {args.sweep_every:,}")
    print(f"{'bound':>10} {'held':>8} {'+RSS MB':>8} {'+peak MB':>9} {'KB/held':>8}")
    for bound in args.bounds:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--articles",
                str(args.articles),
                "--sweep-every",
                str(args.sweep_every),
                "--child",
                str(bound),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        held, rss, peak = int(out[0]), float(out[1]), float(out[2])
        label = f"{bound:,}" if bound else "none"
        print(f"{label:>10} {held:>8,} {rss:>8.0f} {peak:>9.0f} {rss * 1024 / held:>8.1f}")


if __name__ == "__main__":
    main()
