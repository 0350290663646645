"""`siyu referral` as an operator runs it (typer CliRunner, in process) and
``POST /admin/v1/analytics/referral`` over HTTP on a live server, on the demo data."""

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

ADMIN_TOKEN = "referral-test-admin-token"


def test_cli_prints_generations_inviters_and_a_tree(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    siyu = Siyu(demo_home(tmp_path_factory, tmp_path / "home"))
    answer = siyu.json("referral", "--top", "5", "--today", TODAY.isoformat())
    summary = answer["summary"]
    assert summary["invitees"] > 30 and summary["depth"] >= 1
    assert len(answer["top_inviters"]) == 5
    koc = answer["top_inviters"][0]
    assert koc["member_id"].startswith("M") and koc["direct_invitees"] >= 2
    text = siyu("referral", "--top", "5", "--today", TODAY.isoformat()).stdout
    assert "Referral 裂变 all invites" in text and "generations 代际" in text
    assert koc["member_id"] in text and "largest trees" in text
    mine = siyu.json("referral", "--root", f"member_id:{koc['member_id']}",
                     "--today", TODAY.isoformat())  # fmt: skip
    assert mine["tree"]["total"] == koc["descendants"] + 1
    assert mine["tree"]["nodes"][0]["id"] == koc["person_id"]
    bad = siyu("referral", "--campaign", "双十一", "--today", TODAY.isoformat(), ok=False)
    assert bad.exit_code == 1 and "invites name: poster:" in bad.stderr


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
    body = {"campaign": "共读计划", "top": 3, "today": TODAY.isoformat()}
    answer = admin.post("/referral", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["analysis"] == "referral" and result["campaign"] == "共读计划"
    scope = result["edges"]["scope"]  # the follows through posters name no campaign
    assert scope["by_source"].keys() == {"invite"} and result["edges"]["by_source"]["scene"]
    gens = result["generations"]
    assert gens[0]["invitees"] == gens[1]["persons"] and gens[0]["k_factor"] > 0
    bad = admin.post("/referral", json={"max_depth": 99})
    assert bad.status_code == 422 and "max_depth" in bad.text
