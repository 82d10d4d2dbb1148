"""The Arabic analysis definitions (data files beside this module), loaded and validated once.

``arabic.json`` holds the engine's analysis settings; its synonym filter names a file instead
of listing rules (``"synonyms_file": "synonyms.txt"``), and the loader puts the rules from that
file in its place, so the engine needs no file on its nodes.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

ANALYSIS_DIR = Path(__file__).resolve().parent
ANALYSIS_FILE = ANALYSIS_DIR / "arabic.json"
SYNONYMS_FILE = ANALYSIS_DIR / "synonyms.txt"
SYNONYM_FILTER = "rasad_synonyms"


class AnalysisFileError(ValueError):
    """An analysis or synonym file is malformed; the message names the file and line."""


def parse_synonyms(text: str, source: str = "synonyms") -> list[str]:
    """Solr-format equivalence rules (``a, b, c``), one a line; ``#`` starts a comment."""
    rules: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=>" in line:
            raise AnalysisFileError(
                f"{source}:{number}: one-way rules (=>) are not supported; list variants a, b"
            )
        terms = [t.strip() for t in line.split(",")]
        if len(terms) < 2 or not all(terms):
            raise AnalysisFileError(
                f"{source}:{number}: expected two or more comma-separated variants, got {raw!r}"
            )
        rules.append(", ".join(terms))
    return rules


def load_synonyms(path: Path = SYNONYMS_FILE) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AnalysisFileError(f"{path}: cannot read synonyms: {exc.strerror}") from exc
    return parse_synonyms(text, str(path))


@lru_cache(maxsize=1)
def _analysis_template() -> dict[str, Any]:
    try:
        loaded = json.loads(ANALYSIS_FILE.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AnalysisFileError(f"{ANALYSIS_FILE}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    missing = {"filter", "analyzer", "normalizer"} - set(loaded)
    if missing:
        raise AnalysisFileError(f"{ANALYSIS_FILE}: missing sections: {', '.join(sorted(missing))}")
    if "synonyms_file" not in loaded["filter"].get(SYNONYM_FILTER, {}):
        raise AnalysisFileError(f"{ANALYSIS_FILE}: filter {SYNONYM_FILTER} needs synonyms_file")
    loaded.pop("_comment", None)
    result: dict[str, Any] = loaded
    return result


def analysis_settings(synonyms: list[str] | None = None) -> dict[str, Any]:
    """The ``index.analysis`` settings, with the given (default: the file's) synonym rules."""
    analysis = copy.deepcopy(_analysis_template())
    spec = analysis["filter"][SYNONYM_FILTER]
    file_name = spec.pop("synonyms_file")
    if synonyms is None:
        synonyms = load_synonyms(ANALYSIS_DIR / file_name)
    spec["synonyms"] = synonyms
    return analysis
