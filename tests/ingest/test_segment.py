"""The Segment parser as a pure function: payload in, records and rejections out."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.ingest import segment
from siyu.ingest.exceptions import RequestRejected
from siyu.ingest.sources import Source

SOURCE = Source("web", "web", "k" * 20, "web", "wx-app", None, datetime(2026, 1, 1))
NOW = 1_790_000_000_000_000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def test_batch_merges_context_and_corrects_skew() -> None:
    payload = {
        "sentAt": iso(NOW + 3_600_000_000),
        "context": {"app": {"name": "shop"}},
        "batch": [
            {
                "type": "track",
                "event": "Buy",
                "userId": 42,
                "timestamp": iso(NOW + 3_600_000_000 - 5_000_000),
                "context": {"library": {"name": "analytics.js", "version": "2"}},
            }
        ],
    }
    (record,), rejections = segment.parse(payload, "batch", SOURCE, NOW)
    assert rejections == []
    assert record.user_id == "42"
    assert record.event_time == NOW - 5_000_000
    assert record.library == "analytics.js"
    assert orjson.loads(record.context)["app"] == {"name": "shop"}
    assert record.event_id.startswith("h:")


def test_a_bad_batch_sent_at_rejects_only_messages_that_rely_on_it() -> None:
    payload = {
        "sentAt": "yesterday-ish",
        "batch": [
            {"type": "track", "event": "a", "userId": "u1", "timestamp": iso(NOW)},
            {
                "type": "track",
                "event": "b",
                "userId": "u2",
                "timestamp": iso(NOW - 5_000_000),
                "sentAt": iso(NOW),
            },
        ],
    }
    records, rejections = segment.parse(payload, "batch", SOURCE, NOW)
    assert [r.event for r in records] == ["b"]
    assert records[0].event_time == NOW - 5_000_000
    (rejection,) = rejections
    assert rejection.index == 0
    assert "sentAt" in rejection.reason and "ISO-8601" in rejection.reason


def test_single_call_routes_set_type_and_fixed_names() -> None:
    (page,), _ = segment.parse({"anonymousId": "a", "name": "Home"}, "page", SOURCE, NOW)
    assert (page.type, page.event, orjson.loads(page.properties)) == (
        "page",
        "$pageview",
        {"name": "Home"},
    )
    (alias,), _ = segment.parse({"userId": "u", "previousId": "a"}, "alias", SOURCE, NOW)
    assert (alias.previous_id, alias.user_id) == ("a", "u")


def test_identify_traits_and_external_ids_become_identities() -> None:
    payload = {
        "userId": "u",
        "traits": {"phone": "13800000000"},
        "context": {"externalIds": [{"type": "mp_unionid", "id": "un-1"}]},
    }
    (record,), _ = segment.parse(payload, "identify", SOURCE, NOW)
    assert record.identities == {"phone": "13800000000", "unionid": "un-1"}


def test_write_key_from_basic_bearer_or_body() -> None:
    basic = "Basic " + base64.b64encode(b"key-1:").decode()
    assert segment.write_key({}, basic) == "key-1"
    assert segment.write_key({"writeKey": "key-2"}, None) == "key-2"
    assert segment.write_key({}, "Bearer key-3") == "key-3"
    assert segment.write_key({"writeKey": "other"}, "Bearer key-3") is None


@pytest.mark.parametrize("body", [b"[1]", b"{", b""])
def test_decode_rejects_non_objects(body: bytes) -> None:
    with pytest.raises(RequestRejected):
        segment.decode(body)


def test_too_many_messages_is_a_request_error() -> None:
    batch = [{"type": "track"}] * (segment.MAX_BATCH_MESSAGES + 1)
    with pytest.raises(RequestRejected, match="2,500"):
        segment.parse({"batch": batch}, "batch", SOURCE, NOW)


@given(st.lists(json_values, max_size=5))
def test_any_json_batch_item_yields_records_or_rejections(items: list[Any]) -> None:
    records, rejections = segment.parse({"batch": items}, "batch", SOURCE, NOW)
    assert len(records) + len(rejections) == len(items)
