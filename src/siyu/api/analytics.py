"""Admin API for the analytics: ``POST /admin/v1/analytics/{name}`` with a JSON request.

``name`` is an analysis (``funnel``, ``retention`` ...) or an operation
(``experiment.save``, ``clv.fit`` ...) of `siyu.analytics.service`; ``GET
/admin/v1/analytics`` lists them. Work runs off the event loop. A bad request is 422
with ``path`` naming the field at fault, an unknown name or missing object 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from siyu.analytics import service
from siyu.analytics.exceptions import AnalyticsError, InvalidRequest, NotFound, UnknownAnalysis
from siyu.api.access import admin_router, principal
from siyu.api.segments import SegmentsError
from siyu.runtime import Runtime


def router(runtime: Runtime, admin_token: str) -> APIRouter:
    api = admin_router(admin_token, runtime.warehouse)

    @api.get("/analytics")
    async def list_analyses() -> Any:
        return {"analyses": sorted(service.ANALYSES), "operations": sorted(service.OPERATIONS)}

    @api.post("/analytics/{name}")
    async def analyse(
        name: str, request: Request, body: Annotated[dict[str, Any] | None, Body()] = None
    ) -> Any:
        caller = principal(request)
        if service.changes(name) and not caller.may("operator"):
            raise HTTPException(
                403, f"{name} changes data and needs the operator role; you are {caller.role}"
            )
        try:
            return await run_in_threadpool(
                lambda: service.run(runtime, name, body or {}, actor=caller.username)
            )
        except InvalidRequest as exc:
            raise SegmentsError(422, str(exc), exc.field or None) from None
        except (UnknownAnalysis, NotFound) as exc:
            raise SegmentsError(404, str(exc)) from None
        except AnalyticsError as exc:
            raise SegmentsError(422, str(exc)) from None

    return api
