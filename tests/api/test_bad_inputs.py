"""Bad input on all three protocols: the right status, a clear reason, nothing good lost."""

from __future__ import annotations

import base64
import gzip
import time
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import LiveServer

BIG = "x" * (10 * 1024 * 1024)
GOOD_ID = "good-event-0001"


def reasons(server: LiveServer) -> list[str]:
    return [str(r[0]) for r in server.query("SELECT reason FROM quarantine ORDER BY reason")]


def stored(server: LiveServer) -> list[str]:
    return [str(r[0]) for r in server.query("SELECT event_id FROM events ORDER BY seq")]


def b64(value: Any, *, compress: bool = False) -> str:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return base64.b64encode(gzip.compress(raw) if compress else raw).decode()


# -- Segment ---------------------------------------------------------------------------


def segment_post(
    server: LiveServer, body: Any, route: str = "batch", **headers: str
) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(
        f"{server.url}/v1/{route}",
        content=content,
        headers={"Content-Type": "application/json", **headers},
    )


def segment_batch(server: LiveServer, *bad: dict[str, Any]) -> dict[str, Any]:
    good = {"type": "track", "event": "ok", "userId": "u", "messageId": GOOD_ID}
    return {"writeKey": server.key(), "batch": [good, *bad]}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"type": "track", "event": "e"}, "needs a userId or an anonymousId"),
        ({"type": "track", "event": "e", "userId": {"a": 1}}, "userId must be a string"),
        (
            {"type": "track", "event": "e", "userId": "u", "timestamp": "2100-01-01T00:00:00Z"},
            "more than a day in the future",
        ),
        (
            {"type": "track", "event": "e", "userId": "u", "timestamp": "1990-01-01T00:00:00Z"},
            "before 2000-01-01",
        ),
        ({"type": "explode", "userId": "u"}, "type 'explode' is not one of"),
        (
            {"type": "track", "event": "e", "userId": "u", "properties": {"s": "x" * 40_000}},
            "Segment's limit is 32,768 per message",
        ),
    ],
)
def test_segment_bad_record_is_quarantined(
    live_server: LiveServer, bad: dict[str, Any], reason: str
) -> None:
    answer = segment_post(live_server, segment_batch(live_server, bad))
    assert answer.status_code == 200
    assert answer.json()["accepted"] == 1
    assert reason in answer.json()["rejected"][0]["reason"]
    assert stored(live_server) == [GOOD_ID]
    assert reason in reasons(live_server)[0]


def test_segment_bad_requests(live_server: LiveServer) -> None:
    key = live_server.key()
    cases: list[tuple[httpx.Response, int, str]] = [
        (segment_post(live_server, b"{not json"), 400, "not valid JSON"),
        (
            segment_post(live_server, b"<xml/>", **{"Content-Type": "application/xml"}),
            415,
            "Content-Type 'application/xml'",
        ),
        (
            segment_post(live_server, {"batch": []}, Authorization="Basic !!!"),
            401,
            "not valid base64",
        ),
        (
            segment_post(live_server, b"not gzip", **{"Content-Encoding": "gzip"}),
            400,
            "not valid gzip",
        ),
        (
            segment_post(
                live_server,
                {"writeKey": key, "event": "e", "userId": "u", "p": "x" * 40_000},
                "track",
            ),
            413,
            "the limit is 32,768",
        ),
        (
            segment_post(live_server, segment_batch(live_server, {"s": "x" * 600_000})),
            413,
            "the limit is 512,000",
        ),
        (
            segment_post(
                live_server,
                gzip.compress(orjson.dumps(segment_batch(live_server, {"s": BIG}))),
                **{"Content-Encoding": "gzip"},
            ),
            413,
            "inflates to more than the limit",
        ),
        (
            segment_post(
                live_server,
                {"writeKey": key, "batch": [{"type": "track", "event": "e", "userId": "u"}] * 2501},
            ),
            413,
            "the limit is 2,500",
        ),
        (segment_post(live_server, {"batch": [], "writeKey": "wrong-key-123456789"}), 401, "key"),
        (segment_post(live_server, {"batch": []}), 401, "no write key"),
    ]
    for answer, status, text in cases:
        assert answer.status_code == status, answer.text
        assert text in answer.json()["message"]
    assert stored(live_server) == []


# -- Sensors ---------------------------------------------------------------------------


def sensors_post(server: LiveServer, body: Any, *, token: str | None = None) -> httpx.Response:
    key = server.key() if token is None else token
    url = f"{server.url}/sa?token={key}" if key else f"{server.url}/sa"
    if isinstance(body, dict):
        return httpx.post(url, data=body)
    return httpx.post(url, content=body, headers={"Content-Type": "multipart/form-data"})


