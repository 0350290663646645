"""Inflating gzip data within a size limit, so a decompression bomb is refused."""

from __future__ import annotations

import zlib

from siyu.ingest.exceptions import RequestRejected


def gunzip(data: bytes, limit: int, what: str = "the body") -> bytes:
    """Inflate gzip ``data`` up to ``limit`` bytes of output; ``what`` names it in errors."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise RequestRejected("malformed", f"{what} is not valid gzip: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise RequestRejected(
            "too_large", f"{what} inflates to more than the limit of {limit:,} bytes"
        )
    if not inflater.eof:
        raise RequestRejected("malformed", f"{what} is truncated gzip data")
    return out
