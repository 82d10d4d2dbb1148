"""API keys with roles, stored hashed in a small JSON file under data_dir.

A key is 32 random bytes shown once when it is made; the file keeps only its SHA-256. A slow
password hash (bcrypt, scrypt) protects low-entropy secrets chosen by people; a 256-bit random
key cannot be brute-forced from its SHA-256, and a fast hash keeps every request cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from rasad.core.settings import Settings

Role = Literal["reader", "editor", "admin"]
ROLES: tuple[Role, ...] = ("reader", "editor", "admin")
# Each role may do everything the roles before it may.
_RANK = {role: rank for rank, role in enumerate(ROLES)}
KEY_PREFIX = "rsd_"
# 32 bytes = 256 bits of entropy: unguessable, and short enough to paste.
KEY_BYTES = 32
# A key name is a label (a person or a service); the API accepts up to this many characters.
MAX_NAME_CHARS = 100


class ApiKeyError(ValueError):
    """The key file is unreadable or invalid, or a key name is taken or unknown."""


class ApiKey(BaseModel):
    """One stored key: never the key itself, only its hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Short public id, used to list and remove the key.")
    name: str = Field(min_length=1, description="Who or what uses the key.")
    role: Role
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: AwareDatetime


class _KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: list[ApiKey] = Field(default_factory=list)


def role_allows(have: Role, need: Role) -> bool:
    return _RANK[have] >= _RANK[need]


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def keys_path(settings: Settings) -> Path:
    path = settings.web_apikeys_path
    return path if path.is_absolute() else settings.data_dir / path


class ApiKeyStore:
    """The key file, re-read when it changes on disk (so `rasad apikey add` needs no restart)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime_ns: int | None = None
        self._by_hash: dict[str, ApiKey] = {}

    def _read(self) -> list[ApiKey]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ApiKeyError(f"{self.path}: cannot read API keys: {exc.strerror}") from exc
        try:
            return _KeyFile.model_validate_json(raw).keys
        except ValidationError as exc:
            raise ApiKeyError(f"{self.path}: not a valid API key file: {exc}") from exc

    def _write(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = orjson.dumps(_KeyFile(keys=keys).model_dump(mode="json"), option=orjson.OPT_INDENT_2)
        # Write-then-rename so a reader never sees half a file; 0600 because hashes are secrets too.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".apikeys-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def list(self) -> list[ApiKey]:
        return self._read()

    def add(self, name: str, role: Role) -> tuple[ApiKey, str]:
        """Make a key; return its record and the key itself, which is never stored."""
        if not name.strip() or len(name) > MAX_NAME_CHARS or not name.isprintable():
            raise ApiKeyError(
                f"a key name is 1 to {MAX_NAME_CHARS} printable characters, not {name[:40]!r}"
            )
        keys = self._read()
        if any(k.name == name for k in keys):
            raise ApiKeyError(f"an API key named {name!r} already exists")
        secret = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
        record = ApiKey(
            id=secrets.token_hex(4),
            name=name,
            role=role,
            sha256=_digest(secret),
            created_at=datetime.now(UTC),
        )
        self._write([*keys, record])
        return record, secret

    def remove(self, id_or_name: str) -> ApiKey:
        keys = self._read()
        gone = [k for k in keys if id_or_name in (k.id, k.name)]
        if not gone:
            raise ApiKeyError(f"no API key with id or name {id_or_name!r}")
        self._write([k for k in keys if k not in gone])
        return gone[0]

    def verify(self, presented: str) -> ApiKey | None:
        """The stored key matching `presented`, or None. Cheap: a stat and one hash."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = -1
        if mtime != self._mtime_ns:
            self._by_hash = {k.sha256: k for k in self._read()}
            self._mtime_ns = mtime
        digest = _digest(presented)
        for stored, key in self._by_hash.items():
            if hmac.compare_digest(stored, digest):
                return key
        return None
