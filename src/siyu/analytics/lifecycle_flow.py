"""Lifecycle flow (生命周期流转): who is new, returning, resurrecting, dormant or churned
in each period, and how persons moved between lifecycle stages (a Sankey chart).

Activity is what the lifecycle model counts (acting events and paid orders, see
`siyu.segments.models.activity`), in local days, Monday weeks or calendar months. In
period ``p`` a person active in ``p`` is *new* when ``p`` holds their first activity
ever, *returning* when they were active in ``p - 1`` too, else *resurrecting* (back after
a gap); a person active in ``p - 1`` but not in ``p`` is *dormant* in ``p`` (negative in
the chart, as PostHog draws it); a person is *churned* in ``p`` when they cross the
lifecycle model's churn threshold in ``p``: ``churn_days`` days without activity, the day
the ``lifecycle:churned`` stage begins. The transitions read the ``lifecycle:<stage>``
history in ``memberships`` at two instants. See docs/analytics-retention.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
from pydantic import Field, field_validator

from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.request import NO_VALUE, AnalysisRequest, Breakdown, parse_breakdown
from siyu.analytics.retention import Calendar
from siyu.analytics.scope import (
    Context,
    check_breakdown_values,
    check_segment,
    only_segment,
    person_dimension,
)
from siyu.segments.models.activity import activity_times
from siyu.segments.models.config import DEFAULT_CONFIG
from siyu.segments.models.days import day_number, day_of, end_of
from siyu.segments.models.lifecycle import STAGES

#: Statuses of a period, in chart order; dormant is drawn below the axis.
STATUSES: Final = ("new", "returning", "resurrecting", "dormant", "churned")
#: Periods shown when the request gives no ``from``.
DEFAULT_PERIODS: Final = {"day": 30, "week": 12, "month": 6}
#: Most periods one answer holds.
MAX_PERIODS: Final = 400
#: Sankey nodes of persons without a lifecycle stage at one of the two instants.
NOT_YET: Final = "(not yet a person)"
GONE: Final = "(no longer a person)"
_LABELS: Final = {
    **{code: f"{zh} {en}" for code, (zh, en) in STAGES.items()},
    NOT_YET: "尚未出现 (not yet a person)",
    GONE: "已删除或合并 (no longer a person)",
}
_PREFIX: Final = "lifecycle:"


class Request(AnalysisRequest):
    """A lifecycle-flow request; ``flow_from``/``flow_to`` are the Sankey's two instants
    (naive times are project-local), by default the start and the end of the range."""

    period: Literal["day", "week", "month"] = "week"
    by: str | None = None
    churn_days: int = Field(default=DEFAULT_CONFIG.lifecycle.churn_days)
    flow_from: datetime | None = None
    flow_to: datetime | None = None

    @field_validator("churn_days")
    @classmethod
    def _churn(cls, value: int) -> int:
        if not 2 <= value <= 3660:
            raise InvalidRequest(
                "churn_days",
                f"churn_days must be 2 to 3660 days without activity, got {value} "
                f"(the lifecycle model's default is {DEFAULT_CONFIG.lifecycle.churn_days})",
            )
        return value


@dataclass(frozen=True)
class Plan:
    request: Request
    calendar: Calendar
    by: Breakdown | None
    first: date
    last: date
    #: The first period number that has not ended by the end of today.
    open_from: int


def analyse(ctx: Context, request: Request) -> dict[str, Any]:
    """Status counts per period (and per breakdown value) and the stage transitions."""
    plan = plan_for(ctx, request)
    totals = _counts(status_counts(ctx, plan, None))
    periods = [_period(plan, n, totals) for n in _numbers(plan)]
    breakdowns: list[dict[str, Any]] = []
    if plan.by is not None:
        per_value: dict[str, dict[tuple[int, str], int]] = {}
        for row in _rows(status_counts(ctx, plan, plan.by)):
            cells = per_value.setdefault(str(row["breakdown"]), {})
            cells[int(row["period"]), str(row["status"])] = int(row["n"])
        check_breakdown_values(per_value, plan.by)
        breakdowns = sorted(
            (
                {"value": v, "periods": [_period(plan, n, cells) for n in _numbers(plan)]}
                for v, cells in per_value.items()
            ),
            key=lambda b: (-sum(p["active"] for p in b["periods"]), b["value"]),
        )
    start, end = _instants(ctx, plan)
    return {
        "analysis": "lifecycle",
        "period": request.period,
        "from": plan.first,
        "to": plan.last,
        "segment": request.segment,
        "by": plan.by.label() if plan.by else None,
        "churn_days": request.churn_days,
        "statuses": list(STATUSES),
        "periods": periods,
        "breakdowns": breakdowns,
        "transitions": transitions(ctx, start, end, request.segment),
    }


def plan_for(ctx: Context, request: Request) -> Plan:
    by = parse_breakdown(request.by)
    if by is not None and by.per_event:
        raise InvalidRequest(
            "by",
            f"{by.label()!r} describes an event; lifecycle flow breaks persons down by "
            "channel, lifecycle, rfm, value_tier, role, segment:KEY or property:NAME",
        )
    if request.segment is not None:
        check_segment(ctx, request.segment)
    calendar = Calendar(request.period)
    last = min(request.date_to or ctx.today, ctx.today)
    first = request.date_from or calendar.first_day(
        calendar.number(last) - DEFAULT_PERIODS[request.period] + 1
    )
    if first > last:
        raise InvalidRequest(
            "from", f"from ({first}) is after the last day with data counted ({last})"
        )
    count = calendar.number(last) - calendar.number(first) + 1
    if count > MAX_PERIODS:
        raise InvalidRequest(
            "from",
            f"{first} to {last} holds {count} {request.period}s; at most {MAX_PERIODS} fit: "
            "shorten the range or use a longer period",
        )
    return Plan(request, calendar, by, first, last, calendar.ended_before(ctx.today))


def status_rows(ctx: Context, plan: Plan) -> ir.Table:
    """person_id, period, status: one row per person and status they had in a period."""
    config = DEFAULT_CONFIG
    facts = ctx.facts
    acts = activity_times(
        facts.events,
        facts.orders,
        activity=config.activity,
        rules=config.orders,
        until=end_of(ctx.today, ctx.tz),
    )
    days = acts.select("person_id", day=day_of(acts.at, ctx.tz)).distinct()
    days = only_segment(days, ctx, plan.request.segment)
    active = days.select("person_id", period=plan.calendar.of_day(days.day)).distinct()
    by_person = ibis.window(group_by="person_id", order_by="period")
    active = active.mutate(
        prev=active.period.lag().over(by_person), after=active.period.lead().over(by_person)
    )
    status = ibis.cases(
        (active.prev.isnull(), "new"),
        (active.prev == active.period - 1, "returning"),
        else_="resurrecting",
    )
    here = active.select("person_id", "period", status=status)
    gone = active.filter(active.after.isnull() | (active.after > active.period + 1))
    dormant = gone.select(
        "person_id", period=gone.period + 1, status=ibis.literal("dormant", "string")
    )
    churn = plan.request.churn_days
    by_day = ibis.window(group_by="person_id", order_by="day")
    days = days.mutate(after=days.day.lead().over(by_day))
    crossed = days.filter(
        days.after.isnull() | (days.after - days.day > churn),
        days.day + churn <= day_number(ctx.today),
    )
    churned = crossed.select(
        "person_id",
        period=plan.calendar.of_day(crossed.day + churn),
        status=ibis.literal("churned", "string"),
    )
    rows = here.union(dormant).union(churned)
    lo, hi = plan.calendar.number(plan.first), plan.calendar.number(plan.last)
    return rows.filter(rows.period >= lo, rows.period <= hi)


def status_counts(ctx: Context, plan: Plan, by: Breakdown | None) -> ir.Table:
    """period, status, n (and breakdown with ``by``)."""
    rows = status_rows(ctx, plan)
    if by is None:
        return rows.group_by(["period", "status"]).aggregate(n=rows.count())
    dims = person_dimension(ctx, by)
    dims = dims.select(dim_person=dims.person_id, dim_value=dims.breakdown)
    joined = rows.left_join(dims, rows.person_id == dims.dim_person)
    joined = joined.mutate(breakdown=ibis.coalesce(joined.dim_value, NO_VALUE))
    return joined.group_by(["breakdown", "period", "status"]).aggregate(n=joined.count())


def transitions(
    ctx: Context, start: datetime, end: datetime, segment: str | None
) -> dict[str, Any]:
    """Sankey nodes and links of lifecycle stages between UTC instants ``start`` and
    ``end``, from the ``memberships`` history (merged person ids mapped to the survivor)."""
    stays = _stage_stays(ctx)
    before, after = _stage_at(stays, start), _stage_at(stays, end)
    after = after.rename(b_person="person_id", b_stage="stage")
    joined = before.outer_join(after, before.person_id == after.b_person)
    moves = joined.select(
        person_id=ibis.coalesce(joined.person_id, joined.b_person),
        source=ibis.coalesce(joined.stage, NOT_YET),
        target=ibis.coalesce(joined.b_stage, GONE),
    )
    moves = only_segment(moves.view(), ctx, segment)  # a view: not one more link of the join
    counts = _rows(moves.group_by(["source", "target"]).aggregate(n=moves.count()))
    began = _rows(stays.aggregate(first=stays.entered_at.min()))[0]["first"]
    links: list[dict[str, Any]] = [
        {"source": f"from:{r['source']}", "target": f"to:{r['target']}", "value": int(r["n"])}
        for r in counts
    ]
    links.sort(key=lambda link: (-link["value"], link["source"], link["target"]))
    return {
        "from": _local(start, ctx.tz),
        "to": _local(end, ctx.tz),
        "nodes": _nodes(links),
        "links": links,
        "note": _history_note(began, start, end, ctx.tz),
    }


def _stage_stays(ctx: Context) -> ir.Table:
    """person_id, stage, entered_at, exited_at of every lifecycle stay."""
    m = ctx.table("memberships")
    m = m.filter(m.set_key.startswith(_PREFIX))
    merged = ctx.table("person_overrides")
    merged = merged.select(old_id=merged.old_person_id, new_id=merged.person_id)
    joined = m.left_join(merged, m.person_id == merged.old_id)
    return joined.select(
        person_id=ibis.coalesce(joined.new_id, joined.person_id),
        stage=joined.set_key.substr(len(_PREFIX)),
        entered_at=joined.entered_at,
        exited_at=joined.exited_at,
    )


def _stage_at(stays: ir.Table, at: datetime) -> ir.Table:
    """person_id, stage at instant ``at`` (after a merge, the alphabetically first)."""
    moment = ibis.literal(at)
    open_then = stays.filter(
        stays.entered_at <= moment, stays.exited_at.isnull() | (stays.exited_at > moment)
    )
    return open_then.group_by("person_id").aggregate(stage=open_then.stage.min())


def _nodes(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    totals: dict[str, int] = {}
    for link in links:
        for end in ("source", "target"):
            totals[link[end]] = totals.get(link[end], 0) + link["value"]
    order = {code: n for n, code in enumerate([NOT_YET, *STAGES, GONE])}
    return [
        {
            "name": name,
            "side": name.partition(":")[0],
            "stage": name.partition(":")[2],
            "label": _LABELS.get(name.partition(":")[2], name.partition(":")[2]),
            "value": totals[name],
        }
        for name in sorted(
            totals,
            key=lambda n: (n.partition(":")[0] != "from", order.get(n.partition(":")[2], 99), n),
        )
    ]


def _history_note(first: datetime | None, start: datetime, end: datetime, tz: str) -> str | None:
    if first is None:
        return (
            "no lifecycle stages computed yet: run `siyu segments compute` (a daily compute "
            "keeps the history the transitions read)"
        )
    if first > end:
        return f"the lifecycle history begins at {_local(first, tz)}, after both instants"
    if first > start:
        return (
            f"the lifecycle history begins at {_local(first, tz)}: persons before it count as "
            f"{NOT_YET!r}"
        )
    return None


def _instants(ctx: Context, plan: Plan) -> tuple[datetime, datetime]:
    """The two UTC instants of the transitions (naive, like stored timestamps)."""
    request = plan.request
    start = (
        _utc(request.flow_from, ctx.tz) if request.flow_from else ctx.facts.day_start(plan.first)
    )
    end = (
        _utc(request.flow_to, ctx.tz)
        if request.flow_to
        else ctx.facts.day_start(plan.last + timedelta(days=1))
    )
    if end <= start:
        raise InvalidRequest(
            "flow_to",
            f"flow_to ({_local(end, ctx.tz)}) must be after flow_from ({_local(start, ctx.tz)})",
        )
    return start, end


def _utc(moment: datetime, tz: str) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))
    return aware.astimezone(UTC).replace(tzinfo=None)


def _local(moment: datetime, tz: str) -> str:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).isoformat()


def _numbers(plan: Plan) -> range:
    return range(plan.calendar.number(plan.first), plan.calendar.number(plan.last) + 1)


def _counts(expr: ir.Table) -> dict[tuple[int, str], int]:
    return {(int(r["period"]), str(r["status"])): int(r["n"]) for r in _rows(expr)}


def _period(plan: Plan, number: int, cells: dict[tuple[int, str], int]) -> dict[str, Any]:
    """One period's counts; dormant negative, and null while the period is still open."""
    complete = number < plan.open_from
    row: dict[str, Any] = {
        "period": plan.calendar.first_day(number),
        "last_day": plan.calendar.last_day(number),
        "complete": complete,
    }
    for status in STATUSES:
        row[status] = cells.get((number, status), 0)
    row["active"] = row["new"] + row["returning"] + row["resurrecting"]
    row["dormant"] = -row["dormant"] if complete else None
    return row


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return rows
