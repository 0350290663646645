"""Shared fixtures: settings on a temporary SIYU_HOME and a live server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from siyu.api.app import create_app
from siyu.config import Settings
from siyu.ingest.sources import Source
from siyu.runtime import Runtime
from siyu.storage import Warehouse
from tests.conformance import BackendPair


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A fresh data directory; bodies parse in-process (test_parser_pool covers the pool)."""
    return Settings(home=tmp_path / "siyu-home", parse_workers=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A real uvicorn server on 127.0.0.1 over a fresh data directory."""

    url: str
    runtime: Runtime
    sources: dict[str, Source]

    def key(self, source_id: str = "web") -> str:
        return self.sources[source_id].write_key

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Read the server's warehouse directly (same process), for assertions."""
        return self.runtime.warehouse.cursor().execute(sql).fetchall()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    runtime = Runtime.open(settings)
    sources = {
        "web": runtime.sources.add("web", carrier="web"),
        "miniprogram": runtime.sources.add(
            "miniprogram", carrier="mp", app_id="wx0000000000000001", project="default"
        ),
        "app": runtime.sources.add("app", carrier="app"),
        "server": runtime.sources.add("server", carrier="server"),
    }
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        raise RuntimeError("the test server did not start")
    try:
        yield LiveServer(url, runtime, sources)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        runtime.warehouse.close()


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session for the whole run (starting one takes seconds)."""
    from siyu.storage.spark import spark_session

    session = spark_session(master="local[2]", app_name="siyu-tests")
    yield session
    session.stop()


@pytest.fixture
def backend_pair(spark: object, tmp_path: Path) -> Callable[[Warehouse], BackendPair]:
    """Build a `BackendPair` (DuckDB and Spark) over a warehouse's tables."""
    counter = iter(range(1_000_000))

    def make(warehouse: Warehouse) -> BackendPair:
        return BackendPair(warehouse, spark, tmp_path / f"lake-{next(counter)}")

    return make
