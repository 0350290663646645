"""Time every console page on a live `siyu serve` over the demo, in Debian's chromium.

Generates the demo into a temporary SIYU_HOME (as `siyu demo` does; ``--home`` reuses a
directory that already holds one), then per run starts a fresh server and measures

* ``api_first`` / ``api_repeat``: ``POST /admin/v1/analytics/<name>`` (and the listing
  behind pages without an analysis) the first time after start and once more;
* ``page_first`` / ``page_repeat``: on a second fresh server, a signed-in admin opens each
  page (``goto`` until its charts or tables are drawn), then opens it again.

Prints one JSON object with the median of the runs per page and per analysis.

Example:
    uv run python benchmarks/bench_console.py --users 50000 --days 90 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from siyu.config import Settings

PASSWORD = "bench-console-password"
#: Page, path, and what must be on screen for its content to count as drawn: a text the
#: page writes only with its data, and how many charts (canvas) it draws.
PAGES: tuple[tuple[str, str, str, int], ...] = (
    ("overview", "/console/", "次日留存", 6),
    ("persons", "/console/persons", "按任意标识查找用户", 0),
    ("segments", "/console/segments", "cart-no-order", 0),
    ("layers", "/console/layers", "RFM 八类用户", 4),
    ("funnels", "/console/funnels", "总转化率", 2),
    ("retention", "/console/retention", "留存热力图", 2),
    ("referral", "/console/referral", "核心邀请人 KOC", 1),
    ("attribution", "/console/attribution", "成本与回报", 1),
    ("experiments", "/console/experiments", "还没有实验", 0),
    ("churn", "/console/churn", "最需要挽回的复购用户", 2),
    ("sources", "/console/sources", "写入密钥", 0),
)


def _analyses(last: date) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    """What each page asks the server for, as API calls: name -> (method, path, body)."""
    first = last - timedelta(days=29)
    return {
        "overview": ("POST", "/analytics/overview", {"from": str(first), "to": str(last)}),
        "layers": ("POST", "/analytics/layers", {"days": 90}),
        "lifecycle": ("POST", "/analytics/lifecycle", {"period": "week"}),
        "funnel": (
            "POST",
            "/analytics/funnel",
            {
                "steps": ["view_item", "add_to_cart", "checkout", "order_paid"],
                "window": "7d",
                "mode": "ordered",
                "trend": "day",
            },
        ),
        "retention": (
            "POST",
            "/analytics/retention",
            {"cohort": "first_seen", "period": "day", "periods": 14, "by": "carrier"},
        ),
        "referral": ("POST", "/analytics/referral", {}),
        "attribution": ("POST", "/analytics/attribution", {}),
        "clv": ("POST", "/analytics/clv", {"top": 20}),
        "experiment.list": ("POST", "/analytics/experiment.list", {}),
        "segments": ("GET", "/segments", None),
        "status": ("GET", "/status", None),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _siyu(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "siyu", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"siyu {' '.join(args)} failed: {done.stderr}")
    return done.stdout


@contextmanager
def serve(env: dict[str, str], home: Path, port: int) -> Iterator[tuple[str, str]]:
    """A fresh `siyu serve`; yields its URL and admin token."""
    process = subprocess.Popen(
        [sys.executable, "-m", "siyu", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("siyu serve did not start")
        token = json.loads((home / "server.json").read_text())["admin_token"]
        yield url, token
    finally:
        process.terminate()
        process.wait(timeout=120)


def time_api(url: str, token: str, calls: dict[str, Any]) -> dict[str, float]:
    seconds: dict[str, float] = {}
    with httpx.Client(
        base_url=f"{url}/admin/v1", headers={"Authorization": f"Bearer {token}"}, timeout=600
    ) as client:
        for name, (method, path, body) in calls.items():
            started = time.perf_counter()
            answer = client.request(method, path, json=body)
            seconds[name] = round(time.perf_counter() - started, 3)
            if answer.status_code >= 400:
                print(f"{name}: {answer.status_code} {answer.text[:200]}", file=sys.stderr)
    return seconds


def time_pages(url: str, browser: Any) -> tuple[dict[str, float], dict[str, float]]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(120_000)
    # Signed in onto the persons page: it asks nothing, so every page's first open stays
    # the first time the server answers it.
    page.goto(f"{url}/console/login?next=/console/persons")
    page.locator("input[name=username]").fill("bench")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{url}/console/persons")
    first: dict[str, float] = {}
    repeat: dict[str, float] = {}
    for name, path, text, charts in PAGES:
        for into in (first, repeat):
            started = time.perf_counter()
            answer = page.goto(f"{url}{path}")
            if answer is None or answer.status == 404:
                break
            try:
                page.get_by_text(text).first.wait_for()
                if charts:
                    page.wait_for_function(
                        f"document.querySelectorAll('canvas').length >= {charts}", polling=50
                    )
            except PlaywrightTimeout:
                print(f"{name}: not drawn within 120 s", file=sys.stderr)
                break
            into[name] = round(time.perf_counter() - started, 3)
            print(f"{name} {'first' if into is first else 'repeat'}: {into[name]}", file=sys.stderr)
    context.close()
    return first, repeat


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    names = [n for n in runs[0] if all(n in r for r in runs)]
    return {n: round(statistics.median(r[n] for r in runs), 3) for n in names}


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--home", type=Path, help="reuse (or fill) this data directory")
    args = parser.parse_args(argv)
    scratch = None if args.home else Path(tempfile.mkdtemp(prefix="bench-console-"))
    home = args.home or scratch
    assert home is not None
    env = {**os.environ, "SIYU_HOME": str(home), "SIYU_PARSE_WORKERS": "0"}
    try:
        demo_seconds = None
        if not (home / "server.json").exists() and not (home / "siyu.duckdb").exists():
            started = time.perf_counter()
            _siyu(env, "demo", "--users", str(args.users), "--days", str(args.days), "--json")
            demo_seconds = round(time.perf_counter() - started, 1)
        users = _siyu(env, "users", "list", "--json")
        if '"bench"' not in users:
            _siyu(
                env, "users", "add", "bench", "--role", "admin", "--password-stdin", stdin=PASSWORD
            )
        port = free_port()
        with serve(env, home, port) as (url, token):
            # The churn page needs a CLV fit; the demo has none.
            last = datetime.now(Settings(home=home).tz).date() - timedelta(days=1)
            with httpx.Client(
                base_url=f"{url}/admin/v1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=600,
            ) as client:
                fit = client.post(
                    "/analytics/clv.fit", json={"until": str(last), "unit": "week"}
                ).json()
                client.post("/analytics/clv.score", json={"fit_id": fit["fit_id"]})
        calls = _analyses(last)
        api_first, api_repeat, page_first, page_repeat = [], [], [], []
        executable = shutil.which("chromium")
        if executable is None:
            raise SystemExit("chromium is missing: run scripts/setup-browser.sh")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            for _ in range(args.runs):
                with serve(env, home, port) as (url, token):
                    api_first.append(time_api(url, token, calls))
                    api_repeat.append(time_api(url, token, calls))
                with serve(env, home, port) as (url, _token):
                    first, repeat = time_pages(url, browser)
                    page_first.append(first)
                    page_repeat.append(repeat)
            browser.close()
        result = {
            "users": args.users,
            "days": args.days,
            "runs": args.runs,
            "demo_seconds": demo_seconds,
            "load_average": os.getloadavg()[0],
            "page_first": median(page_first),
            "page_repeat": median(page_repeat),
            "api_first": median(api_first),
            "api_repeat": median(api_repeat),
        }
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
