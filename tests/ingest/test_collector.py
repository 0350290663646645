"""The group-commit writer: what goes into one transaction, and when it waits for more."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import pytest

from siyu.config import Settings
from siyu.ingest.collector import Collector, _Submission, gather
from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.storage import Warehouse


def _submission(prefix: str, n: int = 100) -> _Submission:
    records = [
        EventRecord(
            event_id=f"{prefix}-{i}",
            type="track",
            event="view_item",
            event_time=1_763_600_000_000_000,
            received_at=1_763_600_000_000_000,
            source_id="src",
            protocol="segment",
            carrier="server",
            user_id=f"u-{i}",
        )
        for i in range(n)
    ]
    return _Submission(records_to_arrow(records), [], "src", "segment")


def _later(pending: queue.SimpleQueue[_Submission | None], item: object, after: float) -> None:
    threading.Timer(after, pending.put, args=[item]).start()


def test_gather_takes_what_is_queued_up_to_the_limit() -> None:
    pending: queue.SimpleQueue[_Submission | None] = queue.SimpleQueue()
    first, *rest = [_submission(str(i)) for i in range(4)]
    for s in rest:
        pending.put(s)
    group, stopping = gather(pending, first, max_events=250)
    # 100 + 100 + 100 reaches the limit: the fourth waits for the next commit
    assert [g.events.num_rows for g in group] == [100, 100, 100]
    assert not stopping
    assert pending.get_nowait() is rest[-1]


def test_gather_without_linger_does_not_wait_for_more() -> None:
    pending: queue.SimpleQueue[_Submission | None] = queue.SimpleQueue()
    _later(pending, _submission("b"), 0.3)
    group, _ = gather(pending, _submission("a"), max_events=50_000)
    assert len(group) == 1


def test_gather_under_load_waits_until_enough_events() -> None:
    pending: queue.SimpleQueue[_Submission | None] = queue.SimpleQueue()
    _later(pending, _submission("b"), 0.2)
    _later(pending, _submission("c"), 0.4)
    started = time.monotonic()
    group, stopping = gather(
        pending, _submission("a"), max_events=50_000, linger_s=60, linger_events=300
    )
    # it waited for b and c, and stopped waiting once 300 events were there, not after 60 s
    assert [g.events["event_id"][0].as_py() for g in group] == ["a-0", "b-0", "c-0"]
    assert not stopping
    assert time.monotonic() - started < 30


def test_gather_stops_waiting_at_the_stop_sentinel() -> None:
    pending: queue.SimpleQueue[_Submission | None] = queue.SimpleQueue()
    _later(pending, None, 0.2)
    group, stopping = gather(
        pending, _submission("a"), max_events=50_000, linger_s=60, linger_events=10_000
    )
    assert len(group) == 1 and stopping


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[Warehouse]:
    wh = Warehouse.open(settings)
    yield wh
    wh.close()


def test_a_lone_client_is_not_held_back_by_the_linger(warehouse: Warehouse) -> None:
    collector = Collector(warehouse, linger_s=60, linger_events=10_000)
    collector.start()
    try:
        for i in range(3):
            # one request at a time: each commits on its own, without the 60 s wait
            sub = _submission(f"lone{i}")
            future = collector.submit_nowait(sub.events, [], source_id="src", protocol="segment")
            assert future.result(timeout=30).inserted == 100
        assert collector.stats.commits == 3
    finally:
        collector.stop()


def test_concurrent_submissions_share_commits_and_all_are_durable(
    warehouse: Warehouse,
) -> None:
    collector = Collector(warehouse, linger_s=60, linger_events=1_000)
    collector.start()
    try:
        subs = [_submission(f"many{i}") for i in range(20)]
        futures = [
            collector.submit_nowait(s.events, [], source_id="src", protocol="segment") for s in subs
        ]
        assert sum(f.result(timeout=60).inserted for f in futures) == 2_000
        # 20 requests of 100 events: at most one commit on its own, then groups of 1,000
        assert collector.stats.commits <= 3
    finally:
        collector.stop()
    count = warehouse.cursor().execute("SELECT count(*) FROM events").fetchone()
    assert count == (2_000,)


def _wal_bytes(warehouse: Warehouse) -> int:
    assert warehouse.path is not None
    wal = warehouse.path.with_name(warehouse.path.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_an_idle_writer_checkpoints_what_it_wrote(warehouse: Warehouse) -> None:
    collector = Collector(warehouse, checkpoint_idle_s=0.2)
    collector.start()
    try:
        time.sleep(0.5)
        assert collector.stats.checkpoints == 0  # nothing written, nothing to checkpoint
        sub = _submission("idle")
        collector.submit_nowait(sub.events, [], source_id="src", protocol="segment").result(30)
        assert _wal_bytes(warehouse) > 0  # committed: durable in the log
        deadline = time.monotonic() + 30
        while collector.stats.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert collector.stats.checkpoints == 1
        assert _wal_bytes(warehouse) == 0  # now in the database file
        time.sleep(0.5)
        assert collector.stats.checkpoints == 1  # once per stretch of writes
    finally:
        collector.stop()
    count = warehouse.cursor().execute("SELECT count(*) FROM events").fetchone()
    assert count == (100,)


def test_a_busy_writer_does_not_checkpoint(warehouse: Warehouse) -> None:
    collector = Collector(warehouse, checkpoint_idle_s=5)
    collector.start()
    try:
        for i in range(10):
            sub = _submission(f"busy{i}")
            collector.submit_nowait(sub.events, [], source_id="src", protocol="segment").result(30)
            time.sleep(0.05)
        assert collector.stats.checkpoints == 0
        assert _wal_bytes(warehouse) > 0
    finally:
        collector.stop()


def test_the_checkpoint_threshold_must_be_a_size() -> None:
    assert Settings(duckdb_checkpoint_threshold="1GB").duckdb_checkpoint_threshold == "1GB"
    with pytest.raises(ValueError, match="duckdb_checkpoint_threshold"):
        Settings(duckdb_checkpoint_threshold="lots")
