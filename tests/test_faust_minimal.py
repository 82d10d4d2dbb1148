"""Faust 0.15 with aiokafka 0.14 runs an agent with a table against the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from rasad.core.kafka import client_config
from rasad.core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
WORDS = ["طهران", "واشنطن", "طهران"]


def test_agent_with_table_counts_arabic_messages_per_key(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    source, sink = new_topic("minimal-in"), new_topic("minimal-out")
    env = {
        **os.environ,
        "MINIMAL_APP_ID": f"rasad-minimal-{uuid.uuid4().hex[:8]}",
        "MINIMAL_IN": source,
        "MINIMAL_OUT": sink,
        "MINIMAL_DATADIR": str(tmp_path / "faust-data"),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "faust", "-A", "tests.faust_minimal_app", "worker", "-l", "warn"],
        cwd=REPO,
        env=env,
        stdout=(tmp_path / "worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        producer = KafkaProducer(acks="all", **client_config(live_stack))
        for word in WORDS:
            producer.send(source, key=word.encode(), value=word.encode())
        producer.flush()
        producer.close()

        consumer = KafkaConsumer(
            sink,
            auto_offset_reset="earliest",
            consumer_timeout_ms=90_000,
            **client_config(live_stack),
        )
        received = [m.value.decode() for _, m in zip(WORDS, consumer, strict=False)]
        consumer.close()
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert received == ["1:طهران", "1:واشنطن", "2:طهران"], log[-3000:]
