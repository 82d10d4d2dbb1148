"""Taxonomy edits without a restart: a changed file is validated, then swapped in.

A worker calls :func:`reload_if_changed` from a timer. The new file is parsed and compiled with
the topic model first; only if that succeeds do the cached taxonomy, rules and combiner change
(and the enrichment version with them). A bad file raises :class:`TaxonomyError` naming the
file and line, and the taxonomy in use keeps running.
"""

from __future__ import annotations

from pathlib import Path

from stream.enrich import version
from stream.enrich.topics.combined import TopicCombiner, default_combiner, default_signaller
from stream.enrich.topics.model import default_model
from stream.enrich.topics.taxonomy import TaxonomyError, default_taxonomy, load_taxonomy

__all__ = ["TaxonomyError", "TaxonomyWatch"]


class TaxonomyWatch:
    """One taxonomy file, reloaded when its modification time or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[float, int] | None = None

    def _stamp(self) -> tuple[float, int]:
        stat = self.path.stat()
        return (stat.st_mtime, stat.st_size)

    def start(self) -> None:
        """Use this file from now on (a bad one raises and nothing changes)."""
        self._swap()

    def reload_if_changed(self) -> bool:
        """True when the file changed and now runs; raises TaxonomyError (once per edit) when
        it changed and is refused."""
        try:
            stamp = self._stamp()
        except OSError as exc:
            raise TaxonomyError(f"{self.path.name}: cannot read taxonomy: {exc}") from exc
        if stamp == self._seen:
            return False
        self._seen = stamp  # a refused edit is reported once, not on every check
        self._swap()
        return True

    def _swap(self) -> None:
        self._seen = self._stamp()
        taxonomy = load_taxonomy(self.path)
        try:
            TopicCombiner(taxonomy, default_model())  # compiles: what the tagger will run
        except ValueError as exc:  # the model knows a tag the file dropped
            raise TaxonomyError(f"{self.path.name}: {exc}") from exc
        version.use_taxonomy_path(self.path)
        for cache in (default_taxonomy, default_signaller, default_combiner):
            cache.cache_clear()
