"""Engine highlights -> plain segments the browser renders as text nodes.

The search layer asks the engine for ``<mark>`` tags with the ``html`` encoder: the engine
escapes the feed's own text, so in a fragment ``<mark>`` and ``</mark>`` are the only tags and
every ``<`` of a feed title arrives as ``&lt;``. We split on the two tags and unescape each run
back to plain text; the browser then puts each run in a text node (matches in a ``<mark>``
element it creates itself). No HTML from a feed or the engine is ever parsed in the browser.
"""

from __future__ import annotations

import html
import re
from typing import TypedDict

_TAG = re.compile(r"(</?mark>)")


class Segment(TypedDict):
    text: str
    hit: bool


def segments(fragment: str) -> list[Segment]:
    """Split one highlighted fragment into [{text, hit}] runs, in order, none empty."""
    out: list[Segment] = []
    inside = False
    for part in _TAG.split(fragment):
        if part == "<mark>":
            inside = True
        elif part == "</mark>":
            inside = False
        elif part:
            out.append({"text": html.unescape(part), "hit": inside})
    return out


def highlight_segments(highlights: dict[str, list[str]]) -> dict[str, list[list[Segment]]]:
    return {field: [segments(f) for f in fragments] for field, fragments in highlights.items()}
