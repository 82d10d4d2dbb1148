"""The enrichment version: content hashes of the code and of every file the enrichment loads.

Two articles enriched under the same id were enriched by the same code with the same models,
gazetteers and taxonomy, so a reprocess knows what changed and an analyst knows which definition
of a tag an article carries. Computed once per process (hashing ~30 MB of data files takes
~0.1 s) and again only when the taxonomy is reloaded (:func:`forget`).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from rasad.core.article import Enrichment

__all__ = ["DATA_DIR", "current", "forget", "taxonomy_path", "use_taxonomy_path"]

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CODE_DIR = Path(__file__).resolve().parent
# The compiled core of the entity tagger: its Rust sources and the crate versions they build with.
_NATIVE_CODE = ("entities/native/src/*.rs", "entities/native/Cargo.lock")
# Training labels live beside the data the enrichment loads but are never read by it.
_NOT_LOADED = frozenset({"labels"})
# 12 hex digits (48 bits): unique across any plausible number of model and taxonomy versions.
HASH_CHARS = 12

_taxonomy: list[Path] = []  # the taxonomy file in use, when it is not the shipped one


def use_taxonomy_path(path: Path | None) -> None:
    """Record which taxonomy file the enrichment now uses (None: the shipped one)."""
    _taxonomy[:] = [path] if path is not None else []
    forget()


def taxonomy_path() -> Path:
    return _taxonomy[0] if _taxonomy else DATA_DIR / "taxonomy.yaml"


def forget() -> None:
    """Hash again on the next :func:`current` (a reloaded taxonomy)."""
    current.cache_clear()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_CHARS]


def _data_files() -> dict[str, Path]:
    files = {
        str(path.relative_to(DATA_DIR)): path
        for path in sorted(DATA_DIR.rglob("*"))
        if path.is_file() and path.relative_to(DATA_DIR).parts[0] not in _NOT_LOADED
    }
    files["taxonomy.yaml"] = taxonomy_path()
    return files


@lru_cache(maxsize=1)
def current() -> Enrichment:
    """The version of the enrichment this process runs."""
    code = hashlib.sha256()
    native = (path for pattern in _NATIVE_CODE for path in sorted(CODE_DIR.glob(pattern)))
    for path in [*sorted(CODE_DIR.rglob("*.py")), *native]:
        code.update(str(path.relative_to(CODE_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    files = {name: _digest(path.read_bytes()) for name, path in _data_files().items()}
    code_hash = code.hexdigest()[:HASH_CHARS]
    whole = _digest(("\n".join(f"{k}={v}" for k, v in sorted(files.items())) + code_hash).encode())
    return Enrichment(id=whole, code=code_hash, files=files)
