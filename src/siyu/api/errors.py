"""Mapping domain errors to HTTP answers: the only place that knows status codes."""

from __future__ import annotations

from typing import Final

import orjson
from fastapi.responses import Response

from siyu.ingest.exceptions import RequestRejected

#: RequestRejected.kind -> HTTP status, the same for the three collector protocols.
STATUS: Final = {
    "malformed": 400,
    "unauthorized": 401,
    "too_large": 413,
    "unsupported_media_type": 415,
    "busy": 503,
}


def json_response(
    body: object, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON answer serialised with orjson (the hot path answers hundreds a second)."""
    return Response(
        orjson.dumps(body), status_code=status_code, headers=headers, media_type="application/json"
    )


def rejected(exc: RequestRejected, *, protocol: str) -> Response:
    """The protocol's error answer for a rejected request."""
    status = STATUS.get(exc.kind, 400)
    body: dict[str, object]
    if protocol == "posthog":
        body = {"type": "validation_error", "code": exc.kind, "detail": exc.reason}
    elif protocol == "sensors":
        body = {"code": status, "error": exc.kind, "message": exc.reason}
    else:
        body = {"success": False, "code": exc.kind, "message": exc.reason}
    headers = {"Retry-After": "1"} if status == 503 else None
    return json_response(body, status, headers)
