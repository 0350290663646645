"""Sensors Data routes: ``/sa`` and ``/sa.gif``, POST form data or GET ``?data=``."""

from __future__ import annotations

from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from siyu.api.body import read_body
from siyu.api.collect import authenticate, ingest, rejection_summary
from siyu.api.errors import json_response, rejected
from siyu.ingest import sensors
from siyu.ingest.exceptions import RequestRejected
from siyu.ingest.model import EventRecord, Rejection
from siyu.ingest.normalize import now_us
from siyu.runtime import Runtime

#: A transparent 1x1 GIF, the answer the web SDK's image beacon expects.
PIXEL: Final = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)

_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "text/plain", "")
_JSON_TYPES: Final = ("application/json",)


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter()

    async def collect(request: Request) -> Response:
        received_at = now_us()
        gif = request.url.path.endswith(".gif")
        query = request.query_params
        try:
            if request.method == "GET":
                fields: dict[str, str] = dict(query)
                body = b""
                json_body = False
                size = len(request.url.query)
            else:
                content_type = request.headers.get("content-type", "").split(";")[0].strip()
                if content_type.lower() not in _FORM_TYPES + _JSON_TYPES:
                    raise RequestRejected(
                        "unsupported_media_type",
                        f"Content-Type {content_type!r} is not supported; send "
                        "application/x-www-form-urlencoded with data or data_list",
                    )
                body = await read_body(request, sensors.MAX_BODY_BYTES)
                json_body = content_type.lower() in _JSON_TYPES
                fields = {} if json_body else sensors.form_fields(body)
                size = len(body)

            def decode() -> list[Any]:
                if json_body:
                    try:
                        return sensors.as_records(orjson.loads(body), "body")
                    except orjson.JSONDecodeError as exc:
                        raise RequestRejected(
                            "malformed", f"the body is not valid JSON: {exc}"
                        ) from None
                return sensors.decode(fields)

            token = query.get("token") or fields.get("token")
            items = None if token else decode()
            if items is not None:
                token = sensors.record_token(items)
            source = authenticate(runtime, token)
            project = query.get("project") or fields.get("project")
            sensors.check_project(source, project)

            def parse() -> tuple[list[EventRecord], list[Rejection]]:
                records = items if items is not None else decode()
                return sensors.parse(records, source, received_at, project=project)

            accepted, rejections = await ingest(runtime, source, "sensors", size, parse)
        except RequestRejected as exc:
            return rejected(exc, protocol="sensors")
        if gif:
            return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})
        return json_response(
            {"code": 0, "accepted": accepted, "rejected": rejection_summary(rejections)}
        )

    for path in ("/sa", "/sa.gif"):
        api.add_api_route(path, collect, methods=["GET", "POST"], response_model=None)
    return api
