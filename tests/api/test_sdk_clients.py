"""The three protocols driven by their official, unmodified Python clients over a socket."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sensorsanalytics
from posthog import Posthog
from segment import analytics

from tests.conftest import LiveServer

TOLERANCE = timedelta(seconds=3)

_COLUMNS = (
    "event_id, type, event, user_id, anonymous_id, previous_id, identities, event_time,"
    " carrier, library, method, properties, context"
)


def rows(server: LiveServer, protocol: str) -> list[dict[str, Any]]:
    names = [c.strip() for c in _COLUMNS.split(",")]
    found = server.query(
        f"SELECT {_COLUMNS} FROM events WHERE protocol = '{protocol}' ORDER BY seq"
    )
    return [dict(zip(names, row, strict=True)) for row in found]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def assert_close(stored: object, expected: datetime) -> None:
    assert isinstance(stored, datetime)
    assert abs(stored - expected.replace(tzinfo=None)) < TOLERANCE, (stored, expected)


def identities(value: object) -> dict[str, str]:
    assert isinstance(value, dict)
    return value


def opened(server: LiveServer, value: object) -> dict[str, str]:
    """Identities with the phone and email the warehouse sealed opened again."""
    sealer = server.runtime.warehouse.sealer
    return {
        k: sealer.unseal(v) if k in ("phone", "email") else v for k, v in identities(value).items()
    }


# -- Segment ---------------------------------------------------------------------------


def test_segment_client_sync_mode(live_server: LiveServer) -> None:
    client = analytics.Client(live_server.key(), host=live_server.url, sync_mode=True)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    client.track(
        user_id="u-1", event="Order Completed", properties={"total": 99.5}, timestamp=an_hour_ago
    )
    client.identify(user_id="u-1", anonymous_id="anon-1", traits={"email": "a@example.com"})
    client.page(anonymous_id="anon-1", name="Home", properties={"path": "/"})
    client.alias(previous_id="anon-1", user_id="u-1")
    client.group(user_id="u-1", group_id="g-1", traits={"plan": "pro"})

    got = rows(live_server, "segment")
    assert [(r["type"], r["event"]) for r in got] == [
        ("track", "Order Completed"),
        ("identify", "$identify"),
        ("page", "$pageview"),
        ("alias", "$create_alias"),
        ("group", "$groupidentify"),
    ]
    track, identify, page, alias, group = got
    assert_close(track["event_time"], an_hour_ago)
    assert track["user_id"] == "u-1" and track["library"] == "analytics-python"
    assert orjson.loads(track["properties"]) == {"total": 99.5}
    assert identify["anonymous_id"] == "anon-1"
    assert opened(live_server, identify["identities"]) == {"email": "a@example.com"}
    assert page["user_id"] is None and page["anonymous_id"] == "anon-1"
    assert alias["previous_id"] == "anon-1" and alias["user_id"] == "u-1"
    assert orjson.loads(group["properties"])["group_id"] == "g-1"
    assert_close(identify["event_time"], datetime.now(UTC))


def test_segment_client_gzip_batches_each_event_once(live_server: LiveServer) -> None:
    client = analytics.Client(
        live_server.key("app"), host=live_server.url, gzip=True, upload_size=40
    )
    sent = [str(uuid.uuid4()) for _ in range(120)]
    for index, message_id in enumerate(sent):
        client.track(
            anonymous_id=f"device-{index % 7}",
            event="tap",
            properties={"index": index},
            message_id=message_id,
        )
    client.flush()
    client.shutdown()
    got = rows(live_server, "segment")
    assert sorted(r["event_id"] for r in got) == sorted(sent)
    assert {r["carrier"] for r in got} == {"app"}


# -- PostHog ---------------------------------------------------------------------------


def test_posthog_client_capture_identify_alias_set(live_server: LiveServer) -> None:
    client = Posthog(live_server.key(), host=live_server.url, sync_mode=True)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    first = client.capture(
        "signed_up", distinct_id="ph-user", properties={"plan": "free"}, timestamp=an_hour_ago
    )
    identify = client.capture(
        "$identify",
        distinct_id="ph-user",
        properties={"$anon_distinct_id": "ph-anon", "$set": {"email": "p@example.com"}},
    )
    alias = client.alias(previous_id="ph-anon-2", distinct_id="ph-user")
    set_ = client.set(distinct_id="ph-user", properties={"name": "Max"})
    set_once = client.set_once(distinct_id="ph-user", properties={"first_seen": "2026-01-01"})
    page = client.capture("$pageview", distinct_id="ph-user", properties={"$current_url": "/x"})
    client.shutdown()

    got = {r["event_id"]: r for r in rows(live_server, "posthog")}
    assert set(got) == {first, identify, alias, set_, set_once, page}
    assert got[first]["type"] == "track" and got[first]["user_id"] == "ph-user"
    assert_close(got[first]["event_time"], an_hour_ago)
    assert got[first]["library"] == "posthog-python"
    assert got[identify]["type"] == "identify"
    assert got[identify]["anonymous_id"] == "ph-anon"
    # The email moves from $set to the sealed identities map; no plain copy is stored.
    assert orjson.loads(got[identify]["properties"])["$set"] == {}
    assert opened(live_server, got[identify]["identities"]) == {"email": "p@example.com"}
    assert got[alias]["type"] == "alias"
    assert (got[alias]["previous_id"], got[alias]["user_id"]) == ("ph-anon-2", "ph-user")
    assert got[set_]["type"] == "profile_set"
    assert orjson.loads(got[set_]["properties"])["$set"] == {"name": "Max"}
    assert got[set_once]["type"] == "profile_set_once"
    assert orjson.loads(got[set_once]["properties"])["$set_once"] == {"first_seen": "2026-01-01"}
    assert got[page]["type"] == "page"
    assert_close(got[page]["event_time"], datetime.now(UTC))


def test_posthog_client_batches_with_gzip(live_server: LiveServer) -> None:
    client = Posthog(live_server.key(), host=live_server.url, gzip=True, flush_at=25)
    sent = [client.capture("scroll", distinct_id=f"d-{i}", properties={"i": i}) for i in range(60)]
    client.flush()
    client.shutdown()
    got = rows(live_server, "posthog")
    assert sorted(r["event_id"] for r in got) == sorted(s for s in sent if s)
    assert len(got) == 60


# -- Sensors ---------------------------------------------------------------------------


def sensors_url(server: LiveServer, source: str = "miniprogram") -> str:
    return f"{server.url}/sa?project=default&token={server.key(source)}"


def test_sensors_default_consumer(live_server: LiveServer) -> None:
    sa = sensorsanalytics.SensorsAnalytics(
        sensorsanalytics.DefaultConsumer(sensors_url(live_server))
    )
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    sa.track(
        "anon-sa",
        "ViewProduct",
        {"product_id": "p1", "$time": int(an_hour_ago.timestamp() * 1000)},
    )
    sa.track("member-9", "Purchase", {"amount": 12}, is_login_id=True)
    sa.track_signup("member-9", "anon-sa", {"channel": "qr"})
    sa.profile_set("member-9", {"level": "gold"}, is_login_id=True)
    sa.profile_increment("member-9", {"points": 5}, is_login_id=True)
    sa.profile_unset("member-9", ["nickname"], is_login_id=True)
    sa.item_set("book", "b-1", {"title": "Dune"})
    sa.item_delete("book", "b-2")
    sa.close()

    got = rows(live_server, "sensors")
    assert [(r["type"], r["event"]) for r in got] == [
        ("track", "ViewProduct"),
        ("track", "Purchase"),
        ("signup", "$SignUp"),
        ("profile_set", "$profile_set"),
        ("profile_increment", "$profile_increment"),
        ("profile_unset", "$profile_unset"),
        ("item_set", "$item_set"),
        ("item_delete", "$item_delete"),
    ]
    view, purchase, signup, profile, _, unset, item, _ = got
    assert (view["user_id"], view["anonymous_id"]) == (None, "anon-sa")
    assert_close(view["event_time"], an_hour_ago)
    assert (purchase["user_id"], purchase["anonymous_id"]) == ("member-9", None)
    assert (signup["user_id"], signup["previous_id"]) == ("member-9", "anon-sa")
    assert orjson.loads(profile["properties"])["level"] == "gold"
    assert orjson.loads(unset["properties"]) == {"nickname": True, "$is_login_id": True}
    assert orjson.loads(item["properties"]) == {
        "item_type": "book",
        "item_id": "b-1",
        "item_properties": {"title": "Dune"},
    }
    assert {r["library"] for r in got} == {"python"}
    assert {r["carrier"] for r in got} == {"mp"}
    assert orjson.loads(view["context"])["lib"]["$lib_method"] == "code"
    items = live_server.query("SELECT item_type, item_id, properties, deleted FROM items")
    assert ("book", "b-1", '{"title":"Dune"}', False) in items
    assert ("book", "b-2", "{}", True) in items


def test_sensors_batch_consumer_and_id_mapping(live_server: LiveServer) -> None:
    consumer = sensorsanalytics.BatchConsumer(sensors_url(live_server), max_size=50)
    sa = sensorsanalytics.SensorsAnalytics(consumer)
    for index in range(130):
        sa.track(f"device-{index % 11}", "Scroll", {"index": index})
    login = sensorsanalytics.SensorsAnalyticsIdentity
    sa.bind(login(login.LOGIN_ID, "member-1"), login(login.MOBILE, "13800000000"))
    sa.unbind(login(login.EMAIL, "old@example.com"))
    sa.track_by_id("Login", {}, login("$identity_mp_openid", "o-openid-1"))
    sa.close()

    got = rows(live_server, "sensors")
    assert len(got) == 133
    assert sorted(orjson.loads(r["properties"])["index"] for r in got[:130]) == list(range(130))
    bind, unbind, by_id = got[130:]
    assert bind["type"] == "bind" and bind["event"] == "$BindID"
    assert bind["user_id"] == "member-1"
    assert opened(live_server, bind["identities"]) == {
        "login_id": "member-1",
        "phone": "+8613800000000",
    }
    assert unbind["type"] == "unbind"
    assert opened(live_server, unbind["identities"]) == {"email": "old@example.com"}
    assert (unbind["user_id"], unbind["anonymous_id"]) == (None, None)
    assert identities(by_id["identities"]) == {"mp_openid": "o-openid-1"}
