"""DuckDB side of console users and their sign-in sessions (tables of migration 8).

Plain reads and writes; the rules (password hashing, lock-out, expiry) live in
`siyu.accounts`. Write functions expect to run inside `Warehouse.transaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import duckdb

_USER_COLUMNS: Final = (
    "username, display_name, role, password_hash, created_at, created_by, disabled, "
    "failed_logins, locked_until, last_login_at, language"
)


@dataclass(frozen=True)
class StoredUser:
    username: str
    display_name: str
    role: str
    password_hash: str
    created_at: datetime
    created_by: str
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    language: str


def _user(row: tuple[Any, ...]) -> StoredUser:
    return StoredUser(*row)


def get_user(cur: duckdb.DuckDBPyConnection, username: str) -> StoredUser | None:
    rows = cur.execute(
        f"SELECT {_USER_COLUMNS} FROM console_users WHERE username = ?", [username]
    ).fetchall()
    return _user(rows[0]) if rows else None


def list_users(cur: duckdb.DuckDBPyConnection) -> list[StoredUser]:
    rows = cur.execute(f"SELECT {_USER_COLUMNS} FROM console_users ORDER BY username").fetchall()
    return [_user(r) for r in rows]


def count_admins(cur: duckdb.DuckDBPyConnection) -> int:
    rows = cur.execute(
        "SELECT count(*) FROM console_users WHERE role = 'admin' AND NOT disabled"
    ).fetchall()
    return int(rows[0][0])


def insert_user(
    cur: duckdb.DuckDBPyConnection,
    *,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    at: datetime,
    by: str,
    language: str,
) -> None:
    cur.execute(
        "INSERT INTO console_users (username, display_name, role, password_hash, created_at,"
        " created_by, language) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [username, display_name, role, password_hash, at, by, language],
    )


def update_user(cur: duckdb.DuckDBPyConnection, username: str, **fields: Any) -> None:
    """Set the given columns (names checked against the table's own) of one user."""
    allowed = set(_USER_COLUMNS.replace(" ", "").split(","))
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not console_users columns: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    cur.execute(
        f"UPDATE console_users SET {assignments} WHERE username = ?",
        [*fields.values(), username],
    )


def insert_session(
    cur: duckdb.DuckDBPyConnection,
    token_hash: str,
    username: str,
    at: datetime,
    expires_at: datetime,
) -> None:
    cur.execute(
        "INSERT INTO console_sessions VALUES (?, ?, ?, ?, ?)",
        [token_hash, username, at, expires_at, at],
    )


def session_user(
    cur: duckdb.DuckDBPyConnection, token_hash: str, now: datetime
) -> StoredUser | None:
    """The enabled user of an unexpired session, or None."""
    columns = ", ".join(f"u.{c.strip()}" for c in _USER_COLUMNS.split(","))
    rows = cur.execute(
        f"SELECT {columns} FROM console_sessions s JOIN console_users u USING (username)"
        " WHERE s.token_hash = ? AND s.expires_at > ? AND NOT u.disabled",
        [token_hash, now],
    ).fetchall()
    return _user(rows[0]) if rows else None


def touch_session(cur: duckdb.DuckDBPyConnection, token_hash: str, at: datetime) -> None:
    cur.execute(
        "UPDATE console_sessions SET last_seen_at = ? WHERE token_hash = ?", [at, token_hash]
    )


def delete_session(cur: duckdb.DuckDBPyConnection, token_hash: str) -> None:
    cur.execute("DELETE FROM console_sessions WHERE token_hash = ?", [token_hash])


def delete_user_sessions(cur: duckdb.DuckDBPyConnection, username: str) -> None:
    cur.execute("DELETE FROM console_sessions WHERE username = ?", [username])


def delete_expired_sessions(cur: duckdb.DuckDBPyConnection, now: datetime) -> None:
    cur.execute("DELETE FROM console_sessions WHERE expires_at <= ?", [now])
