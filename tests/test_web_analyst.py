"""An analyst's API: entity pages (one per entity id, reachable from the names the app shows,
with mentions over time, companions, sources, topics and recent articles), periods that end at
the newest article, and search totals and facets that say what they counted."""

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


async def test_the_last_week_of_the_data_ends_at_its_newest_article(
    client: httpx.AsyncClient, enriched_corpus: list[EnrichedArticle]
) -> None:
    newest = max(a.published_at for a in enriched_corpus)
    week = [a for a in enriched_corpus if (newest - a.published_at).days < 7]

    by_source = (
        await client.get(
            "/api/stats/volume", params={"by": "source", "since": "7d", "anchor": "latest"}
        )
    ).json()

    assert by_source["total"] >= len(week) > 0
    assert (await client.get("/api/stats/volume", params={"since": "7d"})).json()["total"] == 0


async def test_search_says_how_exact_its_total_is_and_what_its_facets_counted(
    client: httpx.AsyncClient,
) -> None:
    answer = (await client.get("/api/search", params={"q": "ترامب"})).json()

    assert answer["total_relation"] == "eq"
    assert 0 < answer["facet_sample"] <= answer["total"]
