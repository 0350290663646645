"""`siyu attribution` and `siyu attribution costs …` as an operator runs them (typer
CliRunner, in process), and ``POST /admin/v1/analytics/attribution`` and ``costs.*``
over HTTP on a live server, on the demo data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from siyu.config import Settings
from tests.conftest import LiveServer
from tests.segments.test_cli import Siyu
from tests.segments.test_export import TODAY, demo_home

ADMIN_TOKEN = "attribution-test-admin-token"
RANGE = ["--from", "2024-05-11", "--to", TODAY.isoformat(), "--today", TODAY.isoformat()]


def test_cli_costs_and_attribution(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    siyu = Siyu(demo_home(tmp_path_factory, tmp_path / "home"))
    added = siyu.json(
        "attribution", "costs", "add", "channel", "ad_moments_mp",
        "--from", "2024-05-11", "--to", "2024-06-09", "--yuan", "600", "--note", "朋友圈",
    )  # fmt: skip
    assert added["cost_fen"] == 60_000 and added["known"] and added["entered_by"] == "cli"
    listed = siyu.json("attribution", "costs", "list", "--dimension", "channel")
    assert [c["cost_id"] for c in listed["costs"]] == [added["cost_id"]]

    answer = siyu.json("attribution", "--models", "first,last,linear", "--lookback", "30d", *RANGE)
    assert answer["models"] == ["first", "last", "linear"]
    ad = next(r for r in answer["rows"] if r["value"] == "ad_moments_mp")
    assert ad["cost_fen"] == 60_000 and ad["label"] == "朋友圈广告-小程序"
    for model in answer["models"]:
        total = sum(r["models"][model]["conversions"] for r in answer["rows"])
        assert total == pytest.approx(answer["totals"]["conversions"])

    text = siyu("attribution", "--model", "linear", *RANGE).stdout
    assert "Attribution 归因 orders by channel" in text and "model linear" in text
    assert "ad_moments_mp 朋友圈广告-小程序" in text and "600.00" in text and "(direct)" in text

    bad = siyu("attribution", "--model", "u_shaped", ok=False)
    assert bad.exit_code == 1 and "'first', 'last'" in bad.stderr
    negative = siyu("attribution", "costs", "add", "campaign", "x", "--from", "2024-05-01",
                    "--to", "2024-05-02", "--fen", "-5", ok=False)  # fmt: skip
    assert negative.exit_code == 1 and "cannot be negative" in negative.stderr

    removed = siyu("attribution", "costs", "remove", added["cost_id"]).stdout
    assert f"removed {added['cost_id']}" in removed
    assert siyu.json("attribution", "costs", "list")["costs"] == []


@pytest.fixture
def settings(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setattr(
        "siyu.api.app.secrets", SimpleNamespace(token_urlsafe=lambda _: ADMIN_TOKEN)
    )
    return Settings(home=demo_home(tmp_path_factory, tmp_path / "siyu-home"), parse_workers=0)


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{live_server.url}/admin/v1/analytics",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=120,
    ) as client:
        yield client


def test_api_over_http(admin: httpx.Client) -> None:
    entry = admin.post(
        "/costs.add",
        json={"dimension": "campaign", "key": "开学季投放", "from": "2024-05-01",
              "to": "2024-06-09", "cost_fen": 400_000, "actor": "mallory"},
    )  # fmt: skip
    assert entry.status_code == 200, entry.text
    body = {"touch": "campaign", "models": ["first", "position"], "today": TODAY.isoformat()}
    answer = admin.post("/attribution", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["analysis"] == "attribution" and result["as_of"] == TODAY.isoformat()
    ads = next(r for r in result["rows"] if r["value"] == "开学季投放")
    # 400,000 fen over 40 days, 30 of them (05-11..06-09) in the default range.
    assert ads["cost_fen"] == pytest.approx(300_000)
    first = ads["models"]["first"]
    assert first["roi"] == pytest.approx(round((first["revenue_fen"] - 300_000) / 300_000, 4))
    listed = admin.post("/costs.list", json={}).json()
    # Who entered it is the caller (the admin token acts as "cli"), never the body.
    assert listed["total_fen"] == 400_000 and listed["costs"][0]["entered_by"] == "cli"

    bad = admin.post("/attribution", json={"lookback": "0d"})
    assert bad.status_code == 422 and "lookback" in bad.text and "longer than 0" in bad.text
    worse = admin.post("/costs.add", json={"dimension": "tv", "key": "x", "from": "2024-05-01",
                                           "to": "2024-05-01", "cost_fen": 1})  # fmt: skip
    assert worse.status_code == 422 and "dimension" in worse.text
    gone = admin.post("/costs.remove", json={"cost_id": "cost_nope"})
    assert gone.status_code == 404
