"""The feed registry: a YAML data file, loaded once and validated with errors naming file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rasad.core.article import Source, SourceKind

DEFAULT_REGISTRY = Path(__file__).with_name("feeds.yaml")


class RegistryError(ValueError):
    """The feed registry file is unreadable, not the expected shape, or has an invalid entry."""


class FeedSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://[^\s/]+")
    country: str = Field(pattern=r"^([A-Z]{2}|INT)$")
    kind: SourceKind
    interval: float = Field(gt=0, description="Default poll interval in seconds.")
    enabled: bool

    @property
    def source(self) -> Source:
        return Source(id=self.id, name=self.name, country=self.country, kind=self.kind)


def _entry_lines(text: str) -> list[int]:
    """1-based line of each item under `feeds:` (YAML nodes know where they start)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "feeds" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _error_text(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}" for err in exc.errors()
    )


def load_registry(path: Path = DEFAULT_REGISTRY) -> list[FeedSpec]:
    """Every feed of the registry file (enabled or not), in file order."""
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = yaml.safe_load(text)
        lines = _entry_lines(text)
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read feed registry: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), list):
        raise RegistryError(f"{path}:1: expected a mapping with a `feeds:` list")
    feeds: list[FeedSpec] = []
    seen_ids: dict[str, int] = {}
    seen_urls: dict[str, int] = {}
    for index, raw in enumerate(data["feeds"]):
        line = lines[index] if index < len(lines) else 0
        where = f"{path}:{line}"
        if not isinstance(raw, dict):
            raise RegistryError(f"{where}: a feed entry must be a mapping, got {raw!r}")
        try:
            feed = FeedSpec.model_validate(raw)
        except ValidationError as exc:
            raise RegistryError(f"{where}: feed {raw.get('id')!r}: {_error_text(exc)}") from exc
        if feed.id in seen_ids:
            raise RegistryError(f"{where}: duplicate id {feed.id!r} (line {seen_ids[feed.id]})")
        if feed.url in seen_urls:
            raise RegistryError(f"{where}: duplicate url {feed.url} (line {seen_urls[feed.url]})")
        seen_ids[feed.id], seen_urls[feed.url] = line, line
        feeds.append(feed)
    return feeds
