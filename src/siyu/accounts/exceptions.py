"""Errors of console accounts; each says what was wrong and how to fix it."""

from __future__ import annotations

from siyu.exceptions import SiyuError


class AccountError(SiyuError):
    """Root of account errors."""


class InvalidAccount(AccountError):
    """A username, password, role or language that cannot be used."""


class AccountExists(AccountError):
    """A user with that name already exists."""


class AccountNotFound(AccountError):
    """No user has that name."""


class SignInFailed(AccountError):
    """Wrong name or password, a disabled user or a locked one; the message says which
    an operator may know (never whether the name exists)."""


class Forbidden(AccountError):
    """The signed-in user's role does not allow the action."""
