"""Retention (留存): of the persons whose cohort began in a period, how many came back.

A cohort row is a person and the local period (day, Monday week or calendar month) in
which they started: their first start event (``first``, each person in one cohort),
their first event of any kind (``first_seen``), or every period with a start event
(``any``, PostHog's "recurring"). Period ``k`` of a row counts the person as retained
when they did the return event in the ``k``-th period after the cohort period; period 0
is the cohort period itself, counting return events at or after the start instant.
Periods that have not ended by the end of ``today`` are incomplete: null, never zero.

Cohort rows, return periods and counts are Ibis expressions (DuckDB and Spark agree);
Python shapes the few hundred aggregated numbers into the cohort matrix, the weighted
average curve, per-breakdown curves and the contribution of each breakdown value to the
retained users (seed 003: retained users = sum over channels of users x rate).
See docs/analytics-retention.md.

Example:
    >>> Calendar("week").number(date(2024, 1, 1)) - Calendar("week").number(date(2023, 12, 31))
    1
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal

import ibis
import ibis.expr.types as ir
from pydantic import field_validator, model_validator

from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.request import NO_VALUE, AnalysisRequest, Breakdown, parse_breakdown
from siyu.analytics.scope import (
    Context,
    check_breakdown_values,
    check_event,
    check_segment,
    event_dimension,
    only_segment,
    person_dimension,
)
from siyu.segments.models.activity import is_acting
from siyu.segments.models.config import DEFAULT_CONFIG
from siyu.segments.models.days import date_of, day_number, day_of, end_of

#: Most periods after the cohort period (period 0 is always there too).
MAX_PERIODS: Final = 120
#: Most cohort rows (periods of the cohort range) one answer holds.
MAX_COHORTS: Final = 400
#: Periods after the cohort period when the request names none.
DEFAULT_PERIODS: Final = {"day": 30, "week": 12, "month": 12}
#: Breakdowns where a person may have several values (the total is not their sum).
_OVERLAPPING: Final = ("segment", "role")
_EPOCH: Final = date(1970, 1, 1)


@dataclass(frozen=True)
class Calendar:
    """Local periods numbered from 1970: days, weeks starting Monday, calendar months."""

    unit: str

    def of_day(self, day: ir.IntegerValue) -> ir.IntegerValue:
        """The period number of a local day number column."""
        if self.unit == "day":
            return day
        if self.unit == "week":
            # 1970-01-01 was a Thursday: day 4 is the first Monday, week 1.
            week: ir.IntegerValue = ((day + 3) // 7).cast("int64")
            return week
        local = date_of(day)
        month: ir.IntegerValue = (local.year() * 12 + local.month() - 1).cast("int64")
        return month

    def number(self, day: date) -> int:
        """The period number of a local date."""
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

    def ended_before(self, today: date) -> int:
        """The first period number that has not ended by the end of ``today``."""
        return self.number(today + timedelta(days=1))


class Request(AnalysisRequest):
    """A retention request (JSON keys as the fields; ``from``/``to`` bound the cohorts)."""

    start_event: str | None = None
    return_event: str | None = None
    cohort: Literal["first", "first_seen", "any"] = "first"
    period: Literal["day", "week", "month"] = "day"
    periods: int | None = None
    by: str | None = None
    at_period: int = 1

    @field_validator("periods")
    @classmethod
    def _periods(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= MAX_PERIODS:
            raise InvalidRequest(
                "periods",
                f"periods must be 1 to {MAX_PERIODS}, got {value}: the number of periods "
                "after the cohort period (1 gives period 0 and the next period)",
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Request:
        if self.cohort == "first_seen" and self.start_event is not None:
            raise InvalidRequest(
                "start_event",
                "cohort first_seen starts at a person's first event of any kind; leave "
                "start_event out, or use cohort first to start at the first start_event",
            )
        if self.cohort != "first_seen" and not self.start_event:
            raise InvalidRequest(
                "start_event",
                f"cohort {self.cohort} needs the event that starts a cohort (e.g. $SignUp), "
                "or use cohort first_seen to start at a person's first event",
            )
        if not 0 <= self.at_period <= self.span:
            raise InvalidRequest(
                "at_period",
                f"at_period must be 0 to periods ({self.span}), got {self.at_period}",
            )
        return self

    @property
    def span(self) -> int:
        """Periods after the cohort period (the request's or the unit's default)."""
        return self.periods if self.periods is not None else DEFAULT_PERIODS[self.period]


@dataclass(frozen=True)
class Plan:
    """A checked request: the cohort range as period numbers and UTC instants."""

    request: Request
    calendar: Calendar
    by: Breakdown | None
    first: date
    last: date
    #: Cohort starts fall in [lo, hi); return events are read until ``horizon``.
    lo: datetime
    hi: datetime
    horizon: datetime
    #: The first period number that has not ended by the end of today.
    open_from: int


def analyse(ctx: Context, request: Request) -> dict[str, Any]:
    """The cohort matrix, average curve, breakdown curves and contributions."""
    plan = plan_for(ctx, request)
    counts = _rows(cohort_counts(ctx, plan))
    return shape(plan, counts)


def plan_for(ctx: Context, request: Request) -> Plan:
    """Check the request against the data and fix the cohort range."""
    by = parse_breakdown(request.by)
    if request.start_event is not None:
        check_event(ctx, request.start_event, "start_event")
    if request.return_event is not None:
        check_event(ctx, request.return_event, "return_event")
    if request.segment is not None:
        check_segment(ctx, request.segment)
    calendar = Calendar(request.period)
    last = min(request.date_to or ctx.today, ctx.today)
    if request.date_from is not None:
        first = request.date_from
        if first > last:
            raise InvalidRequest(
                "from", f"from ({first}) is after the last day with data counted ({last})"
            )
    else:
        first = max(calendar.first_day(calendar.number(last) - request.span), _EPOCH)
    cohorts = calendar.number(last) - calendar.number(first) + 1
    if cohorts > MAX_COHORTS:
        raise InvalidRequest(
            "from",
            f"{first} to {last} holds {cohorts} {request.period} cohorts; at most "
            f"{MAX_COHORTS} fit: shorten the range or use a longer period",
        )
    beyond = calendar.first_day(calendar.number(last) + request.span + 1)
    return Plan(
        request=request,
        calendar=calendar,
        by=by,
        first=first,
        last=last,
        lo=ctx.facts.day_start(first),
        hi=ctx.facts.day_start(last + timedelta(days=1)),
        horizon=min(ctx.facts.day_start(beyond), end_of(ctx.today, ctx.tz)),
        open_from=calendar.ended_before(ctx.today),
    )


def cohort_counts(ctx: Context, plan: Plan) -> ir.Table:
    """cohort, breakdown, k, n: persons per cohort period (k = -1) and retained in
    period k; with an overlapping breakdown, ``breakdown`` null rows are the totals."""
    ev = ctx.facts.events
    ev = ev.filter(ev.event_time < ibis.literal(end_of(ctx.today, ctx.tz)))
    cohorts = cohort_rows(ctx, plan, ev)
    kept = retained(ctx, plan, ev, cohorts)
    rows = cohorts.select("person_id", "cohort", "breakdown", k=ibis.literal(-1, "int64")).union(
        kept
    )
    counts = rows.group_by(["cohort", "breakdown", "k"]).aggregate(n=rows.count())
    if plan.by is None or plan.by.kind not in _OVERLAPPING:
        return counts
    people = rows.select("person_id", "cohort", "k").distinct()
    totals = people.group_by(["cohort", "k"]).aggregate(n=people.count())
    totals = totals.select("cohort", breakdown=ibis.null("string"), k=totals.k, n=totals.n)
    return counts.union(totals)


def _matching(ev: ir.Table, event: str | None) -> ir.BooleanValue:
    """Events named ``event``, or any event the person did (`ActivityConfig`) for None."""
    if event is None:
        return is_acting(ev, DEFAULT_CONFIG.activity)
    return ev.event == event


def cohort_rows(ctx: Context, plan: Plan, ev: ir.Table) -> ir.Table:
    """person_id, cohort (period number), start_at, breakdown: one row per cohort row.

    ``ev`` are the events with their person up to the end of today.
    """
    request, tz = plan.request, ctx.tz
    starts = ev.filter(_matching(ev, request.start_event))
    if request.cohort == "any":
        starts = starts.filter(starts.event_time >= plan.lo, starts.event_time < plan.hi)
    by = plan.by if plan.by is not None and plan.by.per_event else None
    picks: dict[str, ir.Value] = {"start_at": starts.event_time.min()}
    if by is not None:
        # The value of the row's first start event (by time, then seq).
        value = ibis.coalesce(event_dimension(ctx, starts, by), NO_VALUE)
        picks["value"] = value.argmin(ibis.struct({"t": starts.event_time, "s": starts.seq}))
    if request.cohort == "any":
        cohort = plan.calendar.of_day(day_of(starts.event_time, tz)).name("cohort")
        rows = starts.group_by(["person_id", cohort]).aggregate(**picks)
    else:
        rows = starts.group_by("person_id").aggregate(**picks)
        rows = rows.filter(rows.start_at >= plan.lo, rows.start_at < plan.hi)
        rows = rows.mutate(cohort=plan.calendar.of_day(day_of(rows.start_at, tz)))
    rows = only_segment(rows, ctx, request.segment)
    if plan.by is None:
        return rows.select("person_id", "cohort", "start_at", breakdown=ibis.literal("all"))
    if by is not None:
        return rows.select("person_id", "cohort", "start_at", breakdown=rows.value)
    dims = person_dimension(ctx, plan.by)
    dims = dims.select(dim_person=dims.person_id, dim_value=dims.breakdown)
    joined = rows.left_join(dims, rows.person_id == dims.dim_person)
    return joined.select(
        "person_id", "cohort", "start_at", breakdown=ibis.coalesce(joined.dim_value, NO_VALUE)
    )


def retained(ctx: Context, plan: Plan, ev: ir.Table, cohorts: ir.Table) -> ir.Table:
    """person_id, cohort, breakdown, k: cohort rows retained in period k (0..periods).

    Return events (from the start of the range to the end of the last period a cohort
    reaches) are joined to the cohort rows first, so only cohort members' events are
    grouped. Period 0 counts a return at or after the start instant (the start event
    itself when the return event is the start event), later periods any return in them.
    """
    back = ev.filter(
        _matching(ev, plan.request.return_event),
        ev.event_time >= plan.lo,
        ev.event_time < plan.horizon,
    )
    back = back.select(r_person=back.person_id, at=back.event_time)
    joined = cohorts.join(back, cohorts.person_id == back.r_person)
    k = plan.calendar.of_day(day_of(joined.at, ctx.tz)) - joined.cohort
    kept = joined.filter(k >= 0, k <= plan.request.span, (k > 0) | (joined.at >= joined.start_at))
    return kept.select("person_id", "cohort", "breakdown", k=k).distinct()


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return rows


def shape(plan: Plan, counts: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer from ``cohort, breakdown, k, n`` rows (see `cohort_counts`)."""
    request, calendar, by = plan.request, plan.calendar, plan.by
    span = request.span
    numbers = range(calendar.number(plan.first), calendar.number(plan.last) + 1)
    per_value: dict[str, dict[int, list[int]]] = {}
    totals: dict[int, list[int]] = {c: [0] * (span + 2) for c in numbers}
    overlapping = by is not None and by.kind in _OVERLAPPING
    for row in counts:
        cohort, value, k, n = int(row["cohort"]), row["breakdown"], int(row["k"]), int(row["n"])
        if cohort not in totals:
            continue
        if value is not None:
            cells = per_value.setdefault(str(value), {c: [0] * (span + 2) for c in numbers})
            cells[cohort][k + 1] += n
        if value is None or not overlapping:
            totals[cohort][k + 1] += n
    if by is not None:
        check_breakdown_values(per_value, by)
    matrix = [_cohort(plan, c, totals[c]) for c in numbers]
    average = _curve(plan, totals)
    curves = sorted(
        ({"value": v, **_curve(plan, cells)} for v, cells in per_value.items()),
        key=lambda c: (-c["size"], c["value"]),
    )
    return {
        "analysis": "retention",
        "start_event": request.start_event,
        "return_event": request.return_event,
        "cohort": request.cohort,
        "period": request.period,
        "periods": span,
        "from": plan.first,
        "to": plan.last,
        "segment": request.segment,
        "by": by.label() if by else None,
        "columns": [_column(request.period, k) for k in range(span + 1)],
        "cohorts": matrix,
        "average": average,
        "breakdowns": curves if by is not None else [],
        "contribution": _contribution(request.at_period, average, curves, overlapping)
        if by is not None
        else None,
    }


