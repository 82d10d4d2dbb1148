"""Where the real data of the tests and benchmarks lives: ``../shared`` beside the checkout, the
project's layout (see DEVELOPERS.md). One place, so a move of the data is one edit."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data"
CORPUS = DATA / "corpus" / "ant-multisource.jsonl.gz"
SEED_DIR = SHARED / "seed"
