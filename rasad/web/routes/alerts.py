"""Alerts: CRUD, pause/resume, backtest and hit history over ``indexers.alerts``.

Readers may look; editors and admins may change. The alert layer validates queries (a query
that does not parse is refused at creation with the engine's reason) and webhook URLs, and
never returns secrets; these routes only translate HTTP in and out:

* a body that is not an alert (unknown field, missing name, bad email) is a 422 listing the
  fields, as for every FastAPI body;
* an alert the layer refuses (a query that cannot run, a refused webhook URL, email without an
  SMTP server, nothing stored to backtest against) is a 400 with the layer's message;
* an unknown alert id is a 404.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from indexers.alerts import history
from indexers.alerts import store as alerts
from indexers.alerts.model import Alert, AlertError, AlertNotFound, AlertSpec
from indexers.search.query import parse_period
from rasad.core.engine.client import Engine
from rasad.web.deps import Caller, Editor, EngineDep, Reader, Services, ServicesDep
from rasad.web.problems import NOT_FOUND

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

T = TypeVar("T")

# Articles listed in a backtest preview; the total is counted in full.
PREVIEW_SIZE = 20
# The name a draft gets when it is previewed before the analyst has named it.
DRAFT_NAME = "preview"

Since = Annotated[str, Query(description="How far back: 24h, 7d, 30d…")]


async def _call(operation: Awaitable[T]) -> T:
    """Await an alert-layer call; its named errors become a 404 or a 400 with its message."""
    try:
        return await operation
    except AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except AlertError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None


def _period(since: str) -> timedelta:
    # A malformed or overlong period is a QueryError: a 400, as on /api/search and the stats.
    return parse_period(since)


def _owned(spec: AlertSpec, who: Caller) -> AlertSpec:
    """The caller owns what they create, whatever the body says."""
    return spec.model_copy(update={"owner": who.name})


def _backtest_answer(found: tuple[int, list[dict[str, Any]]]) -> dict[str, Any]:
    total, hits = found
    return {"total": total, "hits": hits}


@router.get("", summary="Every alert with its number of hits (secrets never shown)")
async def list_alerts(engine: EngineDep, svc: ServicesDep, _: Reader) -> dict[str, Any]:
    found = await _call(alerts.list_alerts(engine, svc.settings))
    counts = await _call(history.hit_counts(engine, svc.settings))
    return {"alerts": [a.public(hit_count=counts.get(a.id, 0)) for a in found]}


@router.post("", status_code=201, summary="Create an alert; a bad query or URL is refused")
async def create_alert(
    engine: EngineDep, svc: ServicesDep, who: Editor, spec: AlertSpec
) -> dict[str, Any]:
    alert = await _call(alerts.create_alert(engine, svc.settings, _owned(spec, who)))
    return alert.public(hit_count=0)


@router.post("/test", summary="Backtest an unsaved alert over stored articles")
async def backtest_draft(
    engine: EngineDep,
    svc: ServicesDep,
    who: Reader,
    body: Annotated[dict[str, Any], Body(description="An alert as for create; name optional.")],
    since: Since = "7d",
) -> dict[str, Any]:
    period = _period(since)
    try:
        spec = AlertSpec.model_validate({**body, "name": body.get("name") or DRAFT_NAME})
    except ValidationError as exc:
        # Reported like FastAPI's own body validation, field by field.
        raise RequestValidationError(exc.errors(include_url=False)) from None
    found = await _call(
        history.backtest(engine, svc.settings, _owned(spec, who), period, size=PREVIEW_SIZE)
    )
    return _backtest_answer(found)


@router.get("/hits", summary="Recent alert hits, newest first")
async def hits(
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    alert_id: str | None = None,
    # A page for people; the history itself keeps every hit.
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    found = await _call(history.recent_hits(engine, svc.settings, alert_id=alert_id, size=size))
    return {"hits": found}


@router.get("/{alert_id}", responses=NOT_FOUND, summary="One alert with its number of hits")
async def get_alert(
    alert_id: str, engine: EngineDep, svc: ServicesDep, _: Reader
) -> dict[str, Any]:
    alert = await _call(alerts.get_alert(engine, svc.settings, alert_id))
    return await _with_count(engine, svc, alert)


async def _with_count(engine: Engine, svc: Services, alert: Alert) -> dict[str, Any]:
    counts = await _call(history.hit_counts(engine, svc.settings))
    return alert.public(hit_count=counts.get(alert.id, 0))


@router.put(
    "/{alert_id}", responses=NOT_FOUND, summary="Replace an alert's definition (its owner stays)"
)
async def update_alert(
    alert_id: str, engine: EngineDep, svc: ServicesDep, _: Editor, spec: AlertSpec
) -> dict[str, Any]:
    current = await _call(alerts.get_alert(engine, svc.settings, alert_id))
    kept = spec.model_copy(update={"owner": current.owner})
    alert = await _call(alerts.update_alert(engine, svc.settings, alert_id, kept))
    return await _with_count(engine, svc, alert)


@router.post("/{alert_id}/pause", responses=NOT_FOUND, summary="Stop matching until resumed")
async def pause(alert_id: str, engine: EngineDep, svc: ServicesDep, _: Editor) -> dict[str, Any]:
    alert = await _call(alerts.set_enabled(engine, svc.settings, alert_id, False))
    return await _with_count(engine, svc, alert)


@router.post("/{alert_id}/resume", responses=NOT_FOUND, summary="Match again")
async def resume(alert_id: str, engine: EngineDep, svc: ServicesDep, _: Editor) -> dict[str, Any]:
    alert = await _call(alerts.set_enabled(engine, svc.settings, alert_id, True))
    return await _with_count(engine, svc, alert)


@router.post("/{alert_id}/test", responses=NOT_FOUND, summary="Backtest a stored alert")
async def backtest(
    alert_id: str, engine: EngineDep, svc: ServicesDep, _: Reader, since: Since = "7d"
) -> dict[str, Any]:
    period = _period(since)
    alert = await _call(alerts.get_alert(engine, svc.settings, alert_id))
    found = await _call(history.backtest(engine, svc.settings, alert, period, size=PREVIEW_SIZE))
    return _backtest_answer(found)


@router.delete(
    "/{alert_id}",
    responses=NOT_FOUND,
    status_code=204,
    summary="Delete an alert (its hit history stays)",
)
async def delete_alert(alert_id: str, engine: EngineDep, svc: ServicesDep, _: Editor) -> Response:
    await _call(alerts.delete_alert(engine, svc.settings, alert_id))
    return Response(status_code=204)
