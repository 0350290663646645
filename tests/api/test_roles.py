"""Every admin route checks who calls: signed-out clients get 401, analysts cannot
change anything (403), operators cannot manage users or see personal data unmasked.

Routes are enumerated from the application itself, so a route added later is covered.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from siyu.accounts import service
from siyu.analytics import service as analytics
from siyu.api.access import READ_POSTS, required_role
from siyu.api.app import create_app
from tests.conftest import LiveServer

PASSWORD = "correct horse battery"
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def admin_routes() -> list[tuple[str, str]]:
    """(method, route path) of every /admin/v1 route of the application."""
    from siyu.config import Settings
    from siyu.runtime import Runtime
    from siyu.storage import Warehouse

    runtime = Runtime.open(Settings(parse_workers=0), warehouse=Warehouse.in_memory())
    app = create_app(runtime)
    with warnings.catch_warnings():
        # The collector mounts one function on several paths (duplicate operation ids).
        warnings.simplefilter("ignore", UserWarning)
        paths = app.openapi()["paths"]
    found = [
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/admin/v1")
        for method in operations
    ]
    runtime.warehouse.close()
    assert len(found) > 30, found
    return found


def concrete(path: str) -> str:
    """A route path with its parameters filled in."""
    return re.sub(r"\{[^}]+\}", "x", path)


@contextmanager
def client_as(server: LiveServer, role: str | None) -> Iterator[httpx.Client]:
    """A client signed in as a new user of ``role`` (None: signed out)."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        if role is not None:
            name = f"user-{role}"
            service.add_user(server.runtime.warehouse, name, role=role, password=PASSWORD)
            answer = client.post("/auth/sign-in", json={"username": name, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            assert answer.json()["role"] == role
        yield client


@pytest.fixture
def server(live_server: LiveServer) -> Iterator[LiveServer]:
    yield live_server


def test_signed_out_clients_get_401_everywhere(server: LiveServer) -> None:
    with client_as(server, None) as client:
        for method, path in admin_routes():
            answer = client.request(method, concrete(path), json={})
            assert answer.status_code == 401, (method, path, answer.text)
            assert "sign in" in answer.json()["detail"]
        bad = client.get("/admin/v1/status", headers={"Authorization": "Bearer wrong"})
        assert bad.status_code == 401


def test_analysts_change_nothing(server: LiveServer) -> None:
    before = server.query("SELECT count(*) FROM sources")
    with client_as(server, "analyst") as client:
        for method, path in admin_routes():
            if method not in MUTATING or path in READ_POSTS:
                continue
            answer = client.request(method, concrete(path), json={})
            assert answer.status_code == 403, (method, path, answer.text)
            assert "role" in answer.json()["detail"]
        # Analyses read; analytics operations that write are refused by name.
        writes = [n for n in analytics.OPERATIONS if analytics.changes(n)]
        for name in writes:
            answer = client.post(f"/admin/v1/analytics/{name}", json={})
            assert answer.status_code == 403, (name, answer.text)
        assert client.get("/admin/v1/status").status_code == 200
        assert client.get("/admin/v1/sources?reveal=true").status_code == 403
        # A read-only POST is let through to its own validation.
        estimate = client.post("/admin/v1/segments/estimate", json={"definition": {}})
        assert estimate.status_code == 422, estimate.text
    assert server.query("SELECT count(*) FROM sources") == before


def test_operators_cannot_manage_users_or_reveal(server: LiveServer) -> None:
    with client_as(server, "operator") as client:
        assert client.get("/admin/v1/users").status_code == 403
        new = {"username": "mallory", "role": "admin"}
        assert client.post("/admin/v1/users", json=new).status_code == 403
        assert client.get("/admin/v1/persons/phone:13800138000?reveal=true").status_code == 403
        assert client.get("/admin/v1/sources").status_code == 200
    with client_as(server, "admin") as client:
        made = client.post("/admin/v1/users", json={"username": "hanmei", "role": "analyst"})
        assert made.status_code == 201 and len(made.json()["password"]) == 16
        assert [u["username"] for u in client.get("/admin/v1/users").json()].count("hanmei") == 1


def test_sign_in_form_redirects_and_failures_say_why(server: LiveServer) -> None:
    service.add_user(server.runtime.warehouse, "ops", role="operator", password=PASSWORD)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ok = client.post(
            "/auth/sign-in", data={"username": "ops", "password": PASSWORD, "next": "//evil.com"}
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/console/"
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert client.get("/admin/v1/status").status_code == 200
        assert client.post("/auth/sign-out").status_code == 303
        assert client.get("/admin/v1/status").status_code == 401
        bad = client.post("/auth/sign-in", data={"username": "ops", "password": "nope"})
        assert bad.status_code == 303 and "error=" in bad.headers["location"]
        refused = client.post("/auth/sign-in", json={"username": "ops", "password": "nope"})
        assert refused.status_code == 401 and "wrong user name" in refused.json()["detail"]


def test_role_table() -> None:
    assert required_role("POST", "/admin/v1/analytics/{name}", False) == "analyst"
    assert required_role("GET", "/admin/v1/pipeline/daily", False) == "operator"
    assert required_role("POST", "/admin/v1/sources", False) == "admin"
