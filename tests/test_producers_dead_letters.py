"""Articles the broker refuses for good go to ``<raw topic>.dlq`` in the one dead-letter
envelope, and stay in the spool (marked dead) only if even the dead-letter topic refuses them.

A topic whose ``max.message.bytes`` is smaller than one article makes the real broker refuse it
(MESSAGE_TOO_LARGE): no retry can change that, so it must not wait in the spool for good.
"""

from __future__ import annotations

import gzip
import html
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from producers.publish import Publisher
from producers.replay import corpus_article, source_for
from producers.spool import Spool
from producers.state import StateStore
from rasad.core.article import Article
from rasad.core.deadletter import DeadLetter
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from tests.producers_fixtures import (
    CORPUS,
    NABD,
    producer_settings,
    read_topic,
    registry_file,
    run_cli,
    serving,
)

REPO = Path(__file__).resolve().parents[1]
# Far below a long article once the text of 150 others is folded into it (~1 MB of JSON, still
# under the client's own 1 MB request limit after lz4), far above one plain corpus article.
SMALL_TOPIC_BYTES = 200_000


def corpus(count: int) -> list[Article]:
    now = datetime.now(UTC)
    with gzip.open(CORPUS, "rb") as lines:
        records = [orjson.loads(line) for line in itertools.islice(lines, count)]
    return [corpus_article(r, source_for(str(r["source"]), {}), "-", now) for r in records]


def oversized(articles: list[Article]) -> Article:
    """A real article whose body carries the text of many others: too large for the topic."""
    body = "\n".join(a.body or a.summary or "" for a in articles)
    return articles[0].model_copy(update={"id": "oversized-" + articles[0].id, "body": body})


@pytest.fixture
def small_topics(
    kafka_admin: KafkaAdminClient, live_stack: Settings
) -> Iterator[Callable[..., str]]:
    """Factory: a raw topic (and its .dlq) that takes messages up to ``raw_bytes``;
    ``dlq_bytes`` sets what the dead-letter topic takes."""
    made: list[str] = []

    def make(dlq_bytes: int, raw_bytes: int = SMALL_TOPIC_BYTES) -> str:
        name = f"producers-small.{len(made)}.{datetime.now(UTC).timestamp():.0f}"
        limits = {name: raw_bytes, live_stack.dead_letter_topic(name): dlq_bytes}
        kafka_admin.create_topics(
            [
                NewTopic(t, 1, 1, topic_configs={"max.message.bytes": str(n)})
                for t, n in limits.items()
            ]
        )
        made.extend(limits)
        return name

    yield make
    kafka_admin.delete_topics(made)


def dead_letters(settings: Settings, topic: str) -> list[DeadLetter]:
    consumer = KafkaConsumer(**client_config(settings))
    part = TopicPartition(settings.dead_letter_topic(topic), 0)
    consumer.assign([part])
    consumer.seek_to_beginning(part)
    end = consumer.end_offsets([part])[part]
    letters: list[DeadLetter] = []
    while consumer.position(part) < end:
        for records in consumer.poll(timeout_ms=2_000).values():
            letters += [DeadLetter.from_json(r.value) for r in records]
    consumer.close()
    return letters


def publish(settings: Settings, articles: list[Article]) -> Spool:
    spool = Spool(settings.data_dir / settings.producer_spool_path)
    state = StateStore(settings.data_dir / settings.producer_state_path)
    publisher = Publisher(settings, state, spool)
    for article in articles:  # one per request, so each is judged on its own size
        publisher.submit([article])
    publisher.close()
    state.close()
    return spool


def test_an_article_the_broker_refuses_goes_to_the_dead_letter_topic_as_it_was(
    live_stack: Settings, small_topics: Callable[..., str], tmp_path: Path
) -> None:
    articles = corpus(150)
    too_big = oversized(articles)
    topic = small_topics(4_000_000)
    settings = producer_settings(tmp_path, topic_raw=topic)

    spool = publish(settings, [articles[0], too_big, articles[1]])

    assert [key for key, _ in read_topic(settings, topic)] == [articles[0].id, articles[1].id]
    [letter] = dead_letters(settings, topic)
    assert (letter.stage, letter.topic, letter.key) == ("produce", topic, too_big.id.encode())
    assert letter.error_type == "MessageSizeTooLargeError"
    assert Article.from_json(letter.value).body == too_big.body
    assert (spool.size(), spool.dead_letters()) == (0, 0)


