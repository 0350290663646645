"""Parts every analysis request shares: windows, date ranges, segment filters, breakdowns.

Requests are pydantic models (``extra="forbid"``); `siyu.analytics.service` turns their
validation errors into `InvalidRequest` naming the field. The text forms here are what
the CLI flags and the API accept alike: windows ``90s``, ``30m``, ``12h``, ``7d``,
``2w``, ``3mo``; breakdowns ``channel``, ``lifecycle``, ``segment:a,b``,
``property:city``, ``event:plan``, ``carrier``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from siyu.analytics.exceptions import InvalidRequest

#: Seconds per window unit; a month is 30 days (a window is a duration, not a calendar).
WINDOW_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "mo": 2_592_000}
_WINDOW: Final = re.compile(r"^\s*(\d+)\s*(mo|s|m|h|d|w)?\s*$")
#: Longest window accepted (a year): longer ones are almost always a typo.
MAX_WINDOW_SECONDS: Final = 366 * 86_400
#: Most distinct values a breakdown may have; more make an unreadable chart.
MAX_BREAKDOWN_VALUES: Final = 50
#: Label of persons or events without a value for the breakdown.
NO_VALUE: Final = "(none)"

#: Person-level breakdowns read from the sets `siyu segments compute` materialised.
SET_BREAKDOWNS: Final = {
    "channel": "channel:",
    "lifecycle": "lifecycle:",
    "rfm": "rfm:",
    "value_tier": "value:",
    "role": "role:",
}
#: Breakdowns read from the event itself (the first step, the cohort's start event).
EVENT_BREAKDOWNS: Final = ("carrier", "event:", "app_id", "source_id")


def parse_window(value: Any, field: str = "window") -> int:
    """A window as seconds: an integer (seconds) or text such as ``7d``.

    Example:
        >>> parse_window("7d"), parse_window("90s"), parse_window(3600)
        (604800, 90, 3600)
    """
    if isinstance(value, bool):
        raise InvalidRequest(field, f"expected a duration such as 7d, got {value!r}")
    if isinstance(value, int):
        seconds = value
    else:
        match = _WINDOW.match(str(value))
        if not match:
            raise InvalidRequest(
                field,
                f"{value!r} is not a duration; write a number and a unit: "
                "90s, 30m, 12h, 7d, 2w or 3mo",
            )
        seconds = int(match.group(1)) * WINDOW_UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise InvalidRequest(field, f"the window must be longer than 0 seconds, got {value!r}")
    if seconds > MAX_WINDOW_SECONDS:
        raise InvalidRequest(field, f"{value!r} is longer than a year; use at most 366d")
    return seconds


@dataclass(frozen=True)
class Breakdown:
    """A parsed breakdown: ``kind`` is a key of `SET_BREAKDOWNS`, ``segment``,
    ``property`` (a profile property), ``event`` (an event property), ``carrier``,
    ``app_id`` or ``source_id``; ``arg`` the property name or the segment keys."""

    kind: str
    arg: tuple[str, ...] = ()

    @property
    def per_event(self) -> bool:
        return self.kind in ("carrier", "event", "app_id", "source_id")

    def label(self) -> str:
        return f"{self.kind}:{','.join(self.arg)}" if self.arg else self.kind


def parse_breakdown(value: str | None, field: str = "by") -> Breakdown | None:
    """``channel`` / ``segment:a,b`` / ``property:city`` ... as a `Breakdown`."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    kind, sep, arg = text.partition(":")
    kind = kind.strip()
    if kind in SET_BREAKDOWNS or kind in ("carrier", "app_id", "source_id"):
        if sep:
            raise InvalidRequest(field, f"{kind!r} takes no argument, got {text!r}")
        return Breakdown(kind)
    if kind in ("segment", "property", "event"):
        names = tuple(a.strip() for a in arg.split(",") if a.strip())
        if not names:
            raise InvalidRequest(
                field, f"{kind!r} needs a name after the colon, e.g. {kind}:{_EXAMPLE[kind]}"
            )
        if kind != "segment" and len(names) != 1:
            raise InvalidRequest(field, f"{kind!r} takes one property name, got {arg!r}")
        return Breakdown(kind, names)
    choices = ", ".join([*SET_BREAKDOWNS, "carrier", "app_id", "source_id"])
    raise InvalidRequest(
        field,
        f"unknown breakdown {text!r}; use one of {choices}, segment:KEY[,KEY], "
        "property:NAME (a person property) or event:NAME (an event property)",
    )


_EXAMPLE: Final = {"segment": "high_value", "property": "city", "event": "plan"}


class AnalysisRequest(BaseModel):
    """Fields most analyses take: the local date range and a segment filter.

    ``date_from`` / ``date_to`` are local days in the project time zone, both included
    (JSON keys ``from`` and ``to``); ``segment`` keeps persons currently in that set
    (any key of ``siyu segments sets``).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")
    segment: str | None = None

    @model_validator(mode="after")
    def _range(self) -> AnalysisRequest:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"from ({self.date_from}) is after to ({self.date_to}); swap them")
        return self
