"""Admin API for tags and segments (分层分类): definitions, sets, export, sync, manual tags.

Mounted under ``/admin/v1`` with the admin token, beside `siyu.api.admin`; computing runs
as the ``segments-compute`` job through ``POST /admin/v1/jobs``. Work runs off the event
loop; segment errors become HTTP answers here and only here:
InvalidDefinition 422 with the node ``path``, SegmentNotFound 404, a failed WeChat sync
502, out-of-order memberships 409 and any other segment error 422.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import UploadFile

from siyu.api.access import admin_router
from siyu.runtime import Runtime
from siyu.segments import actions, export, service
from siyu.segments.exceptions import (
    InvalidDefinition,
    MembershipsOutOfOrder,
    SegmentError,
    SegmentNotFound,
    SyncError,
)

T = TypeVar("T")

#: Largest tag CSV accepted as an upload (a server-side path has no limit).
MAX_UPLOAD_BYTES: Final = 200 * 1024 * 1024
ACTOR: Final = "api"


class DefinitionBody(BaseModel):
    """A segment or tag definition (docs/segments.md) to save."""

    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any]


class EstimateBody(BaseModel):
    """A draft definition (``key`` may be left out) and the local day to evaluate it on."""

    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any]
    today: date | None = None


class RefsBody(BaseModel):
    """Persons by reference: ``type:value`` (``phone:138…``) or person ids."""

    model_config = ConfigDict(extra="forbid")

    refs: list[Annotated[str, Field(min_length=1, max_length=600)]] = Field(
        min_length=1, max_length=actions.MAX_REFS
    )


class TagImportBody(BaseModel):
    """A tag CSV already on the server, and the tag for rows without one."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096)
    tag: str | None = None


class SegmentsError(HTTPException):
    """An HTTP error that also carries the definition node at fault."""

    def __init__(self, status_code: int, detail: str, path: str | None = None) -> None:
        super().__init__(status_code, detail)
        self.path = path


def router(runtime: Runtime, admin_token: str) -> APIRouter:
    api = admin_router(admin_token, runtime.warehouse)

    @api.get("/segments")
    async def list_segments(archived: bool = False) -> Any:
        return await _run(lambda: service.list_all(runtime, include_archived=archived))

    @api.post("/segments", status_code=201)
    async def save_segment(body: DefinitionBody) -> Any:
        return await _run(lambda: service.save(runtime, body.definition, ACTOR))

    @api.post("/segments/estimate")
    async def estimate_segment(body: EstimateBody) -> Any:
        return await _run(lambda: service.estimate(runtime, body.definition, body.today))

    # Set keys may hold '/' (interest and channel names): these two take the rest of the path.
    @api.get("/segments/{key:path}/export", response_model=None)
    async def export_segment(
        key: str, columns: str | None = None, reveal: bool = False
    ) -> StreamingResponse:
        chosen = [c for c in columns.split(",")] if columns else None
        lines = await _run(
            lambda: export.export_segment(runtime, key, columns=chosen, reveal=reveal, actor=ACTOR)
        )
        name = quote(f"{key.replace(':', '-')}.csv", safe="")
        return StreamingResponse(
            iterate_in_threadpool(lines),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
        )

    @api.post("/segments/{key:path}/sync")
    async def sync_segment(
        key: str, target: Literal["wecom", "oa"], tag_name: str | None = None
    ) -> Any:
        return await _run(lambda: actions.sync_segment(runtime, key, target, tag_name=tag_name))

    @api.get("/segments/{key}")
    async def show_segment(key: str) -> Any:
        return await _run(lambda: service.show(runtime, key))

    @api.delete("/segments/{key}")
    async def archive_segment(key: str) -> Any:
        return await _run(lambda: service.archive(runtime, key))

    @api.get("/sets")
    async def list_sets() -> Any:
        return await _run(lambda: service.sets(runtime))

    @api.get("/sets/overlap")
    async def overlap(keys: str) -> Any:
        names = [k.strip() for k in keys.split(",") if k.strip()]
        return await _run(lambda: service.overlap(runtime, names))

    @api.get("/tags")
    async def list_tags() -> Any:
        return await _run(lambda: actions.list_tags(runtime))

    @api.post("/tags/import")
    async def import_tags(request: Request) -> Any:
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            return await _import_upload(runtime, request)
        try:
            body = TagImportBody.model_validate_json(await request.body())
        except ValidationError as exc:
            raise HTTPException(
                422,
                "send the CSV as multipart/form-data (field file, optional field tag) or JSON "
                f"{{path, tag}} naming a file on the server: {exc.errors(include_url=False)}",
            ) from None
        return await _run(lambda: actions.import_tags(runtime, body.path, body.tag, ACTOR))

    @api.post("/tags/{tag:path}/persons")
    async def tag_persons(tag: str, body: RefsBody) -> Any:
        return await _run(lambda: actions.tag_persons(runtime, tag, body.refs, ACTOR))

    @api.delete("/tags/{tag:path}/persons")
    async def untag_persons(tag: str, body: RefsBody) -> Any:
        return await _run(lambda: actions.untag_persons(runtime, tag, body.refs, ACTOR))

    return api


def install_error_handler(app: Any) -> None:
    """Answer `SegmentsError` as ``{"detail": ..., "path": ...}`` (path only when known)."""

    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SegmentsError)
        body: dict[str, Any] = {"detail": exc.detail}
        if exc.path is not None:
            body["path"] = exc.path
        return JSONResponse(body, status_code=exc.status_code)

    app.add_exception_handler(SegmentsError, handle)


async def _import_upload(runtime: Runtime, request: Request) -> Any:
    form = await request.form(max_files=1, max_fields=5, max_part_size=MAX_UPLOAD_BYTES)
    upload = form.get("file")
    tag = form.get("tag")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "the multipart form needs a file field holding the CSV")
    if tag is not None and not isinstance(tag, str):
        raise HTTPException(422, "the tag field must be text")
    folder = Path(tempfile.mkdtemp(prefix="siyu-tags-"))
    try:
        path = folder / (Path(upload.filename or "tags.csv").name or "tags.csv")
        size = 0
        with path.open("wb") as out:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise HTTPException(
                        413, f"the CSV is over {MAX_UPLOAD_BYTES // 2**20} MB; split it"
                    )
                out.write(chunk)
        return await _run(lambda: actions.import_tags(runtime, path, tag or None, ACTOR))
    finally:
        await upload.close()
        shutil.rmtree(folder, ignore_errors=True)


async def _run(fn: Callable[[], T]) -> T:
    """``fn()`` off the event loop; segment errors as HTTP answers."""
    try:
        return await run_in_threadpool(fn)
    except InvalidDefinition as exc:
        raise SegmentsError(422, str(exc), exc.path) from None
    except SegmentNotFound as exc:
        raise SegmentsError(404, str(exc)) from None
    except SyncError as exc:
        raise SegmentsError(502, str(exc)) from None
    except MembershipsOutOfOrder as exc:
        raise SegmentsError(409, str(exc)) from None
    except SegmentError as exc:
        raise SegmentsError(422, str(exc)) from None
