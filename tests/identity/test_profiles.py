"""Person profiles: each profile semantic pinned on hand-made events, then DuckDB vs Spark."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest

from siyu.demo.load import load_demo
from siyu.identity.profiles import entries_of, person_profiles, zone_offsets
from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.storage import Warehouse
from tests.conformance import BackendPair

SHANGHAI = timezone(timedelta(hours=8))
OA = "wx5e1d2c3b4a596870"


def _us(local: str) -> int:
    moment = datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)
    return round(moment.timestamp() * 1_000_000)


def ev(
    when: str,
    type: str = "track",
    event: str | None = None,
    *,
    user: str | None = "u1",
    props: dict[str, Any] | None = None,
    carrier: str = "mp",
    protocol: str = "sensors",
    source: str = "src",
    app_id: str | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event's fields; `warehouse` numbers them in list order."""
    return {
        "when": when, "type": type, "event": event or type, "user": user,
        "props": props or {}, "carrier": carrier, "protocol": protocol, "source": source,
        "app_id": app_id, "context": context or {},
    }  # fmt: skip


def warehouse(events: list[dict[str, Any]]) -> Warehouse:
    records = [
        EventRecord(
            event_id=f"e{n}",
            type=e["type"],
            event=e["event"],
            event_time=_us(e["when"]),
            received_at=_us(e["when"]),
            source_id=e["source"],
            protocol=e["protocol"],
            carrier=e["carrier"],
            user_id=e["user"],
            app_id=e["app_id"],
            properties=json.dumps(e["props"], ensure_ascii=False),
            context=json.dumps(e["context"]),
        )
        for n, e in enumerate(events)
    ]
    wh = Warehouse.in_memory()
    wh.append_events(records_to_arrow(records))
    return wh


def profiles(con: Any, **kwargs: Any) -> ir.Table:
    events = con.table("events")
    events = events.mutate(person_id=ibis.coalesce(events.user_id, events.anonymous_id))
    return person_profiles(events, **kwargs)


def rows(events: list[dict[str, Any]], **kwargs: Any) -> dict[str, dict[str, Any]]:
    wh = warehouse(events)
    try:
        found = profiles(wh.ibis(), **kwargs).to_pyarrow().to_pylist()
    finally:
        wh.close()
    return {r["person_id"]: r for r in found}


