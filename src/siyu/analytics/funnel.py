"""Funnels (漏斗): how many persons went through the steps, in order, within a window.

A person reaches step ``k`` when some step-1 event of theirs in the date range is
followed, in order and within the window, by events of steps 2 .. ``k`` — exactly the
answer of ClickHouse's ``windowFunnel(window)`` (default mode), ties included. Also
``strict`` (ClickHouse ``strict_order`` over the step events) and ``any_order`` modes,
exclusions, breakdowns, a trend by period and the distribution of the time to convert.
The counting is Ibis (`siyu.analytics.funnel_levels`, DuckDB and Spark agree); Python
shapes the few aggregated numbers (`siyu.analytics.funnel_shape`).
See docs/analytics-funnels.md.

Example:
    >>> Request.model_validate({"steps": ["view_item", "order_paid"], "window": "1d"}).seconds
    86400
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import ibis
import ibis.expr.types as ir
from pydantic import Field, PrivateAttr, model_validator

from siyu.analytics import funnel_levels, funnel_shape
from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.funnel_levels import MODES
from siyu.analytics.funnel_shape import PERIODS, Period
from siyu.analytics.funnel_steps import (
    MAX_STEPS,
    MIN_STEPS,
    ExclusionDef,
    StepDef,
    parse_where,
    step_entries,
)
from siyu.analytics.request import (
    MAX_BREAKDOWN_VALUES,
    NO_VALUE,
    AnalysisRequest,
    Breakdown,
    parse_breakdown,
    parse_window,
)
from siyu.analytics.scope import (
    Context,
    check_breakdown_values,
    check_event,
    check_segment,
    event_dimension,
    local_range,
    only_segment,
    utc_bounds,
    with_breakdown,
)
from siyu.identity.resolution import actors
from siyu.segments.models.days import day_of
from siyu.storage.temp import temp_tables

#: Local days a funnel covers when the request names no ``from``.
DEFAULT_DAYS: Final = 30
#: Most trend periods one answer holds.
MAX_PERIODS: Final = 400
#: The column of `_events` holding the run's integer number for each person.
PERSON_NUMBER: Final = "person_no"
#: Engines that compute a subquery read several times only once (DuckDB materialises
#: such CTEs); the others recompute it per reader, so the step entries and each step's
#: valid entries are computed into temporary tables first (Spark).
SHARES_SUBPLANS: Final = {"duckdb": True, "pyspark": False}


class Request(AnalysisRequest):
    """A funnel request; see docs/analytics-funnels.md for every field.

    ``steps``: 2 to 20 event names or ``{event, where, label}``; ``window``: ``90s`` ..
    ``3mo``; ``mode``: ordered, strict or any_order; ``exclusions``: ``[{event, between:
    [from_step, to_step], where}]``; ``by``: a breakdown; ``trend``: day, week or month.
    """

    steps: Any = None
    window: int | str = "7d"
    mode: str = "ordered"
    exclusions: list[Any] = Field(default_factory=list)
    by: str | None = None
    trend: str | None = None

    _steps: tuple[StepDef, ...] = PrivateAttr(default=())
    _exclusions: tuple[ExclusionDef, ...] = PrivateAttr(default=())
    _seconds: int = PrivateAttr(default=0)
    _by: Breakdown | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _parse(self) -> Request:
        self._steps = parse_steps(self.steps)
        self._seconds = parse_window(self.window)
        if self.mode not in MODES:
            raise InvalidRequest(
                "mode", f"unknown mode {self.mode!r}; use one of {', '.join(MODES)}"
            )
        self._exclusions = parse_exclusions(self.exclusions, len(self._steps))
        if self._exclusions and self.mode == "any_order":
            raise InvalidRequest(
                "exclusions",
                "exclusions sit between two steps of an ordered funnel; use mode ordered or "
                "strict, or leave exclusions out",
            )
        self._by = parse_breakdown(self.by)
        if self.trend is not None and self.trend not in PERIODS:
            raise InvalidRequest(
                "trend", f"unknown period {self.trend!r}; use one of {', '.join(PERIODS)}"
            )
        return self

    @property
    def step_defs(self) -> tuple[StepDef, ...]:
        return self._steps

    @property
    def exclusion_defs(self) -> tuple[ExclusionDef, ...]:
        return self._exclusions

    @property
    def seconds(self) -> int:
        """The conversion window in seconds."""
        return self._seconds

    @property
    def breakdown(self) -> Breakdown | None:
        return self._by


def parse_steps(data: Any) -> tuple[StepDef, ...]:
    """``steps`` of a request: event names or ``{event, where, label}`` mappings."""
    if isinstance(data, str):
        data = [s.strip() for s in data.split(",") if s.strip()]
    if not isinstance(data, list):
        raise InvalidRequest(
            "steps", 'needs a list of 2 to 20 steps, e.g. ["view_item", "order_paid"]'
        )
    if len(data) < MIN_STEPS:
        raise InvalidRequest(
            "steps",
            f"a funnel needs at least {MIN_STEPS} steps, got {len(data)}: name the event "
            "that starts it and at least one that should follow",
        )
    if len(data) > MAX_STEPS:
        raise InvalidRequest(
            "steps", f"at most {MAX_STEPS} steps fit a funnel, got {len(data)}; split it"
        )
    steps = []
    for i, item in enumerate(data):
        field = f"steps[{i}]"
        if isinstance(item, str):
            steps.append(StepDef(_name(item, f"{field}.event")))
            continue
        if not isinstance(item, Mapping):
            raise InvalidRequest(field, "expected an event name or {event, where, label}")
        _only(item, field, {"event", "where", "label"})
        label = item.get("label") or ""
        if not isinstance(label, str):
            raise InvalidRequest(f"{field}.label", "expected text")
        steps.append(
            StepDef(
                _name(item.get("event"), f"{field}.event"),
                parse_where(item.get("where"), f"{field}.where"),
                label,
            )
        )
    return tuple(steps)


def parse_exclusions(data: Any, steps: int) -> tuple[ExclusionDef, ...]:
    """``[{event, between: [from_step, to_step], where}]`` with 1-based step numbers."""
    if not isinstance(data, list):
        raise InvalidRequest("exclusions", "expected a list of {event, between: [from, to]}")
    out = []
    for i, item in enumerate(data):
        field = f"exclusions[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequest(field, "expected {event, between: [from_step, to_step]}")
        _only(item, field, {"event", "between", "where"})
        between = item.get("between", [1, steps])
        if (
            not isinstance(between, list | tuple)
            or len(between) != 2
            or not all(isinstance(b, int) and not isinstance(b, bool) for b in between)
        ):
            raise InvalidRequest(
                f"{field}.between", f"expected two step numbers [from, to], got {between!r}"
            )
        start, end = int(between[0]), int(between[1])
        if not 1 <= start < end <= steps:
            raise InvalidRequest(
                f"{field}.between",
                f"{[start, end]} is not a pair of steps: need 1 <= from < to <= {steps} "
                "(step numbers start at 1)",
            )
        event = _name(item.get("event"), f"{field}.event")
        out.append(
            ExclusionDef(event, start, end, parse_where(item.get("where"), f"{field}.where"))
        )
    return tuple(out)


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(field, "missing or empty: name an event")
    return value.strip()


def _only(item: Mapping[str, Any], field: str, allowed: set[str]) -> None:
    unknown = sorted(set(map(str, item)) - allowed)
    if unknown:
        raise InvalidRequest(
            f"{field}.{unknown[0]}", f"unknown field; allowed: {', '.join(sorted(allowed))}"
        )


@dataclass(frozen=True)
class Plan:
    """A request checked against the data: steps, range and the instants bounding it."""

    request: Request
    first: date
    last: date
    #: Step 1 counts in [lo, hi); later steps until ``hi`` + window.
    lo: datetime
    hi: datetime


def plan_for(ctx: Context, request: Request) -> Plan:
    """Check the event names and the segment, and fix the date range."""
    for i, step in enumerate(request.step_defs):
        check_event(ctx, step.event, f"steps[{i}].event")
    for i, x in enumerate(request.exclusion_defs):
        check_event(ctx, x.event, f"exclusions[{i}].event")
    if request.segment is not None:
        check_segment(ctx, request.segment)
    first, last = local_range(ctx, request.date_from, request.date_to, default_days=DEFAULT_DAYS)
    if request.trend is not None:
        period = Period(request.trend)
        periods = period.number(last) - period.number(first) + 1
        if periods > MAX_PERIODS:
            raise InvalidRequest(
                "trend",
                f"{first} to {last} holds {periods} {request.trend}s; at most {MAX_PERIODS} "
                "fit a chart: shorten the range or use a longer period",
            )
    lo, hi = utc_bounds(ctx, first, last)
    return Plan(request, first, last, lo, hi)


def analyse(ctx: Context, request: Request) -> dict[str, Any]:
    """Counts, conversion and drop-off per step, time to convert, breakdown and trend."""
    plan = plan_for(ctx, request)
    by = request.breakdown
    n = len(request.step_defs)
    events = _events(ctx, plan)
    split = trend = None
    # The step events (with the identity join) and the per-person table are computed
    # once each into temporary tables: every later query reads those, on any engine.
    with temp_tables(ibis.get_backend(events)) as temp:
        persons = _levels(ctx, plan, events, temp.materialise, cohort=None)
        counts = funnel_shape.level_counts(persons, "all", n)
        timing = funnel_shape.time_to_convert(persons, n, request.seconds)
        if by is not None and not by.per_event:
            keyed = with_breakdown(ctx, _named(ctx, persons), by)
            split = funnel_shape.level_counts(keyed, "breakdown", n, limit=MAX_BREAKDOWN_VALUES)
        if by is not None and by.per_event:
            value = ibis.coalesce(event_dimension(ctx, events, by), NO_VALUE)
            cohorts = _levels(ctx, plan, events, temp.materialise, cohort=value)
            split = funnel_shape.level_counts(cohorts, "cohort", n, limit=MAX_BREAKDOWN_VALUES)
        if split is not None:
            check_breakdown_values(split, by)
        if request.trend is not None:
            period = Period(request.trend).of_day(day_of(events.event_time, ctx.tz))
            periods = _levels(ctx, plan, events, temp.materialise, cohort=period)
            trend = funnel_shape.level_counts(periods, "cohort", n)
    return funnel_shape.shape(
        plan=_summary(ctx, plan),
        steps=request.step_defs,
        counts=counts.get("all", []),
        timing=timing,
        by=by,
        split=split,
        trend=(Period(request.trend), trend)
        if request.trend is not None and trend is not None
        else None,
    )


def _summary(ctx: Context, plan: Plan) -> dict[str, Any]:
    r = plan.request
    end_of_today = ctx.facts.day_start(ctx.today + timedelta(days=1))
    return {
        "mode": r.mode,
        "window": r.window,
        "window_seconds": r.seconds,
        "from": plan.first,
        "to": plan.last,
        "segment": r.segment,
        "by": r.breakdown.label() if r.breakdown else None,
        "exclusions": [{"event": x.event, "between": [x.start, x.end]} for x in r.exclusion_defs],
        "tz": ctx.tz,
        # Conversions of entries near the end may still come: the window has not passed.
        "complete": plan.hi + timedelta(seconds=r.seconds) <= end_of_today,
        "first_day": plan.first,
        "last_day": plan.last,
        "end_of_today": end_of_today,
        "day_start": ctx.facts.day_start,
    }


def _events(ctx: Context, plan: Plan) -> ir.Table:
    """The events that may be entries or exclusions, in time, with their ``person_id``
    and the run's `PERSON_NUMBER` for it.

    The window passes partition and sort by person; an integer does that faster and in
    less memory than the 21-character id (100M events: 4 GB peak instead of 16). The
    number is the smallest ``node_order`` among the person's identities: unique per
    person (every identity is one person's), so no two persons can share one, unlike a
    hash. Like `siyu.segments.facts.Facts.events`, events are matched to persons through
    the identity each names as its ``actor``.
    """
    r = plan.request
    span = timedelta(seconds=r.seconds)
    start = plan.lo - span if r.mode == "any_order" else plan.lo
    names = sorted({s.event for s in r.step_defs} | {x.event for x in r.exclusion_defs})
    raw = ctx.table("events")
    raw = raw.filter(
        raw.event_time >= start, raw.event_time < plan.hi + span, raw.event.isin(names)
    )
    who = actors(ctx.table("identities"))
    number = who.actor_key.min().over(ibis.window(group_by=who.person_id))
    who = who.mutate(**{PERSON_NUMBER: number})
    events = raw.join(who, raw.actor == who.actor_key).drop("actor_key")
    return only_segment(events, ctx, r.segment)


def _named(ctx: Context, persons: ir.Table) -> ir.Table:
    """``persons`` (keyed by the run's person number) with their ``person_id`` again."""
    who = actors(ctx.table("identities"))
    numbers = who.group_by(pid=who.person_id).aggregate(n=who.actor_key.min())
    named = persons.join(numbers, persons.person_id == numbers.n)
    return named.mutate(person_id=named.pid).drop("n", "pid")


def _levels(
    ctx: Context,
    plan: Plan,
    events: ir.Table,
    materialise: Callable[[ir.Table, str], ir.Table],
    *,
    cohort: ir.Value | None,
) -> ir.Table:
    """One row per person (and cohort): ``level`` and the step times ``p1 .. pn``,
    computed now (``materialise``); on engines that recompute shared subqueries the
    step entries and each step's valid entries are computed once first. ``person_id``
    here is the run's person number (`_events`); `_named` gives back the id."""
    r = plan.request
    n = len(r.step_defs)
    selection = step_entries(
        events,
        ctx.facts,
        r.step_defs,
        entry_until=plan.hi,
        exclusions=r.exclusion_defs,
        cohort=cohort,
        person=PERSON_NUMBER,
    )
    entries = selection.entries
    if selection.excluded is not None:
        entries = funnel_levels.with_gaps(entries, selection.excluded, len(r.exclusion_defs))
    keys = ["person_id"]
    if cohort is not None:
        entries = funnel_levels.spread_cohorts(entries, r.seconds, before=r.mode == "any_order")
        keys.append("cohort")
    keep = materialise
    if SHARES_SUBPLANS.get(ibis.get_backend(events).name, False):
        keep = funnel_levels.as_is
    entries = keep(entries, "funnel_entries")
    if r.mode == "any_order":
        levels = funnel_levels.any_order(entries, n, r.seconds, keys=keys, materialise=keep)
    else:
        levels = funnel_levels.ordered(
            entries,
            n,
            r.seconds,
            keys=keys,
            strict=r.mode == "strict",
            exclusions=r.exclusion_defs,
            materialise=keep,
        )
    return materialise(levels, "funnel_persons")
