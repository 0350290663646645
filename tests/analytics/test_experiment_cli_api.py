"""`siyu experiment …` as an operator types it, and the same operations over HTTP.

Both run one small experiment end to end: save, start, assign persons, their orders
arrive, results — from a fresh data directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from siyu.analytics.experiments import Variant, variant_of
from siyu.cli.main import app
from siyu.config import Settings
from siyu.identity.graph import apply_new
from siyu.ingest.model import records_to_arrow
from siyu.runtime import Runtime
from siyu.storage import Warehouse
from tests.analytics.test_experiments import DEFINITION, FIRST_DAY, KEY, TODAY, event
from tests.conftest import LiveServer

ADMIN_TOKEN = "experiment-api-test-token"
PERSONS = 80
SPLIT = [Variant(key="control"), Variant(key="b")]


def converts(i: int, variant: str) -> bool:
    """Control converts 20%, b 70%: a difference 80 persons can show."""
    return i % 10 < (7 if variant == "b" else 2)


def add_orders(wh: Warehouse, rules: Any, assigned: list[dict[str, Any]]) -> None:
    records = [
        event(f"paid{i}", "order_paid", a["ref"].split(":")[1], FIRST_DAY + timedelta(days=1))
        for i, a in enumerate(assigned)
        if converts(i, a["variant"])
    ]
    wh.append_events(records_to_arrow(records))
    apply_new(wh, rules)


def test_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runner = CliRunner()
    env = {"SIYU_HOME": str(home), "COLUMNS": "200"}

    def siyu(*args: str, input: str | None = None, code: int = 0) -> Any:
        result = runner.invoke(app, list(args), env=env, input=input)
        assert result.exit_code == code, f"{args}: {result.output}{result.stderr}"
        return result

    definition = yaml.safe_dump(DEFINITION, allow_unicode=True)
    assert (
        "saved first_coupon — 首单券文案 (draft; control, b)"
        in siyu("experiment", "save", "-", input=definition).stdout
    )
    bad = siyu(
        "experiment", "save", "-", input=definition.replace("weight: 1", "weight: 0"), code=1
    )
    assert "variants.0.weight" in bad.stderr
    assert "draft" in siyu("experiment", "list").stdout
    assert "primary: ordered" in siyu("experiment", "show", KEY).stdout
    siyu("experiment", "start", KEY, "--at", FIRST_DAY.date().isoformat())
    refs = [f"member_id:M{i}" for i in range(PERSONS)]
    answer = json.loads(
        siyu("experiment", "assign", KEY, *refs, "--at", FIRST_DAY.isoformat(), "--json").stdout
    )
    assert answer["logged"] == PERSONS
    for row in answer["assignments"]:
        assert row["variant"] == variant_of(KEY, row["person_id"], SPLIT)
    one = siyu("experiment", "assign", KEY, "member_id:M1", "--at", FIRST_DAY.isoformat())
    assert answer["assignments"][1]["variant"] in one.stdout

    wh = Warehouse.open(Settings(home=home, parse_workers=0))
    try:
        rt = Runtime.open(Settings(home=home, parse_workers=0), warehouse=wh)
        add_orders(wh, rt.rules, answer["assignments"])
    finally:
        wh.close()

    shown = siyu("experiment", "results", KEY, "--today", TODAY).stdout
    assert f"{PERSONS} exposed persons" in shown and "sample ratio: ok" in shown
    assert "b beats control: +" in shown and "95% CI" in shown and "P(beat)=" in shown
    as_json = json.loads(siyu("experiment", "results", KEY, "--today", TODAY, "--json").stdout)
    b = as_json["metrics"][0]["variants"][1]
    assert b["significant"] and b["verdict"] in " ".join(shown.split())
    siyu("experiment", "stop", KEY)
    assert "cannot stop" in siyu("experiment", "stop", KEY, code=1).stderr
    assert (
        "did you mean first_coupon" in siyu("experiment", "results", "first_cupon", code=1).stderr
    )


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(
        "siyu.api.app.secrets", SimpleNamespace(token_urlsafe=lambda _: ADMIN_TOKEN)
    )
    return Settings(home=tmp_path / "home", parse_workers=0)


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{live_server.url}/admin/v1/analytics",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=120,
    ) as client:
        yield client


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_api(live_server: LiveServer, admin: httpx.Client) -> None:
    bad = admin.post(
        "/experiment.save",
        json={**DEFINITION, "variants": [{"key": "a"}, {"key": "b", "weight": -1}]},
    )
    assert bad.status_code == 422 and bad.json()["path"] == "variants.1.weight"
    assert ok(admin.post("/experiment.save", json=DEFINITION))["status"] == "draft"
    ok(admin.post("/experiment.start", json={"key": KEY, "at": FIRST_DAY.isoformat()}))
    refs = [f"member_id:M{i}" for i in range(PERSONS)]
    assigned = ok(
        admin.post(
            "/experiment.assign", json={"key": KEY, "refs": refs, "at": FIRST_DAY.isoformat()}
        )
    )["assignments"]
    single = ok(admin.post("/experiment.assign", json={"key": KEY, "ref": "unionid:o-new"}))
    assert single["variant"] == variant_of(KEY, single["person_id"], SPLIT) and single["logged"]
    add_orders(live_server.runtime.warehouse, live_server.runtime.rules, assigned)

    answer = ok(admin.post("/experiment", json={"key": KEY, "today": TODAY}))
    assert answer["analysis"] == "experiment" and answer["exposures"]["persons"] == PERSONS
    ordered = answer["metrics"][0]
    assert ordered["variants"][1]["significant"]
    assert [v["conversions"] for v in ordered["variants"]] == [
        sum(converts(i, a["variant"]) for i, a in enumerate(assigned) if a["variant"] == v)
        for v in ("control", "b")
    ]
    missing = admin.post("/experiment", json={"key": "nope", "today": TODAY})
    assert missing.status_code == 404
    unknown = admin.post("/experiment", json={"key": KEY, "metric": "x"})
    assert unknown.status_code == 422 and unknown.json()["path"] == "metric"
    listed = ok(admin.post("/experiment.list", json={}))["experiments"]
    assert [e["status"] for e in listed] == ["running"]
