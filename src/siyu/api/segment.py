"""Segment HTTP Tracking API routes: ``/v1/<type>`` and ``/v1/batch``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from siyu.api.body import read_body
from siyu.api.collect import POOL_PARSE_BYTES, commit, rejection_summary
from siyu.api.errors import json_response, rejected
from siyu.ingest import segment
from siyu.ingest.exceptions import RequestRejected
from siyu.ingest.normalize import now_us
from siyu.runtime import Runtime

_JSON_TYPES = ("application/json", "text/plain", "")


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter()

    @api.post("/v1/{route}", response_model=None)
    async def segment_call(route: str, request: Request) -> Response:
        received_at = now_us()
        try:
            if route not in segment.ROUTES:
                raise RequestRejected(
                    "malformed",
                    f"/v1/{route} is not a Segment call; use one of "
                    f"{', '.join(sorted(segment.ROUTES))}",
                )
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type.lower() not in _JSON_TYPES:
                raise RequestRejected(
                    "unsupported_media_type",
                    f"Content-Type {content_type!r} is not supported; send application/json",
                )
            limit = segment.MAX_BATCH_BYTES if route == "batch" else segment.MAX_MESSAGE_BYTES
            body = await read_body(request, limit)
            args = (
                body,
                route,
                request.headers.get("authorization"),
                runtime.sources.enabled(),
                received_at,
            )
            if len(body) >= POOL_PARSE_BYTES:
                parsed = await runtime.parsers.run(segment.handle, *args)
            else:
                parsed = segment.handle(*args)
            await commit(runtime, parsed, "segment")
        except RequestRejected as exc:
            return rejected(exc, protocol="segment")
        return json_response(
            {
                "success": True,
                "accepted": parsed.events.num_rows,
                "rejected": rejection_summary(parsed.rejections),
            }
        )

    return api
