"""Each process exports only its own metric families: the web server's /metrics carries no
producer or indexer counters stuck at zero (issue 22). Each import runs in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

LIST_FAMILIES = """
import importlib, sys
from prometheus_client import REGISTRY
module = importlib.import_module(sys.argv[1])
if sys.argv[1] == "rasad.web.app":
    from rasad.core.settings import Settings
    module.create_app(Settings())
names = {n for names in REGISTRY._collector_to_names.values() for n in names}
print("\\n".join(sorted(n for n in names if n.startswith("rasad_"))))
"""


def families(module: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", LIST_FAMILIES, module],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    ("module", "own"),
    [
        ("rasad.web.app", ("rasad_web_", "rasad_engine_")),
        ("producers.runner", ("rasad_producer_",)),
    ],
)
def test_a_process_exports_only_its_own_metric_families(module: str, own: tuple[str, ...]) -> None:
    found = families(module)

    assert found, "no rasad metric families at all"
    assert {name for name in found if not name.startswith(own)} == set()
