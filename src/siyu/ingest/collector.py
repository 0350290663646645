"""Group commit: many requests' records appended in one durable transaction.

Request handlers parse and validate, then `Collector.submit` hands the records to one
writer thread and awaits the commit. While the writer commits, new submissions queue up;
the next transaction takes them all. So every acknowledgement follows a commit, the event
loop never waits on the database, and commits stay few under a burst.

Once the writer has been idle for a moment it checkpoints what it wrote
(`Warehouse.checkpoint`): left to DuckDB, a checkpoint runs inside whichever commit fills
the log, and every commit of that moment waits for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

import pyarrow as pa

from siyu.ingest.exceptions import IngestError
from siyu.ingest.model import Rejection
from siyu.ingest.normalize import now_us
from siyu.storage import AppendResult, Warehouse
from siyu.storage.warehouse import QUARANTINE_SCHEMA

log = logging.getLogger(__name__)

#: Quarantined payloads are kept up to this many bytes (the size is recorded in full).
MAX_QUARANTINE_PAYLOAD = 64 * 1024


class CollectorBusy(IngestError):
    """Too much is queued; the client should retry later (its SDK will)."""


@dataclass
class _Submission:
    events: pa.Table
    rejections: list[Rejection]
    source_id: str | None
    protocol: str
    future: Future[AppendResult] = field(default_factory=Future)


@dataclass
class CollectorStats:
    """Counters since start, for `siyu status` and the console's data-source page."""

    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    commits: int = 0
    failed_commits: int = 0
    last_commit_at: float | None = None
    checkpoints: int = 0
    checkpoint_seconds: float = 0.0
    failed_checkpoints: int = 0
    per_minute: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=60))

    def count_minute(self, inserted: int) -> None:
        minute = int(time.time() // 60)
        if self.per_minute and self.per_minute[-1][0] == minute:
            self.per_minute[-1] = (minute, self.per_minute[-1][1] + inserted)
        else:
            self.per_minute.append((minute, inserted))


class Collector:
    """The writer thread and its queue."""

    def __init__(
        self,
        warehouse: Warehouse,
        *,
        max_group_events: int = 50_000,
        max_pending: int = 500_000,
        linger_s: float = 0.05,
        linger_events: int = 1_500,
        checkpoint_idle_s: float = 1.0,
    ) -> None:
        self._warehouse = warehouse
        self._queue: queue.SimpleQueue[_Submission | None] = queue.SimpleQueue()
        self._max_group = max_group_events
        self._max_pending = max_pending
        self._linger = linger_s
        self._linger_events = linger_events
        self._checkpoint_idle = checkpoint_idle_s
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stats = CollectorStats()

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="siyu-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Commit everything queued, then stop the writer."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def idle_seconds(self) -> float:
        """Seconds since the last commit (infinite before the first)."""
        last = self.stats.last_commit_at
        return float("inf") if last is None else max(0.0, time.time() - last)

    # -- submitting -------------------------------------------------------------------

    def submit_nowait(
        self,
        events: pa.Table,
        rejections: list[Rejection],
        *,
        source_id: str | None,
        protocol: str,
    ) -> Future[AppendResult]:
        """Queue events (``EVENT_SCHEMA``) for the next commit; resolves once durable."""
        size = events.num_rows + len(rejections)
        with self._pending_lock:
            if self._pending + size > self._max_pending and self._pending > 0:
                raise CollectorBusy(
                    f"{self._pending:,} events are waiting to be written; retry in a second"
                )
            self._pending += size
        submission = _Submission(events, rejections, source_id, protocol)
        if self._thread is None:
            raise IngestError("the collector is not running")
        self._queue.put(submission)
        return submission.future

    async def submit(
        self,
        events: pa.Table,
        rejections: list[Rejection],
        *,
        source_id: str | None,
        protocol: str,
    ) -> AppendResult:
        future = self.submit_nowait(events, rejections, source_id=source_id, protocol=protocol)
        return await asyncio.wrap_future(future)

    # -- the writer -------------------------------------------------------------------

    def _run(self) -> None:
        busy = False
        written = False  # committed since the last checkpoint
        while True:
            try:
                first = self._queue.get(timeout=self._checkpoint_idle if written else None)
            except queue.Empty:
                written = not self._checkpoint()
                continue
            if first is None:
                break
            # Under concurrent load (the last group held several requests) wait up to
            # `linger_s` for `linger_events` to gather. A transaction has a fixed cost of
            # ~8 ms of CPU here (statement set-up, the index check, the commit): without
            # the wait, groups under load held ~700 events and the writer spent over half
            # its time on that cost (BENCHMARKS.md). A lone client is never delayed.
            group, stopping = gather(
                self._queue,
                first,
                max_events=self._max_group,
                linger_s=self._linger if busy else 0.0,
                linger_events=self._linger_events,
            )
            busy = len(group) > 1
            self._commit(group)
            written = True
            if stopping:
                break

    def _checkpoint(self) -> bool:
        """Checkpoint now; False (logged, retried at the next idle moment) if it failed."""
        started = time.perf_counter()
        try:
            self._warehouse.checkpoint()
        except Exception:
            log.exception("checkpoint failed; retrying when next idle")
            self.stats.failed_checkpoints += 1
            return False
        self.stats.checkpoints += 1
        self.stats.checkpoint_seconds += time.perf_counter() - started
        return True

    def _commit(self, group: list[_Submission]) -> None:
        try:
            result = self._append(group)
        except Exception:
            log.exception("group commit of %d submissions failed; retrying one by one", len(group))
            self.stats.failed_commits += 1
            for submission in group:
                self._commit_alone(submission)
            return
        for submission in group:
            submission.future.set_result(
                AppendResult(
                    inserted=submission.events.num_rows,
                    duplicates=0,
                    quarantined=len(submission.rejections),
                )
            )
        self._done(group, result)

    def _commit_alone(self, submission: _Submission) -> None:
        try:
            result = self._append([submission])
        except Exception as exc:
            log.exception("commit of one submission failed")
            self.stats.failed_commits += 1
            self._release(submission)
            submission.future.set_exception(exc)
            return
        submission.future.set_result(result)
        self._done([submission], result)

    def _append(self, group: list[_Submission]) -> AppendResult:
        events = pa.concat_tables([s.events for s in group])
        quarantine = quarantine_table(
            [(s.source_id, s.protocol, rej) for s in group for rej in s.rejections]
        )
        return self._warehouse.append_events(events, quarantine)

    def _done(self, group: list[_Submission], result: AppendResult) -> None:
        for submission in group:
            self._release(submission)
        stats = self.stats
        stats.received += result.inserted + result.duplicates
        stats.inserted += result.inserted
        stats.duplicates += result.duplicates
        stats.quarantined += result.quarantined
        stats.commits += 1
        stats.last_commit_at = time.time()
        stats.count_minute(result.inserted)

    def _release(self, submission: _Submission) -> None:
        with self._pending_lock:
            self._pending -= submission.events.num_rows + len(submission.rejections)


def gather(
    pending: queue.SimpleQueue[_Submission | None],
    first: _Submission,
    *,
    max_events: int,
    linger_s: float = 0.0,
    linger_events: int = 0,
) -> tuple[list[_Submission], bool]:
    """``first`` and what follows it in ``pending`` for one commit, and whether the
    stop sentinel was met.

    Takes what is queued, up to ``max_events``; while the group holds fewer than
    ``linger_events``, waits up to ``linger_s`` (from now) for more.
    """
    group = [first]
    size = first.events.num_rows
    deadline = time.monotonic() + linger_s
    while size < max_events:
        wait = deadline - time.monotonic() if size < linger_events else 0.0
        try:
            nxt = pending.get(timeout=wait) if wait > 0 else pending.get_nowait()
        except queue.Empty:
            break
        if nxt is None:
            return group, True
        group.append(nxt)
        size += nxt.events.num_rows
    return group, False


def quarantine_table(rows: list[tuple[str | None, str, Rejection]]) -> pa.Table | None:
    """Quarantine rows for ``Warehouse.append_events``; None when there are none."""
    if not rows:
        return None
    received = now_us()
    columns: dict[str, list[object]] = {name: [] for name in QUARANTINE_SCHEMA.names}
    for source_id, protocol, rejection in rows:
        payload = rejection.payload
        # The id is a hash of what was rejected, so a client's retry quarantines it once.
        key = hashlib.blake2b(digest_size=16)
        key.update(f"{source_id}|{protocol}|{rejection.index}|".encode())
        key.update(payload)
        columns["quarantine_id"].append(key.hexdigest())
        columns["received_at"].append(received)
        columns["source_id"].append(source_id)
        columns["protocol"].append(protocol)
        columns["reason"].append(rejection.reason)
        columns["record_index"].append(rejection.index)
        columns["payload"].append(
            payload[:MAX_QUARANTINE_PAYLOAD].decode("utf-8", errors="replace")
        )
        columns["payload_bytes"].append(len(payload))
        columns["truncated"].append(len(payload) > MAX_QUARANTINE_PAYLOAD)
    return pa.table(
        [pa.array(columns[f.name], type=f.type) for f in QUARANTINE_SCHEMA],
        schema=QUARANTINE_SCHEMA,
    )
