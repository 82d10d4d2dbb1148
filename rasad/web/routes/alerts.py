"""Alerts: CRUD, pause/resume, backtest and hit history over the alert layer (``indexers.alerts``).

Readers may look; editors and admins may change. The alert layer validates queries (a query
that does not parse is refused at creation with the engine's reason) and webhook URLs, and
never returns secrets; these routes only translate HTTP in and out.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response, status

from rasad.web.deps import Editor, EngineDep, Reader, ServicesDep
from rasad.web.periods import parse_period

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

# Articles listed in a backtest preview; the total is counted in full.
PREVIEW_SIZE = 20


def _layer() -> ModuleType:
    """The alert layer; it lands separately, so its absence is a clear 503, not an import crash."""
    try:
        return importlib.import_module("indexers.alerts")
    except ModuleNotFoundError as exc:
        if exc.name != "indexers.alerts":
            raise
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "alerts are not installed in this build (indexers.alerts)",
        ) from None


def _refused(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def _spec(layer: ModuleType, body: dict[str, Any], owner: str) -> Any:
    try:
        return layer.AlertSpec.model_validate({"owner": owner, **body})
    except ValueError as exc:
        raise _refused(exc) from None


async def _call(layer: ModuleType, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the layer; its named errors (bad query, refused URL, unknown id) become 4xx."""
    try:
        return await getattr(layer, name)(*args, **kwargs)
    except layer.AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except layer.AlertError as exc:
        raise _refused(exc) from None


def _shown(alert: Any) -> dict[str, Any]:
    shown: dict[str, Any] = alert.public() if hasattr(alert, "public") else dict(alert)
    return shown


@router.get("", summary="Every alert (secrets never shown)")
async def list_alerts(engine: EngineDep, svc: ServicesDep, _: Reader) -> dict[str, Any]:
    layer = _layer()
    alerts = await _call(layer, "list_alerts", engine, svc.settings)
    return {"alerts": [_shown(a) for a in alerts]}


@router.post("", status_code=201, summary="Create an alert; a bad query or URL is refused")
async def create_alert(
    engine: EngineDep, svc: ServicesDep, who: Editor, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    layer = _layer()
    alert = await _call(layer, "create_alert", engine, svc.settings, _spec(layer, body, who.name))
    return _shown(alert)


@router.post("/test", summary="Backtest an unsaved alert over stored articles")
async def backtest_draft(
    engine: EngineDep,
    svc: ServicesDep,
    who: Reader,
    body: Annotated[dict[str, Any], Body()],
    since: Annotated[str, Query(description="How far back: 7d, 30d…")] = "7d",
) -> dict[str, Any]:
    layer = _layer()
    try:
        period = parse_period(since)
    except ValueError as exc:
        raise _refused(exc) from None
    spec = _spec(layer, {"name": "preview", **body}, who.name)
    total, hits = await _call(
        layer, "backtest", engine, svc.settings, spec, period, size=PREVIEW_SIZE
    )
    return {"total": total, "hits": hits}


@router.get("/hits", summary="Recent alert hits, newest first")
async def hits(
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    alert_id: str | None = None,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    layer = _layer()
    found = await _call(layer, "recent_hits", engine, svc.settings, alert_id=alert_id, size=size)
    return {"hits": found}


@router.get("/{alert_id}", summary="One alert")
async def get_alert(
    alert_id: str, engine: EngineDep, svc: ServicesDep, _: Reader
) -> dict[str, Any]:
    return _shown(await _call(_layer(), "get_alert", engine, svc.settings, alert_id))


@router.put("/{alert_id}", summary="Replace an alert's definition")
async def update_alert(
    alert_id: str,
    engine: EngineDep,
    svc: ServicesDep,
    who: Editor,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    layer = _layer()
    spec = _spec(layer, body, who.name)
    return _shown(await _call(layer, "update_alert", engine, svc.settings, alert_id, spec))


@router.post("/{alert_id}/pause", summary="Stop matching until resumed")
async def pause(alert_id: str, engine: EngineDep, svc: ServicesDep, _: Editor) -> dict[str, Any]:
    return _shown(await _call(_layer(), "set_enabled", engine, svc.settings, alert_id, False))


@router.post("/{alert_id}/resume", summary="Match again")
async def resume(alert_id: str, engine: EngineDep, svc: ServicesDep, _: Editor) -> dict[str, Any]:
    return _shown(await _call(_layer(), "set_enabled", engine, svc.settings, alert_id, True))


@router.post("/{alert_id}/test", summary="Backtest a stored alert")
async def backtest(
    alert_id: str,
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    since: Annotated[str, Query(description="How far back: 7d, 30d…")] = "7d",
) -> dict[str, Any]:
    layer = _layer()
    try:
        period = parse_period(since)
    except ValueError as exc:
        raise _refused(exc) from None
    alert = await _call(layer, "get_alert", engine, svc.settings, alert_id)
    total, found = await _call(
        layer, "backtest", engine, svc.settings, alert, period, size=PREVIEW_SIZE
    )
    return {"total": total, "hits": found}


@router.delete("/{alert_id}", status_code=204, summary="Delete an alert (its hit history stays)")
async def delete_alert(alert_id: str, engine: EngineDep, svc: ServicesDep, _: Editor) -> Response:
    await _call(_layer(), "delete_alert", engine, svc.settings, alert_id)
    return Response(status_code=204)
