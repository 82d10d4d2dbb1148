"""Alerts are percolator queries in the search language, checked when saved, matched in batches.

Documents are real: corpus articles (ANT v2.1) and the seed article about the Iranian
opposition's summit.
"""

from __future__ import annotations

import asyncio
import re
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from indexers.alerts import history, matcher
from indexers.alerts import store as alerts
from indexers.alerts.store import AlertQueryError, AlertRefused, AlertSpec
from rasad.core.article import TopicTag
from rasad.core.engine.client import Engine
from rasad.core.settings import Settings
from tests.alerts_fixtures import PHRASE, alert_settings, corpus_where, seed_articles, text_of
from tests.index_fixtures import engine, has_word, raw_corpus, search_corpus, to_enriched

__all__ = ["alert_settings", "engine", "search_corpus"]

SANCTIONS = re.compile("عقوبات|العقوبات|والعقوبات|بالعقوبات")


def spec(name: str, query: str = "", **fields: object) -> AlertSpec:
    return AlertSpec(name=name, query=query, **fields)


async def matched(engine: Engine, settings: Settings, articles: list, alert_id: str) -> set[str]:  # type: ignore[type-arg]
    hits = await matcher.percolate(engine, settings, articles)
    return {h.article_id for h in hits if h.alert_id == alert_id}


async def test_a_phrase_and_a_word_match_the_right_real_articles_only(
    engine: Engine, alert_settings: Settings
) -> None:
    with_phrase = corpus_where(lambda r: PHRASE in text_of(r))
    others = [to_enriched(r) for r in raw_corpus(60)]
    seed = seed_articles()
    alert = await alerts.create_alert(
        engine, alert_settings, spec("opposition + sanctions", f'"{PHRASE}" AND عقوبات')
    )

    found = await matched(engine, alert_settings, [*with_phrase, *others, *seed], alert.id)

    by_id = {a.id: a for a in [*with_phrase, *seed]}
    must = {i for i, a in by_id.items() if SANCTIONS.search(f"{a.title} {a.summary} {a.body}")}
    never = {i for i, a in by_id.items() if "عقوب" not in f"{a.title} {a.summary} {a.body}"}
    assert seed[0].id in must  # the seed mentions the council and العقوبات
    assert must <= found
    assert not found & never
    assert not found & {a.id for a in others}


async def test_hamza_spelling_does_not_matter_in_an_alert_query(
    engine: Engine, alert_settings: Settings
) -> None:
    hamza_only = corpus_where(lambda r: has_word(text_of(r), "ايران") and "إيران" not in text_of(r))
    assert hamza_only, "the corpus has articles spelling Iran without hamza"
    alert = await alerts.create_alert(engine, alert_settings, spec("iran", "إيران"))

    found = await matched(engine, alert_settings, hamza_only[:10], alert.id)

    assert found == {a.id for a in hamza_only[:10]}


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("(عقوبات AND إيران", "parenthesis is not closed"),
        ('"المجلس الوطني', "quotation mark is not closed"),
        ("عقوبات AND", "must follow"),
        ("في من", "can never match"),
        ("", "needs a query or at least one filter"),
    ],
)
async def test_a_query_that_cannot_work_is_refused_at_creation(
    engine: Engine, alert_settings: Settings, query: str, says: str
) -> None:
    with pytest.raises(AlertQueryError, match=says):
        await alerts.create_alert(engine, alert_settings, spec("bad", query))
    assert await alerts.list_alerts(engine, alert_settings) == []


async def test_topic_and_minimum_score_filters_narrow_an_alert(
    engine: Engine, alert_settings: Settings
) -> None:
    iran = corpus_where(lambda r: has_word(text_of(r), "إيران"), limit=4)
    strong, weak, untagged, _ = iran
    strong = strong.model_copy(
        update={"topics": [TopicTag(tag="sanctions", score=0.8, evidence=[])]}
    )
    weak = weak.model_copy(update={"topics": [TopicTag(tag="sanctions", score=0.3, evidence=[])]})
    untagged = untagged.model_copy(update={"topics": []})
    alert = await alerts.create_alert(
        engine,
        alert_settings,
        spec("iran sanctions", "إيران", topics=["sanctions"], min_topic_score=0.5),
    )

    found = await matched(engine, alert_settings, [strong, weak, untagged], alert.id)

    assert found == {strong.id}


