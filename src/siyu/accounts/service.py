"""Users, sign-in, sessions and role checks over `siyu.storage.account_store`.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
recommended profile). Sessions are random 256-bit tokens; the database keeps only their
SHA-256, so a copied database file signs nobody in. After `Settings.login_max_failures`
consecutive failures a user is locked for `Settings.login_lock_minutes`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from siyu.accounts.exceptions import (
    AccountExists,
    AccountNotFound,
    Forbidden,
    InvalidAccount,
    SignInFailed,
)
from siyu.storage import account_store as store

if TYPE_CHECKING:
    from siyu.config import Settings
    from siyu.storage import Warehouse

#: Roles from least to most able; a role may do what the roles before it may.
ROLES: Final = ("analyst", "operator", "admin")
LANGUAGES: Final = ("zh-CN", "en")
MIN_PASSWORD: Final = 10
_USERNAME: Final = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_HASHER: Final = PasswordHasher()
#: Verifying against this keeps an unknown name as slow as a wrong password.
_DUMMY_HASH: Final = _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Principal:
    """Who is acting: a console user, or the CLI with the server's admin token."""

    username: str
    role: str
    display_name: str = ""
    language: str = "zh-CN"

    def may(self, role: str) -> bool:
        """Whether this principal's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)

    @property
    def reveals_pii(self) -> bool:
        """Only admins see phone numbers and emails unmasked."""
        return self.role == "admin"


CLI_PRINCIPAL: Final = Principal("cli", "admin", "CLI")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def require(principal: Principal | None, role: str, action: str) -> Principal:
    """``principal`` if it may act as ``role``; else `Forbidden` naming the action."""
    if principal is None:
        raise Forbidden(f"sign in to {action}")
    if not principal.may(role):
        raise Forbidden(
            f"{action} needs the {role} role; you are signed in as {principal.role} "
            "(ask an admin to change your role)"
        )
    return principal


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidAccount(f"the password must have at least {MIN_PASSWORD} characters")
    if password.strip() != password or not password.isprintable():
        raise InvalidAccount(
            "the password may not start or end with spaces or hold control characters"
        )
    return password


def _check_username(username: str) -> str:
    name = unicodedata.normalize("NFKC", username).strip()
    if not _USERNAME.match(name):
        raise InvalidAccount(
            f"{username!r} is not a usable user name: 2-64 letters, digits, '_', '.', '@' or '-'"
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidAccount(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    return role


def add_user(
    warehouse: Warehouse,
    username: str,
    *,
    role: str,
    password: str | None = None,
    display_name: str | None = None,
    language: str = "zh-CN",
    by: str = "cli",
) -> tuple[dict[str, Any], str]:
    """Create a user; returns (the user, the password). Without ``password`` a random
    one is made: show it once, it is not stored anywhere."""
    name = _check_username(username)
    _check_role(role)
    if language not in LANGUAGES:
        raise InvalidAccount(f"unknown language {language!r}; choose {' or '.join(LANGUAGES)}")
    secret = check_password(password) if password is not None else _new_password()
    with warehouse.transaction() as cur:
        if store.get_user(cur, name) is not None:
            raise AccountExists(
                f"user {name!r} already exists; `siyu users passwd` resets a password"
            )
        store.insert_user(
            cur,
            username=name,
            display_name=(display_name or name).strip()[:64] or name,
            role=role,
            password_hash=_HASHER.hash(secret),
            at=_now(),
            by=by,
            language=language,
        )
        created = store.get_user(cur, name)
    assert created is not None
    return public(created), secret


def _new_password() -> str:
    # 16 characters from a 57-symbol alphabet without look-alikes: ~93 bits.
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def public(user: store.StoredUser) -> dict[str, Any]:
    """What listings show of a user (never the hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "disabled": user.disabled,
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "created_at": user.created_at.isoformat(),
        "language": user.language,
    }


def list_users(warehouse: Warehouse) -> list[dict[str, Any]]:
    return [public(u) for u in store.list_users(warehouse.cursor())]


def has_users(warehouse: Warehouse) -> bool:
    return bool(store.list_users(warehouse.cursor()))


