"""Errors of the analytics package; each says what was wrong and how to fix it."""

from __future__ import annotations

from siyu.exceptions import SiyuError


class AnalyticsError(SiyuError):
    """Root of analytics errors."""


class InvalidRequest(AnalyticsError):
    """An analysis request that cannot be answered; ``field`` names the bad part.

    Example: ``InvalidRequest("steps[2].event", "no event 'chekout' has been received;
    did you mean checkout?")``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}" if field else message)


class UnknownAnalysis(AnalyticsError):
    """No analysis has the name asked for."""


class NotFound(AnalyticsError):
    """A named thing the request refers to (an experiment, a CLV fit) does not exist."""
