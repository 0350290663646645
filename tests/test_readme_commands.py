"""The README's `make demo`, run from a clean clone as a newcomer would (small sizes).

`make test` is what CI itself runs from a clean clone (`.ci/run`), so it is not nested here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_make_demo_from_a_clean_clone_serves_the_demo(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "SIYU_"))},
        "SIYU_PORT": str(port),
        "SIYU_PARSE_WORKERS": "1",
    }
    log = (tmp_path / "demo.log").open("w+")
    demo = subprocess.Popen(
        ["make", "demo", "DEMO_USERS=1500", "DEMO_DAYS=14"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 600
        healthy = False
        while time.time() < deadline and demo.poll() is None:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy:
                break
            time.sleep(1)
        log.seek(0)
        output = log.read()
        assert healthy, f"make demo did not reach a serving state:\n{output[-3000:]}"
        assert "demo loaded" in output and "1,500" in output
        assert "次日留存" in output  # the daily pipeline's retention table
        assert (clone / ".siyu" / "siyu.duckdb").exists()
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGINT)
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
        log.close()
