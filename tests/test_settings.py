"""Settings: defaults, environment, YAML file, and the README table kept in sync."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from rasad.cli.config import settings_markdown_table
from rasad.core.settings import ConfigFileError, Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_has_a_reason() -> None:
    missing = [n for n, f in Settings.model_fields.items() if not (f.description or "").strip()]
    assert missing == []


def test_environment_overrides_yaml_which_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("RASAD_")]:
        monkeypatch.delenv(name)
    config = tmp_path / "rasad.yaml"
    config.write_text("topic_partitions: 8\nengine_url: https://search.example:9200\n")
    monkeypatch.setenv("RASAD_CONFIG", str(config))
    monkeypatch.setenv("RASAD_TOPIC_PARTITIONS", "12")

    settings = Settings()

    assert settings.topic_partitions == 12
    assert settings.engine_url == "https://search.example:9200"
    assert settings.topic_raw == "rasad.articles.raw"


def test_unknown_key_in_yaml_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "rasad.yaml"
    config.write_text("kafka_bootstrap: broker:9092\n")
    monkeypatch.setenv("RASAD_CONFIG", str(config))

    with pytest.raises(ConfigFileError, match="kafka_bootstrap"):
        Settings()


def test_secrets_are_not_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASAD_ENGINE_PASSWORD", "hunter2-سر")

    assert "hunter2" not in repr(Settings())


def test_readme_settings_table_matches_the_settings_object() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- settings:begin -->\n(.*?)<!-- settings:end -->", text, re.S)
    assert block is not None, "README lacks the settings table markers"
    assert block.group(1) == settings_markdown_table(), "run: rasad config --markdown"
