"""Segment bodies parsed in a worker process give the same answers as inline parsing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from siyu.config import Settings
from tests.conftest import LiveServer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "siyu-home", parse_workers=1)


@pytest.fixture
def pooled(live_server: LiveServer) -> Iterator[LiveServer]:
    assert live_server.runtime.parsers.workers == 1
    yield live_server


def _big_batch(key: str, n: int = 60) -> dict[str, object]:
    items: list[object] = [
        {
            "type": "track",
            "event": "view_item",
            "userId": f"u{i}",
            "messageId": f"p-{i}",
            "properties": {"sku": "book-" + "x" * 40},
        }
        for i in range(n)
    ]
    items.append({"type": "track", "event": "bad", "userId": {"not": "an id"}})
    return {"writeKey": key, "batch": items}


def test_a_pooled_batch_is_stored_once_with_rejections(pooled: LiveServer) -> None:
    body = _big_batch(pooled.key())
    for _ in range(2):
        answer = httpx.post(f"{pooled.url}/v1/batch", json=body, timeout=60)
        assert answer.status_code == 200
        assert answer.json()["accepted"] == 60
        assert answer.json()["rejected"][0]["index"] == 60
    assert pooled.query("SELECT count(*), count(DISTINCT event_id) FROM events") == [(60, 60)]
    assert pooled.query("SELECT count(*) FROM quarantine") == [(1,)]


def test_errors_raised_in_the_worker_keep_their_status(pooled: LiveServer) -> None:
    wrong = httpx.post(
        f"{pooled.url}/v1/batch", json=_big_batch("not-a-real-key-at-all"), timeout=60
    )
    assert wrong.status_code == 401 and "write key" in wrong.json()["message"]
    junk = httpx.post(
        f"{pooled.url}/v1/batch",
        content=b"{" + b"x" * 5000,
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert junk.status_code == 400 and "not valid JSON" in junk.json()["message"]
    # a source added while serving is known to the workers at once
    fresh = pooled.runtime.sources.add("late", carrier="web")
    late = httpx.post(f"{pooled.url}/v1/batch", json=_big_batch(fresh.write_key, 30), timeout=60)
    assert late.status_code == 200 and late.json()["accepted"] == 30


def test_a_pooled_posthog_batch(pooled: LiveServer) -> None:
    batch: list[object] = [
        {
            "event": "$pageview",
            "distinct_id": f"d{i}",
            "uuid": f"00000000-0000-4000-8000-{i:012d}",
            "properties": {"$current_url": "https://shop.example.com/books/" + "x" * 40},
        }
        for i in range(50)
    ]
    batch.append({"event": "bad", "distinct_id": ["not", "an", "id"]})
    body = {"api_key": pooled.key(), "batch": batch}
    answer = httpx.post(f"{pooled.url}/batch/", json=body, timeout=60)
    assert answer.status_code == 200 and answer.json()["status"] == 1
    assert answer.json()["rejected"][0]["index"] == 50
    assert pooled.query("SELECT count(*) FROM events WHERE protocol = 'posthog'") == [(50,)]
    wrong = httpx.post(f"{pooled.url}/batch/", json={**body, "api_key": "nope-nope-nope-nope"})
    assert wrong.status_code == 401
