"""Errors of the identity package; each says what was wrong and how to fix it."""

from __future__ import annotations

from siyu.exceptions import SiyuError


class IdentityError(SiyuError):
    """Root of identity errors."""


class InvalidIdentity(IdentityError):
    """A ``type:value`` reference or an identity rule that cannot be used."""


class PersonNotFound(IdentityError):
    """No person holds the identity asked for."""


class ConflictNotFound(IdentityError):
    """No open conflict matches the reference given."""