async def test_an_article_matching_two_alerts_yields_two_hits_and_paused_alerts_none(
    engine: Engine, alert_settings: Settings
) -> None:
    article = seed_articles()[0]
    first = await alerts.create_alert(engine, alert_settings, spec("council", f'"{PHRASE}"'))
    second = await alerts.create_alert(engine, alert_settings, spec("trump", "ترامب"))
    paused = await alerts.create_alert(engine, alert_settings, spec("paused", "ترامب"))
    await alerts.set_enabled(engine, alert_settings, paused.id, False)

    hits = await matcher.percolate(engine, alert_settings, [article])

    assert sorted(h.alert_id for h in hits) == sorted([first.id, second.id])
    assert {h.key for h in hits} == {f"{a.id}:article:{article.id}" for a in (first, second)}


async def test_a_refused_webhook_url_is_rejected_at_creation(
    engine: Engine, alert_settings: Settings
) -> None:
    with pytest.raises(AlertRefused, match="loopback"):
        await alerts.create_alert(
            engine,
            alert_settings.model_copy(update={"alert_webhook_allow": ""}),
            spec("internal", "إيران", webhook_url="http://127.0.0.1:9200/_cluster/settings"),
        )


async def test_secrets_are_never_listed_or_shown(engine: Engine, alert_settings: Settings) -> None:
    secret = "s3cr3t-signing-key-0123456789"
    created = await alerts.create_alert(
        engine,
        alert_settings,
        spec("signed", "إيران", webhook_url="http://127.0.0.1:1/hook", webhook_secret=secret),
    )
    listed = [a.public() for a in await alerts.list_alerts(engine, alert_settings)]
    shown = (await alerts.get_alert(engine, alert_settings, created.id)).public()
    matched_hits = await matcher.percolate(engine, alert_settings, seed_articles())

    for output in (repr(listed), repr(shown), repr(created.public()), repr(matched_hits)):
        assert secret not in output
    assert shown["webhook_signed"] is True
    # Editing without sending the secret keeps it; the notifier still has it.
    await alerts.update_alert(engine, alert_settings, created.id, spec("renamed", "إيران",
                              webhook_url="http://127.0.0.1:1/hook"))  # fmt: skip
    kept = await alerts.get_alert(engine, alert_settings, created.id)
    assert kept.webhook_secret is not None and kept.webhook_secret.get_secret_value() == secret


async def test_a_backtest_finds_what_the_alert_would_have_matched_in_stored_articles(
    engine: Engine, search_corpus: object
) -> None:
    settings: Settings = search_corpus.settings  # type: ignore[attr-defined]
    raws = search_corpus.raws  # type: ignore[attr-defined]
    try:
        alert = await alerts.create_alert(engine, settings, spec("trump", "ترامب"))
        total, hits = await history.backtest(engine, settings, alert, since=None, size=5)
        recent, _ = await history.backtest(engine, settings, alert, since=timedelta(days=7))
    finally:
        await engine.delete_index(f"{settings.alerts_index},{settings.alert_hits_index}")

    spelled = {i for i, r in raws.items() if has_word(text_of(r), "ترامب")}
    assert total >= len(spelled) > 0
    assert len(hits) == 5 and all(h["title"] and h["source"]["id"] for h in hits)
    assert recent == 0  # the corpus is from 2018


async def test_the_matcher_waits_for_an_unreachable_engine_and_then_matches(
    engine: Engine, alert_settings: Settings
) -> None:
    """The engine is out of reach when the batch comes (nothing listens at its address yet);
    the matcher retries instead of crashing the agent, and matches once the engine answers."""
    article = seed_articles()[0]
    alert = await alerts.create_alert(engine, alert_settings, spec("council", f'"{PHRASE}"'))
    real = urlsplit(alert_settings.engine_url)
    with socket.socket() as probe:  # a free loopback port: the engine's address to come
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    away = alert_settings.model_copy(
        update={
            "engine_url": f"http://127.0.0.1:{port}",
            "alert_backoff_initial_s": 0.1,
            "alert_backoff_max_s": 0.2,
        }
    )
    alert_matcher = matcher.AlertMatcher(away)

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(real.hostname, real.port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    try:
        matching = asyncio.ensure_future(alert_matcher.match_articles([article]))
        await asyncio.sleep(1.0)
        assert not matching.done()  # still waiting, not crashed
        proxy = await asyncio.start_server(forward, "127.0.0.1", port)
        async with proxy:
            hits = await asyncio.wait_for(matching, timeout=30)
    finally:
        await alert_matcher.close()

    assert [h.alert_id for h in hits] == [alert.id]
