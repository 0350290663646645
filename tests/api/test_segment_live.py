"""Segment over a real socket: the smallest end-to-end path."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer


def test_batch_is_stored_once_and_bad_item_quarantined(live_server: LiveServer) -> None:
    body = {
        "writeKey": live_server.key(),
        "batch": [
            {"type": "track", "event": "view_item", "userId": "u1", "messageId": "m-1"},
            {"type": "track", "event": "bad", "userId": ["not", "a", "string"]},
        ],
    }
    for _ in range(2):
        answer = httpx.post(f"{live_server.url}/v1/batch", json=body)
        assert answer.status_code == 200
        assert answer.json()["accepted"] == 1
        assert "userId must be a string" in answer.json()["rejected"][0]["reason"]
    assert live_server.query("SELECT event_id FROM events") == [("m-1",)]
    assert live_server.query("SELECT count(*) FROM quarantine") == [(1,)]


def test_wrong_key_is_401(live_server: LiveServer) -> None:
    answer = httpx.post(
        f"{live_server.url}/v1/track",
        json={"writeKey": "wrong-key-000000000", "event": "x", "userId": "u"},
    )
    assert answer.status_code == 401
    assert "write key" in answer.json()["message"]


def test_health_says_when_identity_resolution_is_ready(live_server: LiveServer) -> None:
    import time

    deadline = time.time() + 60
    states = []
    while time.time() < deadline:
        body = httpx.get(f"{live_server.url}/health").json()
        states.append(body["identity"])
        if body["identity"] == "ready":
            break
        time.sleep(0.05)
    assert states[-1] == "ready", states
    assert set(states) <= {"starting", "ready"}
    assert body["status"] == "ok"
