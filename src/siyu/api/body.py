"""Reading request bodies within a size limit, gzip included, without trusting headers."""

from __future__ import annotations

from fastapi import Request

from siyu.ingest.exceptions import RequestRejected
from siyu.ingest.gunzip import gunzip


async def read_body(request: Request, limit: int) -> bytes:
    """The (decompressed) body, or `RequestRejected` once it passes ``limit`` bytes.

    Reads the stream in chunks so an oversized upload is refused without holding it; a
    gzip body (``Content-Encoding: gzip``) is inflated with the same limit, so a
    decompression bomb is refused too.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestRejected(
            "too_large", f"the request body is {int(declared):,} bytes; the limit is {limit:,}"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRejected(
                "too_large", f"the request body is over the limit of {limit:,} bytes"
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return gunzip(body, limit)
    if encoding not in ("", "identity"):
        raise RequestRejected(
            "unsupported_media_type", f"Content-Encoding {encoding!r} is not supported; use gzip"
        )
    return body
