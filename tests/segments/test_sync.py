"""Segments pushed to WeChat as tags: the real wechatpy clients against the API stand-in."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import ibis
import ibis.expr.types as ir
import pytest

from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.segments.exceptions import SyncAuthFailed, SyncError
from siyu.segments.sync import (
    OA_BATCH,
    TargetError,
    oa_client,
    oa_targets,
    sync_official_account_tags,
    sync_wecom_tags,
    wecom_client,
    wecom_targets,
)
from siyu.storage import Warehouse
from tests.conformance import BackendPair
from tests.conftest import free_port
from tests.wechat_standin import WeChatStandin

APPID, OA_SECRET = "wx5e1d2c3b4a596870", "oa-secret"
CORP, CORP_SECRET = "ww0123456789abcdef", "corp-secret"
SHANGHAI = timezone(timedelta(hours=8))


def followers(n: int) -> list[str]:
    return [f"oFollower{i:04d}" for i in range(n)]


@pytest.fixture
def oa(wechat: WeChatStandin) -> Any:
    wechat.add_official_account(APPID, OA_SECRET, set(followers(130)))
    return oa_client(APPID, OA_SECRET, wechat.oa_url)


@pytest.fixture
def wecom(wechat: WeChatStandin) -> Any:
    contacts = {("zhangsan", "wmA"), ("zhangsan", "wmB"), ("lisi", "wmC")}
    wechat.add_corp(CORP, CORP_SECRET, contacts)
    return wecom_client(CORP, CORP_SECRET, wechat.wecom_url)


# -- official account -------------------------------------------------------------------


def test_oa_tags_in_batches_of_50_then_removes(wechat: WeChatStandin, oa: Any) -> None:
    first = sync_official_account_tags(oa, followers(120), tag_name="高价值")
    assert (first.tag_created, first.tagged, first.untagged, first.errors) == (True, 120, 0, ())
    sizes = [len(c.body["openid_list"]) for c in wechat.calls_to("tags/members/batchtagging")]
    assert sizes == [OA_BATCH, OA_BATCH, 20]
    assert wechat.oa_tagged(APPID, "高价值") == set(followers(120))

    keep, gone = followers(60), followers(120)[60:]
    second = sync_official_account_tags(oa, keep, tag_name="高价值", remove_openids=gone)
    assert (second.tag_created, second.tag_id) == (False, first.tag_id)
    assert (second.tagged, second.untagged) == (60, 60)
    untag = [len(c.body["openid_list"]) for c in wechat.calls_to("batchuntagging")]
    assert untag == [50, 10]
    assert wechat.oa_tagged(APPID, "高价值") == set(keep)
    assert len(wechat.calls_to("tags/create")) == 1
    assert len(wechat.calls_to("/token")) == 1  # the token is reused


def test_oa_errors_per_openid_are_collected(wechat: WeChatStandin, oa: Any) -> None:
    openids = [*followers(30), "oStranger1", *followers(130)[30:53], "oStranger2"]
    report = sync_official_account_tags(oa, openids, tag_name="vip")
    assert report.tagged == 53
    assert report.errors == (
        TargetError("oStranger1", 40003, "invalid openid, hint: [standin]"),
        TargetError("oStranger2", 40003, "invalid openid, hint: [standin]"),
    )
    assert wechat.oa_tagged(APPID, "vip") == set(followers(53))


def test_oa_stale_token_is_fetched_again_once(wechat: WeChatStandin, oa: Any) -> None:
    sync_official_account_tags(oa, followers(3), tag_name="vip")
    wechat.revoke_tokens()  # as when another process fetches a new token
    report = sync_official_account_tags(oa, followers(6), tag_name="vip")
    assert (report.tagged, report.errors) == (6, ())
    assert len(wechat.calls_to("/token")) == 2


def test_oa_bad_secret_stops_before_any_change(wechat: WeChatStandin, oa: Any) -> None:
    client = oa_client(APPID, "wrong", wechat.oa_url)
    with pytest.raises(SyncAuthFailed, match=r"errcode 40125.*SIYU_OA_SECRET"):
        sync_official_account_tags(client, followers(3), tag_name="vip")
    assert [c.path for c in wechat.calls] == ["/cgi-bin/token"]
    with pytest.raises(SyncAuthFailed, match="SIYU_OA_APPID and SIYU_OA_SECRET"):
        oa_client(APPID, "", wechat.oa_url)


def test_unreachable_api_is_a_clear_error() -> None:
    client = oa_client(APPID, OA_SECRET, f"http://127.0.0.1:{free_port()}/cgi-bin", timeout=2)
    with pytest.raises(SyncError, match="cannot reach the official account API at http://127") as e:
        sync_official_account_tags(client, followers(1), tag_name="vip")
    assert "secret=***" in str(e.value) and OA_SECRET not in str(e.value)


# -- WeCom ------------------------------------------------------------------------------


def test_wecom_creates_the_tag_marks_and_collects_errors(wechat: WeChatStandin, wecom: Any) -> None:
    targets = [("zhangsan", "wmA"), ("lisi", "wmC"), ("lisi", "wmA"), ("zhangsan", "wmA")]
    report = sync_wecom_tags(wecom, targets, tag_name="高潜客户", group_name="siyu 分层")
    assert (report.destination, report.tag_created, report.tagged) == ("wecom", True, 2)
    assert report.errors == (
        TargetError("lisi/wmA", 84061, "not external contact, hint: [standin]"),
    )
    assert wechat.wecom_tagged(CORP, "高潜客户") == {("zhangsan", "wmA"), ("lisi", "wmC")}
    created = wechat.calls_to("add_corp_tag")[0].body
    assert created == {"group_name": "siyu 分层", "tag": [{"name": "高潜客户"}]}

    again = sync_wecom_tags(
        wecom,
        [("zhangsan", "wmB"), ("lisi", "wmC")],
        tag_name="高潜客户",
        group_name="siyu 分层",
        remove_targets=[("zhangsan", "wmA"), ("lisi", "wmC")],  # lisi/wmC stays in
    )
    assert (again.tag_created, again.tag_id, again.tagged, again.untagged) == (
        False, report.tag_id, 2, 1,
    )  # fmt: skip
    assert wechat.wecom_tagged(CORP, "高潜客户") == {("zhangsan", "wmB"), ("lisi", "wmC")}
    assert len(wechat.calls_to("add_corp_tag")) == 1


def test_wecom_adds_a_new_tag_to_the_existing_group(wechat: WeChatStandin, wecom: Any) -> None:
    one = sync_wecom_tags(wecom, [("zhangsan", "wmA")], tag_name="a", group_name="siyu")
    two = sync_wecom_tags(wecom, [("zhangsan", "wmA")], tag_name="b", group_name="siyu")
    assert one.tag_id != two.tag_id and two.tag_created
    second_add = wechat.calls_to("add_corp_tag")[1].body
    assert set(second_add) == {"group_id", "tag"}
    groups = {t.group_id for t in wechat.state.corp_tags[CORP]}
    assert len(groups) == 1


def test_wecom_bad_secret_is_fatal_with_the_settings_to_fix(wechat: WeChatStandin) -> None:
    wechat.add_corp(CORP, CORP_SECRET, set())
    client = wecom_client(CORP, "nope", wechat.wecom_url)
    with pytest.raises(SyncAuthFailed, match=r"errcode 40001.*SIYU_WECOM_SECRET"):
        sync_wecom_tags(client, [("zhangsan", "wmA")], tag_name="a", group_name="g")
    assert not wechat.calls_to("externalcontact/")


# -- who to tag -------------------------------------------------------------------------


def _us(local: str) -> int:
    return round(datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).timestamp() * 1e6)


def _event(n: int, when: str, event: str, user: str, props: dict[str, str]) -> EventRecord:
    return EventRecord(
        event_id=f"w{n}", type="track", event=event, event_time=_us(when),
        received_at=_us(when), source_id="wecom", protocol="wechat", carrier="wecom",
        user_id=user, properties=json.dumps(props),
    )  # fmt: skip


CHANGE = "change_external_contact"
EVENTS = [
    # u1: added by zhangsan (callback shape), then by lisi, who was deleted later.
    _event(1, "2024-03-01 10:00", CHANGE, "u1",
           {"ChangeType": "add_external_contact", "UserID": "zhangsan"}),
    _event(2, "2024-03-01 11:00", "add_external_contact", "u1", {"staff_userid": "lisi"}),
    _event(3, "2024-03-01 12:00", "del_follow_user", "u1", {"staff_userid": "lisi"}),
    # u2: added by a, then by b: the latest add wins.
    _event(4, "2024-03-01 10:00", "add_external_contact", "u2", {"staff_userid": "a"}),
    _event(5, "2024-03-02 10:00", CHANGE, "u2",
           {"change_type": "add_half_external_contact", "staff_userid": "b"}),
    _event(6, "2024-03-01 10:00", "add_external_contact", "u3", {"staff_userid": "a"}),
    _event(7, "2024-03-01 10:00", "add_external_contact", "u4", {"staff_userid": "a"}),
    _event(8, "2024-03-01 10:00", "page_view", "u5", {"staff_userid": "a"}),
]  # fmt: skip
IDENTITIES = [
    ("wecom_external_userid", "wmA", "u1", False),
    ("wecom_external_userid", "wmB", "u2", False),
    ("wecom_external_userid", "wmD", "u4", False),  # u4 is not asked for
    ("wecom_external_userid", "wmE", "u5", False),  # u5 never added anyone
    (f"oa_openid:{APPID}", "oU1", "u1", False),
    (f"oa_openid:{APPID}", "oU3", "u3", False),
    ("oa_openid:wxOtherAccount", "oU2", "u2", False),
    (f"oa_openid:{APPID}", "oJunk", "u2", True),
]


@pytest.fixture
def customers() -> Warehouse:
    wh = Warehouse.in_memory()
    wh.append_events(records_to_arrow(EVENTS))
    with wh.transaction() as cur:
        for n, (t, v, p, junk) in enumerate(IDENTITIES):
            cur.execute(
                "INSERT INTO identities VALUES (?, ?, ?, ?, ?, ?, ?)",
                [t, v, p, p, n, datetime(2024, 1, 1), junk],
            )
    return wh


ASKED = ibis.memtable({"person_id": ["u1", "u2", "u3", "u5", "u1"]})


def _wecom(con: Any) -> ir.Table:
    events = con.table("events")
    return wecom_targets(events.mutate(person_id=events.user_id), con.table("identities"), ASKED)


def _oa(con: Any) -> ir.Table:
    return oa_targets(con.table("identities"), ASKED, APPID)


def test_targets_pick_the_live_staff_member_and_the_openid(customers: Warehouse) -> None:
    con = customers.ibis()
    got = _wecom(con).order_by("person_id").to_pyarrow().to_pylist()
    assert got == [
        {"person_id": "u1", "staff_userid": "zhangsan", "external_userid": "wmA"},
        {"person_id": "u2", "staff_userid": "b", "external_userid": "wmB"},
    ]
    openids = _oa(con).order_by("person_id").to_pyarrow().to_pylist()
    assert openids == [{"person_id": "u1", "openid": "oU1"}, {"person_id": "u3", "openid": "oU3"}]
    with pytest.raises(SyncError, match="SIYU_OA_APPID"):
        oa_targets(con.table("identities"), ASKED, "")


def test_targets_feed_the_sync(customers: Warehouse, wechat: WeChatStandin, wecom: Any) -> None:
    rows = _wecom(customers.ibis()).to_pyarrow()
    pairs = list(
        zip(rows["staff_userid"].to_pylist(), rows["external_userid"].to_pylist(), strict=True)
    )
    report = sync_wecom_tags(wecom, pairs, tag_name="t", group_name="g")
    assert report.tagged == 1  # u1 is zhangsan's contact; b/wmB is not a contact here
    assert [e.target for e in report.errors] == ["b/wmB"]


@pytest.mark.spark
@pytest.mark.slow
def test_targets_same_on_spark_and_duckdb(
    customers: Warehouse, backend_pair: Callable[[Warehouse], BackendPair]
) -> None:
    pair = backend_pair(customers)
    assert len(pair.assert_same(_wecom, order_by=["person_id"])) == 2
    assert len(pair.assert_same(_oa, order_by=["person_id"])) == 2
