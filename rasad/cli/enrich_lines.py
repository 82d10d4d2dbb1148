"""`rasad enrich --jsonl`: a file of articles enriched in one process, one JSON line per line.

The models load once and the articles share one story-cluster state, as in a worker, so two
reports of one story in the file share a cluster. A line that is not an article is reported on
stderr as ``file:line: why`` and counted; the others are still enriched, and the command ends
non-zero naming how many lines were refused, so nothing is dropped silently.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from rasad.cli.console import fail
from rasad.core.lines import bounded_lines


def enrich_lines(path: str, max_line_bytes: int) -> None:
    """Enrich every JSON article line of ``path`` ('-': stdin) to stdout, one line each."""
    import orjson

    from rasad.cli.stream import InputError, read_article
    from rasad.core.settings import get_settings
    from stream.enrich.cluster import StoryClusters
    from stream.enrich.pipeline import EnrichmentError, enrich

    origin = "stdin" if path == "-" else str(Path(path).resolve())
    max_chars = get_settings().stream_enrich_max_chars
    clusters = StoryClusters({})
    done = refused = 0
    try:
        handle = sys.stdin.buffer if path == "-" else Path(path).open("rb")  # noqa: SIM115
    except OSError as exc:
        raise fail(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        for number, line in bounded_lines(handle, max_line_bytes):
            where = f"{origin}:{number}"
            try:
                if line is None:
                    raise InputError(f"{where}: a line over {max_line_bytes:,} bytes")
                if line.lstrip()[:1] != b"{":
                    raise InputError(f"{where}: not a JSON object")
                now = datetime.now(UTC)
                enriched = enrich(read_article(line, where, now), clusters, now, max_chars)
            except (InputError, EnrichmentError) as exc:
                refused += 1
                message = str(exc) if str(exc).startswith(where) else f"{where}: {exc}"
                print(message, file=sys.stderr)
                continue
            sys.stdout.buffer.write(orjson.dumps(enriched.model_dump(mode="json")) + b"\n")
            done += 1
    sys.stdout.flush()
    if refused:
        raise fail(f"{path}: {refused} of {done + refused} lines refused (see above)")
