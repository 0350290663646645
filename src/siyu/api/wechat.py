"""WeChat official-account callback URL: ``/wechat/<source_id>`` (服务器配置).

WeChat retries a callback after 5 s, three times in all, and stops on an empty or
``success`` answer, so the record is committed (milliseconds under group commit) and then
acknowledged; a malformed body is quarantined and acknowledged too, since a retry would
not fix it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from siyu.api.body import read_body
from siyu.api.collect import ingest
from siyu.api.errors import rejected
from siyu.ingest import wechat
from siyu.ingest.exceptions import RecordRejected, RequestRejected
from siyu.ingest.model import EventRecord, Rejection
from siyu.ingest.normalize import now_us
from siyu.ingest.sources import Source
from siyu.runtime import Runtime


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter()

    def source_for(source_id: str) -> Source:
        source = runtime.sources.by_id(source_id)
        if source is None:
            raise RequestRejected("unauthorized", f"no enabled source {source_id!r}")
        return source

    @api.get("/wechat/{source_id}", response_model=None)
    async def handshake(
        source_id: str, signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = ""
    ) -> Response:
        try:
            wechat.verify(source_for(source_id), signature, timestamp, nonce)
        except RequestRejected as exc:
            return rejected(exc, protocol="wechat")
        return PlainTextResponse(echostr)

    @api.post("/wechat/{source_id}", response_model=None)
    async def callback(
        source_id: str,
        request: Request,
        signature: str = "",
        timestamp: str = "",
        nonce: str = "",
        encrypt_type: str = "raw",
        msg_signature: str = "",
    ) -> Response:
        received_at = now_us()
        try:
            source = source_for(source_id)
            wechat.verify(source, signature, timestamp, nonce)
            body = await read_body(request, wechat.MAX_BODY_BYTES)
            if encrypt_type.lower() == "aes":
                body = wechat.decrypt(source, body, msg_signature, timestamp, nonce)

            def parse() -> tuple[list[EventRecord], list[Rejection]]:
                try:
                    return [wechat.parse(body, source, received_at)], []
                except RecordRejected as exc:
                    return [], [Rejection(exc.reason, body)]

            await ingest(runtime, source, "wechat", len(body), parse)
        except RequestRejected as exc:
            return rejected(exc, protocol="wechat")
        return PlainTextResponse("success")

    return api
