"""Console users: argon2 hashes, sign-in, lock-out, sessions that expire, the last admin."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from siyu.accounts import service
from siyu.accounts.exceptions import AccountExists, Forbidden, InvalidAccount, SignInFailed
from siyu.config import Settings
from siyu.storage import Warehouse


@pytest.fixture
def wh() -> Warehouse:
    return Warehouse.in_memory()


@pytest.fixture
def conf(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, login_max_failures=3, login_lock_minutes=10, session_hours=1)


def test_passwords_are_hashed_and_generated_ones_are_strong(wh: Warehouse) -> None:
    user, password = service.add_user(wh, "li.lei", role="operator")
    assert len(password) == 16 and user["role"] == "operator"
    stored = wh.cursor().execute("SELECT password_hash FROM console_users").fetchall()[0][0]
    assert stored.startswith("$argon2id$") and password not in stored
    with pytest.raises(AccountExists):
        service.add_user(wh, "li.lei", role="analyst")
    for bad, words in [("x", "user name"), ("han mei", "user name")]:
        with pytest.raises(InvalidAccount, match=words):
            service.add_user(wh, bad, role="analyst")
    with pytest.raises(InvalidAccount, match="unknown role"):
        service.add_user(wh, "hanmei", role="boss")
    with pytest.raises(InvalidAccount, match="at least 10"):
        service.add_user(wh, "hanmei", role="analyst", password="short")


def test_sign_in_session_and_sign_out(wh: Warehouse, conf: Settings) -> None:
    service.add_user(wh, "ops", role="operator", password="correct horse 1")
    token = service.sign_in(conf, wh, "ops", "correct horse 1")
    who = service.principal_of(wh, token)
    assert who is not None and who.role == "operator" and who.may("analyst")
    assert not who.may("admin") and not who.reveals_pii
    stored = wh.cursor().execute("SELECT token_hash FROM console_sessions").fetchall()
    assert stored and token not in stored[0][0]
    service.sign_out(wh, token)
    assert service.principal_of(wh, token) is None
    with pytest.raises(SignInFailed, match="wrong user name or password"):
        service.sign_in(conf, wh, "nobody", "correct horse 1")


def test_sessions_expire(wh: Warehouse, conf: Settings) -> None:
    service.add_user(wh, "ops", role="operator", password="correct horse 1")
    token = service.sign_in(conf, wh, "ops", "correct horse 1")
    with wh.transaction() as cur:
        cur.execute("UPDATE console_sessions SET expires_at = expires_at - ?", [timedelta(hours=2)])
    assert service.principal_of(wh, token) is None


def test_lock_out_after_repeated_failures_and_unlock(wh: Warehouse, conf: Settings) -> None:
    service.add_user(wh, "ops", role="operator", password="correct horse 1")
    for _ in range(2):
        with pytest.raises(SignInFailed, match="wrong"):
            service.sign_in(conf, wh, "ops", "guess")
    with pytest.raises(SignInFailed, match=r"locked until .* `siyu users unlock ops`"):
        service.sign_in(conf, wh, "ops", "guess")
    # Locked: even the right password is refused until the lock ends or an admin lifts it.
    with pytest.raises(SignInFailed, match="locked"):
        service.sign_in(conf, wh, "ops", "correct horse 1")
    service.change_user(wh, "ops", unlock=True)
    assert service.sign_in(conf, wh, "ops", "correct horse 1")


def test_role_password_and_disable_end_sessions(wh: Warehouse, conf: Settings) -> None:
    service.add_user(wh, "boss", role="admin", password="correct horse 1")
    service.add_user(wh, "ops", role="operator", password="correct horse 2")
    token = service.sign_in(conf, wh, "ops", "correct horse 2")
    service.change_user(wh, "ops", role="analyst")
    assert service.principal_of(wh, token) is None
    token = service.sign_in(conf, wh, "ops", "correct horse 2")
    service.change_user(wh, "ops", disabled=True)
    assert service.principal_of(wh, token) is None
    with pytest.raises(SignInFailed, match="disabled"):
        service.sign_in(conf, wh, "ops", "correct horse 2")
    with pytest.raises(InvalidAccount, match="last admin"):
        service.change_user(wh, "boss", role="operator")


def test_require_names_the_missing_role() -> None:
    analyst = service.Principal("ana", "analyst")
    with pytest.raises(Forbidden, match="needs the operator role"):
        service.require(analyst, "operator", "saving a segment")
    with pytest.raises(Forbidden, match="sign in"):
        service.require(None, "analyst", "reading")
    assert service.require(service.CLI_PRINCIPAL, "admin", "x") is service.CLI_PRINCIPAL


def test_reset_password_ends_sessions_and_current_sees_changes(
    wh: Warehouse, conf: Settings
) -> None:
    service.add_user(wh, "ops", role="operator", password="correct horse 2")
    token = service.sign_in(conf, wh, "ops", "correct horse 2")
    user, generated = service.reset_password(wh, "ops")
    assert user["username"] == "ops" and len(generated) == 16
    assert service.principal_of(wh, token) is None
    assert service.sign_in(conf, wh, "ops", generated)
    _, chosen = service.reset_password(wh, "ops", "battery staple 3")
    assert chosen == "battery staple 3" and service.sign_in(conf, wh, "ops", chosen)
    with pytest.raises(InvalidAccount, match="at least 10"):
        service.reset_password(wh, "ops", "short")
    who = service.current(wh, "ops")
    assert who is not None and who.role == "operator"
    service.change_user(wh, "ops", role="analyst")
    assert service.current(wh, "ops") == service.Principal("ops", "analyst", "ops", "zh-CN")
    service.change_user(wh, "ops", disabled=True)
    assert service.current(wh, "ops") is None and service.current(wh, "nobody") is None
