"""The web app in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Screenshots of each page go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kafka import KafkaProducer
from playwright.sync_api import Browser, Page, expect, sync_playwright

from rasad.core.article import EnrichedArticle
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from tests.web_fixtures import (
    HOSTILE_TITLE,
    LiveServer,
    enriched_corpus,
    indexed,
    live_server,
    raw_corpus_articles,
    store_finished_reprocess,
    worker,
)

__all__ = ["enriched_corpus", "indexed", "live_server", "worker"]  # fixtures used by name

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# Flags for a sandboxed CI container: no GPU, no network side-traffic from the browser itself.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Generous for a loaded 2-core CI machine; pages normally settle in well under a second.
WAIT_MS = 20_000
# A hit goes through a worker that may still be joining its consumer groups (seconds, more on a
# loaded machine) before it enriches, percolates and emits.
WORKER_WAIT_MS = 90_000
# The hit history is searchable after the index's refresh interval (1 s): a few page loads.
HISTORY_POLLS = 20

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} missing: make test installs it"
)


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Browser]:
    # After live_server: its async set-up must run before Playwright owns this thread's loop.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ar", viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)


def test_searching_an_arabic_term_shows_highlighted_results(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/#/search")
    page.fill("input[name=q]", "ترامب")
    page.press("input[name=q]", "Enter")

    marks = page.locator("#results mark")
    expect(marks.first).to_be_visible(timeout=WAIT_MS)
    assert all(("ترامب" in m or "ترمب" in m) for m in marks.all_inner_texts())
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    snippets = " ".join(page.locator("#results .snippet").all_inner_texts())
    assert snippets.strip() and "[object" not in snippets
    page.locator("#results .result h2 a").first.click()
    expect(page.locator("#detail h2")).to_be_visible(timeout=WAIT_MS)
    shot(page, "search")


def test_a_feed_title_with_markup_shows_as_text_and_runs_nothing(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/#/search")
    page.fill("input[name=q]", "onerror")
    page.press("input[name=q]", "Enter")

    title = page.locator("#results .result h2").filter(has_text="<script>")
    expect(title).to_have_text(HOSTILE_TITLE, timeout=WAIT_MS)
    assert page.locator("#results img, #results script").count() == 0
    assert page.evaluate("window.__xss") is None
    shot(page, "xss")


def test_the_dashboard_draws_the_volume_chart_and_fills_its_tables(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/#/dashboard")

    chart = page.locator("#volume-chart")
    expect(chart.locator("canvas")).to_have_count(1, timeout=WAIT_MS)
    expect(chart).to_have_attribute("data-series", re.compile(r"^[1-9]\d*$"), timeout=WAIT_MS)
    expect(page.locator("#sources tbody tr").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=WAIT_MS)
    shot(page, "dashboard")


def test_the_live_feed_shows_a_new_article_without_reload(
    page: Page, live_server: LiveServer, enriched_corpus: list[EnrichedArticle]
) -> None:
    settings = live_server.settings
    page.goto(f"{live_server.url}/#/dashboard")
    _wait_live(page)
    article = enriched_corpus[2]

    _publish(settings, settings.topic_enriched, article.id, article.to_json())

    expect(page.locator("#live-feed li").first).to_contain_text(article.title, timeout=WAIT_MS)
    shot(page, "live")


def test_an_alert_created_in_the_ui_previews_and_its_hit_arrives_live(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/#/alerts")
    page.fill("input[name=name]", "ترامب في الأخبار")
    page.fill("input[name=query]", "ترامب")
    page.select_option("select[name=since]", "3650d")
    page.click("#backtest-button")
    expect(page.locator("#backtest-total")).to_be_visible(timeout=WAIT_MS)
    shot(page, "alerts")
    page.click("form.alert-form button[type=submit]")
    expect(page.locator("#alert-list tr")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator("#alert-list td.hits")).to_have_attribute("data-hits", "0")

    page.goto(f"{live_server.url}/#/dashboard")
    _wait_live(page)
    # A new report as a producer publishes it: the worker enriches it, percolates it against
    # the new alert, and emits the hit that the live stream carries to this page.
    raw = next(a for a in raw_corpus_articles() if "ترامب" in a.title)
    article = raw.model_copy(update={"id": uuid.uuid4().hex[:32]})
    _publish(live_server.settings, live_server.settings.topic_raw, article.id, article.to_json())

    hit = page.locator("#alert-hits li").filter(has_text=article.title)
    expect(hit).to_contain_text("ترامب في الأخبار", timeout=WORKER_WAIT_MS)
    shot(page, "alert-hit")
    # The notifier records the hit in the history the alerts page counts.
    page.goto(f"{live_server.url}/#/alerts")
    counted = page.locator("#alert-list td.hits")
    for _ in range(HISTORY_POLLS):
        expect(counted).to_have_count(1, timeout=WAIT_MS)
        if counted.get_attribute("data-hits") == "1":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(counted).to_have_attribute("data-hits", "1")


def _wait_live(page: Page) -> None:
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=WAIT_MS)


def _publish(settings: Settings, topic: str, key: str, value: bytes) -> None:
    producer = KafkaProducer(**client_config(settings))
    producer.send(topic, key=key.encode(), value=value)
    producer.flush()
    producer.close()


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_each_sort_order_of_the_search_page_is_one_the_api_accepts(
    page: Page, live_server: LiveServer, sort: str
) -> None:
    page.goto(f"{live_server.url}/#/search")
    page.fill("input[name=q]", "ترامب")
    page.select_option("select[name=sort]", sort)
    with page.expect_response(lambda r: "/api/search" in r.url and f"sort={sort}" in r.url) as got:
        page.press("input[name=q]", "Enter")

    answer = got.value
    assert answer.status == 200, answer.text()
    expect(page.locator("#results .result").first).to_be_visible(timeout=WAIT_MS)
    dates = [hit["published_at"] for hit in answer.json()["hits"]]
    if sort != "relevance":
        assert dates == sorted(dates, reverse=sort == "newest")


# An analyst's year: Arabic names for topics and entity types, Arabic digits, counts drawn as
# bars over the last 7 days of the data, English as a toggle, and entity pages.
# Arabic-Indic digits (U+0660-U+0669), as Intl writes numbers for "ar-u-nu-arab".
ARABIC_DIGITS = re.compile(r"[\u0660-\u0669]")
TAG_KEYS = re.compile(r"\b(culture|economy|politics|sport|diplomacy|military|iran)\b")


def test_the_dashboard_speaks_arabic_and_draws_bars_for_the_last_week_of_the_data(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/#/dashboard")

    chart = page.locator("#volume-chart")
    expect(chart).to_have_attribute("data-kind", "bar", timeout=WAIT_MS)
    expect(chart).to_have_attribute("data-series", re.compile(r"^[1-9]\d*$"), timeout=WAIT_MS)
    assert page.locator("select[name=period]").input_value() == "7d"
    expect(page.locator("#top-entities tbody tr").first).to_be_visible(timeout=WAIT_MS)
    entities = page.locator("#top-entities").inner_text()
    assert not re.search(r"\b(PER|ORG|LOC)\b", entities)
    assert ARABIC_DIGITS.search(entities)
    shot(page, "dashboard-arabic")


def test_search_facets_name_topics_in_arabic_and_english_is_a_toggle(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/#/search")
    facets = page.locator(".facets")
    expect(facets.locator(".facet").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#result-summary")).to_have_text(ARABIC_DIGITS, timeout=WAIT_MS)
    assert not TAG_KEYS.search(facets.inner_text())
    shot(page, "search-facets-arabic")

    page.click("#lang-button")
    expect(page.locator("html")).to_have_attribute("data-lang", "en", timeout=WAIT_MS)
    expect(facets.locator(".facet").first).to_be_visible(timeout=WAIT_MS)
    assert re.search(r"\b(People|Places|Organisations)\b", facets.inner_text())
    shot(page, "search-facets-english")
    page.click("#lang-button")
    expect(page.locator("html")).to_have_attribute("data-lang", "ar", timeout=WAIT_MS)


def test_an_entity_on_the_dashboard_opens_its_page(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/#/dashboard")
    link = page.locator("#top-entities a.entity-link").first
    expect(link).to_be_visible(timeout=WAIT_MS)
    name = link.inner_text()

    link.click()

    expect(page.locator("#entity-header h1")).to_have_text(name, timeout=WAIT_MS)
    expect(page.locator("#entity-chart")).to_have_attribute("data-kind", "bar", timeout=WAIT_MS)
    expect(page.locator("#entity-recent li").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#entity-companions a.entity-link").first).to_be_visible(timeout=WAIT_MS)
    shot(page, "entity")

    page.locator("#entity-companions a.entity-link").first.click()
    expect(page.locator("#entity-header h1")).not_to_have_text(name, timeout=WAIT_MS)


def test_every_entity_of_an_article_links_to_its_page(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/#/search")
    page.locator("#results .result h2 a").first.click()
    expect(page.locator("#detail .entities a.entity-link").first).to_be_visible(timeout=WAIT_MS)
    assert (
        page.locator("#detail .entities li").count()
        == page.locator("#detail .entities a.entity-link").count()
    )
    expect(page.locator(".facets a.entity-link").first).to_be_visible(timeout=WAIT_MS)


def test_the_last_reprocess_shows_the_tags_gained_and_lost_with_examples(
    page: Page, live_server: LiveServer, enriched_corpus: list[EnrichedArticle]
) -> None:
    # Stored from another thread: Playwright owns this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        run, tag = pool.submit(
            asyncio.run, store_finished_reprocess(live_server.settings, enriched_corpus)
        ).result()
    page.goto(f"{live_server.url}/#/reprocess")

    expect(page.locator("#reprocess-header")).to_contain_text(run.id, timeout=WAIT_MS)
    row = page.locator(f"#reprocess-tags tr[data-key='{tag}']")
    expect(row).to_contain_text("+١", timeout=WAIT_MS)
    expect(row).to_contain_text("−١")
    assert tag not in row.inner_text()  # the tag by its Arabic name
    assert page.locator("#reprocess-entities tbody tr").count() == 1
    examples = page.locator("#reprocess-examples li")
    expect(examples).to_have_count(2)
    assert {examples.nth(i).get_attribute("data-direction") for i in range(2)} == {
        "gained",
        "lost",
    }
    assert "الدليل" in examples.first.inner_text()
    shot(page, "reprocess-arabic")

    page.click("#lang-button")
    expect(page.locator("html")).to_have_attribute("data-lang", "en", timeout=WAIT_MS)
    expect(row).to_contain_text("+1", timeout=WAIT_MS)
    entity_types = page.locator("#reprocess-entities").inner_text()
    assert re.search(r"\b(People|Places|Organisations)\b", entity_types)
    shot(page, "reprocess-english")
    page.click("#lang-button")
    expect(page.locator("html")).to_have_attribute("data-lang", "ar", timeout=WAIT_MS)