def sensors_good() -> dict[str, Any]:
    return {"type": "track", "event": "ok", "distinct_id": "d", "time": int(time.time() * 1000)}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"type": "track", "event": "e"}, "needs a distinct_id"),
        ({"type": "track", "event": "e", "distinct_id": [1]}, "distinct_id must be a string"),
        ({"type": "track", "event": "e", "distinct_id": "d", "time": 4102444800000}, "future"),
        ({"type": "track", "event": "e", "distinct_id": "d", "time": 631152000000}, "before 2000"),
        ({"type": "track_magic", "distinct_id": "d"}, "type 'track_magic' is not one of"),
        (
            {"type": "track", "event": "e", "distinct_id": "d", "properties": {"s": BIG}},
            "1,048,576",
        ),
        ({"type": "item_set", "item_type": "book"}, "item_id is missing"),
    ],
)
def test_sensors_bad_record_is_quarantined(
    live_server: LiveServer, bad: dict[str, Any], reason: str
) -> None:
    body = {"data_list": b64([sensors_good(), bad], compress=True), "gzip": "1"}
    answer = sensors_post(live_server, body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert reason in answer.json()["rejected"][0]["reason"]
    assert len(stored(live_server)) == 1
    assert reason in reasons(live_server)[0]


def test_sensors_bad_requests(live_server: LiveServer) -> None:
    too_many = [sensors_good()] * 10_001
    bomb = gzip.compress(b"[" + b" " * (70 * 1024 * 1024) + b"]")
    cases: list[tuple[httpx.Response, int, str]] = [
        (sensors_post(live_server, {"data": b64(b"{not json")}), 400, "not base64 of JSON"),
        (sensors_post(live_server, b"data=x"), 415, "Content-Type 'multipart/form-data'"),
        (sensors_post(live_server, {"data": "!!!not base64!!!"}), 400, "not valid base64"),
        (sensors_post(live_server, {"data": b64({}), "gzip": "1"}), 400, "not gzip data"),
        (
            sensors_post(live_server, {"data": base64.b64encode(b"\x1f\x8bjunk").decode()}),
            400,
            "not valid gzip",
        ),
        (sensors_post(live_server, {"data_list": b64(too_many, compress=True)}), 413, "10,000"),
        (
            sensors_post(live_server, {"data_list": base64.b64encode(bomb).decode()}),
            413,
            "inflates to more than",
        ),
        (sensors_post(live_server, {"data_list": b64("text")}), 400, "JSON array"),
        (sensors_post(live_server, {"nothing": "here"}), 400, "no `data` or `data_list`"),
        (sensors_post(live_server, {"data": b64(sensors_good())}, token="wrong"), 401, "key"),
        (sensors_post(live_server, {"data": b64(sensors_good())}, token=""), 401, "no write key"),
    ]
    for answer, status, text in cases:
        assert answer.status_code == status, answer.text
        assert text in answer.json()["message"]
    assert stored(live_server) == []


# -- PostHog ---------------------------------------------------------------------------


def posthog_post(
    server: LiveServer, body: Any, route: str = "/batch/", **headers: str
) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(
        f"{server.url}{route}",
        content=content,
        headers={"Content-Type": "application/json", **headers},
    )


def posthog_good() -> dict[str, Any]:
    return {"event": "ok", "distinct_id": "d", "uuid": GOOD_ID}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"event": "e"}, "distinct_id is missing"),
        ({"event": "e", "distinct_id": {"x": 1}}, "distinct_id must be a string"),
        ({"event": "e", "distinct_id": "d", "timestamp": "2100-01-01T00:00:00Z"}, "future"),
        ({"event": "e", "distinct_id": "d", "timestamp": "1990-01-01T00:00:00Z"}, "before 2000"),
        (42, "event 1 is not a JSON object"),
        ({"distinct_id": "d"}, "event must be a non-empty string"),
        ({"event": "e", "distinct_id": "d", "properties": {"s": BIG}}, "1,048,576 per event"),
    ],
)
def test_posthog_bad_event_is_quarantined(live_server: LiveServer, bad: Any, reason: str) -> None:
    body = gzip.compress(
        orjson.dumps({"api_key": live_server.key(), "batch": [posthog_good(), bad]})
    )
    answer = posthog_post(live_server, body, **{"Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == 1
    assert reason in answer.json()["rejected"][0]["reason"]
    assert stored(live_server) == [GOOD_ID]
    assert reason in reasons(live_server)[0]


def test_posthog_single_bad_event_is_400_and_quarantined(live_server: LiveServer) -> None:
    answer = posthog_post(live_server, {"api_key": live_server.key(), "event": "e"}, "/capture/")
    assert answer.status_code == 400
    assert answer.json() == {
        "type": "validation_error",
        "code": "invalid_event",
        "detail": "distinct_id is missing",
    }
    assert reasons(live_server) == ["distinct_id is missing"]


def test_posthog_bad_requests(live_server: LiveServer) -> None:
    key = live_server.key()
    one = {"api_key": key, **posthog_good()}
    cases: list[tuple[httpx.Response, int, str, str]] = [
        (posthog_post(live_server, b"{not json"), 400, "malformed", "not valid JSON"),
        (
            posthog_post(live_server, b"<x/>", **{"Content-Type": "application/xml"}),
            415,
            "unsupported_media_type",
            "Content-Type 'application/xml'",
        ),
        (
            httpx.post(f"{live_server.url}/e/", data={"data": "!!!"}),
            400,
            "malformed",
            "not valid base64",
        ),
        (
            posthog_post(live_server, b"junk", "/e/?compression=gzip-js"),
            400,
            "malformed",
            "not valid gzip",
        ),
        (
            posthog_post(live_server, {**one, "properties": {"s": "x" * 2_200_000}}, "/capture"),
            413,
            "too_large",
            "the limit is 2,097,152",
        ),
        (
            posthog_post(
                live_server,
                gzip.compress(orjson.dumps({"api_key": key, "batch": [{"s": BIG}] * 3})),
                **{"Content-Encoding": "gzip"},
            ),
            413,
            "too_large",
            "inflates to more than the limit of 20,971,520",
        ),
        (posthog_post(live_server, {"api_key": key, "batch": {}}), 400, "malformed", "JSON array"),
        (posthog_post(live_server, {**one, "api_key": "wrong"}), 401, "unauthorized", "key"),
        (posthog_post(live_server, posthog_good()), 401, "unauthorized", "no write key"),
    ]
    for answer, status, code, text in cases:
        assert answer.status_code == status, answer.text
        assert answer.json()["type"] == "validation_error"
        assert answer.json()["code"] == code
        assert text in answer.json()["detail"]
    assert stored(live_server) == []
