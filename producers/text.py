"""HTML from feeds -> clean plain text, and the content hash of an article (pure).

Nothing a feed sends is trusted as HTML downstream: tags, scripts and styles go, entities are
decoded (twice when a feed double-escaped them), whitespace is folded, and block elements
become line breaks so paragraphs survive for the enrichment stage.
"""

from __future__ import annotations

import hashlib
import html
import re

from selectolax.lexbor import LexborHTMLParser

# Elements whose text is never article text.
_DROP = "script, style, noscript, iframe, object, embed, svg, template, form, button"
_BLOCK_OPEN = re.compile(
    r"<(?=/?(?:p|div|br|li|h[1-6]|tr|blockquote|section|article|ul|ol|table|figure|hr)\b)", re.I
)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});", re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b\ufeff]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Zero-width and bidi controls survive a copy-paste from a CMS and break matching downstream;
# ZWNJ (U+200C) is kept: it is part of Persian/Arabic spelling.
_INVISIBLE = re.compile(r"[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The content hash covers 128 bits like the id: a collision would hide an update.
HASH_HEX_CHARS = 32


def _fold_whitespace(text: str, *, single_line: bool) -> str:
    text = _INVISIBLE.sub("", text)
    if single_line:
        return " ".join(text.split())
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(lines)).strip()


def clean_text(markup: str, *, single_line: bool = False) -> str:
    """Plain text of an HTML fragment (or of text that only might contain HTML)."""
    if "<" not in markup and "&" not in markup:
        return _fold_whitespace(markup, single_line=single_line)
    tree = LexborHTMLParser(_BLOCK_OPEN.sub("\n<", markup))
    for node in tree.css(_DROP):
        node.decompose()
    text = tree.text(separator="") if tree.root is not None else ""
    if _ENTITY.search(text):
        text = html.unescape(text)  # double-escaped feeds: "&amp;quot;" arrives as "&quot;"
    return _fold_whitespace(text, single_line=single_line)


def content_hash(title: str, summary: str, body: str) -> str:
    """Changes exactly when what a reader sees changes: a new hash is a new version."""
    digest = hashlib.sha256("\x1f".join((title, summary, body)).encode("utf-8"))
    return digest.hexdigest()[:HASH_HEX_CHARS]
