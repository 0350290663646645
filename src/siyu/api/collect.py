"""Shared steps of every collector route: authenticate, parse off the loop if big, commit."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from siyu.ingest import sources
from siyu.ingest.collector import CollectorBusy
from siyu.ingest.exceptions import RequestRejected
from siyu.ingest.model import EventRecord, Rejection, records_to_arrow
from siyu.ingest.parsing import Parsed
from siyu.ingest.sources import Source
from siyu.runtime import Runtime

#: Bodies above this size are parsed in a worker thread so the event loop stays free.
INLINE_PARSE_BYTES = 64 * 1024
#: Bodies this big (about 15 events) go to a parser process when the route has a pure
#: ``handle`` function (Segment, PostHog); smaller ones parse inline.
POOL_PARSE_BYTES = 4 * 1024

Parser = Callable[[], tuple[list[EventRecord], list[Rejection]]]


def authenticate(runtime: Runtime, key: str | None) -> Source:
    return sources.authenticate(runtime.sources.enabled(), key)


async def ingest(
    runtime: Runtime, source: Source, protocol: str, body_size: int, parse: Parser
) -> tuple[int, list[Rejection]]:
    """Parse (in a thread when the body is big) and wait until the records are durable."""
    if body_size > INLINE_PARSE_BYTES:
        records, rejections = await run_in_threadpool(parse)
    else:
        records, rejections = parse()
    await commit(runtime, Parsed(source, records_to_arrow(records), rejections), protocol)
    return len(records), rejections


async def commit(runtime: Runtime, parsed: Parsed, protocol: str) -> None:
    """Wait until ``parsed`` is durable (or answer busy so the client retries)."""
    try:
        await runtime.collector.submit(
            parsed.events, parsed.rejections, source_id=parsed.source.source_id, protocol=protocol
        )
    except CollectorBusy as exc:
        raise RequestRejected("busy", str(exc)) from None


def rejection_summary(rejections: list[Rejection], limit: int = 20) -> list[dict[str, object]]:
    """What the client is told about quarantined records (the first ``limit``)."""
    return [{"index": r.index, "reason": r.reason} for r in rejections[:limit]]
