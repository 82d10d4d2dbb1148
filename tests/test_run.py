"""`rasad run` brings the whole product up on a replayed corpus and Ctrl-C takes it all down.

It runs as a real subprocess against the shared stack (RASAD_RUN_LOCAL_STACK=false) with its own
topics, consumer group, index prefix, ports and data directory.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from rasad.core.settings import Settings
from tests.fault_fixtures import REPO, STREAM_TIMEOUT_S, Pipeline, corpus_slice, wait_until

pytestmark = pytest.mark.slow

# 150 articles at 75/s: the replay is over in two seconds, so the test also sees the pipeline
# keep running after its producer has finished.
ARTICLES = 150
RATE = 75.0


def test_run_fills_the_dashboard_and_ctrl_c_stops_every_child(
    live_stack: Settings, tmp_path: Path
) -> None:
    line = Pipeline(live_stack, tmp_path)
    expected = corpus_slice(tmp_path / "slice.jsonl", 0, ARTICLES)
    web_port = line.env(tmp_path)["RASAD_WORKER_WEB_PORT"]  # a free port, for the web app
    env = line.env(
        tmp_path / "run",
        RASAD_RUN_LOCAL_STACK="false",
        RASAD_RUN_SOURCE="replay",
        RASAD_RUN_REPLAY_PATH=str(tmp_path / "slice.jsonl"),
        RASAD_RUN_REPLAY_RATE=str(RATE),
        RASAD_WEB_PORT=web_port,
    )
    output = tmp_path / "run.log"
    with output.open("wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "rasad.cli", "run"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    line.processes.append(("run", run))
    try:
        wait_until(
            lambda: len(line.indexed()) == len(expected),
            STREAM_TIMEOUT_S,
            "the corpus indexed",
            line,
        )
        text = output.read_text(errors="replace")
        assert f"http://127.0.0.1:{web_port}/" in text and "Ctrl-C" in text
        assert httpx.get(f"http://127.0.0.1:{web_port}/healthz", timeout=10).status_code == 200
        time.sleep(2)  # the producer has finished: the rest must still be running
        assert run.poll() is None, output.read_text(errors="replace")
        children = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", text)]
        assert len(children) == 3, text

        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=60) == 0, output.read_text(errors="replace")
        alive = [pid for pid in children if psutil.pid_exists(pid)]
        assert not alive, f"children still running: {alive}"
    finally:
        line.close()
