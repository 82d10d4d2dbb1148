"""The outlet registry: a YAML data file of outlets, each with zero or more feeds and news
sitemaps, loaded once and validated with errors naming file:line.

The poller works on sources (:class:`FeedSpec`, one per feed or sitemap); an outlet is who
publishes, a source is where we read it. An outlet without a source is still listed, so
`rasad feeds status` and `rasad feeds check` show it instead of forgetting it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rasad.core.article import Source, SourceKind

DEFAULT_REGISTRY = Path(__file__).with_name("feeds.yaml")
# An outlet that does not say otherwise is polled every ten minutes; the poller adapts it.
DEFAULT_INTERVAL_S = 600.0
# "unverified", or where the evidence came from and when: "homepage markup, 2026-12-07".
VERIFIED_PATTERN = r"^(unverified|.+, \d{4}(-\d{2}(-\d{2})?)?)$"

SourceType = Literal["feed", "sitemap"]
SourceState = Literal["active", "disabled"]


class RegistryError(ValueError):
    """The registry file is unreadable, not the expected shape, or has an invalid entry."""


# Poll interval of a source known only by its URL: ten minutes, a common feed's own refresh.
UNLISTED_INTERVAL_S = 600


class FeedSpec(BaseModel):
    """One polled source: a feed or a news sitemap of an outlet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://[^\s/]+")
    country: str = Field(pattern=r"^([A-Z]{2}|INT)$")
    kind: SourceKind
    interval: float = Field(gt=0, description="Default poll interval in seconds.")
    enabled: bool
    outlet: str | None = Field(None, description="The outlet's id; None means the same as id.")
    type: SourceType = "feed"

    @classmethod
    def for_url(cls, url: str, source_id: str, type: SourceType = "feed") -> FeedSpec:
        """A source given only by its URL (a check or a discovery), not yet in the registry."""
        return cls(
            id=source_id,
            name=url,
            url=url,
            country="INT",
            kind="private",
            interval=UNLISTED_INTERVAL_S,
            enabled=True,
            type=type,
        )

    @property
    def outlet_id(self) -> str:
        return self.outlet or self.id

    @property
    def source(self) -> Source:
        return Source(id=self.outlet_id, name=self.name, country=self.country, kind=self.kind)


class SourceEntry(BaseModel):
    """A feed or sitemap as the registry file writes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s/]+")
    id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    state: SourceState = "active"
    verified: str = Field(pattern=VERIFIED_PATTERN)
    interval: float | None = Field(None, gt=0)
    note: str | None = None


class Names(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ar: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Outlet(BaseModel):
    """Who publishes: names, home, ownership, languages, and where we read it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: Names
    homepage: str = Field(pattern=r"^https?://[^\s/]+")
    country: str = Field(pattern=r"^([A-Z]{2}|INT)$")
    kind: SourceKind
    languages: list[str] = Field(min_length=1)
    verified: str = Field(pattern=VERIFIED_PATTERN)
    interval: float = Field(DEFAULT_INTERVAL_S, gt=0)
    feeds: list[SourceEntry] = Field(default_factory=list)
    sitemaps: list[SourceEntry] = Field(default_factory=list)
    note: str | None = None

    @property
    def source(self) -> Source:
        return Source(id=self.id, name=self.name.ar, country=self.country, kind=self.kind)

    def specs(self) -> list[FeedSpec]:
        """Every source as the poller sees it; the first feed's id is the outlet's id."""
        specs: list[FeedSpec] = []
        for kind, entries in (("feed", self.feeds), ("sitemap", self.sitemaps)):
            for n, entry in enumerate(entries, start=1):
                default = self.id if kind == "feed" and n == 1 else f"{self.id}-{kind}{n}"
                specs.append(
                    FeedSpec(
                        id=entry.id or default,
                        name=self.name.ar,
                        url=entry.url,
                        country=self.country,
                        kind=self.kind,
                        interval=entry.interval or self.interval,
                        enabled=entry.state == "active",
                        outlet=self.id,
                        type="feed" if kind == "feed" else "sitemap",
                    )
                )
        return specs


def _node_lines(text: str) -> list[tuple[int, dict[str, list[int]]]]:
    """Per item under `outlets:`, its 1-based line and the lines of its feeds and sitemaps."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "outlets" and isinstance(value, yaml.SequenceNode):
            return [(item.start_mark.line + 1, _source_lines(item)) for item in value.value]
    return []


def _source_lines(item: yaml.Node) -> dict[str, list[int]]:
    lines: dict[str, list[int]] = {}
    if isinstance(item, yaml.MappingNode):
        for key, value in item.value:
            if key.value in ("feeds", "sitemaps") and isinstance(value, yaml.SequenceNode):
                lines[key.value] = [s.start_mark.line + 1 for s in value.value]
    return lines


def _error_text(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}" for err in exc.errors()
    )


def _error_line(exc: ValidationError, line: int, sources: dict[str, list[int]]) -> int:
    """The line of the feed or sitemap an error is about, else the outlet's."""
    loc = exc.errors()[0]["loc"]
    if len(loc) >= 2 and loc[0] in sources and isinstance(loc[1], int):
        lines = sources[str(loc[0])]
        return lines[loc[1]] if loc[1] < len(lines) else line
    return line


def _read(path: Path) -> tuple[Any, list[tuple[int, dict[str, list[int]]]]]:
    try:
        text = path.read_text(encoding="utf-8")
        return yaml.safe_load(text), _node_lines(text)
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read the outlet registry: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc


def load_outlets(path: Path = DEFAULT_REGISTRY) -> list[Outlet]:
    """Every outlet of the registry file, in file order; ids and source URLs are unique."""
    data, lines = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get("outlets"), list):
        raise RegistryError(f"{path}:1: expected a mapping with an `outlets:` list")
    outlets: list[Outlet] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data["outlets"]):
        line, sources = lines[index] if index < len(lines) else (0, {})
        if not isinstance(raw, dict):
            raise RegistryError(f"{path}:{line}: an outlet must be a mapping, got {raw!r}")
        try:
            outlet = Outlet.model_validate(raw)
        except ValidationError as exc:
            where = f"{path}:{_error_line(exc, line, sources)}"
            raise RegistryError(f"{where}: outlet {raw.get('id')!r}: {_error_text(exc)}") from exc
        key = f"outlet id {outlet.id!r}"
        if key in seen:
            raise RegistryError(f"{path}:{line}: duplicate {key} (line {seen[key]})")
        seen[key] = line
        spec_lines = [*sources.get("feeds", []), *sources.get("sitemaps", [])]
        for spec, spec_line in zip(outlet.specs(), spec_lines, strict=False):
            for key in (f"id {spec.id!r}", f"url {spec.url}"):
                if key in seen:
                    raise RegistryError(f"{path}:{spec_line}: duplicate {key} (line {seen[key]})")
                seen[key] = spec_line
        outlets.append(outlet)
    return outlets


def load_registry(path: Path = DEFAULT_REGISTRY) -> list[FeedSpec]:
    """Every source of every outlet (enabled or not), in file order: what the poller polls."""
    return [spec for outlet in load_outlets(path) for spec in outlet.specs()]
