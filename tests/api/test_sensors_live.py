"""Sensors transports over a real socket: mini-program, web beacon, gzip, JSON, projects."""

from __future__ import annotations

import base64
import gzip
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from siyu.api.sensors import PIXEL
from tests.conftest import LiveServer


def b64(value: Any, *, compress: bool = False) -> str:
    raw = orjson.dumps(value)
    return base64.b64encode(gzip.compress(raw) if compress else raw).decode()


def mp_record(index: int, *, now_ms: int) -> dict[str, Any]:
    """What the mini-program SDK sends (ID-Mapping 3, autotrack, _track_id, _flush_time)."""
    return {
        "_track_id": 1000 + index,
        "type": "track",
        "event": "$MPViewScreen",
        "time": now_ms - 60_000,
        "_flush_time": now_ms,
        "distinct_id": "o-openid-7",
        "anonymous_id": "o-openid-7",
        "identities": {"$identity_mp_openid": "o-openid-7", "$identity_mp_unionid": "u-union-7"},
        "lib": {"$lib": "MiniProgram", "$lib_version": "1.19.4", "$lib_method": "autoTrack"},
        "properties": {"$url_path": f"pages/item/{index}", "$lib": "MiniProgram"},
    }


def test_mini_program_data_list_without_gzip(live_server: LiveServer) -> None:
    now_ms = int(time.time() * 1000)
    records = [mp_record(i, now_ms=now_ms) for i in range(3)]
    body = "data_list=" + quote(b64(records), safe="")
    url = f"{live_server.url}/sa?project=default&token={live_server.key('miniprogram')}"
    for _ in range(2):
        answer = httpx.post(
            url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"code": 0, "accepted": 3, "rejected": []}
    got = live_server.query(
        "SELECT event_id, carrier, method, anonymous_id, identities, event_time, app_id"
        " FROM events ORDER BY seq"
    )
    assert len(got) == 3
    event_id, carrier, method, anonymous_id, identities, when, app_id = got[0]
    assert str(event_id).startswith("sa:")
    assert (carrier, method, anonymous_id) == ("mp", "autotrack", "o-openid-7")
    assert identities == {"mp_openid": "o-openid-7", "unionid": "u-union-7"}
    assert app_id == "wx0000000000000001"
    expected = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    assert abs(when - expected) < timedelta(seconds=3)


def test_web_beacon_get_answers_a_gif(live_server: LiveServer) -> None:
    record = {
        "type": "track",
        "event": "$pageview",
        "time": int(time.time() * 1000),
        "distinct_id": "cookie-1",
        "lib": {"$lib": "js", "$lib_method": "code"},
        "properties": {"$url": "https://shop.example.com/"},
    }
    answer = httpx.get(
        f"{live_server.url}/sa.gif",
        params={"project": "default", "token": live_server.key("server"), "data": b64(record)},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/gif"
    assert answer.content == PIXEL
    assert live_server.query("SELECT carrier, anonymous_id FROM events") == [("web", "cookie-1")]


def test_gzip_data_and_post_to_gif_path(live_server: LiveServer) -> None:
    record = {"type": "profile_set", "distinct_id": "m-1", "properties": {"$is_login_id": True}}
    answer = httpx.post(
        f"{live_server.url}/sa.gif?token={live_server.key()}",
        data={"data": b64(record, compress=True), "gzip": "1"},
    )
    assert answer.status_code == 200 and answer.content == PIXEL
    assert live_server.query("SELECT type, user_id FROM events") == [("profile_set", "m-1")]


def test_json_body_and_token_inside_the_record(live_server: LiveServer) -> None:
    records = [
        {"type": "track", "event": "Buy", "distinct_id": "x", "token": live_server.key("app")},
    ]
    answer = httpx.post(f"{live_server.url}/sa", json=records)
    assert answer.status_code == 200, answer.text
    assert live_server.query("SELECT source_id FROM events") == [("app",)]


def test_project_must_match_the_source(live_server: LiveServer) -> None:
    body = {"data": b64({"type": "track", "event": "E", "distinct_id": "d"})}
    wrong = httpx.post(
        f"{live_server.url}/sa?project=other&token={live_server.key('miniprogram')}", data=body
    )
    assert wrong.status_code == 401
    assert "does not match this token's project 'default'" in wrong.json()["message"]
    unset = httpx.post(
        f"{live_server.url}/sa?project=anything&token={live_server.key()}", data=body
    )
    assert unset.status_code == 200
    assert live_server.query("SELECT count(*) FROM events") == [(1,)]
