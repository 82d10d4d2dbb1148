"""Start-up time of the `rasad` command, printed (not asserted).

Each command runs RUNS times as a fresh process (``python -m rasad.cli``, as the tests and
`rasad run` start it); the median wall time is printed next to two floors: the bare
interpreter and ``import typer``. Then ``python -X importtime`` of ``rasad --help``: the ten
imports that cost the most including what they import (cumulative), and the ten that cost
the most on their own (self).

    .venv/bin/python bench/bench_cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
TOP = 10
RASAD = [sys.executable, "-m", "rasad.cli"]
COMMANDS: dict[str, list[str]] = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "import typer (floor)": [sys.executable, "-c", "import typer"],
    "rasad --help": [*RASAD, "--help"],
    "rasad enrich --help": [*RASAD, "enrich", "--help"],
    "rasad search --help": [*RASAD, "search", "--help"],
}


def wall_time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, env=_env())
    return time.perf_counter() - start


def _env() -> dict[str, str]:
    # A fixed terminal width: help rendering must not depend on the terminal the bench runs in.
    return {**os.environ, "COLUMNS": "100"}


def importtime(argv: list[str]) -> list[tuple[int, int, str]]:
    """(self µs, cumulative µs, module) for every import of one run of ``argv``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv[1:]],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env=_env(),
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((int(own), int(cumulative), name.strip()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    print(f"median wall time of {args.runs} runs (load average {os.getloadavg()[0]:.2f})")
    for label, argv in COMMANDS.items():
        wall_time(argv)  # warm the page cache and .pyc files; not counted
        times = [wall_time(argv) for _ in range(args.runs)]
        spread = f"min {min(times):.3f}, max {max(times):.3f}"
        print(f"  {label:<24} {statistics.median(times):.3f} s  ({spread})")
    rows = importtime(COMMANDS["rasad --help"])
    total = sum(own for own, _, _ in rows)
    print(
        f"\npython -X importtime: rasad --help imports {len(rows)} modules in {total / 1e6:.3f} s"
    )
    by_cumulative = sorted(rows, key=lambda r: r[1], reverse=True)[:TOP]
    by_self = sorted(rows, key=lambda r: r[0], reverse=True)[:TOP]
    print(f"top {TOP} by cumulative time (the module and what it imports):")
    for _, cumulative, name in by_cumulative:
        print(f"  {cumulative / 1000:7.1f} ms  {name}")
    print(f"top {TOP} by self time:")
    for own, _, name in by_self:
        print(f"  {own / 1000:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
