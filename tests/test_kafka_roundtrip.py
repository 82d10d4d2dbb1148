"""A keyed UTF-8 Arabic message survives a round trip through the real broker, with both clients."""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer

from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from tests.conftest import SEED_DIR

SEED_TITLE = next(SEED_DIR.glob("*.txt")).read_text(encoding="utf-8").splitlines()[0].strip()
KEY = b"40caac64b2919ceb"


def test_kafka_python_roundtrip_keeps_arabic_text_and_key(
    live_stack: Settings, new_topic: Callable[..., str]
) -> None:
    topic = new_topic()
    producer = KafkaProducer(acks="all", **client_config(live_stack))
    producer.send(topic, key=KEY, value=SEED_TITLE.encode("utf-8")).get(timeout=30)
    producer.close()

    consumer = KafkaConsumer(
        topic, auto_offset_reset="earliest", consumer_timeout_ms=90_000, **client_config(live_stack)
    )
    message = next(iter(consumer))
    consumer.close()

    assert message.key == KEY
    assert message.value.decode("utf-8") == SEED_TITLE
    assert "المعارضين" in message.value.decode("utf-8")


async def test_aiokafka_roundtrip_keeps_arabic_text_and_key(
    live_stack: Settings, new_topic: Callable[..., str]
) -> None:
    topic = new_topic()
    producer = AIOKafkaProducer(acks="all", **client_config(live_stack))
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=KEY, value=SEED_TITLE.encode("utf-8"))
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **client_config(live_stack))
    await consumer.start()
    try:
        message = await consumer.getone()
    finally:
        await consumer.stop()

    assert message.key == KEY
    assert message.value is not None
    assert message.value.decode("utf-8") == SEED_TITLE
