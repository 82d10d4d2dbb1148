"""The registry is data: outlets (names, home, country, kind, languages) with zero or more feeds
and news sitemaps, every Arab country covered, validated on load with file:line errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from producers.registry import DEFAULT_REGISTRY, RegistryError, load_outlets, load_registry

# The 22 members of the Arab League.
ARAB_COUNTRIES = [
    "DZ",
    "BH",
    "KM",
    "DJ",
    "EG",
    "IQ",
    "JO",
    "KW",
    "LB",
    "LY",
    "MR",
    "MA",
    "OM",
    "PS",
    "QA",
    "SA",
    "SO",
    "SD",
    "SY",
    "TN",
    "AE",
    "YE",
]
OUTLET = """\
  - id: {id}
    name: {{ar: نبض, en: Nabd}}
    homepage: https://{id}.test/
    country: SY
    kind: private
    languages: [ar]
    verified: unverified
"""


def test_registry_lists_at_least_80_outlets_covering_every_arab_country() -> None:
    outlets = load_outlets()
    assert len(outlets) >= 80
    countries = Counter(o.country for o in outlets)
    assert sorted(c for c in ARAB_COUNTRIES if not countries[c]) == []
    for abroad in ("IR", "TR", "GB", "US", "FR", "DE", "RU"):  # international Arabic services
        assert countries[abroad], abroad
    assert {"state", "private", "public-service"} <= {o.kind for o in outlets}
    assert all(o.name.ar and o.name.en and o.homepage and o.languages for o in outlets)


def test_every_source_says_how_it_was_verified() -> None:
    specs = [s for o in load_outlets() for s in (*o.feeds, *o.sitemaps)]
    evidenced = {s.url for s in specs if s.verified != "unverified"}
    assert "https://www.trtarabi.com/feed/rss.xml" in evidenced  # corrected from issue 19
    assert "https://www.kuna.net.kw/rss/arrsshome.aspx" in evidenced
    assert "could NOT be checked" not in DEFAULT_REGISTRY.read_text(encoding="utf-8")
    assert "unverified" in DEFAULT_REGISTRY.read_text(encoding="utf-8")


def test_an_outlet_without_a_feed_is_still_listed() -> None:
    outlets = {o.id: o for o in load_outlets()}
    assert outlets["spa"].feeds == [] and outlets["spa"].note
    assert "spa" not in {s.id for s in load_registry()}


def test_sources_are_flattened_for_the_poller_with_the_outlet_as_article_source() -> None:
    specs = {s.id: s for s in load_registry()}
    economy = specs["alkhaleej-feed2"]
    assert economy.url.endswith("/rssFeed/158") and economy.enabled
    assert economy.source.id == "alkhaleej" and specs["alkhaleej"].source.id == "alkhaleej"


def test_a_bad_feed_is_reported_with_the_line_of_the_feed(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "outlets:\n" + OUTLET.format(id="a") + "    # a comment line\n"
        "    feeds:\n"
        "      - {url: 'https://a.test/rss', verified: unverified}\n"
        "      - {url: 'ftp://a.test/rss', verified: unverified}\n",
        encoding="utf-8",
    )
    with pytest.raises(RegistryError, match=rf"{path}:12: outlet 'a': feeds.1.url"):
        load_registry(path)


def test_verification_is_a_source_and_a_date_or_unverified(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    entry = OUTLET.format(id="a").replace("verified: unverified", "verified: looked at it")
    path.write_text("outlets:\n" + entry, encoding="utf-8")
    with pytest.raises(RegistryError, match=rf"{path}:2: outlet 'a': verified"):
        load_outlets(path)


def test_duplicate_ids_and_urls_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("outlets:\n" + OUTLET.format(id="x") * 2, encoding="utf-8")
    with pytest.raises(RegistryError, match=r":9: duplicate outlet id 'x' \(line 2\)"):
        load_outlets(path)
    feed = "    feeds: [{url: 'https://same.test/rss', verified: unverified}]\n"
    path.write_text(
        "outlets:\n" + OUTLET.format(id="x") + feed + OUTLET.format(id="y") + feed,
        encoding="utf-8",
    )
    with pytest.raises(RegistryError, match=r":17: duplicate url https://same.test/rss"):
        load_outlets(path)


def test_not_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("outlets: [unclosed\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(path)


def test_the_old_feed_list_format_is_refused_with_a_pointer(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: []\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r":1: expected a mapping with an `outlets:` list"):
        load_registry(path)
