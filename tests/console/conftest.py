"""A live `siyu serve` on demo data, and Debian's chromium driven by Playwright.

The server runs as its own process (NiceGUI keeps one UI per process) over a demo
generated once per session; users of each role are added with `siyu users add`.
Screenshots go to ``artifacts/console/``. The component tests (NiceGUI's simulated
user, no browser) serve the pages in-process from `small_demo`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from siyu.runtime import Runtime
from tests.conftest import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
PASSWORD = "console-test-password"


@dataclass
class Console:
    url: str
    home: Path
    admin_password: str
    admin_token: str

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = httpx.request(
            method,
            f"{self.url}/admin/v1{path}",
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=120,
            **kwargs,
        )
        answer.raise_for_status()
        kind = answer.headers.get("content-type", "")
        return answer.json() if kind.startswith("application/json") else answer.text


def _siyu(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "siyu", *args],
        env=env,
        input=stdin,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    home = Path(tmp_path_factory.mktemp("console-home"))
    env = {**os.environ, "SIYU_HOME": str(home), "SIYU_PARSE_WORKERS": "0"}
    demo = json.loads(_siyu(env, "demo", "--users", "3000", "--days", "60", "--json"))
    admin_password = demo["first_admin"]["password"]
    for role in ("operator", "analyst"):
        _siyu(env, "users", "add", role, "--role", role, "--password-stdin", stdin=PASSWORD)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "siyu", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"siyu serve did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
    token = json.loads((home / "server.json").read_text())["admin_token"]
    try:
        yield Console(url, home, admin_password, token)
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module: sync Playwright keeps an event loop running in this
    thread, which the async component tests need free."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is missing: run scripts/setup-browser.sh (make test does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


def sign_in(browser: Any, console: Console, username: str, password: str) -> Any:
    """A new browser page signed in as ``username`` (Chinese, 1440 px wide)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{console.url}/console/")
    page.wait_for_url("**/console/login**")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{console.url}/console/")
    return page


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class Warehoused:
    """A runtime over a small demo warehouse in this process and session tokens of an
    admin and an analyst: what the component tests serve the console pages from."""

    runtime: Runtime
    admin_token: str
    analyst_token: str


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehoused]:
    """400 demo persons over 45 days up to today: identities resolved, segments computed
    (what `siyu demo` does, in-process); an admin and an analyst who read English."""
    from siyu.accounts import service as accounts
    from siyu.config import Settings
    from siyu.demo.load import run_demo_job
    from siyu.progress import no_progress

    home = Path(tmp_path_factory.mktemp("components-home"))
    settings = Settings(home=home, parse_workers=0)
    runtime = Runtime.open(settings)
    run_demo_job(runtime, {"users": 400, "days": 45, "seed": 7}, no_progress)
    tokens = {}
    for role in ("admin", "analyst"):
        accounts.add_user(runtime.warehouse, role, role=role, password=PASSWORD, language="en")
        tokens[role] = accounts.sign_in(settings, runtime.warehouse, role, PASSWORD)
    try:
        yield Warehoused(runtime, tokens["admin"], tokens["analyst"])
    finally:
        runtime.close()
