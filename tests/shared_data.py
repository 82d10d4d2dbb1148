"""Where the real data of the tests and benchmarks lives: ``../shared`` beside the checkout, the
project's layout (see DEVELOPERS.md). One place, so a move of the data is one edit."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import orjson

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data"
CORPUS = DATA / "corpus" / "ant-multisource.jsonl.gz"
SEED_DIR = SHARED / "seed"


def corpus_texts(every: int) -> Iterator[tuple[str, str]]:
    """(article id, text) of the title and the body of every ``every``-th corpus article."""
    with gzip.open(CORPUS, "rb") as f:
        for line in islice(f, 0, None, every):
            row = orjson.loads(line)
            yield row["id"], row["title"]
            yield row["id"], row["text"]
