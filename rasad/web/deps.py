"""What every route needs: the engine (connected lazily), the live hub, the key store, and
the authenticated caller with their role."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from rasad.core.engine.client import Engine
from rasad.core.settings import Settings
from rasad.web.auth import ApiKeyStore, Role, role_allows
from rasad.web.live import LiveHub


class EngineHolder:
    """Connects on first use, so the app starts (and /healthz can say why) while the engine is
    down; a failed connect raises EngineUnavailable, which the app turns into a 503."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Engine:
        if self._engine is None:
            async with self._lock:
                if self._engine is None:
                    self._engine = await Engine.connect(self.settings)
        return self._engine

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.close()
            self._engine = None


@dataclass
class Services:
    settings: Settings
    engine: EngineHolder
    live: LiveHub
    keys: ApiKeyStore


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role


# Dependencies are coroutines although none awaits: FastAPI runs a plain ``def`` dependency in
# its thread pool, and two thread hand-offs per request cost more than the work they wrap.
async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def engine(svc: Annotated[Services, Depends(services)]) -> Engine:
    return await svc.engine.get()


_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="A Rasad API key.")
# The caller in local mode (auth off, loopback only): whoever can reach loopback is the admin.
LOCAL_CALLER = Caller("local", "admin")


async def caller(
    svc: Annotated[Services, Depends(services)],
    key: Annotated[str | None, Depends(_key_header)],
) -> Caller:
    if svc.settings.web_auth == "local":
        return LOCAL_CALLER
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing X-API-Key header",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    # On the event loop: a stat and one SHA-256 (the small key file is re-read only after it
    # changed), microseconds, less than handing the call to a thread.
    found = svc.keys.verify(key)
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown API key", headers={"WWW-Authenticate": "ApiKey"}
        )
    return Caller(found.name, found.role)


def require(role: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency that lets through callers whose role is at least `role`."""

    async def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if not role_allows(who.role, role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this needs the {role} role; your key has {who.role}"
            )
        return who

    return check


EngineDep = Annotated[Engine, Depends(engine)]
ServicesDep = Annotated[Services, Depends(services)]
Reader = Annotated[Caller, Depends(require("reader"))]
Editor = Annotated[Caller, Depends(require("editor"))]
Admin = Annotated[Caller, Depends(require("admin"))]
