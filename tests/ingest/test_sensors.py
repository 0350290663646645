"""The Sensors parser as a pure function: form fields in, records and rejections out."""

from __future__ import annotations

import base64
import contextlib
import gzip
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.ingest import sensors
from siyu.ingest.exceptions import RequestRejected
from siyu.ingest.sources import Source

MP = Source("mp", "mp", "k" * 20, "mp", "wx-1", "default", datetime(2026, 1, 1))
SERVER = Source("srv", "srv", "s" * 20, "server", None, None, datetime(2026, 1, 1))
NOW = 1_790_000_000_000_000
NOW_MS = NOW // 1000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def encode(value: Any, *, compress: bool = False) -> str:
    raw = orjson.dumps(value)
    return base64.b64encode(gzip.compress(raw) if compress else raw).decode()


def track(**extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "E", "distinct_id": "d-1", "time": NOW_MS, **extra}


def test_decode_plain_gzip_and_url_encoded_forms() -> None:
    assert sensors.decode({"data": encode(track())}) == [track()]
    assert sensors.decode({"data_list": encode([track()], compress=True), "gzip": "1"}) == [track()]
    mangled = encode([track(properties={"k": "~~~>>>"})]).replace("+", " ")
    assert len(sensors.decode({"data_list": mangled})) == 1
    body = b"data_list=" + encode([track()]).replace("+", "%2B").replace("=", "%3D").encode()
    assert sensors.decode(sensors.form_fields(body)) == [track()]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "no `data` or `data_list`"),
        ({"data": "***"}, "not valid base64"),
        ({"data": encode(track()), "gzip": "1"}, "not gzip data"),
        ({"data": base64.b64encode(b"\x1f\x8b\x08junk").decode()}, "not valid gzip"),
        ({"data": base64.b64encode(b"{").decode()}, "not base64 of JSON"),
    ],
)
def test_decode_errors(fields: dict[str, str], message: str) -> None:
    with pytest.raises(RequestRejected, match=message):
        sensors.decode(fields)


def test_login_ids_and_anonymous_ids() -> None:
    records, _ = sensors.parse(
        [
            track(),
            track(properties={"$is_login_id": True}),
            track(login_id="m-1", anonymous_id="a-1"),
            track(distinct_id="$identity_mobile+138", identities={"$identity_mobile": "138"}),
        ],
        MP,
        NOW,
    )
    assert [(r.user_id, r.anonymous_id) for r in records] == [
        (None, "d-1"),
        ("d-1", None),
        ("m-1", "a-1"),
        (None, None),
    ]
    assert records[3].identities == {"phone": "138"}


def test_signup_item_and_profile_types() -> None:
    items = [
        {"type": "track_signup", "event": "$SignUp", "distinct_id": "m", "original_id": "a"},
        {"type": "item_set", "item_type": "sku", "item_id": 7, "properties": {"p": 1}},
        {"type": "profile_unset", "distinct_id": "m", "properties": {"x": True}},
    ]
    (signup, item, unset), rejections = sensors.parse(items, SERVER, NOW)
    assert rejections == []
    assert (signup.type, signup.user_id, signup.previous_id) == ("signup", "m", "a")
    assert orjson.loads(item.properties) == {
        "item_type": "sku",
        "item_id": "7",
        "item_properties": {"p": 1},
    }
    assert (unset.type, unset.event) == ("profile_unset", "$profile_unset")


def test_times_lib_and_carrier() -> None:
    record = track(
        time=NOW_MS + 3_600_000 - 2_000,
        _flush_time=NOW_MS + 3_600_000,
        lib={"$lib": "js", "$lib_version": "1.26", "$lib_method": "autoTrack"},
    )
    ((out,), _) = sensors.parse([record], SERVER, NOW)
    assert out.event_time == NOW - 2_000_000
    assert (out.carrier, out.method, out.library, out.library_version) == (
        "web",
        "autotrack",
        "js",
        "1.26",
    )
    ((seconds,), _) = sensors.parse([track(time=NOW // 1_000_000)], SERVER, NOW)
    assert seconds.event_time == NOW


def test_track_id_event_id_is_stable_and_distinct() -> None:
    a = sensors.parse([track(_track_id=5), track(_track_id=6)], MP, NOW)[0]
    b = sensors.parse([track(_track_id=5, properties={"changed": 1})], MP, NOW)[0]
    assert a[0].event_id.startswith("sa:")
    assert a[0].event_id != a[1].event_id
    assert a[0].event_id == b[0].event_id


def test_project_mismatch() -> None:
    with pytest.raises(RequestRejected, match="use \\?project=default"):
        sensors.check_project(MP, "other")
    sensors.check_project(SERVER, "anything")
    _, (rejection,) = sensors.parse([track(project="other")], MP, NOW)
    assert "does not match" in rejection.reason


@given(st.lists(json_values, max_size=5))
def test_any_json_record_yields_records_or_rejections(items: list[Any]) -> None:
    records, rejections = sensors.parse(items, MP, NOW)
    assert len(records) + len(rejections) == len(items)


@given(st.dictionaries(st.sampled_from(["data", "data_list", "gzip", "x"]), st.text()))
def test_decode_only_raises_request_rejected(fields: dict[str, str]) -> None:
    with contextlib.suppress(RequestRejected):
        sensors.decode(fields)


_FIELDS = [
    "distinct_id",
    "login_id",
    "anonymous_id",
    "original_id",
    "time",
    "_flush_time",
    "event",
    "properties",
    "identities",
    "lib",
    "item_type",
    "item_id",
    "project",
    "_track_id",
]


@given(
    st.sampled_from(["track", "track_signup", "track_id_bind", "profile_set", "item_set"]),
    st.dictionaries(st.sampled_from(_FIELDS), json_values),
)
def test_known_fields_with_any_values_never_crash(kind: str, fields: dict[str, Any]) -> None:
    records, rejections = sensors.parse([{"type": kind, **fields}], MP, NOW)
    assert len(records) + len(rejections) == 1
