"""`siyu lifecycle` as an operator runs it (typer CliRunner, in process) and
``POST /admin/v1/analytics/lifecycle`` over HTTP on a live server, on the demo data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from siyu.config import Settings
from tests.conftest import LiveServer
from tests.segments.test_cli import Siyu
from tests.segments.test_export import START, TODAY, demo_home

ADMIN_TOKEN = "lifecycle-test-admin-token"


def test_cli_prints_the_periods_and_json(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    siyu = Siyu(demo_home(tmp_path_factory, tmp_path / "home"))
    args = ["lifecycle", "--period", "week", "--from", START.isoformat()]
    args += ["--today", TODAY.isoformat()]
    answer = siyu.json(*args)
    weeks = answer["periods"]
    assert answer["period"] == "week" and weeks[0]["period"] == "2024-04-29"
    assert weeks[0]["new"] > 0 and weeks[1]["dormant"] < 0 and weeks[1]["returning"] > 0
    # 2024-06-09 is a Sunday: the last week has ended.
    assert weeks[-1]["period"] == "2024-06-03" and weeks[-1]["complete"]
    text = siyu(*args).stdout
    assert "Lifecycle flow 生命周期流转 by week" in text and "resurrecting 回流" in text
    assert f"{weeks[1]['dormant']:,}" in text
    assert "no lifecycle stages computed yet" in text
    bad = siyu("lifecycle", "--by", "carrier", ok=False)
    assert bad.exit_code == 1 and "describes an event" in bad.stderr


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
    body = {"period": "day", "from": "2024-06-01", "churn_days": 10, "today": TODAY.isoformat()}
    answer = admin.post("/lifecycle", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["analysis"] == "lifecycle" and result["churn_days"] == 10
    assert [p["period"] for p in result["periods"]][-1] == TODAY.isoformat()
    assert sum(p["churned"] for p in result["periods"]) > 0
    bad = admin.post("/lifecycle", json={"churn_days": 1})
    assert bad.status_code == 422 and "churn_days" in bad.text