def props(events: list[dict[str, Any]]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(rows(events)["u1"]["properties"])
    return parsed


@pytest.fixture(scope="module")
def demo_warehouse() -> Iterator[Warehouse]:
    wh = Warehouse.in_memory()
    load_demo(wh, 600, 14, 5, start=date(2024, 5, 1))
    yield wh
    wh.close()


def test_entries_of_reads_objects_and_arrays() -> None:
    found = entries_of('{"b": "x", "a": {"z": 1, "y": true}, "n": 2.5}')
    assert [(e.key, e.label, e.value, e.text, e.number) for e in found] == [
        ("b", '"b"', '"x"', "x", None),
        ("a", '"a"', '{"y":true,"z":1}', None, None),
        ("n", '"n"', "2.5", "2.5", 2.5),
    ]
    assert [e.value for e in entries_of('[1, "a"]')] == ["1", '"a"']
    assert entries_of("not json") == entries_of("3") == entries_of(None) == []


def test_set_then_set_once_keeps_the_set_value() -> None:
    assert props(
        [
            ev("2024-03-01 10:00", "profile_set", props={"city": "上海", "$is_login_id": True}),
            ev("2024-03-01 11:00", "profile_set_once", props={"city": "北京", "gender": "f"}),
            ev("2024-03-01 12:00", "profile_set_once", props={"gender": "m"}),
        ]
    ) == {"city": "上海", "gender": "f"}


def test_set_overwrites_in_time_order_not_arrival_order() -> None:
    assert props(
        [
            ev("2024-03-02 10:00", "profile_set", props={"level": "gold"}),
            ev("2024-03-01 10:00", "profile_set", props={"level": "silver"}),
        ]
    ) == {"level": "gold"}


def test_increment_twice_adds_to_the_set_value() -> None:
    assert props(
        [
            ev("2024-03-01 10:00", "profile_increment", props={"visits": 2}),
            ev("2024-03-01 11:00", "profile_increment", props={"visits": 3, "score": 1.5}),
            ev("2024-03-01 12:00", "profile_set", props={"points": 10}),
            ev("2024-03-01 13:00", "profile_increment", props={"points": 5, "score": 1}),
            ev("2024-03-01 14:00", "profile_increment", props={"points": "x"}),
        ]
    ) == {"visits": 5, "score": 2.5, "points": 15}


def test_append_adds_only_new_values_in_order() -> None:
    assert props(
        [
            ev("2024-03-01 10:00", "profile_append", props={"tags": ["童书", "绘本"]}),
            ev("2024-03-01 11:00", "profile_append", props={"tags": ["绘本", "科普"]}),
            ev("2024-03-01 12:00", "profile_append", props={"tags": "童书", "seen": "a"}),
        ]
    ) == {"tags": ["童书", "绘本", "科普"], "seen": ["a"]}


def test_append_extends_a_set_list() -> None:
    assert props(
        [
            ev("2024-03-01 09:00", "profile_append", props={"tags": ["gone"]}),
            ev("2024-03-01 10:00", "profile_set", props={"tags": ["a", "b"]}),
            ev("2024-03-01 11:00", "profile_append", props={"tags": ["b", "c", {"k": 1}]}),
        ]
    ) == {"tags": ["a", "b", "c", {"k": 1}]}


def test_unset_removes_a_key_until_it_is_set_again() -> None:
    assert props(
        [
            ev("2024-03-01 10:00", "profile_set", props={"a": 1, "b": 2, "c": 3}),
            ev("2024-03-01 11:00", "profile_unset", props={"a": True, "c": True}),
            ev("2024-03-01 12:00", "profile_set_once", props={"c": "again"}),
        ]
    ) == {"b": 2, "c": "again"}


def test_delete_forgets_everything_before_it() -> None:
    assert props(
        [
            ev("2024-03-01 10:00", "profile_set", props={"a": 1, "b": 2}),
            ev("2024-03-01 10:30", "profile_increment", props={"n": 4}),
            ev("2024-03-01 11:00", "profile_delete"),
            ev("2024-03-01 12:00", "profile_set", props={"b": 3}),
            ev("2024-03-01 13:00", "profile_set_once", props={"a": "new"}),
            ev("2024-03-01 13:00", "profile_increment", props={"n": 1}),
        ]
    ) == {"a": "new", "b": 3, "n": 1}


def test_segment_identify_traits_are_set() -> None:
    traits = {"name": "王芳", "plan": "vip", "address": {"city": "上海"}}
    assert props(
        [
            ev("2024-03-01 10:00", "identify", "$identify", props=traits, protocol="segment"),
            ev("2024-03-01 11:00", "identify", "$identify", props={"plan": "svip"},
               protocol="segment"),
        ]
    ) == {**traits, "plan": "svip"}  # fmt: skip


def test_posthog_set_and_set_once_inside_event_properties() -> None:
    assert props(
        [
            ev("2024-03-01 10:00", "identify", "$identify", protocol="posthog",
               props={"$lib": "web", "$set": {"email": "a@x.cn"}, "$set_once": {"ref": "ad"}}),
            ev("2024-03-01 11:00", "track", "paid", protocol="posthog",
               props={"$set_once": {"ref": "other", "first_buy": "b1"}, "$set": {"vip": True}}),
            ev("2024-03-01 12:00", "profile_set", "$set", protocol="posthog",
               props={"$set": {"email": "b@x.cn"}, "$unset": ["vip"]}),
        ]
    ) == {"email": "b@x.cn", "ref": "ad", "first_buy": "b1"}  # fmt: skip


def test_properties_are_sorted_json_and_empty_without_ops() -> None:
    found = rows(
        [
            ev("2024-03-01 10:00", "profile_set", props={"b": 1, "a": 'x"y'}),
            ev("2024-03-01 10:00", "track", "view", user="u2"),
        ]
    )
    assert found["u1"]["properties"] == '{"a":"x\\"y","b":1}'
    assert found["u2"]["properties"] == "{}"


def test_activity_counts_local_days() -> None:
    found = rows(
        [
            ev("2024-03-01 23:59", "track", "a", source="web", carrier="web"),
            ev("2024-03-02 00:01", "track", "b", source="mini", carrier="mp"),
            ev("2024-03-02 12:00", "track", "c", source="mini", carrier="mp"),
        ]
    )["u1"]
    assert (found["event_count"], found["active_days"]) == (3, 2)
    assert found["first_seen"] == datetime(2024, 3, 1, 15, 59)
    assert found["last_seen"] == datetime(2024, 3, 2, 4, 0)
    assert (found["first_source_id"], found["first_carrier"]) == ("web", "web")
    assert (found["latest_source_id"], found["latest_carrier"]) == ("mini", "mp")
    assert found["carriers"] == ["mp", "web"]
    assert (found["has_mp"], found["has_app"]) == (True, False)
    utc = rows([ev("2024-03-01 23:59", "track", "a"), ev("2024-03-02 00:01", "track", "b")],
               tz="UTC")["u1"]  # fmt: skip
    assert utc["active_days"] == 1


def test_first_and_latest_channel_and_campaign() -> None:
    found = rows(
        [
            ev("2024-03-01 09:00", "track", "$MPLaunch", props={"$scene": 1001}),
            ev("2024-03-01 10:00", "track", "subscribe", carrier="oa", protocol="wechat",
               props={"event_key": "qrscene_qr_package", "scene": "qr_package"}),
            ev("2024-03-02 10:00", "track", "invite_accepted",
               props={"scene": "poster:M1", "campaign": "共读计划"}),
            ev("2024-03-03 10:00", "track", "SCAN", carrier="oa", protocol="wechat",
               props={"event_key": "qr_store_sh", "scene": "qr_store_sh"}),
            ev("2024-03-04 10:00", "page", "$pageview", carrier="web", protocol="segment",
               context={"campaign": {"source": "newsletter", "name": "spring"}}),
            ev("2024-03-05 10:00", "track", "$AppInstall", carrier="app",
               props={"$utm_source": ""}),
        ]
    )["u1"]  # fmt: skip
    assert (found["first_channel"], found["first_campaign"]) == ("qr_package", "共读计划")
    assert (found["latest_channel"], found["latest_campaign"]) == ("newsletter", "spring")


def test_channels_table_fills_the_campaign(demo_warehouse: Warehouse) -> None:
    con = demo_warehouse.ibis()
    with_codes = profiles(con, channels=con.table("channels")).to_pandas()
    without = profiles(con).to_pandas()
    assert with_codes["first_campaign"].notna().sum() > without["first_campaign"].notna().sum()
    assert set(with_codes["first_campaign"].dropna()) >= {"包裹卡", "开学季投放"}


def test_carriers_follows_contacts_and_groups() -> None:
    wecom = {"carrier": "wecom", "protocol": "wechat"}
    oa = {"carrier": "oa", "protocol": "wechat"}
    found = rows(
        [
            ev("2024-03-01 10:00", "track", "subscribe", app_id=OA, **oa),
            ev("2024-03-02 10:00", "track", "unsubscribe", app_id=OA, **oa),
            ev("2024-03-01 10:00", "track", "subscribe", app_id="wxmatrix", user="u2", **oa),
            ev("2024-03-01 10:00", "track", "add_external_contact", **wecom,
               props={"staff_userid": "wangfang", "state": "wc_store_guide"}),
            ev("2024-03-03 10:00", "track", "del_follow_user", **wecom,
               props={"staff_userid": "wangfang"}),
            ev("2024-03-01 10:00", "track", "change_external_contact", user="u2", **wecom,
               props={"ChangeType": "add_external_contact", "UserID": "liqiang"}),
            ev("2024-03-02 10:00", "track", "del_follow_user", user="u2", **wecom,
               props={"staff_userid": "wangfang"}),
            ev("2024-03-01 11:00", "track", "join_group", **wecom, props={"chat_id": "wrB"}),
            ev("2024-03-01 12:00", "track", "join_group", **wecom, props={"chat_id": "wrA"}),
            ev("2024-03-01 13:00", "track", "join_group", **wecom, props={"chat_id": "wrC"}),
            ev("2024-03-02 11:00", "track", "leave_group", **wecom, props={"chat_id": "wrC"}),
            ev("2024-03-01 10:00", "group", "group", user="u2", protocol="segment",
               carrier="web", props={"group_id": "acme", "traits": {}}),
            ev("2024-03-01 10:00", "track", "$AppStart", user="u3", carrier="app"),
        ]
    )  # fmt: skip
    u1, u2, u3 = found["u1"], found["u2"], found["u3"]
    assert (u1["follows_oa"], u2["follows_oa"], u3["follows_oa"]) == (False, True, False)
    assert (u1["wecom_contact"], u2["wecom_contact"], u3["wecom_contact"]) == (False, True, False)
    assert (u1["groups"], u2["groups"], u3["groups"]) == (["wrA", "wrB"], ["acme"], [])
    assert u1["first_channel"] == "wc_store_guide"
    assert (u3["has_app"], u3["carriers"]) == (True, ["app"])


def test_zone_offsets_follow_daylight_saving() -> None:
    berlin = zone_offsets("Europe/Berlin")
    assert {s for _, s in berlin} == {3600, 7200}
    assert (datetime(2024, 3, 31, 1, 0), 7200) in berlin
    assert len(zone_offsets("Asia/Shanghai")) == 1


def test_demo_profiles(demo_warehouse: Warehouse) -> None:
    con = demo_warehouse.ibis()
    frame = profiles(con).to_pandas()
    events = con.table("events")
    people = events.select(p=ibis.coalesce(events.user_id, events.anonymous_id)).p.nunique()
    assert len(frame) == people.execute()
    assert frame["follows_oa"].any() and frame["wecom_contact"].any()
    assert frame["groups"].map(len).gt(0).any()
    assert frame["first_channel"].notna().mean() > 0.2
    assert (frame["properties"] == "{}").all()  # the demo records no profile ops


SPARK_EVENTS = [
    ev("2024-03-01 10:00", "profile_set", props={"city": "上海", "tags": ["a"]}),
    ev("2024-03-01 11:00", "profile_set_once", props={"city": "北京", "gender": "f"}),
    ev("2024-03-01 12:00", "profile_increment", props={"visits": 2, "score": 0.1}),
    ev("2024-03-01 13:00", "profile_increment", props={"visits": 3, "score": 0.2}),
    ev("2024-03-01 14:00", "profile_append", props={"tags": ["b", "a", {"x": [1]}]}),
    ev("2024-03-01 15:00", "profile_unset", props={"gender": True}),
    ev("2024-03-01 10:00", "profile_set", user="u2", props={"gone": 1}),
    ev("2024-03-01 11:00", "profile_delete", user="u2"),
    ev("2024-03-01 12:00", "identify", "$identify", user="u2", protocol="segment",
       props={"name": "李强", "n": 1e20}),
    ev("2024-03-01 13:00", "track", "x", user="u2", protocol="posthog",
       props={"$set_once": {"name": "no", "ref": "ad"}, "$set": {"k": "v"}}),
    ev("2024-03-01 14:00", "track", "subscribe", user="u2", carrier="oa",
       props={"scene": "qr_live"}),
    ev("2024-03-01 15:00", "track", "join_group", user="u2", carrier="wecom",
       props={"chat_id": "wrA", "state": "grp_kids_books"}),
]  # fmt: skip


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Parsed properties and arrays as tuples, so both engines' frames compare."""
    out = frame.copy()
    out["raw"] = out["properties"]
    out["properties"] = out["properties"].map(lambda s: json.dumps(json.loads(s), sort_keys=True))
    for column in ("groups", "carriers"):
        out[column] = out[column].map(",".join)
    for column in ("follows_oa", "wecom_contact", "has_app", "has_mp"):
        out[column] = out[column].astype(bool)
    return out.sort_values("person_id").reset_index(drop=True)


@pytest.mark.spark
@pytest.mark.slow
def test_profiles_same_on_spark_and_duckdb(
    backend_pair: Callable[[Warehouse], BackendPair],
) -> None:
    wh = warehouse(SPARK_EVENTS)
    load_demo(wh, 300, 7, 5, start=date(2024, 5, 1))
    pair = backend_pair(wh)
    duck, spark = (
        _comparable(f) for f in pair.run(lambda con: profiles(con, channels=con.table("channels")))
    )
    wh.close()
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False)
    assert duck["raw"].tolist() == spark["raw"].tolist()  # the same text, not only equal JSON
    hand = duck[duck["person_id"].isin(["u1", "u2"])]
    assert hand["properties"].str.len().gt(2).all()
    assert duck["first_channel"].notna().any() and duck["wecom_contact"].any()
