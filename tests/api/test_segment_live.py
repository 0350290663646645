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


def test_identity_status_follows_resolution_for_polling(live_server: LiveServer) -> None:
    """``/admin/v1/identity/status`` says how many records wait for a person, and the
    resolver's report, without the whole-warehouse counts of ``/admin/v1/status``."""
    import time

    from tests.api.test_roles import client_as

    body = {
        "writeKey": live_server.key(),
        "batch": [
            {"type": "track", "event": "view_item", "userId": f"u{i}", "messageId": f"s-{i}"}
            for i in range(3)
        ],
    }
    assert httpx.post(f"{live_server.url}/v1/batch", json=body).json()["accepted"] == 3
    with client_as(live_server, "analyst") as client:
        deadline = time.time() + 60
        seen = []
        while time.time() < deadline:
            answer = client.get("/admin/v1/identity/status")
            assert answer.status_code == 200, answer.text
            status = answer.json()
            seen.append(status["pending_records"])
            if not status["pending_records"]:
                break
            time.sleep(0.1)
    assert seen[-1] == 0, seen
    assert set(seen) <= {3, 0}
    (latest,) = live_server.query("SELECT max(seq) FROM events")[0]
    assert status["resolved_through_seq"] == latest
    assert status["resolver"]["state"] == "ready"
    assert status["resolver"]["applies"] >= 1
    assert "persons" not in status  # the cheap view: no whole-table counts
