"""A producer that has stopped sending is replaced, so its spool still reaches the broker.

In a loaded CI run a broker restart outlasted the send timeout, batches expired, and the
kafka-python producer never sent again: a 180 s drain published none of 100 spooled articles
though the broker was back. The same state is built here on the real broker, by holding one
producer's I/O thread while the producer still accepts sends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from producers.publish import Publisher
from producers.spool import Spool
from producers.state import StateStore
from rasad.core.settings import Settings
from tests.producers_fixtures import producer_settings, read_topic
from tests.test_producers_dead_letters import corpus


def silence(producer: KafkaProducer, until: threading.Event) -> None:
    """The producer CI met: connected, sends accepted, and nothing leaves the process (its I/O
    thread does no more work until ``until`` is set)."""
    producer._sender.run_once = until.wait


def test_a_producer_that_sends_nothing_is_replaced_and_the_spool_reaches_the_broker(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    topic = new_topic("producers-silent")
    settings = producer_settings(tmp_path, topic_raw=topic, producer_send_timeout_s=2.0)
    made: list[KafkaProducer] = []

    def remembered(config: dict[str, Any]) -> KafkaProducer:
        made.append(KafkaProducer(**config))
        return made[-1]

    spool = Spool(settings.data_dir / settings.producer_spool_path)
    state = StateStore(settings.data_dir / settings.producer_state_path)
    publisher = Publisher(settings, state, spool, producer_factory=remembered)
    assert publisher.check() is None
    released = threading.Event()
    silence(made[0], released)
    articles = corpus(20)

    report = publisher.submit(articles)
    left = publisher.drain(timeout_s=120)
    publisher.close()
    state.close()
    released.set()

    assert (report.published, report.spooled) == (0, 20)
    assert left == 0
    assert len(made) == 2
    assert [key for key, _ in read_topic(settings, topic)] == [a.id for a in articles]
