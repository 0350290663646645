"""PostHog transports over a real socket: routes, slashes, gzip, form and GET bodies."""

from __future__ import annotations

import base64
import gzip
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import LiveServer


def event(name: str = "clicked", **extra: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": "ph-1", "uuid": str(uuid.uuid4()), **extra}


def stored(server: LiveServer) -> list[str]:
    return [str(r[0]) for r in server.query("SELECT event_id FROM events ORDER BY seq")]


@pytest.mark.parametrize("route", ["/capture", "/e", "/i/v0/e", "/track", "/batch"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_every_route_with_and_without_slash(
    live_server: LiveServer, route: str, slash: str
) -> None:
    one = event()
    body: dict[str, Any] = (
        {"api_key": live_server.key(), "batch": [one]}
        if route == "/batch"
        else {"api_key": live_server.key(), **one}
    )
    answer = httpx.post(f"{live_server.url}{route}{slash}", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": 1}
    assert stored(live_server) == [one["uuid"]]


def test_posthog_js_gzip_js_body_with_token_in_properties(live_server: LiveServer) -> None:
    events = [
        event("$pageview", properties={"token": live_server.key(), "$lib": "web"}),
        event("$autocapture", properties={"token": live_server.key(), "$lib": "web"}),
    ]
    answer = httpx.post(
        f"{live_server.url}/e/?compression=gzip-js&ver=1.200.0",
        content=gzip.compress(orjson.dumps(events)),
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status_code == 200, answer.text
    got = live_server.query("SELECT type, carrier, method FROM events ORDER BY seq")
    assert got == [("page", "web", "code"), ("track", "web", "autotrack")]


def test_legacy_form_body_and_get_data(live_server: LiveServer) -> None:
    one, two = event(api_key=live_server.key()), event(api_key=live_server.key())
    form = httpx.post(
        f"{live_server.url}/e/", data={"data": base64.b64encode(orjson.dumps(one)).decode()}
    )
    assert form.status_code == 200, form.text
    get = httpx.get(
        f"{live_server.url}/e", params={"data": base64.b64encode(orjson.dumps(two)).decode()}
    )
    assert get.status_code == 200, get.text
    assert stored(live_server) == [one["uuid"], two["uuid"]]


def test_gzip_batch_with_bearer_key_and_offset(live_server: LiveServer) -> None:
    batch = [event(offset=60_000), event("$screen", properties={"$lib": "posthog-ios"})]
    answer = httpx.post(
        f"{live_server.url}/batch/",
        content=gzip.compress(orjson.dumps({"batch": batch})),
        headers={
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {live_server.key()}",
        },
    )
    assert answer.status_code == 200, answer.text
    rows = live_server.query("SELECT type, carrier, event_time FROM events ORDER BY seq")
    expected = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    assert abs(rows[0][2] - expected) < timedelta(seconds=3)
    assert rows[1][:2] == ("screen", "app")


def test_skew_is_corrected_with_sent_at(live_server: LiveServer) -> None:
    client_now = datetime.now(UTC) + timedelta(hours=3)
    body = {
        "api_key": live_server.key(),
        "sent_at": client_now.isoformat(),
        "batch": [event(timestamp=(client_now - timedelta(seconds=30)).isoformat())],
    }
    assert httpx.post(f"{live_server.url}/batch", json=body).status_code == 200
    (when,) = live_server.query("SELECT event_time FROM events")[0]
    expected = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=30)
    assert abs(when - expected) < timedelta(seconds=3)
