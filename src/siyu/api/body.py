"""Reading request bodies within a size limit, gzip included, without trusting headers."""

from __future__ import annotations

import zlib

from fastapi import Request

from siyu.ingest.exceptions import RequestRejected


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


def gunzip(data: bytes, limit: int) -> bytes:
    """Inflate gzip ``data`` up to ``limit`` bytes of output."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise RequestRejected("malformed", f"the body is not valid gzip: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise RequestRejected(
            "too_large", f"the body inflates to more than the limit of {limit:,} bytes"
        )
    if not inflater.eof:
        raise RequestRejected("malformed", "the gzip body is truncated")
    return out
