"""Funnel numbers: counts per level and time to convert (Ibis, over the per-person table
of `siyu.analytics.funnel_levels`), shaped in Python into chart-ready JSON.

Time to convert is measured per step ``k >= 2`` from step ``k-1`` along the chain each
person is counted by: the earliest event of their deepest step, reached from the latest
start (so the shortest chain in time), and for each earlier step the event of that chain.
Durations are whole seconds; the histogram's bins are about log-spaced, human-readable
edges (1s, 10s, 30s, 1m, 2m, 5m ... 1d, 2d, 3d, 7d ...) up to the window.

Example:
    >>> bin_edges(3600)
    [0, 1, 10, 30, 60, 120, 300, 600, 1800, 3600]
    >>> duration_text(5400)
    '1.5h'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, Final

import ibis
import ibis.expr.types as ir

from siyu.analytics.funnel_levels import path_columns
from siyu.analytics.funnel_steps import StepDef
from siyu.analytics.request import Breakdown
from siyu.segments.models.days import date_of, day_number

#: Trend periods: local days, weeks starting Monday, calendar months.
PERIODS: Final = ("day", "week", "month")
#: Histogram edges in seconds (bins end at the window).
NICE_EDGES: Final = (
    1, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200,
    86400, 172800, 259200, 604800, 1209600, 2592000, 5184000, 7776000, 15552000,
)  # fmt: skip
_EPOCH: Final = date(1970, 1, 1)
_UNITS: Final = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


@dataclass(frozen=True)
class Period:
    """A trend period, numbered from 1970: days, Monday weeks or calendar months."""

    unit: str

    def of_day(self, day: ir.IntegerValue) -> ir.IntegerValue:
        """The period number of a local day number column."""
        if self.unit == "day":
            return day
        if self.unit == "week":
            # 1970-01-01 was a Thursday: week 0 began on Monday 1969-12-29.
            week: ir.IntegerValue = ((day + 3) // 7).cast("int64")
            return week
        local = date_of(day)
        month: ir.IntegerValue = (local.year() * 12 + local.month() - 1).cast("int64")
        return month

    def number(self, day: date) -> int:
        if self.unit == "day":
            return day_number(day)
        if self.unit == "week":
            return (day_number(day) + 3) // 7
        return day.year * 12 + day.month - 1

    def first_day(self, number: int) -> date:
        if self.unit == "day":
            return _EPOCH + timedelta(days=number)
        if self.unit == "week":
            return _EPOCH + timedelta(days=7 * number - 3)
        return date(number // 12, number % 12 + 1, 1)

    def last_day(self, number: int) -> date:
        return self.first_day(number + 1) - timedelta(days=1)


def bin_edges(window: int) -> list[int]:
    """Histogram edges for durations 0 .. ``window`` seconds (the last bin is closed)."""
    return [0, *(e for e in NICE_EDGES if e < window), window]


def duration_text(seconds: float) -> str:
    """A short duration: ``45s``, ``5m``, ``1.5h``, ``7d``."""
    for unit, size in _UNITS:
        if seconds >= size or unit == "s":
            value = seconds / size
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text}{unit}"
    return f"{seconds}s"  # pragma: no cover - the loop always returns


def level_counts(
    table: ir.Table, key: str, n: int, *, limit: int | None = None
) -> dict[str, list[int]]:
    """``key`` value -> persons reaching steps 1 .. ``n`` (a row per person and value).

    With ``limit`` at most ``limit + 1`` values are read; more mean the breakdown is
    refused (the caller checks), and then every value is read to say how many there are.
    """
    keyed = table if key in table.columns else table.mutate(**{key: ibis.literal(key)})
    grouped = keyed.group_by(key).aggregate(
        **{f"s{k}": (keyed.level >= k).cast("int64").sum() for k in range(1, n + 1)}
    )
    rows = (grouped if limit is None else grouped.limit(limit + 1)).execute()
    if limit is not None and len(rows) > limit:
        return {str(v): [] for v in grouped.select(key).execute()[key]}
    return {
        str(row[key]): [int(row[f"s{k}"]) for k in range(1, n + 1)]
        for row in rows.to_dict("records")
    }


def time_to_convert(persons: ir.Table, n: int, window: int) -> dict[int, dict[str, Any]]:
    """Step -> ``persons``, ``median_seconds``, ``mean_seconds``, ``p90_seconds`` and the
    ``histogram`` of the time from the previous step."""
    paths = path_columns(n)
    parts = []
    for k in range(2, n + 1):
        reached = persons.filter(persons.level >= k)
        seconds = (
            reached[paths[k - 1]].epoch_seconds().floor()
            - reached[paths[k - 2]].epoch_seconds().floor()
        )
        parts.append(reached.select(step=ibis.literal(k, "int16"), d=seconds.cast("int64")))
    durations = parts[0].union(*parts[1:], distinct=False) if len(parts) > 1 else parts[0]
    edges = bin_edges(window)
    binned = durations.mutate(bin=durations.d.bucket(edges, closed="left", close_extreme=True))
    stats = binned.group_by("step").aggregate(
        persons=binned.count(),
        median=binned.d.median(),
        mean=binned.d.mean(),
        p90=binned.d.quantile(0.9),
        **{f"b{i}": (binned.bin == i).cast("int64").sum() for i in range(len(edges) - 1)},
    )
    found = {int(row["step"]): row for row in stats.execute().to_dict("records")}
    out: dict[int, dict[str, Any]] = {}
    for k in range(2, n + 1):
        row = found.get(k, {})
        out[k] = {
            "persons": int(row.get("persons", 0)),
            "median_seconds": _number(row.get("median")),
            "mean_seconds": _number(row.get("mean")),
            "p90_seconds": _number(row.get("p90")),
            "histogram": [
                {
                    "from_seconds": lo,
                    "to_seconds": hi,
                    "label": f"{duration_text(lo)}–{duration_text(hi)}",
                    "count": int(_number(row.get(f"b{i}")) or 0),
                }
                for i, (lo, hi) in enumerate(pairwise(edges))
            ],
        }
    return out


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else round(number, 3)


def step_rows(steps: Sequence[StepDef], counts: Sequence[int]) -> list[dict[str, Any]]:
    """Per step: count, conversion from step 1 and from the previous step, drop-off."""
    rows = []
    entered = counts[0] if counts else 0
    for i, step in enumerate(steps):
        count = counts[i] if i < len(counts) else 0
        previous = counts[i - 1] if i > 0 and i - 1 < len(counts) else None
        rows.append(
            {
                "step": i + 1,
                "label": step.title,
                "event": step.event,
                "count": count,
                "conversion": _share(count, entered),
                "conversion_from_previous": _share(count, previous)
                if previous is not None
                else None,
                "drop_off": (previous - count) if previous is not None else 0,
                "drop_off_rate": (1 - count / previous) if previous else None,
            }
        )
    return rows


def _share(part: int, whole: int | None) -> float | None:
    return part / whole if whole else None


def mean_step_loss(counts: Sequence[int]) -> float | None:
    """The geometric-mean share lost per step from step 1 to the last (seed 004's ~30%)."""
    if len(counts) < 2 or not counts[0] or not counts[-1]:
        return None
    result: float = 1 - (counts[-1] / counts[0]) ** (1 / (len(counts) - 1))
    return result


def shape(
    *,
    plan: dict[str, Any],
    steps: Sequence[StepDef],
    counts: Sequence[int],
    timing: Mapping[int, dict[str, Any]],
    by: Breakdown | None,
    split: Mapping[str, Sequence[int]] | None,
    trend: tuple[Period, Mapping[str, Sequence[int]]] | None,
) -> dict[str, Any]:
    """The chart-shaped answer."""
    rows = step_rows(steps, counts)
    for row in rows[1:]:
        row["time_to_convert"] = timing.get(row["step"])
    n = len(steps)
    result: dict[str, Any] = {
        key: plan[key]
        for key in ("mode", "window", "window_seconds", "from", "to", "segment", "by")
    }
    result["exclusions"] = plan["exclusions"]
    result["steps"] = rows
    result["entered"] = counts[0] if counts else 0
    result["converted"] = counts[-1] if len(counts) == n else 0
    result["conversion"] = _share(result["converted"], result["entered"])
    result["mean_step_drop_off"] = mean_step_loss(list(counts))
    result["complete"] = plan["complete"]
    if by is not None and split is not None:
        series: list[dict[str, Any]] = [
            {
                "value": value,
                "entered": values[0],
                "converted": values[-1],
                "conversion": _share(values[-1], values[0]),
                "steps": [
                    {
                        k: r[k]
                        for k in (
                            "step",
                            "count",
                            "conversion",
                            "conversion_from_previous",
                            "drop_off_rate",
                        )
                    }
                    for r in step_rows(steps, values)
                ],
            }
            for value, values in split.items()
        ]
        series.sort(key=lambda s: (-s["entered"], s["value"]))
        result["breakdown"] = {"by": by.label(), "series": series}
    if trend is not None:
        result["trend"] = trend_series(trend[0], trend[1], plan, n)
    return result


def trend_series(
    period: Period, cohorts: Mapping[str, Sequence[int]], plan: dict[str, Any], n: int
) -> dict[str, Any]:
    """Per period from the first to the last day: entered, per-step counts, conversion;
    ``complete`` is false while the window after some of the period's entries is open."""
    first, last = period.number(plan["first_day"]), period.number(plan["last_day"])
    series = []
    window = timedelta(seconds=int(plan["window_seconds"]))
    for number in range(first, last + 1):
        values = list(cohorts.get(str(number), [0] * n))
        start = max(period.first_day(number), plan["first_day"])
        end = min(period.last_day(number), plan["last_day"])
        end_instant = plan["day_start"](end + timedelta(days=1))
        series.append(
            {
                "period": period.first_day(number),
                "from": start,
                "to": end,
                "entered": values[0],
                "converted": values[-1],
                "conversion": _share(values[-1], values[0]),
                "counts": values,
                "complete": end_instant + window <= plan["end_of_today"],
            }
        )
    return {"period": period.unit, "series": series}
