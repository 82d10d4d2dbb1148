"""The HTTP API against the real engine and broker, on real corpus articles."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from indexers.alerts.model import AlertHit, hit_key
from rasad.core.article import EnrichedArticle, SchemaError
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from rasad.web.app import UnsafeBindError, create_app
from rasad.web.auth import ApiKeyStore, keys_path
from rasad.web.highlight import segments
from rasad.web.live import LiveEvent, LiveHub, alert_hit_event
from tests.web_fixtures import (
    HOSTILE_TITLE,
    LiveServer,
    client,
    enriched_corpus,
    free_port,
    index_articles,
    indexed,
    store_finished_reprocess,
    web_settings,
)

__all__ = ["client", "enriched_corpus", "indexed"]  # fixtures used by name

SEARCH_TERM = "ترامب"
# The live consumer connects within a second or two; a loaded 2-core box needs far more.
LIVE_CONNECT_TIMEOUT_S = 90.0


def test_engine_highlights_become_plain_text_segments() -> None:
    fragment = "&lt;img onerror=x&gt; قال <mark>ترامب</mark> &amp; <mark>بوتين</mark>"

    assert segments(fragment) == [
        {"text": "<img onerror=x> قال ", "hit": False},
        {"text": "ترامب", "hit": True},
        {"text": " & ", "hit": False},
        {"text": "بوتين", "hit": True},
    ]


async def test_search_finds_an_arabic_term_with_highlights_as_text_segments(
    client: httpx.AsyncClient,
) -> None:
    answer = (await client.get("/api/search", params={"q": SEARCH_TERM})).json()

    assert answer["total"] > 5
    marked = [
        seg["text"]
        for hit in answer["hits"]
        for fragments in hit["highlights"].values()
        for fragment in fragments
        for seg in fragment
        if seg["hit"]
    ]
    assert marked and all("ترامب" in m or "ترمب" in m for m in marked)
    assert {"topics", "sources", "countries", "entities", "histogram"} <= set(answer["facets"])


async def test_cursor_pages_do_not_repeat_articles(client: httpx.AsyncClient) -> None:
    first = (await client.get("/api/search", params={"q": SEARCH_TERM, "size": 5})).json()
    second = (
        await client.get(
            "/api/search", params={"q": SEARCH_TERM, "size": 5, "cursor": first["next_cursor"]}
        )
    ).json()

    assert first["next_cursor"]
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}


async def test_filters_narrow_results_to_one_source(client: httpx.AsyncClient) -> None:
    everything = (await client.get("/api/search")).json()
    source = everything["facets"]["sources"][0]

    narrowed = (await client.get("/api/search", params={"source": source["key"]})).json()

    assert narrowed["total"] == source["count"]
    assert {h["source"]["id"] for h in narrowed["hits"]} == {source["key"]}


async def test_every_answer_carries_the_security_headers_and_is_counted_by_route(
    client: httpx.AsyncClient,
) -> None:
    for answer in (
        await client.get("/api/search", params={"q": SEARCH_TERM}),
        await client.get("/api/search", params={"q": f"({SEARCH_TERM}"}),
        await client.get("/api/articles/no-such-article"),
    ):
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
    metrics = (await client.get("/metrics")).text

    assert 'route="/api/search",status="400"' in metrics
    assert 'route="/api/articles/{article_id}",status="404"' in metrics


async def test_a_bad_query_is_a_clear_400_not_a_500(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/search", params={"q": f"({SEARCH_TERM}"})

    assert answer.status_code == 400
    assert "parenthesis" in answer.json()["detail"]


async def test_a_hostile_feed_title_comes_back_as_plain_text(client: httpx.AsyncClient) -> None:
    answer = (await client.get("/api/search", params={"q": "onerror"})).json()

    hostile = [h for h in answer["hits"] if h["title"] == HOSTILE_TITLE]
    assert hostile, "the hostile title is stored and returned unchanged"
    for fragment in hostile[0]["highlights"].get("title", []):
        assert "".join(s["text"] for s in fragment) == HOSTILE_TITLE


async def test_an_article_comes_with_entities_tags_and_same_story_siblings(
    client: httpx.AsyncClient, indexed: Settings, enriched_corpus: list[EnrichedArticle]
) -> None:
    original = next(a for a in enriched_corpus if a.topics and a.cluster)
    # The same story from a second outlet: same cluster, another id.
    retold = original.model_copy(update={"id": uuid.uuid4().hex[:32]})
    await index_articles(indexed, [retold])

    article = (await client.get(f"/api/articles/{original.id}")).json()

    assert article["title"] == original.title
    assert [t["tag"] for t in article["topics"]] == [t.tag for t in original.topics]
    assert len(article["entities"]) == len(original.entities)
    assert [s["id"] for s in article["siblings"]] == [retold.id]


async def test_an_unknown_article_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/articles/no-such-id")).status_code == 404


async def test_volume_over_time_adds_up_to_the_indexed_articles(
    client: httpx.AsyncClient,
) -> None:
    total = (await client.get("/api/search")).json()["total"]
    by_source = (await client.get("/api/stats/volume", params={"by": "source"})).json()

    assert by_source["total"] == total
    assert sum(p[1] for s in by_source["series"] for p in s["points"]) == total
    by_topic = (await client.get("/api/stats/volume", params={"by": "topic"})).json()
    assert by_topic["series"] and all(s["points"] for s in by_topic["series"])


async def test_top_entities_rising_and_source_activity(client: httpx.AsyncClient) -> None:
    top = (await client.get("/api/stats/top-entities")).json()["entities"]
    rising = (await client.get("/api/stats/rising", params={"since": "30d"})).json()
    sources = (await client.get("/api/stats/sources")).json()["sources"]

    assert [e["count"] for e in top] == sorted((e["count"] for e in top), reverse=True)
    assert all(r["current"] > r["previous"] for r in rising["topics"] + rising["entities"])
    assert len(sources) >= 3 and all(s["latest"] for s in sources)


async def test_a_bad_period_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/stats/rising", params={"since": "soon"})).status_code == 400


async def test_health_metrics_and_openapi(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    metrics = await client.get("/metrics")
    schema = (await client.get("/openapi.json")).json()

    assert health.status_code == 200, health.text
    assert health.json()["kafka"]["ok"] and health.json()["engine"]["ok"]
    assert "rasad_web_requests_total" in metrics.text
    assert {"/api/search", "/api/live", "/api/alerts"} <= set(schema["paths"])


async def test_health_is_503_when_kafka_is_unreachable() -> None:
    settings = web_settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        answer = await http.get("/healthz")

    assert answer.status_code == 503
    assert answer.json()["kafka"]["ok"] is False


def test_auth_off_refuses_a_non_loopback_bind() -> None:
    with pytest.raises(UnsafeBindError, match="without authentication"):
        create_app(web_settings(web_host="0.0.0.0"))
    create_app(web_settings(web_host="0.0.0.0", web_auth="apikey"))


async def test_api_keys_are_stored_hashed_and_roles_are_enforced(
    indexed: Settings, tmp_path: Path
) -> None:
    settings = indexed.model_copy(update={"web_auth": "apikey", "data_dir": tmp_path})
    store = ApiKeyStore(keys_path(settings))
    _, reader = store.add("analyst", "reader")
    _, admin = store.add("ops", "admin")
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        anonymous = await http.get("/api/search")
        wrong = await http.get("/api/search", headers={"X-API-Key": reader + "x"})
        read = await http.get("/api/search", headers={"X-API-Key": reader})
        write = await http.post("/api/alerts", json={}, headers={"X-API-Key": reader})
        keys = await http.get("/api/keys", headers={"X-API-Key": admin})

    assert (anonymous.status_code, wrong.status_code, read.status_code) == (401, 401, 200)
    assert write.status_code == 403
    assert [k["name"] for k in keys.json()["keys"]] == ["analyst", "ops"]
    stored = keys_path(settings).read_text()
    assert reader not in stored and admin not in stored


async def test_cors_is_closed_unless_an_origin_is_configured(indexed: Settings) -> None:
    preflight = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}
    for origins, allowed in (("", False), ("https://elsewhere.example", True)):
        app = create_app(indexed.model_copy(update={"web_cors_origins": origins}))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            answer = await http.options("/api/search", headers=preflight)
        assert ("access-control-allow-origin" in answer.headers) is allowed


async def test_a_slow_live_client_loses_its_oldest_events_and_blocks_no_one() -> None:
    hub = LiveHub(web_settings(web_sse_queue=3))
    async with hub.subscribe() as slow, hub.subscribe() as fast:
        received = []
        for n in range(5):
            hub.publish(LiveEvent("article", {"n": n}))
            received.append((await fast.get()).data["n"])
        backlog = [slow.get_nowait().data["n"] for _ in range(slow.qsize())]

    assert received == [0, 1, 2, 3, 4]
    assert backlog == [2, 3, 4]


async def test_new_enriched_articles_and_alert_hits_stream_live_over_sse(
    indexed: Settings, enriched_corpus: list[EnrichedArticle]
) -> None:
    settings = indexed.model_copy(update={"web_port": free_port()})
    admin = KafkaAdminClient(client_id="rasad-web-tests", **client_config(settings))
    topics = [settings.topic_enriched, settings.topic_alert_hits]
    admin.create_topics([NewTopic(t, num_partitions=2, replication_factor=1) for t in topics])
    article = enriched_corpus[1]
    hit = hit_for(article, "عقوبات")
    try:
        with LiveServer(settings) as server:
            events = await _first_events(server.url, article, hit, settings)
    finally:
        admin.delete_topics(topics)
        admin.close()

    assert events["article"]["id"] == article.id
    assert events["article"]["title"] == article.title
    assert events["alert_hit"] == hit.model_dump(mode="json")


def test_only_alert_hits_of_the_shared_schema_reach_the_live_stream(
    enriched_corpus: list[EnrichedArticle],
) -> None:
    hit = hit_for(enriched_corpus[0], "عقوبات")

    assert alert_hit_event(hit.to_json()).data["alert_name"] == "عقوبات"
    with pytest.raises(SchemaError):
        alert_hit_event(orjson.dumps({"alert_id": "a1", "title": "no article, no key"}))


def hit_for(article: EnrichedArticle, alert_name: str) -> AlertHit:
    """The hit the alert agent would emit for this article and an alert of that name."""
    return AlertHit(
        key=hit_key("a1", "every", article),
        alert_id="a1",
        alert_name=alert_name,
        owner="local",
        mode="every",
        article_id=article.id,
        cluster_id=article.cluster.id if article.cluster else None,
        title=article.title,
        url=article.url,
        source_id=article.source.id,
        source_name=article.source.name,
        published_at=article.published_at,
        matched_at=datetime.now(UTC),
    )


async def _first_events(
    url: str, article: EnrichedArticle, hit: AlertHit, settings: Settings
) -> dict[str, dict[str, object]]:
    events: dict[str, dict[str, object]] = {}
    producer = AIOKafkaProducer(**client_config(settings))
    await producer.start()
    try:
        async with (
            httpx.AsyncClient(base_url=url, timeout=30) as http,
            http.stream("GET", "/api/live") as stream,
        ):
            lines = stream.aiter_lines()
            kind = ""
            published = False
            async with asyncio.timeout(30):  # the broker delivers in well under a second
                async for line in lines:
                    if line.startswith("event: hello") and not published:
                        await _wait_connected(url)
                        await producer.send_and_wait(settings.topic_enriched, article.to_json())
                        await producer.send_and_wait(settings.topic_alert_hits, hit.to_json())
                        published = True
                    elif line.startswith("event: "):
                        kind = line.removeprefix("event: ")
                    elif line.startswith("data: ") and kind in ("article", "alert_hit"):
                        events[kind] = orjson.loads(line.removeprefix("data: "))
                        if len(events) == 2:
                            break
    finally:
        await producer.stop()
    return events


async def _wait_connected(url: str) -> None:
    """The live consumer starts at the end of the topics: publish only once it is there."""
    deadline = time.monotonic() + LIVE_CONNECT_TIMEOUT_S
    async with httpx.AsyncClient(base_url=url) as http:
        while time.monotonic() < deadline:
            if "rasad_web_live_kafka_connected 1.0" in (await http.get("/metrics")).text:
                # Partition assignment and the seek to the end follow the connection.
                await asyncio.sleep(1.0)
                return
            await asyncio.sleep(0.1)
    raise AssertionError("the live consumer never connected")


async def test_the_last_reprocess_is_null_before_any_run(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/reprocess/last")
    assert answer.status_code == 200
    assert answer.json() == {"run": None}


async def test_the_last_reprocess_serves_its_run_and_diff(
    client: httpx.AsyncClient, indexed: Settings, enriched_corpus: list[EnrichedArticle]
) -> None:
    run, tag = await store_finished_reprocess(indexed, enriched_corpus)
    answer = await client.get("/api/reprocess/last")
    assert answer.status_code == 200
    served = answer.json()["run"]
    assert (served["id"], served["state"]) == (run.id, "done")
    assert served["report"]["tags"][tag] == {"gained": 1, "lost": 1}
    assert {(e["tag"], e["direction"]) for e in served["report"]["examples"]} >= {
        (tag, "gained"),
        (tag, "lost"),
    }
