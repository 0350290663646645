"""`siyu funnel` as an operator runs it (typer CliRunner, in process) and
``POST /admin/v1/analytics/funnel`` over HTTP on a live server, on the demo data."""

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

ADMIN_TOKEN = "funnel-test-admin-token"
STEPS = "view_item,add_to_cart,checkout,order_paid"


def test_cli_prints_the_steps_with_bars_and_json(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    siyu = Siyu(demo_home(tmp_path_factory, tmp_path / "home"))
    args = ["funnel", "--steps", STEPS, "--window", "7d", "--today", TODAY.isoformat()]
    answer = siyu.json(*args, "--by", "carrier", "--trend", "week", "--exclude", "share:1-2")
    counts = [s["count"] for s in answer["steps"]]
    assert counts[0] > counts[-1] > 0 and counts == sorted(counts, reverse=True)
    assert answer["exclusions"] == [{"event": "share", "between": [1, 2]}]
    assert {s["value"] for s in answer["breakdown"]["series"]} <= {"mp", "app", "oa", "wecom"}
    assert answer["trend"]["period"] == "week" and answer["trend"]["series"]
    text = siyu(*args).stdout
    assert "Funnel 漏斗 (ordered, window 7d" in text and "order_paid" in text
    assert f"{counts[0]:,}" in text or str(counts[0]) in text
    assert "█" in text and "overall conversion" in text
    bad = siyu("funnel", "--steps", "view_item,chekout", ok=False)
    assert bad.exit_code == 1 and "did you mean checkout" in bad.stderr
    bad = siyu("funnel", "--steps", STEPS, "--exclude", "share", ok=False)
    assert bad.exit_code == 1 and "EVENT:FROM-TO" in bad.stderr


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
        "steps": [
            {"event": "view_item", "label": "看商品"},
            "add_to_cart",
            {"event": "order_paid", "label": "付款"},
        ],
        "window": "3d",
        "mode": "strict",
        "today": TODAY.isoformat(),
    }
    answer = admin.post("/funnel", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["analysis"] == "funnel" and result["as_of"] == TODAY.isoformat()
    assert [s["label"] for s in result["steps"]] == ["看商品", "add_to_cart", "付款"]
    assert result["mode"] == "strict" and result["window_seconds"] == 3 * 86400
    assert result["steps"][0]["count"] > 0
    bad = admin.post("/funnel", json={"steps": ["view_item", "add_to_cart"], "window": "0s"})
    assert bad.status_code == 422
    assert bad.json()["path"] == "window" and "longer than 0" in bad.text
