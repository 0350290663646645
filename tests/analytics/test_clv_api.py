"""`siyu clv …` from the shell (typer's CliRunner) and ``POST /admin/v1/analytics/clv*``
over HTTP (a real server, a real client), on a data directory with simulated orders."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.config import Settings
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.storage import Warehouse
from tests.analytics.test_clv import TODAY, UNTIL, simulated_orders
from tests.conftest import LiveServer
from tests.segments.models.warehouse import append

ADMIN_TOKEN = "clv-api-test-token"


@pytest.fixture(scope="module")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding 1,500 simulated customers' orders, persons resolved."""
    home = tmp_path_factory.mktemp("clv-home") / "home"
    warehouse = Warehouse.open(Settings(home=home, parse_workers=0))
    try:
        append(warehouse, [], simulated_orders(1500, seed=3), prefix="s")
        rebuild(warehouse, IdentityRules())
    finally:
        warehouse.close()
    return home


@pytest.fixture
def settings(template_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(
        "siyu.api.app.secrets", SimpleNamespace(token_urlsafe=lambda _: ADMIN_TOKEN)
    )
    home = tmp_path / "home"
    shutil.copytree(template_home, home)
    return Settings(home=home, parse_workers=0)


def test_cli_fit_score_summary(settings: Settings) -> None:
    runner = CliRunner()
    env = {"SIYU_HOME": str(settings.home), "COLUMNS": "200"}

    def siyu(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, f"{args}: {result.output}\n{result.exception!r}"
        return result

    day = ("--today", TODAY.isoformat())
    fitted = siyu("clv", "fit", "--until", UNTIL.isoformat(), "--unit", "week", *day).stdout
    assert "BG/NBD (purchases)" in fitted and "Gamma-Gamma (spend)" in fitted
    assert "r=" in fitted and "alpha=" in fitted and "gamma=" in fitted
    assert "1500 customers" in fitted
    scored = json.loads(siyu("clv", "score", "--horizon-days", "90", "--json", *day).stdout)
    assert scored["scored"] == 1500 and scored["horizon_days"] == 90
    summary = siyu("clv", "summary", "--top", "3", *day).stdout
    assert "P(alive)" in summary and "CLV by decile" in summary and "most at risk" in summary
    listed = json.loads(siyu("clv", "list", "--json").stdout)
    assert listed["fits"][0]["fit_id"] == scored["fit_id"]
    refused = siyu("clv", "fit", "--unit", "fortnight", *day, code=1)
    assert "unit" in refused.stderr and "'day', 'week' or 'month'" in refused.stderr


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{live_server.url}/admin/v1",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=120,
    ) as client:
        yield client


def test_http_fit_score_summary(admin: httpx.Client) -> None:
    day = {"today": TODAY.isoformat()}
    names = admin.get("/analytics").json()
    assert "clv" in names["analyses"] and {"clv.fit", "clv.score"} <= set(names["operations"])
    fitted = admin.post(
        "/analytics/clv.fit", json={"until": UNTIL.isoformat(), "unit": "month", **day}
    )
    assert fitted.status_code == 200, fitted.text
    fit = fitted.json()
    assert fit["unit"] == "month" and fit["customers"] == 1500
    assert fit["purchases"]["converged"] and fit["purchases"]["r"] > 0
    scored = admin.post("/analytics/clv.score", json={"fit_id": fit["fit_id"], **day})
    assert scored.status_code == 200, scored.text
    assert scored.json()["scored"] == 1500
    summary = admin.post("/analytics/clv", json={"top": 2, **day}).json()
    assert summary["summary"]["persons"] == 1500 and len(summary["at_risk"]) == 2
    assert summary["fit"]["fit_id"] == fit["fit_id"]
    bad = admin.post("/analytics/clv.fit", json={"until": "2099-01-01", **day})
    assert bad.status_code == 422 and bad.json()["path"] == "until", bad.text
    assert "in the future" in bad.text
    missing = admin.post("/analytics/clv.score", json={"fit_id": "clv-nope", **day})
    assert missing.status_code == 404 and "clv-nope" in missing.text
