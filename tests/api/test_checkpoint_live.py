"""``POST /admin/v1/checkpoint`` on a live server."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from siyu.config import Settings
from tests.api.test_roles import client_as
from tests.conftest import LiveServer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The collector never checkpoints on its own here (idle for ten minutes first), so
    the log still holds the writes when the test asks for a checkpoint."""
    return Settings(home=tmp_path / "siyu-home", parse_workers=0, checkpoint_idle_ms=600_000)


def test_checkpoint_writes_the_log_into_the_file(live_server: LiveServer) -> None:
    """``POST /admin/v1/checkpoint`` leaves DuckDB's log empty, the resolver's writes
    included: what an operator runs before copying the database file."""
    body = {
        "writeKey": live_server.key(),
        "batch": [
            {"type": "identify", "userId": f"m{i}", "anonymousId": f"a{i}", "messageId": f"c-{i}"}
            for i in range(50)
        ],
    }
    assert httpx.post(f"{live_server.url}/v1/batch", json=body).json()["accepted"] == 50
    wal = live_server.runtime.settings.database_path.with_name(
        live_server.runtime.settings.database_path.name + ".wal"
    )
    with client_as(live_server, "analyst") as client:
        deadline = time.time() + 60
        while client.get("/admin/v1/identity/status").json()["pending_records"]:
            assert time.time() < deadline
            time.sleep(0.1)
        assert client.post("/admin/v1/checkpoint").status_code == 403
    assert wal.exists() and wal.stat().st_size > 0
    with client_as(live_server, "operator") as client:
        answer = client.post("/admin/v1/checkpoint")
    assert answer.status_code == 200, answer.text
    assert answer.json()["checkpointed"] is True
    assert not wal.exists() or wal.stat().st_size == 0
    (persons,) = live_server.query("SELECT count(DISTINCT person_id) FROM identities")[0]
    assert persons == 50