def test_an_article_not_even_the_dead_letter_topic_takes_stays_in_the_spool(
    live_stack: Settings, small_topics: Callable[..., str], tmp_path: Path
) -> None:
    articles = corpus(150)
    topic = small_topics(SMALL_TOPIC_BYTES)
    settings = producer_settings(tmp_path, topic_raw=topic)

    spool = publish(settings, [oversized(articles), articles[0]])

    assert [key for key, _ in read_topic(settings, topic)] == [articles[0].id]
    assert dead_letters(settings, topic) == []
    assert (spool.size(), spool.dead_letters()) == (0, 1)


def test_a_replay_counts_what_the_broker_refused_for_good_and_exits_1(
    live_stack: Settings, small_topics: Callable[..., str], tmp_path: Path
) -> None:
    with gzip.open(CORPUS, "rb") as lines:
        records = [orjson.loads(line) for line in itertools.islice(lines, 150)]
    text = "\n".join(str(r["text"]) for r in records)
    too_big = {**records[0], "url": records[0]["url"] + "?whole", "text": text}
    replay = tmp_path / "replay.jsonl"
    replay.write_bytes(b"\n".join(orjson.dumps(r) for r in (records[1], too_big, records[2])))
    topic = small_topics(4_000_000)

    done = run_cli(tmp_path, topic, "produce", "--replay", str(replay), "--rate", "0")

    assert done.returncode == 1, done.stderr
    assert "; 1 dead-lettered: MessageSizeTooLargeError (1)" in done.stdout
    assert "Traceback" not in done.stderr
    # At least once: a record the broker took before the refusal aborted its batch may be
    # sent again; only the oversized one is dead-lettered.
    published = {key for key, _ in read_topic(live_stack, topic)}
    [letter] = dead_letters(live_stack, topic)
    assert letter.error_type == "MessageSizeTooLargeError"
    assert letter.key is not None and letter.key.decode() not in published
    assert len(published) == 2


def oversized_feed(path: Path) -> None:
    """The recorded Nabd feed with its first item's description replaced by the text of 25
    corpus articles: an item the raw topic refuses and its dead-letter topic takes."""
    with gzip.open(CORPUS, "rb") as lines:
        texts = [str(orjson.loads(line)["text"]) for line in itertools.islice(lines, 25)]
    feed = (NABD / "feed.xml").read_text(encoding="utf-8")
    start = feed.index("<description>", feed.index("<item>"))
    end = feed.index("</description>", start)
    body = html.escape("\n".join(f"<p>{html.escape(t)}</p>" for t in texts))
    path.write_text(feed[:start] + f"<description>{body}" + feed[end:], encoding="utf-8")


def test_a_polling_round_names_what_the_broker_refused_for_good_and_exits_1(
    live_stack: Settings, small_topics: Callable[..., str], tmp_path: Path
) -> None:
    # A plain Nabd item is a few KB; the oversized one is ~100 KB even compressed.
    topic = small_topics(4_000_000, raw_bytes=50_000)
    (tmp_path / "site").mkdir()
    oversized_feed(tmp_path / "site" / "feed.xml")

    with serving(tmp_path / "site") as base:
        registry = registry_file(tmp_path, ("nabd", f"{base}/feed.xml"))
        done = run_cli(tmp_path, topic, "produce", "--once", "--registry", str(registry))

    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 of 1 feeds polled successfully" in done.stdout
    assert "1 dead-lettered: MessageSizeTooLargeError (1)" in done.stderr
    assert live_stack.dead_letter_topic(topic) in done.stderr
    [letter] = dead_letters(live_stack, topic)
    assert letter.error_type == "MessageSizeTooLargeError"
    published = {key for key, _ in read_topic(live_stack, topic)}
    assert letter.key is not None and letter.key.decode() not in published
    assert len(published) == 9  # the feed's other items
