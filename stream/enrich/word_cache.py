"""A value per word of a text, from a bounded per-word cache: what the topic tagger (term
candidates) and the topic features (article stems) look up for every token of every field."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["per_word"]

V = TypeVar("V")


def per_word(
    cache: dict[str, V], words: list[str], compute: Callable[[str], V], bound: int
) -> list[V]:
    """``compute(word)`` for each of ``words``, from ``cache``: one C-level map when every word
    is cached (a warm worker, nearly every field), else the words not cached yet are computed
    first. The cache is dropped and refilled when it would pass ``bound`` words, rather than
    tracking recency on every token."""
    try:
        return list(map(cache.__getitem__, words))
    except KeyError:
        new = set(words).difference(cache)
    if len(cache) + len(new) > bound:
        cache.clear()
        new = set(words)
    for word in new:
        cache[word] = compute(word)
    return list(map(cache.__getitem__, words))
