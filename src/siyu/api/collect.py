"""Shared steps of every collector route: authenticate, parse off the loop if big, commit."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from siyu.ingest.collector import CollectorBusy
from siyu.ingest.exceptions import RequestRejected
from siyu.ingest.model import EventRecord, Rejection
from siyu.ingest.sources import Source
from siyu.runtime import Runtime

#: Bodies above this size are parsed in a worker thread so the event loop stays free.
INLINE_PARSE_BYTES = 64 * 1024

Parser = Callable[[], tuple[list[EventRecord], list[Rejection]]]


def authenticate(runtime: Runtime, key: str | None) -> Source:
    source = runtime.sources.by_key(key)
    if source is None:
        if not key:
            raise RequestRejected(
                "unauthorized",
                "no write key: send the source's write key (`siyu sources list --reveal`)",
            )
        raise RequestRejected(
            "unauthorized", "unknown or disabled write key; check `siyu sources list`"
        )
    return source


async def ingest(
    runtime: Runtime, source: Source, protocol: str, body_size: int, parse: Parser
) -> tuple[int, list[Rejection]]:
    """Parse (in a thread when the body is big) and wait until the records are durable."""
    if body_size > INLINE_PARSE_BYTES:
        records, rejections = await run_in_threadpool(parse)
    else:
        records, rejections = parse()
    try:
        await runtime.collector.submit(
            records, rejections, source_id=source.source_id, protocol=protocol
        )
    except CollectorBusy as exc:
        raise RequestRejected("busy", str(exc)) from None
    return len(records), rejections


def rejection_summary(rejections: list[Rejection], limit: int = 20) -> list[dict[str, object]]:
    """What the client is told about quarantined records (the first ``limit``)."""
    return [{"index": r.index, "reason": r.reason} for r in rejections[:limit]]
