"""Errors of the segments package; each says what was wrong and how to fix it."""

from __future__ import annotations

from siyu.exceptions import SiyuError


class SegmentError(SiyuError):
    """Root of segment and tag errors."""


class InvalidDefinition(SegmentError):
    """A segment, tag or model definition that cannot be used; the message names the node.

    ``path`` is where in the definition the problem is, e.g. ``rule.all[2].event``.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.detail = message
        super().__init__(f"{path}: {message}" if path else message)


class SegmentNotFound(SegmentError):
    """No segment or tag has the key asked for."""


class SyncError(SegmentError):
    """Pushing a segment to WeCom or an official account failed."""


class InvalidTagName(SegmentError):
    """A manual tag name that is empty, too long or holds control characters."""


class InvalidSetKey(SegmentError):
    """A set key, segment key or snapshot name siyu cannot store."""


class TagImportError(SegmentError):
    """A tag CSV that cannot be read at all (not one bad row: those are reported)."""


class SyncAuthFailed(SyncError):
    """WeChat or WeCom refused the credentials; nothing was pushed. Terminal: fix settings."""


class MembershipsOutOfOrder(SegmentError):
    """Memberships applied at an instant earlier than the set's last apply.

    The store no longer raises it: such an instant is moved up to the last apply.
    """
