"""The admin API the CLI uses while `siyu serve` owns the data directory.

Authenticated with the per-run admin token written to ``SIYU_HOME/server.json`` (readable
by the owner only), or a console user's session with a role that allows the route
(`siyu.api.access`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from siyu.api.access import admin_router
from siyu.identity import graph, persons, service
from siyu.identity.exceptions import IdentityError, PersonNotFound
from siyu.ingest.sources import SourceError
from siyu.ingest.status import resolution_status, warehouse_status
from siyu.jobs import JobError, JobRunner
from siyu.pipeline.runner import PipelineError, run_daily
from siyu.runtime import Runtime

T = TypeVar("T")


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_id: str = Field(min_length=1, max_length=63)
    name: str | None = None
    carrier: str = "web"
    app_id: str | None = None
    project: str | None = None
    wechat_token: str | None = None
    wechat_aes_key: str | None = None


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["unbind", "force", "keep_apart"]
    a: str = Field(min_length=3, max_length=600)
    b: str | None = Field(default=None, min_length=3, max_length=600)


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["import", "demo", "identity-rebuild", "segments-compute"]
    arguments: dict[str, Any] = Field(default_factory=dict)


def router(runtime: Runtime, jobs: JobRunner, admin_token: str) -> APIRouter:
    api = admin_router(admin_token, runtime.warehouse)

    @api.get("/status")
    async def status() -> dict[str, Any]:
        result = await run_in_threadpool(warehouse_status, runtime.warehouse)
        stats = runtime.collector.stats
        result["collector"] = {
            "running": True,
            "received": stats.received,
            "inserted": stats.inserted,
            "duplicates": stats.duplicates,
            "quarantined": stats.quarantined,
            "commits": stats.commits,
            "failed_commits": stats.failed_commits,
            "checkpoints": stats.checkpoints,
            "checkpoint_seconds": round(stats.checkpoint_seconds, 3),
            "failed_checkpoints": stats.failed_checkpoints,
            "seconds_since_last_commit": (
                round(time.time() - stats.last_commit_at, 1) if stats.last_commit_at else None
            ),
            "per_minute": [{"minute": m * 60, "events": n} for m, n in stats.per_minute],
        }
        result["identity"]["resolver"] = runtime.resolver.report(runtime.resolves_identities)
        return result

    @api.post("/checkpoint")
    async def checkpoint() -> dict[str, Any]:
        """Write DuckDB's log into the database file now (waiting for any identity
        resolution under way): before copying the file for a backup."""
        seconds = await run_in_threadpool(runtime.warehouse.checkpoint_all)
        return {"checkpointed": True, "seconds": round(seconds, 3)}

    @api.get("/sources")
    async def list_sources(reveal: bool = False) -> list[dict[str, Any]]:
        return [s.public(reveal_key=reveal) for s in runtime.sources.list()]

    @api.post("/sources", status_code=201)
    async def add_source(body: SourceCreate) -> dict[str, Any]:
        try:
            source = await run_in_threadpool(
                lambda: runtime.sources.add(
                    body.source_id,
                    name=body.name,
                    carrier=body.carrier,
                    app_id=body.app_id,
                    project=body.project,
                    wechat_token=body.wechat_token,
                    wechat_aes_key=body.wechat_aes_key,
                )
            )
        except SourceError as exc:
            raise HTTPException(422, str(exc)) from None
        return source.public(reveal_key=True)

    @api.post("/sources/{source_id}/disable")
    async def disable_source(source_id: str, disabled: bool = True) -> dict[str, Any]:
        try:
            source = await run_in_threadpool(runtime.sources.set_disabled, source_id, disabled)
        except SourceError as exc:
            raise HTTPException(404, str(exc)) from None
        return source.public()

    @api.get("/pipeline/daily")
    async def pipeline_daily(
        engine: str = "duckdb", start: date | None = None, end: date | None = None
    ) -> dict[str, Any]:
        try:
            return await run_in_threadpool(
                lambda: run_daily(runtime, engine=engine, start=start, end=end)
            )
        except PipelineError as exc:
            raise HTTPException(422, str(exc)) from None

    @api.post("/jobs", status_code=202)
    async def start_job(body: JobCreate) -> dict[str, Any]:
        try:
            return jobs.start(body.kind, body.arguments).public()
        except JobError as exc:
            raise HTTPException(409, str(exc)) from None

    @api.get("/jobs/{job_id}")
    async def job_state(job_id: str) -> dict[str, Any]:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job.public()

    @api.get("/persons/{ref}")
    async def person_show(ref: str, reveal: bool = False) -> dict[str, Any]:
        return await _identity(lambda: service.person_action(runtime, "show", ref, reveal=reveal))

    @api.get("/persons/{ref}/export")
    async def person_export(ref: str) -> dict[str, Any]:
        return await _identity(lambda: service.person_action(runtime, "export", ref, actor="api"))

    @api.delete("/persons/{ref}")
    async def person_delete(ref: str) -> dict[str, Any]:
        return await _identity(lambda: service.person_action(runtime, "delete", ref, actor="api"))

    @api.get("/identity/conflicts")
    async def identity_conflicts(limit: int = 200, reveal: bool = False, open: bool = True) -> Any:
        if not 1 <= limit <= 100_000:
            raise HTTPException(422, "limit must be 1..100000")
        return await _identity(
            lambda: service.conflicts(runtime, limit=limit, reveal=reveal, open_only=open)
        )

    @api.post("/identity/decisions")
    async def identity_decide(body: DecisionCreate) -> dict[str, Any]:
        return await _identity(
            lambda: service.decide(runtime, body.kind, body.a, body.b, actor="api")
        )

    @api.get("/identity/status")
    async def identity_status() -> dict[str, Any]:
        """Is resolution keeping up: pending records and the resolver's report, cheaply
        (``/status`` counts everything stored; this is for polling under traffic)."""
        result: dict[str, Any] = await run_in_threadpool(resolution_status, runtime.warehouse)
        result["resolver"] = runtime.resolver.report(runtime.resolves_identities)
        return result

    @api.get("/identity/export")
    async def identity_export(format: str = "csv", reveal: bool = False) -> StreamingResponse:
        if format not in ("csv", "jsonl"):
            raise HTTPException(422, f"format must be csv or jsonl, got {format!r}")
        await _identity(lambda: graph.apply_new(runtime.warehouse, runtime.rules))
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        lines = persons.export_map(runtime.warehouse, format, reveal=reveal)
        return StreamingResponse(iterate_in_threadpool(lines), media_type=media)

    return api


async def _identity(fn: Callable[[], T]) -> T:
    """Run an identity action off the event loop; its errors become 404 / 422."""
    try:
        return await run_in_threadpool(fn)
    except PersonNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except IdentityError as exc:
        raise HTTPException(422, str(exc)) from None
