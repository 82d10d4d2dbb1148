"""`rasad alerts`: add, list, show, test, rm against the real engine; secrets never printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from rasad.core.engine.client import Engine
from tests.index_fixtures import IndexedCorpus, engine, search_corpus

__all__ = ["engine", "search_corpus"]

REPO = Path(__file__).resolve().parents[1]
SECRET = "cli-signing-secret-42"


def rasad(prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.update(RASAD_INDEX_PREFIX=prefix, RASAD_ALERT_WEBHOOK_ALLOW="127.0.0.1", HOOK_SECRET=SECRET)
    return subprocess.run(
        [sys.executable, "-m", "rasad.cli", "alerts", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def test_the_alert_commands_round_trip_without_showing_the_secret(
    engine: Engine, search_corpus: IndexedCorpus
) -> None:
    settings = search_corpus.settings
    prefix = settings.index_prefix
    try:
        added = rasad(
            prefix, "add", "--name", "عقوبات على إيران", "--query", "عقوبات AND إيران",
            "--webhook", "http://127.0.0.1:9/hook", "--webhook-secret-env", "HOOK_SECRET",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        alert_id = orjson.loads(added.stdout)["id"]
        listed = rasad(prefix, "list", "--json")
        shown = rasad(prefix, "show", alert_id)
        backtest = rasad(prefix, "test", alert_id, "--since", "520w")  # the corpus is from 2018
        bad = rasad(prefix, "add", "--name", "bad", "--query", "(عقوبات")
        refused = rasad(prefix, "add", "--name", "ssrf", "--query", "x", "--webhook",
                        "http://169.254.169.254/latest/meta-data/")  # fmt: skip
        removed = rasad(prefix, "rm", alert_id)
        gone = rasad(prefix, "show", alert_id)
    finally:
        await engine.delete_index(f"{settings.alerts_index},{settings.alert_hits_index}")

    everything = "".join(p.stdout + p.stderr for p in (added, listed, shown, backtest, removed))
    assert SECRET not in everything
    assert [a["id"] for a in orjson.loads(listed.stdout)] == [alert_id]
    assert orjson.loads(shown.stdout)["webhook_signed"] is True
    assert backtest.returncode == 0, backtest.stderr
    total = int(backtest.stdout.split("articles in the last")[0].split()[-1])
    assert total > 0
    assert bad.returncode == 2 and "parenthesis is not closed" in bad.stderr
    assert refused.returncode == 2 and "link-local" in refused.stderr
    assert removed.returncode == 0 and gone.returncode == 1 and "no alert" in gone.stderr
