"""The `siyu` command as an operator runs it: real processes, a real data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port


def siyu(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "siyu", *args],
        env={**os.environ, "SIYU_HOME": str(home), "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"siyu {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def test_init_sources_and_status_in_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert json.loads(siyu(home, "init", "--json").stdout)["schema_version"] >= 1
    made = json.loads(siyu(home, "sources", "add", "mp", "--carrier", "mp", "--json").stdout)
    assert len(made["write_key"]) >= 16
    listed = json.loads(siyu(home, "sources", "list", "--json").stdout)
    assert listed[0]["source_id"] == "mp" and "…" in listed[0]["write_key"]
    revealed = json.loads(siyu(home, "sources", "list", "--reveal", "--json").stdout)
    assert revealed[0]["write_key"] == made["write_key"]
    status = json.loads(siyu(home, "status", "--json").stdout)
    assert status["events"]["total"] == 0 and status["collector"] == {"running": False}
    assert "not running" in siyu(home, "status").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sources", "add", "Bad Id"), "must be 1-63 lowercase"),
        (("sources", "add", "x", "--carrier", "fax"), "carrier 'fax' is not one of"),
        (("import", "things", "x.csv"), "is not one of events, users, orders"),
        (("import", "events", "missing.csv"), "is not a file"),
        (("demo", "--start", "yesterday"), "is not a date"),
        (("pipeline", "daily", "--engine", "oracle"), "engine 'oracle' is not one of"),
        (("sources", "disable", "nope"), "no source named 'nope'"),
    ],
)
def test_bad_arguments_say_what_to_do(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = siyu(tmp_path / "home", *args, check=False)
    assert done.returncode != 0
    assert message in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_demo_and_daily_pipeline(tmp_path: Path) -> None:
    home = tmp_path / "home"
    demo = json.loads(
        siyu(
            home, "demo", "--users", "800", "--days", "14", "--start", "2026-10-01", "--json"
        ).stdout
    )
    assert demo["persons"] == 800 and demo["events"] > 5_000
    again = json.loads(
        siyu(
            home, "demo", "--users", "800", "--days", "14", "--start", "2026-10-01", "--json"
        ).stdout
    )
    assert again["events_inserted"] == 0  # same seed, same ids: nothing stored twice
    daily = json.loads(siyu(home, "pipeline", "daily", "--json").stdout)
    assert daily["start"] == "2026-10-01" and len(daily["days"]) == 14
    assert daily["totals"]["orders"] == demo["orders"]
    text = siyu(home, "pipeline", "daily").stdout
    assert "次日留存" in text and "order_paid" in text
    fresh = json.loads(
        siyu(home, "demo", "--fresh", "--users", "300", "--days", "7", "--json").stdout
    )
    status = json.loads(siyu(home, "status", "--json").stdout)
    assert status["events"]["total"] == fresh["events"]


@pytest.fixture
def served_home(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    home = tmp_path / "home"
    siyu(home, "init")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "siyu", "serve", "--port", str(port)],
        env={**os.environ, "SIYU_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield home, url
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_commands_go_through_the_running_server(served_home: tuple[Path, str]) -> None:
    home, url = served_home
    made = json.loads(siyu(home, "sources", "add", "web", "--json").stdout)
    answer = httpx.post(
        f"{url}/v1/track",
        json={"writeKey": made["write_key"], "event": "view_item", "userId": "u1"},
    )
    assert answer.status_code == 200
    status = json.loads(siyu(home, "status", "--json").stdout)
    assert status["collector"]["running"] is True
    assert status["events"]["total"] == 1
    assert "server http://127.0.0.1" in siyu(home, "status").stdout
    demo = json.loads(siyu(home, "demo", "--users", "300", "--days", "7", "--json").stdout)
    assert demo["events_inserted"] > 0
    daily = json.loads(siyu(home, "pipeline", "daily", "--json").stdout)
    assert daily["totals"]["orders"] == demo["orders"]
    orders = home.parent / "orders.csv"
    orders.write_text(
        "订单号,会员号,支付时间,实付金额\nX1,M1,2026-11-20 10:00:00,59.90\nX2,M2,soon,1.00\n",
        encoding="utf-8",
    )
    mapping = ["--map", "订单号=order_id", "--map", "会员号=member_id"]
    mapping += ["--map", "支付时间=paid_at", "--map", "实付金额=amount_yuan"]
    imported = json.loads(siyu(home, "import", "orders", str(orders), *mapping, "--json").stdout)
    assert (imported["rows_accepted"], imported["rows_rejected"]) == (1, 1)
    again = json.loads(siyu(home, "import", "orders", str(orders), *mapping, "--json").stdout)
    assert (again["rows_accepted"], again["rows_duplicate"]) == (0, 1)
    assert again["already_imported"] is True
    refused = siyu(home, "demo", "--fresh", "--users", "100", check=False)
    assert refused.returncode != 0 and "stop it before --fresh" in refused.stderr
    second = siyu(home, "serve", check=False)
    assert second.returncode != 0 and "already serving" in second.stderr
