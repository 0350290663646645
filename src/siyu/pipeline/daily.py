"""The daily summary: actors, newcomers, next-day retention, orders and the shop funnel.

Every number is an Ibis expression over the ``events`` and ``orders`` tables, so the
same code runs on DuckDB and Spark. An *actor* is the event's person
(`siyu.identity.resolution`); records not resolved yet count under
``coalesce(user_id, anonymous_id)``.

Local days: Ibis 12 has no time-zone conversion that DuckDB and Spark both compile, so
timestamps (UTC) are shifted by the zone's UTC offset as integer epoch seconds. The
offset is piecewise: one branch per offset change of the zone inside the period (found
with ``zoneinfo``), which is exact for Asia/Shanghai (always +8) and for DST zones alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
from ibis import _

from siyu.identity.resolution import events_with_person

FUNNEL_STEPS: Final = ("view_item", "add_to_cart", "checkout", "order_paid")
RETENTION_CARRIERS: Final = ("mp", "app")
_EPOCH = date(1970, 1, 1)
_DAY_SECONDS = 86_400


def utc_offsets(tz: str, start: date, end: date) -> list[tuple[datetime, int]]:
    """(UTC instant from which it applies, offset seconds) for local days start..end.

    Example:
        >>> utc_offsets("Asia/Shanghai", date(2024, 1, 1), date(2024, 1, 2))
        [(datetime.datetime(2023, 12, 31, 0, 0), 28800)]
    """
    zone = ZoneInfo(tz)
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(days=1)
    hi = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=2)
    changes: list[tuple[datetime, int]] = []
    instant = lo
    while instant <= hi:
        offset = instant.astimezone(zone).utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        if not changes or changes[-1][1] != seconds:
            changes.append((instant.replace(tzinfo=None), seconds))
        instant += timedelta(hours=1)
    return changes


def local_day(ts: ir.TimestampValue, offsets: Sequence[tuple[datetime, int]]) -> ir.IntegerValue:
    """Days since 1970-01-01 of the local date of a UTC timestamp column."""
    shift: ir.IntegerValue = ibis.literal(offsets[0][1])
    if len(offsets) > 1:
        branches = [(ts >= ibis.literal(when), ibis.literal(off)) for when, off in offsets[1:]]
        shift = ibis.cases(*reversed(branches), else_=offsets[0][1])
    # Whole seconds first: DuckDB's epoch is fractional and a cast would round up.
    seconds = ts.truncate("s").epoch_seconds().cast("int64") + shift
    day: ir.IntegerValue = (seconds // _DAY_SECONDS).cast("int64")
    return day


def _utc_midnight(day: date, tz: str) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC).replace(tzinfo=None)


def _day_number(day: date) -> int:
    return (day - _EPOCH).days


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return rows


def data_period(con: Any, tz: str) -> tuple[date, date] | None:
    """First and last local day holding events, or None when there are none."""
    events = con.table("events")
    row = _rows(events.aggregate(lo=events.event_time.min(), hi=events.event_time.max()))[0]
    if row["lo"] is None:
        return None
    zone = ZoneInfo(tz)
    first: datetime = row["lo"].replace(tzinfo=UTC)
    last: datetime = row["hi"].replace(tzinfo=UTC)
    return first.astimezone(zone).date(), last.astimezone(zone).date()


def daily_summary(
    con: Any,
    tz: str = "Asia/Shanghai",
    *,
    start: date | None = None,
    end: date | None = None,
    funnel: Sequence[str] = FUNNEL_STEPS,
) -> dict[str, Any]:
    """Per local day (``start``..``end`` inclusive; default: the data's days) the actors
    and new actors per carrier, orders and GMV; next-day retention of new actors per
    carrier; and the ordered funnel over the period.

    ``con`` is an Ibis backend exposing ``events`` and ``orders``.
    """
    if start is None or end is None:
        period = data_period(con, tz)
        if period is None:
            return _empty(tz, start, end, funnel)
        start, end = start or period[0], end or period[1]
    offsets = utc_offsets(tz, start, end)
    lo, hi = _utc_midnight(start, tz), _utc_midnight(end + timedelta(days=1), tz)
    first_day, last_day = _day_number(start), _day_number(end)

    events = events_with_person(con.table("events"), con.table("identities"))
    actor = ibis.coalesce(events.person_id, events.user_id, events.anonymous_id)
    # Everything up to the day after the period: history decides who is new, the extra
    # day lets the last day's newcomers be checked for a return.
    upto = events.filter(events.event_time < ibis.literal(hi + timedelta(days=1)), actor.notnull())
    upto = upto.select(
        "carrier", "event", "event_time", actor=actor, day=local_day(upto.event_time, offsets)
    )
    visits = upto.select("carrier", "actor", "day").distinct()
    in_period = upto.filter(upto.event_time >= ibis.literal(lo), upto.event_time < ibis.literal(hi))

    per_carrier = (
        visits.filter(visits.day.between(first_day, last_day))
        .group_by(["day", "carrier"])
        .aggregate(actors=_.count())
    )
    totals = in_period.select("day", "actor").distinct().group_by("day").aggregate(actors=_.count())
    firsts = visits.group_by(["carrier", "actor"]).aggregate(first=_.day.min())
    returns = visits.select(r_carrier="carrier", r_actor="actor", r_day=visits.day - 1)
    cohort = firsts.filter(firsts.first.between(first_day, last_day)).left_join(
        returns,
        [
            firsts.carrier == returns.r_carrier,
            firsts.actor == returns.r_actor,
            firsts.first == returns.r_day,
        ],
    )
    retention = cohort.group_by(["first", "carrier"]).aggregate(
        new=_.count(), retained=_.r_actor.count()
    )
    overall = (
        upto.group_by("actor")
        .aggregate(first=_.day.min())
        .filter(_.first.between(first_day, last_day))
        .group_by("first")
        .aggregate(new=_.count())
    )

    orders = con.table("orders")
    paid = orders.filter(orders.paid_at >= ibis.literal(lo), orders.paid_at < ibis.literal(hi))
    daily_orders = (
        paid.mutate(day=local_day(paid.paid_at, offsets))
        .group_by("day")
        .aggregate(
            orders=_.count(),
            buyers=_.member_id.nunique(),
            gmv_fen=_.amount_fen.sum(),
            refund_fen=_.refund_fen.sum(),
        )
    )

    days = {d: _blank_day(_EPOCH + timedelta(days=d)) for d in range(first_day, last_day + 1)}
    for row in _rows(per_carrier):
        days[row["day"]]["actors"][row["carrier"]] = row["actors"]
    for row in _rows(totals):
        days[row["day"]]["actors_total"] = row["actors"]
    for row in _rows(overall):
        days[row["first"]]["new_actors_total"] = row["new"]
    summary: dict[str, dict[str, int]] = {}
    for row in _rows(retention):
        day = days[row["first"]]
        day["new_actors"][row["carrier"]] = row["new"]
        day["retained_next_day"][row["carrier"]] = row["retained"]
        if row["first"] < last_day:  # the next day is inside the period
            acc = summary.setdefault(row["carrier"], {"new": 0, "retained": 0})
            acc["new"] += row["new"]
            acc["retained"] += row["retained"]
    for row in _rows(daily_orders):
        day = days[row["day"]]
        for key in ("orders", "buyers", "gmv_fen", "refund_fen"):
            day[key] = int(row[key] or 0)

    ordered = [days[d] for d in sorted(days)]
    for day in ordered:
        day["actors"] = dict(sorted(day["actors"].items()))
        day["new_actors"] = dict(sorted(day["new_actors"].items()))
        day["retained_next_day"] = dict(sorted(day["retained_next_day"].items()))
    for carrier in RETENTION_CARRIERS:
        summary.setdefault(carrier, {"new": 0, "retained": 0})
    return {
        "timezone": tz,
        "utc_offsets": [{"from": w.isoformat(), "seconds": s} for w, s in offsets],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": ordered,
        "retention": {
            c: {**v, "rate": _rate(v["retained"], v["new"])} for c, v in sorted(summary.items())
        },
        "funnel": _funnel(in_period, funnel),
        "totals": {
            "orders": sum(d["orders"] for d in ordered),
            "gmv_fen": sum(d["gmv_fen"] for d in ordered),
            "refund_fen": sum(d["refund_fen"] for d in ordered),
            "new_actors": sum(d["new_actors_total"] for d in ordered),
        },
    }


def _funnel(events: ir.Table, steps: Sequence[str]) -> list[dict[str, Any]]:
    """Actors reaching each step in order (each step at or after the previous one)."""
    if not steps:
        return []
    hits = events.filter(events.event.isin(list(steps))).select(
        "actor", "event", t=events.event_time
    )
    reached = hits.filter(hits.event == steps[0]).group_by("actor").aggregate(t=_.t.min())
    counts = [reached.aggregate(step=ibis.literal(0), actors=_.count())]
    for k, step in enumerate(steps[1:], start=1):
        nxt = hits.filter(hits.event == step)
        prev = reached.select(p_actor="actor", p_t="t")
        joined = nxt.join(prev, nxt.actor == prev.p_actor).filter(_.t >= _.p_t)
        reached = joined.group_by("actor").aggregate(t=_.t.min())
        counts.append(reached.aggregate(step=ibis.literal(k), actors=_.count()))
    found = {r["step"]: int(r["actors"]) for r in _rows(ibis.union(*counts))}
    out = []
    for k, step in enumerate(steps):
        n = found.get(k, 0)
        out.append(
            {
                "step": step,
                "actors": n,
                "from_previous": _rate(n, found.get(k - 1, 0)) if k else 1.0,
                "from_first": _rate(n, found.get(0, 0)),
            }
        )
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _blank_day(day: date) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "actors": {},
        "actors_total": 0,
        "new_actors": {},
        "new_actors_total": 0,
        "retained_next_day": {},
        "orders": 0,
        "buyers": 0,
        "gmv_fen": 0,
        "refund_fen": 0,
    }


def _empty(tz: str, start: date | None, end: date | None, funnel: Sequence[str]) -> dict[str, Any]:
    return {
        "timezone": tz,
        "utc_offsets": [],
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "days": [],
        "retention": {c: {"new": 0, "retained": 0, "rate": None} for c in RETENTION_CARRIERS},
        "funnel": [
            {"step": s, "actors": 0, "from_previous": None, "from_first": None} for s in funnel
        ],
        "totals": {"orders": 0, "gmv_fen": 0, "refund_fen": 0, "new_actors": 0},
    }
