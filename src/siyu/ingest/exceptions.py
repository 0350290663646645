"""Errors raised while taking data in.

`RecordRejected` concerns one record: it is quarantined and its batch goes on.
`RequestRejected` concerns a whole request (bad encoding, too large, bad key): nothing in it
is stored and the client gets the protocol's own error status.
"""

from __future__ import annotations

from siyu.exceptions import SiyuError


class IngestError(SiyuError):
    """Base class for ingestion errors."""


class RecordRejected(IngestError):
    """One record is invalid; the reason says which field and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __reduce__(self) -> tuple[type[RecordRejected], tuple[str]]:
        return (type(self), (self.reason,))


class RequestRejected(IngestError):
    """A whole request is unusable.

    ``kind`` is one of: ``malformed``, ``too_large``, ``unsupported_media_type``,
    ``unauthorized``. The API layer maps it to the protocol's status code.
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason

    def __reduce__(self) -> tuple[type[RequestRejected], tuple[str, str]]:
        # Raised in parser worker processes and re-raised here: keep both fields.
        return (type(self), (self.kind, self.reason))


class ImportFailed(IngestError):
    """An import file cannot be read at all (as opposed to rows being rejected)."""
