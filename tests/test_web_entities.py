"""Entity pages over the HTTP API: one page per entity id, reachable from the names the app
shows, with mentions over time, companions, sources, topics and recent articles."""

from __future__ import annotations

from collections import Counter

import httpx

from rasad.core.article import EnrichedArticle
from tests.web_fixtures import client, enriched_corpus, indexed

__all__ = ["client", "enriched_corpus", "indexed"]  # fixtures used by name


def _most_mentioned(articles: list[EnrichedArticle]) -> tuple[str, str, int]:
    counts = Counter(
        (e.id, e.name) for a in articles for e in {e.id: e for e in a.entities}.values()
    )
    (entity_id, name), count = counts.most_common(1)[0]
    return entity_id, name, count


async def test_an_entity_page_counts_every_article_that_mentions_it(
    client: httpx.AsyncClient, enriched_corpus: list[EnrichedArticle]
) -> None:
    entity_id, name, count = _most_mentioned(enriched_corpus)

    page = (await client.get(f"/api/entities/{entity_id}")).json()

    assert (page["id"], page["name"]) == (entity_id, name)
    assert page["articles"] >= count  # the hostile copy of the first article may add one
    assert sum(n for _, n in page["timeline"]) == page["articles"]
    assert sum(s["count"] for s in page["sources"]) <= page["articles"]
    assert page["co_mentioned"] and all(e["id"] != entity_id for e in page["co_mentioned"])
    assert all(e.get("name") for e in page["co_mentioned"])
    assert page["topics"] and page["recent"]
    stamps = [a["published_at"] for a in page["recent"]]
    assert stamps == sorted(stamps, reverse=True)


async def test_a_name_shown_in_a_facet_leads_to_the_same_page_as_its_id(
    client: httpx.AsyncClient, enriched_corpus: list[EnrichedArticle]
) -> None:
    entity_id, name, _ = _most_mentioned(enriched_corpus)

    by_name = (await client.get(f"/api/entities/{name}")).json()

    assert by_name["id"] == entity_id


async def test_an_entity_no_article_mentions_is_not_found(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/entities/no-such-entity")

    assert answer.status_code == 404
