"""`siyu retention` as an operator runs it (typer CliRunner, in process) and
``POST /admin/v1/analytics/retention`` over HTTP on a live server, on the demo data."""

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

ADMIN_TOKEN = "retention-test-admin-token"


def test_cli_prints_the_cohort_table_and_json(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    siyu = Siyu(demo_home(tmp_path_factory, tmp_path / "home"))
    args = ["retention", "--start-event", "$SignUp", "--period", "day", "--periods", "7"]
    args += ["--by", "carrier", "--today", TODAY.isoformat()]
    answer = siyu.json(*args)
    assert answer["periods"] == 7 and answer["by"] == "carrier"
    assert {b["value"] for b in answer["breakdowns"]} == {"mp", "app"}
    assert answer["cohorts"][-1]["retained"][1] is None  # today's cohort: day 1 not ended
    text = siyu(*args).stdout
    assert "Retention 留存 $SignUp → any event" in text
    assert "average 平均" in text and "who stays" in text
    first = answer["cohorts"][0]
    assert f"{first['rates'][1]:.0%}" in text
    bad = siyu("retention", "--start-event", "$SignUp", "--periods", "0", ok=False)
    assert bad.exit_code == 1 and "periods must be 1 to 120" in bad.stderr


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
    body = {
        "start_event": "$MPLaunch",
        "cohort": "any",
        "period": "week",
        "periods": 3,
        "today": TODAY.isoformat(),
    }
    answer = admin.post("/retention", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["analysis"] == "retention" and result["as_of"] == TODAY.isoformat()
    assert result["columns"] == ["Week 0", "Week 1", "Week 2", "Week 3"]
    assert result["average"]["rates"][0] == 1.0 and result["average"]["size"] > 100
    bad = admin.post("/retention", json={"start_event": "$MPLaunch", "period": "fortnight"})
    assert bad.status_code == 422
    assert "period" in bad.text and "'day', 'week' or 'month'" in bad.text
