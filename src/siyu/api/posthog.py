"""PostHog capture routes: ``/capture``, ``/e``, ``/i/v0/e``, ``/track`` and ``/batch``."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from siyu.api.body import read_body
from siyu.api.collect import POOL_PARSE_BYTES, commit, rejection_summary
from siyu.api.errors import json_response, rejected
from siyu.ingest import posthog
from siyu.ingest.exceptions import RequestRejected
from siyu.ingest.gunzip import gunzip
from siyu.ingest.normalize import now_us
from siyu.runtime import Runtime

SINGLE_ROUTES: Final = ("/capture", "/e", "/i/v0/e", "/track")
BATCH_ROUTE: Final = "/batch"

_FORM: Final = "application/x-www-form-urlencoded"
_TYPES: Final = ("application/json", "text/plain", _FORM, "")


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter()

    async def capture(request: Request) -> Response:
        received_at = now_us()
        batch_route = request.url.path.rstrip("/") == BATCH_ROUTE
        query = request.query_params
        try:
            payload: bytes | Any
            form = False
            if request.method == "GET":
                data = query.get("data")
                if not data:
                    raise RequestRejected("malformed", "a GET capture needs ?data=<base64 JSON>")
                payload = posthog.decode_base64(data)
                size = len(data)
            else:
                payload, form = await _read(request, batch_route)
                size = len(payload)
            args = (
                payload,
                form,
                request.headers.get("authorization"),
                runtime.sources.enabled(),
                received_at,
            )
            if size >= POOL_PARSE_BYTES:
                parsed = await runtime.parsers.run(posthog.handle, *args)
            else:
                parsed = posthog.handle(*args)
            await commit(runtime, parsed, "posthog")
            rejections = parsed.rejections
            if (
                rejections
                and not parsed.events.num_rows
                and not batch_route
                and (len(rejections) == 1)
            ):
                raise RequestRejected("invalid_event", rejections[0].reason)
        except RequestRejected as exc:
            return rejected(exc, protocol="posthog")
        answer: dict[str, Any] = {"status": 1}
        if rejections:
            answer["rejected"] = rejection_summary(rejections)
        return json_response(answer)

    for route in (*SINGLE_ROUTES, BATCH_ROUTE):
        methods = ["GET", "POST"] if route == "/e" else ["POST"]
        for path in (route, route + "/"):
            api.add_api_route(path, capture, methods=methods, response_model=None)
    return api


async def _read(request: Request, batch_route: bool) -> tuple[bytes, bool]:
    """The inflated body of a POST, and whether it is form-encoded."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _TYPES:
        raise RequestRejected(
            "unsupported_media_type",
            f"Content-Type {content_type!r} is not supported; send application/json",
        )
    compression = request.query_params.get("compression", "").lower()
    if compression == "lz64":
        raise RequestRejected(
            "unsupported_media_type", "lz64 compression is not supported; use gzip-js"
        )
    limit = posthog.MAX_BATCH_BYTES if batch_route else posthog.MAX_SINGLE_BYTES
    body = await read_body(request, limit)
    if compression in ("gzip", "gzip-js") or body[:2] == b"\x1f\x8b":
        body = gunzip(body, limit)
    return body, content_type == _FORM
