"""Session-wide fixtures: one real broker and one real engine per test session.

Integration tests get a fresh topic (or index prefix) each, so they never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from rasad.stack import control as stack
from tests import shared_data

SHARED_DATA = shared_data.DATA
SEED_DIR = SHARED_DATA.parent / "seed"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def live_stack(settings: Settings) -> Settings:
    """The local Kafka + OpenSearch; started if not running (idempotent), left running after."""
    stack.up(settings, progress=lambda _msg: None)
    return settings


@pytest.fixture(scope="session")
def kafka_admin(live_stack: Settings) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(client_id="rasad-tests", **client_config(live_stack))
    yield admin
    admin.close()


@pytest.fixture
def new_topic(kafka_admin: KafkaAdminClient) -> Iterator[Callable[..., str]]:
    """Factory: a fresh, uniquely named topic, deleted after the test."""
    made: list[str] = []

    def make(prefix: str = "test", partitions: int = 1) -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:10]}"
        kafka_admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        made.append(name)
        return name

    yield make
    if made:
        kafka_admin.delete_topics(made)
