"""Alert hits reach a real webhook receiver on 127.0.0.1 through the real broker and engine:
signed, retried, dead-lettered after the last attempt, throttled into digests, never twice."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from indexers.alerts import history, matcher
from indexers.alerts import store as alerts
from indexers.alerts.delivery import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from indexers.alerts.notify import Notifier
from indexers.alerts.store import AlertSpec
from rasad.core.article import Cluster, EnrichedArticle
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine
from rasad.core.settings import Settings
from tests.alerts_fixtures import (
    PHRASE,
    Receiver,
    alert_settings,
    consume_all,
    corpus_where,
    enriched_message,
    produce,
    receiver,
    run_agents,
    seed_articles,
    text_of,
)
from tests.index_fixtures import engine, has_word

__all__ = ["alert_settings", "engine", "receiver"]

SECRET = "whsec-7f3a9c1e5b2d4086"
REPO = Path(__file__).resolve().parents[1]


class Pipeline:
    """The alert agents running over the test's topics, with dead letters collected."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dead: list[DeadLetter] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _dead_letter(self, letter: DeadLetter) -> None:
        self.dead.append(letter)

    async def __aenter__(self) -> Pipeline:
        self._task = asyncio.create_task(
            run_agents(self.settings, self._dead_letter, self._stop, "t")
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task


@pytest.fixture
async def signed_alert(
    engine: Engine, alert_settings: Settings, receiver: Receiver
) -> AsyncIterator[alerts.Alert]:
    yield await alerts.create_alert(
        engine,
        alert_settings,
        AlertSpec(
            name="council", query=f'"{PHRASE}"', webhook_url=receiver.url, webhook_secret=SECRET
        ),
    )


async def test_an_article_matching_two_alerts_is_delivered_exactly_twice_and_signed(
    engine: Engine, alert_settings: Settings, receiver: Receiver, signed_alert: alerts.Alert
) -> None:
    other = await alerts.create_alert(
        engine, alert_settings, AlertSpec(name="trump", query="ترامب", webhook_url=receiver.url)
    )
    article = seed_articles()[0]
    async with Pipeline(alert_settings):
        await produce(alert_settings, alert_settings.topic_enriched, [enriched_message(article)])
        await receiver.wait_for(2)
        await asyncio.sleep(1.0)  # anything extra would arrive now

    assert len(receiver.requests) == 2
    by_alert = {r.json["alert"]["id"]: r for r in receiver.requests}
    assert set(by_alert) == {signed_alert.id, other.id}
    signed = by_alert[signed_alert.id]
    assert verify(
        SECRET, signed.headers[TIMESTAMP_HEADER], signed.body, signed.headers[SIGNATURE_HEADER]
    )
    assert not verify(
        "wrong", signed.headers[TIMESTAMP_HEADER], signed.body, signed.headers[SIGNATURE_HEADER]
    )
    assert SIGNATURE_HEADER not in by_alert[other.id].headers
    assert signed.json["article"]["id"] == article.id
    assert signed.headers[KEY_HEADER] == f"{signed_alert.id}:article:{article.id}"
    history = await _history(engine, alert_settings)
    assert sorted(h["status"] for h in history) == ["delivered", "delivered"]


async def _history(engine: Engine, settings: Settings) -> list[dict[str, Any]]:
    await engine.refresh(settings.alert_hits_index)
    return await history.recent_hits(engine, settings)


async def test_a_receiver_failing_twice_then_succeeding_gets_the_hit_once(
    engine: Engine, alert_settings: Settings, receiver: Receiver, signed_alert: alerts.Alert
) -> None:
    receiver.plan = [503, 500]
    async with Pipeline(alert_settings):
        await produce(
            alert_settings, alert_settings.topic_enriched, [enriched_message(seed_articles()[0])]
        )
        await receiver.wait_for(1)

    assert len(receiver.requests) == 3
    assert len(receiver.acknowledged) == 1
    assert len({r.headers[KEY_HEADER] for r in receiver.requests}) == 1


async def test_a_webhook_that_keeps_failing_is_retried_then_dead_lettered(
    engine: Engine, alert_settings: Settings, receiver: Receiver, signed_alert: alerts.Alert,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    receiver.plan = [500, 502, 503, 504]
    caplog.set_level(logging.DEBUG)
    async with Pipeline(alert_settings) as pipeline:
        await produce(
            alert_settings, alert_settings.topic_enriched, [enriched_message(seed_articles()[0])]
        )
        for _ in range(200):
            if pipeline.dead:
                break
            await asyncio.sleep(0.05)

    assert len(receiver.requests) == alert_settings.alert_delivery_attempts == 3
    letter = pipeline.dead[0]
    assert letter.stage == "notify" and "answered 503" in letter.error
    assert (letter.attempts, letter.key) == (3, signed_alert.id.encode())
    assert orjson.loads(letter.value)["alert_id"] == signed_alert.id
    history = await _history(engine, alert_settings)
    assert [h["status"] for h in history] == ["dead_lettered"]
    # The engine client echoes bodies at DEBUG; rasad.core.logs holds it at WARNING (and its trace
    # logger does not propagate), so every other logger (ours, Kafka's) is checked.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("opensearch")]
    assert ours and SECRET not in repr(ours) and SECRET not in repr(pipeline.dead)


async def test_replaying_the_same_hit_and_restarting_the_notifier_delivers_it_once(
    engine: Engine, alert_settings: Settings, receiver: Receiver, signed_alert: alerts.Alert
) -> None:
    hits = await matcher.percolate(engine, alert_settings, seed_articles())
    assert len(hits) == 1
    message = hits[0].to_json()

    async def nowhere(letter: DeadLetter) -> None:
        raise AssertionError("nothing should be dead-lettered")

    for _ in range(2):  # two notifier processes' lifetimes, each seeing the message twice
        notifier = Notifier(alert_settings, nowhere)
        await notifier.add(message)
        await notifier.add(message)
        first = await notifier.flush()
        await notifier.add(message)
        second = await notifier.flush()
        await notifier.close()
        assert second.outcomes == {"duplicate": 1}
        assert sum(first.outcomes.values()) == 2

    assert len(receiver.requests) == 1


async def test_cluster_mode_notifies_once_for_one_story_from_three_outlets(
    engine: Engine, alert_settings: Settings, receiver: Receiver
) -> None:
    per_outlet: dict[str, EnrichedArticle] = {}
    for article in corpus_where(lambda r: has_word(text_of(r), "ترامب"), limit=5000):
        per_outlet.setdefault(article.source.id, article)
    three = list(per_outlet.values())[:3]
    assert len(three) == 3
    story = Cluster(id="story-1", first_id=three[0].id, first_seen=three[0].published_at,
                    exact_duplicate=False)  # fmt: skip
    three = [a.model_copy(update={"cluster": story}) for a in three]
    alert = await alerts.create_alert(
        engine, alert_settings,
        AlertSpec(name="trump story", query="ترامب", mode="cluster", webhook_url=receiver.url),
    )  # fmt: skip
    async with Pipeline(alert_settings):
        await produce(
            alert_settings, alert_settings.topic_enriched, [enriched_message(a) for a in three]
        )
        await receiver.wait_for(1)
        await asyncio.sleep(1.5)

    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers[KEY_HEADER] == f"{alert.id}:cluster:story-1"
    hits_topic = await consume_all(alert_settings, alert_settings.topic_alert_hits, idle_s=1.0)
    assert len(hits_topic) == 3  # three matches recorded, one notification


async def test_throttle_sends_n_then_rolls_the_rest_into_one_digest(
    engine: Engine, alert_settings: Settings, receiver: Receiver
) -> None:
    alert = await alerts.create_alert(
        engine, alert_settings,
        AlertSpec(name="trump", query="ترامب", throttle_max=2, throttle_window_s=3600,
                  webhook_url=receiver.url),
    )  # fmt: skip
    articles = corpus_where(lambda r: has_word(text_of(r), "ترامب"), limit=5)
    hits = await matcher.percolate(engine, alert_settings, articles)
    assert len(hits) == 5

    async def nowhere(letter: DeadLetter) -> None:
        raise AssertionError("nothing should be dead-lettered")

    notifier = Notifier(alert_settings, nowhere)
    for hit in hits:
        await notifier.add(hit.to_json())
    result = await notifier.flush()
    assert result.outcomes == {"delivered": 2, "queued": 3}
    await engine.refresh(alert_settings.alert_hits_index)
    assert await notifier.send_due_digests() == 0  # the window is still open
    later = datetime.now(UTC) + timedelta(hours=1, seconds=1)
    assert await notifier.send_due_digests(later) == 1
    assert await notifier.send_due_digests(later) == 0  # sent once
    await notifier.close()

    digest = receiver.requests[-1].json
    assert len(receiver.requests) == 3
    assert digest["event"] == "alert.digest" and digest["count"] == 3
    assert digest["alert"]["id"] == alert.id and len(digest["articles"]) == 3
    statuses = sorted(h["status"] for h in await _history(engine, alert_settings))
    assert statuses == ["delivered", "delivered", "digested", "digested", "digested"]


def _worker_env(settings: Settings) -> dict[str, str]:
    names = (
        "kafka_bootstrap_servers", "engine_url", "index_prefix", "topic_enriched",
        "topic_alert_hits", "alert_webhook_allow",
        "alert_backoff_initial_s", "alert_backoff_max_s", "alert_delivery_attempts",
        "alert_webhook_timeout_s",
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASAD_")}
    env.update({f"RASAD_{n.upper()}": str(getattr(settings, n)) for n in names})
    env["RASAD_ALERT_WEBHOOK_TIMEOUT_S"] = "60"  # the first attempt must still hang when killed
    return env


async def _start_worker(settings: Settings) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.alerts_worker", cwd=REPO, env=_worker_env(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def test_a_worker_killed_mid_delivery_and_restarted_delivers_once_and_loses_nothing(
    engine: Engine, alert_settings: Settings, receiver: Receiver, signed_alert: alerts.Alert
) -> None:
    receiver.plan = ["hang"]  # the first request is in flight when the worker dies
    first = await _start_worker(alert_settings)
    second = None
    try:
        await produce(
            alert_settings, alert_settings.topic_enriched, [enriched_message(seed_articles()[0])]
        )
        for _ in range(600):
            if receiver.requests:
                break
            await asyncio.sleep(0.05)
        assert receiver.requests, "the first worker never called the webhook"
        first.kill()  # SIGKILL: no cleanup, no commit
        await first.wait()
        second = await _start_worker(alert_settings)
        await receiver.wait_for(1, within_s=60)
        await asyncio.sleep(1.0)
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()

    assert len(receiver.acknowledged) == 1
    assert {r.headers[KEY_HEADER] for r in receiver.requests} == {
        f"{signed_alert.id}:article:{seed_articles()[0].id}"
    }
    assert [h["status"] for h in await _history(engine, alert_settings)] == ["delivered"]
