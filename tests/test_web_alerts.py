"""The alert routes of the HTTP API against the real engine, on real corpus articles: CRUD,
pause/resume, backtests, hit history and counts, clear errors, and roles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from indexers.alerts import matcher
from indexers.alerts.notify import Notifier
from rasad.core.article import EnrichedArticle
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine
from rasad.core.settings import Settings
from rasad.web.app import create_app
from rasad.web.auth import ApiKeyStore, keys_path
from tests.web_fixtures import client, enriched_corpus, indexed

__all__ = ["client", "enriched_corpus", "indexed"]  # fixtures used by name

TRUMP = {"name": "ترامب", "query": "ترامب"}


async def created(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    answer = await client.post("/api/alerts", json={**TRUMP, **fields})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_an_alert_is_created_shown_edited_paused_resumed_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    alert = await created(client, webhook_secret="s3cr3t-signing-key")
    path = f"/api/alerts/{alert['id']}"

    shown = (await client.get(path)).json()
    listed = {a["id"]: a for a in (await client.get("/api/alerts")).json()["alerts"]}
    edited = await client.put(path, json={"name": "ترامب وبوتين", "query": "ترامب AND بوتين"})
    paused = (await client.post(f"{path}/pause")).json()
    resumed = (await client.post(f"{path}/resume")).json()
    deleted = await client.delete(path)

    assert shown["name"] == "ترامب" and shown["owner"] == "local" and shown["hit_count"] == 0
    assert listed[alert["id"]]["hit_count"] == 0
    assert "webhook_secret" not in shown and shown["webhook_signed"] is True
    assert edited.status_code == 200, edited.text
    assert edited.json()["query"] == "ترامب AND بوتين"
    assert edited.json()["webhook_signed"] is True, "an edit without the secret keeps it"
    assert (paused["enabled"], resumed["enabled"]) == (False, True)
    assert deleted.status_code == 204
    assert (await client.get(path)).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"query": "(ترامب"}, 400, "parenthesis"),
        ({"query": "في من"}, 400, "can never match"),
        ({"query": ""}, 400, "needs a query or at least one filter"),
        ({"webhook_url": "http://127.0.0.1:9200/_cluster/settings"}, 400, "loopback"),
        ({"email_to": ["desk@example.org"]}, 400, "SMTP"),
        ({"colour": "red"}, 422, "colour"),
        ({"name": ""}, 422, "name"),
    ],
)
async def test_an_alert_that_cannot_work_is_refused_with_a_clear_message(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, says: str
) -> None:
    answer = await client.post("/api/alerts", json={**TRUMP, **body})

    assert answer.status_code == status, answer.text
    assert says in answer.text


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/test")],
)
async def test_an_unknown_alert_is_404_whatever_is_asked(
    client: httpx.AsyncClient, method: str, suffix: str
) -> None:
    body = TRUMP if method == "PUT" else None
    answer = await client.request(method, f"/api/alerts/no-such-alert{suffix}", json=body)

    assert answer.status_code == 404, answer.text
    assert "no-such-alert" in answer.json()["detail"]


async def test_a_backtest_previews_a_draft_and_a_stored_alert_alike(
    client: httpx.AsyncClient,
) -> None:
    alert = await created(client)

    draft = (await client.post("/api/alerts/test?since=3650d", json={"query": "ترامب"})).json()
    stored = (await client.post(f"/api/alerts/{alert['id']}/test?since=3650d")).json()
    recent = (await client.post(f"/api/alerts/{alert['id']}/test?since=1d")).json()
    bad = await client.post("/api/alerts/test?since=soon", json={"query": "ترامب"})
    unparsable = await client.post("/api/alerts/test", json={"query": "ترامب AND"})

    assert draft["total"] == stored["total"] > 5
    assert draft["hits"] and all(h["title"] and h["source"]["id"] for h in draft["hits"])
    assert recent["total"] == 0, "the corpus is from 2018"
    assert bad.status_code == 400 and "since 'soon'" in bad.text
    assert unparsable.status_code == 400


async def test_hits_recorded_by_the_notifier_are_listed_and_counted(
    client: httpx.AsyncClient, indexed: Settings, enriched_corpus: list[EnrichedArticle]
) -> None:
    alert = await created(client, name="ترامب في الأخبار")
    article = next(a for a in enriched_corpus if "ترامب" in a.title)

    # What the alert agent and the notifier do with one enriched article.
    async with await Engine.connect(indexed) as engine:
        found = await matcher.percolate(engine, indexed, [article])
        notifier = Notifier(indexed, _no_dead_letters, engine)
        for hit in found:
            await notifier.add(hit.to_json())
        await notifier.flush()
        await notifier.close()
        await engine.refresh(indexed.alert_hits_index)

    hits = (await client.get("/api/alerts/hits", params={"alert_id": alert["id"]})).json()["hits"]
    listed = {a["id"]: a for a in (await client.get("/api/alerts")).json()["alerts"]}
    shown = (await client.get(f"/api/alerts/{alert['id']}")).json()

    assert [(h["alert_name"], h["article_id"]) for h in hits] == [("ترامب في الأخبار", article.id)]
    assert hits[0]["title"] == article.title and hits[0]["status"] == "recorded"
    assert listed[alert["id"]]["hit_count"] == shown["hit_count"] == 1
    assert (await client.get("/api/alerts/hits", params={"size": 0})).status_code == 422


async def _no_dead_letters(letter: DeadLetter) -> None:
    raise AssertionError(f"a hit was dead-lettered: {letter.error}")


async def test_readers_look_and_editors_change_alerts_which_they_then_own(
    indexed: Settings, tmp_path: Path
) -> None:
    settings = indexed.model_copy(update={"web_auth": "apikey", "data_dir": tmp_path})
    store = ApiKeyStore(keys_path(settings))
    reader = {"X-API-Key": store.add("analyst", "reader")[1]}
    editor = {"X-API-Key": store.add("desk", "editor")[1]}
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        made = await http.post("/api/alerts", json={**TRUMP, "owner": "someone"}, headers=editor)
        path = f"/api/alerts/{made.json()['id']}"
        refused = [
            await http.post("/api/alerts", json=TRUMP, headers=reader),
            await http.put(path, json=TRUMP, headers=reader),
            await http.post(f"{path}/pause", headers=reader),
            await http.delete(path, headers=reader),
        ]
        looked = [
            await http.get(path, headers=reader),
            await http.get("/api/alerts", headers=reader),
            await http.post(f"{path}/test", headers=reader),
            await http.get("/api/alerts/hits", headers=reader),
        ]
        anonymous = await http.get("/api/alerts")
        removed = await http.delete(path, headers=editor)

    assert made.status_code == 201 and made.json()["owner"] == "desk"
    assert [r.status_code for r in refused] == [403] * 4
    assert [r.status_code for r in looked] == [200] * 4
    assert (anonymous.status_code, removed.status_code) == (401, 204)
