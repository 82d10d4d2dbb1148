"""Lines of a file read with a bound on each: a line over the bound is skipped without being
held in memory, and reported as None so the caller can name it (file:line) and count it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class LineReader(Protocol):
    """A binary file, gzip's included."""

    def readline(self, size: int = -1, /) -> bytes: ...


def bounded_lines(handle: LineReader, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) for each non-blank line; None for a line longer than ``limit``."""
    for number, line in enumerate(iter(lambda: handle.readline(limit + 1), b""), start=1):
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := handle.readline(limit)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        elif line.strip():
            yield number, line
