"""The enrichment agent through the real broker: `rasad worker` in a subprocess, raw -> enriched.

One worker serves the whole module (starting one takes seconds); each test uses its own keys.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import orjson
import pytest

from rasad.core.article import Article, Cluster, EnrichedArticle
from rasad.core.settings import Settings
from tests.stream_fixtures import (
    REWRITTEN_PAIR,
    UNRELATED,
    WIRE_PAIR,
    StreamEnv,
    consume_keys,
    corpus_articles,
    first_corpus_articles,
    produce,
    publish,
    worker_env,
)
from tests.test_stream_language import UDHR


@pytest.fixture(scope="module")
def stream_env(
    live_stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamEnv]:
    with worker_env(live_stack, tmp_path_factory.mktemp("worker")) as env:
        yield env


def enriched(env: StreamEnv, articles: list[Article]) -> dict[str, EnrichedArticle]:
    got = consume_keys(env.settings, env.enriched, [a.id.encode() for a in articles])
    return {k.decode(): EnrichedArticle.from_json(v) for k, v in got.items()}


def cluster_of(article: EnrichedArticle) -> Cluster:
    assert article.cluster is not None, "the agent gives every article a cluster"
    return article.cluster


def test_corpus_articles_come_out_enriched(stream_env: StreamEnv) -> None:
    articles = first_corpus_articles(12)
    publish(stream_env, articles)
    out = enriched(stream_env, articles)
    assert set(out) == {a.id for a in articles}
    for article in articles:
        result = out[article.id]
        assert result.title == article.title
        assert result.lang.code == "ar"
        assert result.cluster is not None
    assert sum(1 for r in out.values() if r.entities) >= 10, "almost every article names someone"
    assert any(r.topics for r in out.values())


def test_poison_messages_are_dead_lettered_and_the_agent_keeps_going(
    stream_env: StreamEnv,
) -> None:
    (good,) = corpus_articles([UNRELATED])
    poison = {
        b"bad-json": b'{"id": "x", "title": ',
        b"wrong-schema": orjson.dumps({"id": "x", "headline": "no title, no url"}),
        b"not-utf8": '{"id": "x", "title": "إيران"}'.encode("cp1256"),
    }
    produce(
        stream_env.settings, stream_env.raw, [*poison.items(), (good.id.encode(), good.to_json())]
    )

    letters = consume_keys(stream_env.settings, stream_env.raw_dead_letters, poison)
    assert set(letters) == set(poison)
    for key, value in letters.items():
        letter = orjson.loads(value)
        assert letter["stage"] == "decode"
        assert letter["error_type"] == "SchemaError"
        assert letter["error"]
        assert base64.b64decode(letter["value_b64"]) == poison[key]
        assert base64.b64decode(letter["key_b64"]) == key
        assert letter["topic"] == stream_env.raw
    assert good.id in enriched(stream_env, [good])


def test_reports_of_one_story_share_a_cluster_and_others_do_not(stream_env: StreamEnv) -> None:
    wire = corpus_articles(WIRE_PAIR)
    rewritten = corpus_articles(REWRITTEN_PAIR)
    # One at a time, so "first" is well defined whatever partitions the ids land on.
    for article in [*wire, *rewritten]:
        publish(stream_env, [article])
        enriched(stream_env, [article])
    out = enriched(stream_env, [*wire, *rewritten])
    clusters = {a.id: cluster_of(out[a.id]) for a in [*wire, *rewritten]}
    assert clusters[wire[1].id].id == clusters[wire[0].id].id == wire[0].id
    assert clusters[rewritten[1].id].id == clusters[rewritten[0].id].id == rewritten[0].id


def test_the_same_body_under_another_url_is_flagged_exact_duplicate(stream_env: StreamEnv) -> None:
    (original,) = corpus_articles(["CN-middleEast-864-20180510"])
    copy = original.model_copy(update={"id": original.id[:-4] + "dupe", "url": original.url + "?"})
    publish(stream_env, [original])
    enriched(stream_env, [original])
    publish(stream_env, [copy])
    out = enriched(stream_env, [original, copy])
    assert cluster_of(out[copy.id]).exact_duplicate
    assert cluster_of(out[copy.id]).id == original.id
    assert not cluster_of(out[original.id]).exact_duplicate


def test_a_non_arabic_article_passes_through_tagged(stream_env: StreamEnv) -> None:
    (template,) = corpus_articles([UNRELATED])
    article = template.model_copy(
        update={
            "id": "udhr-fa-" + template.id[:8],
            "title": "اعلامیه جهانی حقوق بشر",
            "summary": "",
            "body": UDHR["fa"],
        }
    )
    publish(stream_env, [article])
    result = enriched(stream_env, [article])[article.id]
    assert (result.lang.code, result.lang.script) == ("fa", "Arabic")
    assert (result.entities, result.topics) == ([], [])
