"""One frozen settings object for every Rasad process.

Each field reads the environment variable ``RASAD_<FIELD NAME>``; an optional YAML file named by
``RASAD_CONFIG`` (or passed to :func:`load_settings`) overrides the defaults, and the environment
overrides the file. The field description is the one-line reason shown in the README table.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from rasad.core.settings.alerts import AlertSettings
from rasad.core.settings.engine import EngineSettings
from rasad.core.settings.pipeline import PipelineSettings
from rasad.core.settings.services import ServiceSettings
from rasad.core.settings.sources import SourceSettings

ENV_PREFIX = "RASAD_"
CONFIG_ENV = "RASAD_CONFIG"


class ConfigFileError(ValueError):
    """The YAML config file is missing, unreadable or not a mapping of setting names."""


class Settings(  # fields are collected from the last base to the first
    AlertSettings,
    SourceSettings,
    ServiceSettings,
    EngineSettings,
    PipelineSettings,
    BaseSettings,
):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="forbid",
        validate_default=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get(CONFIG_ENV)
        if config:
            _check_config_file(Path(config))
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config))
        return tuple(sources)

    # --- Derived names -------------------------------------------------------------------------
    def dead_letter_topic(self, topic: str) -> str:
        return f"{topic}{self.topic_dead_letter_suffix}"

    @property
    def stream_data_dir(self) -> Path:
        """Faust's table and offset files, under the local state directory."""
        return self.data_dir / "faust"

    @property
    def articles_read_alias(self) -> str:
        return f"{self.index_prefix}-articles"

    @property
    def articles_write_alias(self) -> str:
        return f"{self.index_prefix}-articles-write"

    @property
    def alerts_index(self) -> str:
        return f"{self.index_prefix}-alerts"

    @property
    def alert_hits_index(self) -> str:
        return f"{self.index_prefix}-alert-hits"


def _check_config_file(path: Path) -> None:
    try:
        loaded: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read config file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: not valid YAML: {exc}") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigFileError(f"{path}: expected a mapping of setting names to values")
    unknown = sorted(set(loaded or {}) - set(Settings.model_fields))
    if unknown:
        raise ConfigFileError(f"{path}: unknown settings: {', '.join(unknown)}")


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, an optional YAML file, the environment and overrides."""
    if config is not None:
        os.environ[CONFIG_ENV] = str(config)
    return Settings(**overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
