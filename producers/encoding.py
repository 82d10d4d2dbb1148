"""Which encoding a feed's bytes are really in, and the same feed as clean UTF-8 (pure).

Arabic feeds are served as UTF-8, windows-1256 or ISO-8859-6, and the label (HTTP charset, XML
declaration) is often missing or wrong. Order of trust: a BOM; then valid UTF-8 (single-byte
Arabic text is practically never valid multi-byte UTF-8); then, among the labels and the two
Arabic single-byte codepages, the decoding whose words look like real words of one script.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Bytes scored per candidate: enough words to decide, cheap even on a 10 MB feed.
SCORE_SAMPLE_BYTES = 64_000

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ARABIC_FALLBACKS = ("cp1256", "iso8859-6")  # codecs names of windows-1256, ISO-8859-6
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.I)
_XML_DECL_TEXT = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([A-Za-z0-9._:-]+)([\"'])")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    note: str | None  # set when a label was missing, wrong or overruled


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None


def _is_arabic(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff" or "\ufb50" <= ch <= "\ufeff"


def _script_score(text: str) -> int:
    """Letters in words of one script minus letters in words that mix scripts (mojibake)."""
    score = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        arabic = sum(1 for ch in word if _is_arabic(ch))
        latin = sum(1 for ch in word if ch.isalpha() and not _is_arabic(ch))
        ascii_letters = sum(1 for ch in word if ch.isascii() and ch.isalpha())
        if arabic and not latin:
            score += len(word)
        elif latin and not arabic and ascii_letters * 2 >= latin:
            score += len(word)  # a Latin word with a few accents, e.g. French
        else:
            score -= 2 * len(word)
    controls = sum(1 for ch in text if "\x80" <= ch <= "\x9f")
    return score - 4 * controls


def declared_xml_encoding(body: bytes) -> str | None:
    match = _XML_DECL.match(body[:512])
    return match.group(1).decode("ascii") if match else None


def decode(body: bytes, http_charset: str | None) -> Decoded:
    """Decode feed bytes to text, whatever their labels say."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return Decoded(body.decode(name, errors="replace"), name, None)
    labels = [c for c in (_codec(http_charset), _codec(declared_xml_encoding(body))) if c]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        overruled = [c for c in labels if c not in ("utf-8", "ascii")]
        note = (
            f"labelled {overruled[0]} but valid UTF-8" if overruled and not body.isascii() else None
        )
        return Decoded(text, "utf-8", note)
    sample = body[:SCORE_SAMPLE_BYTES]
    best: tuple[int, int, str] | None = None
    candidates = list(dict.fromkeys([*labels, *_ARABIC_FALLBACKS]))
    for rank, name in enumerate(candidates):
        if name in ("utf-8", "ascii"):
            continue
        try:
            score = _script_score(sample.decode(name))
        except UnicodeDecodeError:
            continue
        # Ties go to the earlier candidate: labels first, in order of trust.
        if best is None or (score, -rank) > best[:2]:
            best = (score, -rank, name)
    if best is None:
        return Decoded(
            body.decode("utf-8", errors="replace"), "utf-8", "undecodable bytes replaced"
        )
    name = best[2]
    text = body.decode(name, errors="replace")
    if not labels:
        return Decoded(text, name, f"no charset label; detected {name}")
    if name not in labels:
        return Decoded(text, name, f"labelled {labels[0]} but content is {name}")
    return Decoded(text, name, None)


def to_utf8_xml(text: str) -> bytes:
    """The document as UTF-8 bytes whose XML declaration (if any) says so."""
    return _XML_DECL_TEXT.sub(r"\g<1>utf-8\g<3>", text, count=1).encode("utf-8")
