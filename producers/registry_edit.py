"""Edits of the registry file that keep its comments and layout (ruamel.yaml round-trip), as
`rasad feeds discover --write` makes them; the edited file is validated before it replaces the
old one, so a bad edit never leaves a broken registry behind."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from producers.registry import RegistryError, SourceType, load_outlets

# Long URLs stay on one line, as the file writes them.
LINE_WIDTH = 4096


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = LINE_WIDTH
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def add_sources(
    path: Path, additions: Iterable[tuple[str, SourceType, str, str]], verified: str
) -> int:
    """Append (outlet id, feed|sitemap, url, note) entries; returns how many were added."""
    yaml = _yaml()
    data = yaml.load(path.read_text(encoding="utf-8"))
    outlets = {str(o["id"]): o for o in data["outlets"]}
    known = {
        str(s["url"])
        for o in outlets.values()
        for k in ("feeds", "sitemaps")
        for s in o.get(k) or []
    }
    added = 0
    for outlet_id, kind, url, note in additions:
        if url in known:
            continue
        outlet = outlets.get(outlet_id)
        if outlet is None:
            raise RegistryError(f"{path}: no outlet {outlet_id!r} to add {url} to")
        key = "feeds" if kind == "feed" else "sitemaps"
        if not outlet.get(key):
            outlet[key] = CommentedSeq()
        entry = CommentedMap(url=url, verified=verified, note=note)
        entry.fa.set_flow_style()
        outlet[key].append(entry)
        known.add(url)
        added += 1
    if added:
        buffer = io.StringIO()
        yaml.dump(data, buffer)
        scratch = path.with_suffix(".yaml.new")
        scratch.write_text(buffer.getvalue(), encoding="utf-8")
        try:
            load_outlets(scratch)
        except RegistryError:
            scratch.unlink()
            raise
        os.replace(scratch, path)
    return added
