"""The PostHog parser as a pure function: payload in, records and rejections out."""

from __future__ import annotations

import base64
import contextlib
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.ingest import posthog
from siyu.ingest.exceptions import RequestRejected
from siyu.ingest.sources import Source

SOURCE = Source("web", "web", "k" * 20, "server", None, None, datetime(2026, 1, 1))
NOW = 1_790_000_000_000_000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def one(**extra: Any) -> dict[str, Any]:
    return {"event": "clicked", "distinct_id": "u-1", **extra}


def parse_one(item: dict[str, Any]) -> Any:
    (record,), rejections = posthog.parse([item], SOURCE, NOW)
    assert rejections == []
    return record


def test_payload_shapes() -> None:
    assert posthog.events(one()) == ([one()], None)
    assert posthog.events([one(), one()])[0] == [one(), one()]
    assert posthog.events({"batch": [one()], "sent_at": "x"}) == ([one()], "x")
    assert posthog.events({"data": [one()]})[0] == [one()]
    with pytest.raises(RequestRejected, match="JSON array"):
        posthog.events({"batch": "no"})


def test_decode_json_form_and_base64() -> None:
    data = base64.b64encode(orjson.dumps(one())).decode()
    assert posthog.decode(orjson.dumps(one())) == one()
    assert posthog.decode(f"data={data}".encode(), form=True) == one()
    with pytest.raises(RequestRejected, match="empty"):
        posthog.decode(b"  ")


def test_api_key_sources() -> None:
    assert posthog.api_key({"api_key": "a"}, [], None) == "a"
    assert posthog.api_key([], [one(properties={"token": "t"})], None) == "t"
    assert posthog.api_key({}, [], "Bearer b") == "b"
    assert posthog.api_key({}, [], None) is None


def test_identify_alias_set_and_special_types() -> None:
    identify = parse_one(one(event="$identify", properties={"$anon_distinct_id": "anon"}))
    assert (identify.type, identify.user_id, identify.anonymous_id) == ("identify", "u-1", "anon")
    alias = parse_one(one(event="$create_alias", properties={"alias": "new"}))
    assert (alias.type, alias.previous_id, alias.user_id) == ("alias", "u-1", "new")
    set_ = parse_one(one(event="$set", **{"$set": {"a": 1}, "$set_once": {"b": 2}}))
    assert set_.type == "profile_set"
    assert orjson.loads(set_.properties) == {"$set": {"a": 1}, "$set_once": {"b": 2}}
    assert parse_one(one(event="$pageview")).type == "page"
    assert parse_one(one(event="$screen")).type == "screen"


def test_distinct_id_in_properties_and_anonymous_users() -> None:
    record = parse_one({"event": "e", "properties": {"distinct_id": "p-1"}})
    assert record.user_id == "p-1"
    anon = parse_one(one(properties={"$user_state": "anonymous"}))
    assert (anon.user_id, anon.anonymous_id) == (None, "u-1")
    device = parse_one(one(properties={"$device_id": "u-1"}))
    assert device.anonymous_id == "u-1"


def test_times_offset_and_uuid() -> None:
    record = parse_one(one(offset=1500, uuid="0190-aaaa"))
    assert record.event_time == NOW - 1_500_000
    assert record.event_id == "0190-aaaa"
    skewed = parse_one(
        one(timestamp="2026-09-21T10:00:00+00:00", sent_at="2026-09-21T10:00:05+00:00")
    )
    assert skewed.event_time == NOW - 5_000_000
    assert parse_one(one()).event_id.startswith("h:")


def test_library_and_carrier() -> None:
    record = parse_one(one(properties={"$lib": "posthog-android", "$lib_version": "3"}))
    assert (record.library, record.library_version, record.carrier) == (
        "posthog-android",
        "3",
        "app",
    )
    assert parse_one(one(properties={"$lib": "posthog-python"})).carrier == "server"


@given(st.lists(json_values, max_size=5))
def test_any_json_event_yields_records_or_rejections(items: list[Any]) -> None:
    records, rejections = posthog.parse(items, SOURCE, NOW)
    assert len(records) + len(rejections) == len(items)


@given(json_values)
def test_events_only_raises_request_rejected(payload: Any) -> None:
    with contextlib.suppress(RequestRejected):
        posthog.events(payload)


_FIELDS = ["distinct_id", "uuid", "timestamp", "sent_at", "offset", "properties", "$set"]


@given(
    st.sampled_from(["$identify", "$create_alias", "$set", "$pageview", "e"]),
    st.dictionaries(st.sampled_from(_FIELDS), json_values),
)
def test_known_fields_with_any_values_never_crash(name: str, fields: dict[str, Any]) -> None:
    records, rejections = posthog.parse([{"event": name, **fields}], SOURCE, NOW)
    assert len(records) + len(rejections) == 1