def change_user(
    warehouse: Warehouse,
    username: str,
    *,
    role: str | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    unlock: bool = False,
    language: str | None = None,
) -> dict[str, Any]:
    """Change a user's role, state, password or language; sessions end on a password
    change, a role change or when disabled."""
    changes: dict[str, Any] = {}
    if role is not None:
        changes["role"] = _check_role(role)
    if disabled is not None:
        changes["disabled"] = disabled
    if password is not None:
        changes["password_hash"] = _HASHER.hash(check_password(password))
    if unlock:
        changes.update(failed_logins=0, locked_until=None)
    if language is not None:
        if language not in LANGUAGES:
            raise InvalidAccount(f"unknown language {language!r}; choose {' or '.join(LANGUAGES)}")
        changes["language"] = language
    with warehouse.transaction() as cur:
        user = store.get_user(cur, username)
        if user is None:
            raise AccountNotFound(f"no user {username!r}; `siyu users list` shows them")
        demotes = changes.get("role", user.role) != "admin" or changes.get("disabled", False)
        if user.role == "admin" and not user.disabled and demotes and store.count_admins(cur) <= 1:
            raise InvalidAccount(
                f"{username!r} is the last admin; add another admin before changing it"
            )
        if changes:
            store.update_user(cur, username, **changes)
        if {"role", "disabled", "password_hash"} & set(changes):
            store.delete_user_sessions(cur, username)
        changed = store.get_user(cur, username)
    assert changed is not None
    return public(changed)


def reset_password(
    warehouse: Warehouse, username: str, password: str | None = None
) -> tuple[dict[str, Any], str]:
    """Give a user a new password; returns (the user, the password). Without
    ``password`` a random one is made: show it once. The user's sessions end."""
    secret = check_password(password) if password is not None else _new_password()
    return change_user(warehouse, username, password=secret), secret


def current(warehouse: Warehouse, username: str) -> Principal | None:
    """The user as stored now (None when gone or disabled): a page open since before a
    role change must not keep acting with the old role."""
    user = store.get_user(warehouse.cursor(), username)
    if user is None or user.disabled:
        return None
    return Principal(user.username, user.role, user.display_name, user.language)


def sign_in(settings: Settings, warehouse: Warehouse, username: str, password: str) -> str:
    """A new session token for the user, or `SignInFailed` saying why (wrong name and
    wrong password read the same; a lock says until when and how to lift it)."""
    now = _now()
    problem: str | None = None
    token = secrets.token_urlsafe(32)
    # The failure count must be committed even though sign-in fails: decide inside the
    # transaction, raise after it.
    with warehouse.transaction() as cur:
        user = store.get_user(cur, username.strip())
        if user is None:
            _verify(_DUMMY_HASH, password)
            problem = "wrong user name or password"
        elif user.locked_until is not None and user.locked_until > now:
            problem = _lock_message(user.username, user.locked_until)
        elif not _verify(user.password_hash, password):
            failures = user.failed_logins + 1
            locked = None
            problem = "wrong user name or password"
            if failures >= settings.login_max_failures:
                locked = now + timedelta(minutes=settings.login_lock_minutes)
                failures = 0
                problem = _lock_message(user.username, locked)
            store.update_user(cur, user.username, failed_logins=failures, locked_until=locked)
        elif user.disabled:
            problem = "this user is disabled; ask an admin to enable it"
        else:
            store.update_user(
                cur, user.username, failed_logins=0, locked_until=None, last_login_at=now
            )
            store.delete_expired_sessions(cur, now)
            expires = now + timedelta(hours=settings.session_hours)
            store.insert_session(cur, _hash(token), user.username, now, expires)
    if problem is not None:
        raise SignInFailed(problem)
    return token


def _lock_message(username: str, until: datetime) -> str:
    return (
        f"too many failed sign-ins: locked until {until:%H:%M} UTC; wait, or ask an admin "
        f"to run `siyu users unlock {username}`"
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def principal_of(warehouse: Warehouse, token: str | None) -> Principal | None:
    """The signed-in user of a session token, or None (absent, unknown or expired)."""
    if not token:
        return None
    user = store.session_user(warehouse.cursor(), _hash(token), _now())
    if user is None:
        return None
    return Principal(user.username, user.role, user.display_name, user.language)


def sign_out(warehouse: Warehouse, token: str | None) -> None:
    if token:
        with warehouse.transaction() as cur:
            store.delete_session(cur, _hash(token))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