def _column(unit: str, k: int) -> str:
    return f"{unit.capitalize()} {k}"


def _cohort(plan: Plan, cohort: int, cells: list[int]) -> dict[str, Any]:
    """One row of the matrix: size, retained counts and rates; incomplete periods null."""
    size = cells[0]
    done = [cohort + k < plan.open_from for k in range(plan.request.span + 1)]
    kept = [cells[k + 1] if ok else None for k, ok in enumerate(done)]
    return {
        "cohort": plan.calendar.first_day(cohort),
        "last_day": plan.calendar.last_day(cohort),
        "size": size,
        "retained": kept,
        "rates": [None if n is None or not size else n / size for n in kept],
    }


def _curve(plan: Plan, cells: dict[int, list[int]]) -> dict[str, Any]:
    """Weighted average over cohorts: per period, retained / size of the cohorts for
    which that period has ended (``eligible``)."""
    span = plan.request.span
    eligible, kept = [0] * (span + 1), [0] * (span + 1)
    for cohort, row in cells.items():
        for k in range(span + 1):
            if cohort + k < plan.open_from:
                eligible[k] += row[0]
                kept[k] += row[k + 1]
    return {
        "size": sum(row[0] for row in cells.values()),
        "eligible": eligible,
        "retained": [n if e else None for n, e in zip(kept, eligible, strict=True)],
        "rates": [n / e if e else None for n, e in zip(kept, eligible, strict=True)],
    }


def _contribution(
    k: int, average: dict[str, Any], curves: list[dict[str, Any]], overlapping: bool
) -> dict[str, Any]:
    """Seed 003: per value, users (cohort members whose period ``k`` has ended), rate at
    ``k`` and retained users = users x rate; shares of all users and retained users."""
    total_users = average["eligible"][k]
    total_kept = average["retained"][k] or 0
    rate = average["rates"][k]
    rows = []
    for curve in curves:
        users, kept = curve["eligible"][k], curve["retained"][k] or 0
        value_rate = curve["rates"][k]
        rows.append(
            {
                "value": curve["value"],
                "users": users,
                "rate": value_rate,
                "retained": kept,
                "share_of_users": users / total_users if total_users else None,
                "share_of_retained": kept / total_kept if total_kept else None,
                "rate_vs_average": value_rate / rate if value_rate is not None and rate else None,
            }
        )
    rows.sort(key=lambda r: (-r["retained"], -r["users"], r["value"]))
    return {
        "period": k,
        "users": total_users,
        "retained": total_kept,
        "rate": rate,
        "values_overlap": overlapping,
        "rows": rows,
    }
