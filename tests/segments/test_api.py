"""The segments admin API over HTTP: a real server, a real client, the WeChat stand-in.

The server (`live_server`) runs on a copy of the demo data; its admin token is fixed
for the test so httpx can send it, as the CLI does from ``server.json``.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import ibis
import pytest

from siyu.config import Settings
from siyu.segments import sync
from siyu.segments.facts import facts_from
from siyu.storage import segment_store as store
from tests.conftest import LiveServer
from tests.segments.test_export import BUYERS, FOLLOWERS, OA_APPID, TODAY, demo_home
from tests.wechat_standin import WeChatStandin

ADMIN_TOKEN = "segments-api-test-token"
OA_SECRET = "oa-secret"
CORP, CORP_SECRET = "ww0123456789abcdef", "corp-secret"


@pytest.fixture
def wechat_settings() -> dict[str, Any]:
    """Extra settings of the server; a test fills them before `live_server` starts."""
    return {}


@pytest.fixture
def settings(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    wechat_settings: dict[str, Any],
) -> Settings:
    monkeypatch.setattr(
        "siyu.api.app.secrets", SimpleNamespace(token_urlsafe=lambda _: ADMIN_TOKEN)
    )
    home = demo_home(tmp_path_factory, tmp_path / "siyu-home")
    return Settings(home=home, parse_workers=0, **wechat_settings)


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{live_server.url}/admin/v1",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=120,
    ) as client:
        yield client


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def compute(admin: httpx.Client, **arguments: Any) -> dict[str, Any]:
    """Run the segments-compute job and wait for it."""
    job = ok(
        admin.post(
            "/jobs",
            json={
                "kind": "segments-compute",
                "arguments": {"today": TODAY.isoformat(), **arguments},
            },
        ),
        202,
    )
    deadline = time.time() + 120
    while job["state"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
        job = ok(admin.get(f"/jobs/{job['job_id']}"))
    assert job["state"] == "done", job
    result: dict[str, Any] = job["result"]
    return result


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_segments_api(live_server: LiveServer, admin: httpx.Client, tmp_path: Path) -> None:
    assert httpx.get(f"{live_server.url}/admin/v1/segments").status_code == 401

    # Invalid definitions: 422 naming the node, nothing stored.
    bad = {
        **BUYERS,
        "rule": {"any": [{"follows": True}, {"event": {"name": "order_paid", "at_most": "x"}}]},
    }
    answer = admin.post("/segments", json={"definition": bad})
    assert answer.status_code == 422, answer.text
    assert answer.json()["path"].startswith("rule.any[1].event") and answer.json()["detail"]
    answer = admin.post(
        "/segments/estimate", json={"definition": {"rule": {"event": {"name": "nope"}}}}
    )
    assert answer.status_code == 422 and "no event 'nope'" in answer.json()["detail"]
    assert admin.post("/segments", json={"definition": BUYERS, "extra": 1}).status_code == 422

    draft = ok(admin.post("/segments/estimate", json={"definition": BUYERS, "today": "2024-06-09"}))
    assert 0 < draft["size"] < draft["persons"]
    saved = ok(admin.post("/segments", json={"definition": BUYERS}), 201)
    assert saved["key"] == "buyers" and saved["size"] is None
    ok(admin.post("/segments", json={"definition": FOLLOWERS}), 201)
    assert [s["key"] for s in ok(admin.get("/segments"))] == ["buyers", "followers"]
    assert admin.get("/segments/nope").status_code == 404

    result = compute(admin)
    assert result["segments"]["buyers"] == {
        "size": draft["size"],
        "entered": draft["size"],
        "exited": 0,
    }
    listed = {s["key"]: s for s in ok(admin.get("/segments"))}
    assert listed["buyers"]["size"] == draft["size"] and listed["buyers"]["computed_at"]
    shown = ok(admin.get("/segments/buyers"))
    assert shown["size"] == draft["size"] and shown["sample"]

    # Export: streamed CSV, masked by default, revealed and audited on request.
    with admin.stream("GET", "/segments/buyers/export") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/csv")
        text = "".join(stream.iter_text())
    rows = csv_rows(text)
    assert len(rows) == draft["size"] and list(rows[0]) == [
        "person_id",
        "entered_at",
        "member_id",
        "phone",
    ]
    assert not any(r["phone"].startswith("+861") for r in rows)
    revealed = csv_rows(
        admin.get(
            "/segments/buyers/export", params={"columns": "person_id,phone", "reveal": "true"}
        ).text
    )
    assert any(r["phone"].startswith("+861") for r in revealed)
    assert live_server.query("SELECT action, actor FROM privacy_audit") == [
        ("segment_export", "api")
    ]
    answer = admin.get("/segments/buyers/export", params={"columns": "person_id,shoe_size"})
    assert answer.status_code == 422 and "shoe_size" in answer.json()["detail"]
    assert admin.get("/segments/lifecycle:zombie/export").status_code == 422
    stage = next(
        s["set_key"]
        for s in ok(admin.get("/sets"))
        if s["set_key"].startswith("lifecycle:") and s["size"]
    )
    by_stage = csv_rows(
        admin.get(f"/segments/{stage}/export", params={"columns": "person_id,stage"}).text
    )
    assert by_stage and {r["stage"] for r in by_stage} == {stage.removeprefix("lifecycle:")}

    overlap = ok(admin.get("/sets/overlap", params={"keys": "buyers,followers,paying"}))
    assert overlap["sets"] == ["segment:buyers", "segment:followers", "paying"]
    assert len(overlap["pairs"]) == 9

    # Manual tags: by reference, in bulk from an upload or a file on the server.
    members = [r["person_id"] for r in rows]
    added = ok(admin.post("/tags/会员/persons", json={"refs": [*members[:3], "member_id:NOBODY"]}))
    assert (added["tagged"], added["not_found"], added["persons"]) == (3, ["member_id:NOBODY"], 3)
    assert admin.post("/tags/会员/persons", json={"refs": []}).status_code == 422
    assert admin.post("/tags/会员/persons", json={"refs": ["13800138000"]}).status_code == 422
    upload = f"person_id,tag\n{members[3]},会员\n{members[4]},\nnobody,会员\n"
    imported = ok(
        admin.post(
            "/tags/import",
            files={"file": ("members.csv", upload.encode(), "text/csv")},
            data={"tag": "新会员"},
        )
    )
    assert (imported["tagged"], imported["rejected"]) == (2, 1)
    assert imported["tags"] == ["会员", "新会员"]
    on_server = tmp_path / "server-side.csv"
    on_server.write_text(f"person_id\n{members[5]}\n", encoding="utf-8")
    imported = ok(admin.post("/tags/import", json={"path": str(on_server), "tag": "会员"}))
    assert imported["tagged"] == 1
    removed = ok(admin.request("DELETE", "/tags/会员/persons", json={"refs": members[:1]}))
    assert (removed["untagged"], removed["persons"]) == (1, 4)
    tags = ok(admin.get("/tags"))
    assert {t["tag"]: t["persons"] for t in tags["manual"]} == {"会员": 4, "新会员": 1}
    tagged = csv_rows(admin.get("/segments/tag:会员/export", params={"columns": "person_id"}).text)
    assert sorted(r["person_id"] for r in tagged) == sorted(members[1:4] + members[5:6])

    assert ok(admin.delete("/segments/followers")) == {"key": "followers", "archived": True}
    assert [s["key"] for s in ok(admin.get("/segments"))] == ["buyers"]
    assert admin.delete("/segments/nope").status_code == 404


def test_sync_not_configured_names_the_settings(
    live_server: LiveServer, admin: httpx.Client
) -> None:
    ok(admin.post("/segments", json={"definition": BUYERS}), 201)
    compute(admin, segments_only=True)
    answer = admin.post("/segments/buyers/sync", params={"target": "oa"})
    assert answer.status_code == 422 and "SIYU_OA_APPID" in answer.json()["detail"]
    assert admin.post("/segments/buyers/sync", params={"target": "sms"}).status_code == 422


class TestSync:
    """Segments and tags pushed to the stand-in through the API, then changes pushed again."""

    @pytest.fixture
    def wechat_settings(self, wechat: WeChatStandin) -> dict[str, Any]:
        return {
            "oa_appid": OA_APPID,
            "oa_secret": OA_SECRET,
            "wechat_api_base": wechat.oa_url,
            "wecom_corp_id": CORP,
            "wecom_secret": CORP_SECRET,
            "wecom_api_base": wechat.wecom_url,
        }

    def test_sync_to_the_official_account_and_wecom(
        self, live_server: LiveServer, admin: httpx.Client, wechat: WeChatStandin
    ) -> None:
        runtime = live_server.runtime
        con = runtime.warehouse.ibis()
        identities = con.table("identities")
        everyone = identities.select("person_id").distinct()
        events = facts_from(con, today=TODAY, tz=runtime.settings.timezone).events
        customers = sync.wecom_targets(events, identities, everyone).to_pyarrow().to_pylist()
        openids = sync.oa_targets(identities, everyone, OA_APPID).to_pyarrow().to_pylist()
        assert len(customers) >= 3 and openids
        wechat.add_official_account(OA_APPID, OA_SECRET, {r["openid"] for r in openids})
        wechat.add_corp(
            CORP, CORP_SECRET, {(r["staff_userid"], r["external_userid"]) for r in customers}
        )

        # A segment to the official account: every buyer holding the account's openid.
        ok(admin.post("/segments", json={"definition": BUYERS}), 201)
        compute(admin, segments_only=True)
        buyers = store.current_members(runtime.warehouse.cursor(), "segment:buyers")
        expected = sync.oa_targets(identities, ibis.memtable(buyers), OA_APPID).to_pyarrow()
        report = ok(admin.post("/segments/buyers/sync", params={"target": "oa"}))
        assert report["tag_name"] == "买过的人" and report["tag_created"] is True
        assert report["tagged"] == expected.num_rows > 0 and report["errors"] == []
        assert report["members"] == buyers.num_rows
        assert report["unreachable"] == buyers.num_rows - expected.num_rows
        assert wechat.oa_tagged(OA_APPID, "买过的人") == set(expected["openid"].to_pylist())

        # A manual tag to WeCom, then one person loses it: the next sync takes it off.
        chosen = customers[:3]
        refs = [r["person_id"] for r in chosen]
        ok(admin.post("/tags/vip/persons", json={"refs": refs}))
        first = ok(
            admin.post("/segments/tag:vip/sync", params={"target": "wecom", "tag_name": "VIP客户"})
        )
        assert (first["tagged"], first["untagged"], first["previous_sync_at"]) == (3, 0, None)
        pairs = {(r["staff_userid"], r["external_userid"]) for r in chosen}
        assert wechat.wecom_tagged(CORP, "VIP客户") == pairs
        ok(admin.request("DELETE", "/tags/vip/persons", json={"refs": refs[:1]}))
        second = ok(
            admin.post("/segments/tag:vip/sync", params={"target": "wecom", "tag_name": "VIP客户"})
        )
        assert (second["tagged"], second["untagged"], second["tag_created"]) == (2, 1, False)
        assert second["left_since_last_sync"] == 1 and second["previous_sync_at"]
        gone = (chosen[0]["staff_userid"], chosen[0]["external_userid"])
        assert wechat.wecom_tagged(CORP, "VIP客户") == pairs - {gone}
        third = ok(
            admin.post("/segments/tag:vip/sync", params={"target": "wecom", "tag_name": "VIP客户"})
        )
        assert (third["tagged"], third["untagged"]) == (2, 0)  # the removal is not repeated

    def test_refused_credentials_are_a_bad_gateway(
        self, live_server: LiveServer, admin: httpx.Client, wechat: WeChatStandin
    ) -> None:
        wechat.add_official_account(OA_APPID, "another-secret", set())
        ok(admin.post("/segments", json={"definition": BUYERS}), 201)
        compute(admin, segments_only=True)
        answer = admin.post("/segments/buyers/sync", params={"target": "oa"})
        assert answer.status_code == 502, answer.text
        assert "SIYU_OA_SECRET" in answer.json()["detail"]
