"""Acknowledged means durable; retried means stored once. Against a real `siyu serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow


@dataclass
class ServerProcess:
    home: Path
    url: str
    key: str
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        return {**os.environ, "SIYU_HOME": str(self.home)}


def _start(home: Path, key: str | None = None) -> ServerProcess:
    env = {**os.environ, "SIYU_HOME": str(home)}
    if key is None:
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "siyu",
                "sources",
                "add",
                "load",
                "--carrier",
                "server",
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = json.loads(made.stdout)["write_key"]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "siyu", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return ServerProcess(home, url, key, process)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(
        f"siyu serve did not start: {process.stderr.read() if process.stderr else ''!r}"
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = _start(tmp_path / "home")
    yield proc
    if proc.process.poll() is None:
        proc.process.terminate()
        proc.process.wait(timeout=30)


def _batch(key: str, prefix: str, size: int = 50) -> dict[str, object]:
    return {
        "writeKey": key,
        "batch": [
            {"type": "track", "event": "view_item", "userId": f"u{i}", "messageId": f"{prefix}-{i}"}
            for i in range(size)
        ],
    }


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _stored_ids(home: Path) -> set[str]:
    con = duckdb.connect(str(home / "siyu.duckdb"), read_only=True)
    try:
        return {row[0] for row in con.execute("SELECT event_id FROM events").fetchall()}
    finally:
        con.close()


def test_retry_storm_stores_each_event_once(server: ServerProcess) -> None:
    batches = [_batch(server.key, f"b{n}") for n in range(20)]
    sends = batches * 3

    def send(body: dict[str, object]) -> int:
        return httpx.post(f"{server.url}/v1/batch", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(send, sends))
    assert statuses == [200] * len(sends)
    server.process.terminate()
    server.process.wait(timeout=30)
    con = duckdb.connect(str(server.home / "siyu.duckdb"), read_only=True)
    total, distinct = con.execute(
        "SELECT count(*), count(DISTINCT event_id) FROM events"
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert total == distinct == 20 * 50


def test_kill_9_mid_load_loses_no_acknowledged_event(server: ServerProcess) -> None:
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        n = 0
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                body = _batch(server.key, f"w{worker}-{n}")
                try:
                    answer = client.post(f"{server.url}/v1/batch", json=body)
                except httpx.HTTPError:
                    return
                if answer.status_code == 200:
                    with lock:
                        acknowledged.update(m["messageId"] for m in body["batch"])  # type: ignore[attr-defined]
                n += 1

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.time() + 90
    while len(acknowledged) < 5_000 and time.time() < deadline:
        time.sleep(0.05)
    workers = _children(server.process.pid)
    assert workers, "the server should run a parser process"
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acknowledged) >= 5_000

    deadline = time.time() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "orphaned parser"

    missing = acknowledged - _stored_ids(server.home)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"

    # The restarted server finds the stale server.json, takes over and keeps collecting.
    again = _start(server.home, server.key)
    try:
        answer = httpx.post(f"{again.url}/v1/batch", json=_batch(server.key, "after"))
        assert answer.status_code == 200
    finally:
        again.process.terminate()
        again.process.wait(timeout=30)
    assert {f"after-{i}" for i in range(50)} <= _stored_ids(server.home)
