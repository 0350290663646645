"""Local days for the models: "the last N days" boundaries and day numbers.

A model evaluated for ``today`` (a local date in ``tz``) sees records before the end of
that day only. "The last N days" are today and the N - 1 days before it; day numbers
count local days since 1970-01-01, so ages are integer differences the same on every
engine.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

import ibis
import ibis.expr.types as ir

from siyu.identity.profiles import zone_offsets
from siyu.pipeline.daily import local_day
from siyu.segments.dialect import utc_midnight

_EPOCH: Final = date(1970, 1, 1)


def day_number(day: date) -> int:
    """Local days since 1970-01-01.

    Example:
        >>> day_number(date(1970, 1, 3))
        2
    """
    return (day - _EPOCH).days


def end_of(today: date, tz: str) -> datetime:
    """The UTC instant (naive) at which local ``today`` ends: records at or after it are
    in the future of the evaluation."""
    return utc_midnight(today + timedelta(days=1), tz)


def last_days_start(today: date, days: int, tz: str) -> datetime:
    """The UTC instant at which "the last ``days`` days" (today is day 1) begin.

    Example:
        >>> last_days_start(date(2024, 3, 10), 7, "Asia/Shanghai")
        datetime.datetime(2024, 3, 3, 16, 0)
    """
    return utc_midnight(today - timedelta(days=days - 1), tz)


def day_of(ts: ir.TimestampValue, tz: str) -> ir.IntegerValue:
    """The local day number of a UTC timestamp column."""
    return local_day(ts, zone_offsets(tz))


def date_of(day: ir.IntegerValue) -> ir.DateValue:
    """The local date of a day number column."""
    result: ir.DateValue = ibis.literal(_EPOCH) + day.as_interval("D")
    return result
