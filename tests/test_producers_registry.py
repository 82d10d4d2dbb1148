"""The feed registry is data: at least 40 real Arabic sources, validated with file:line errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from producers.registry import DEFAULT_REGISTRY, RegistryError, load_registry


def test_registry_lists_at_least_40_arabic_sources_across_the_region() -> None:
    feeds = load_registry()
    assert len(feeds) >= 40
    countries = Counter(f.country for f in feeds)
    for region in ("QA", "SA", "AE", "LB", "SY", "JO", "EG", "IQ", "MA", "DZ", "TN", "IR", "TR"):
        assert countries[region], region
    assert {"state", "private", "public-service"} <= {f.kind for f in feeds}
    ids = {f.id for f in feeds}
    assert {"aljazeera", "bbc-arabic", "alalam", "irna-arabic", "trt-arabi"} <= ids


def test_registry_says_its_urls_are_unchecked() -> None:
    assert "could NOT be checked" in DEFAULT_REGISTRY.read_text(encoding="utf-8")


def test_a_bad_entry_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - {id: ok, name: أ, url: 'https://a.test/rss', country: QA, kind: state,"
        " interval: 60, enabled: true}\n"
        "  # a comment line\n"
        "  - id: bad\n"
        "    name: ب\n"
        "    url: ftp://b.test/rss\n"
        "    country: QA\n"
        "    kind: state\n"
        "    interval: 60\n"
        "    enabled: true\n",
        encoding="utf-8",
    )
    with pytest.raises(RegistryError, match=rf"{path}:4: feed 'bad': url"):
        load_registry(path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    entry = (
        "  - {id: x, name: أ, url: 'https://a.test/%s', country: QA, kind: state,"
        " interval: 60, enabled: true}\n"
    )
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n" + entry % 1 + entry % 2, encoding="utf-8")
    with pytest.raises(RegistryError, match=r":3: duplicate id 'x' \(line 2\)"):
        load_registry(path)


def test_not_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: [unclosed\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(path)
