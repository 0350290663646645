"""The overview (数据概览): new users, DAU/WAU/MAU, next-day and 7-day retention, paying
users and GMV per local day, by carrier and by first-touch channel, with the change
against the previous period of the same length.

Active means acting (`siyu.segments.models.activity.is_acting`: not profile updates or
system events). WAU and MAU of a day count persons active in the 7 and 30 local days
ending that day. Each person's active days become intervals [day, min(next active day,
day + w)) — disjoint, so their starts and ends summed per day and accumulated give the
rolling distinct count exactly, without a calendar join.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Final

import ibis
import ibis.expr.types as ir
import pandas as pd

from siyu.analytics.request import NO_VALUE, AnalysisRequest, Breakdown
from siyu.analytics.scope import Context, local_range, only_segment, person_dimension
from siyu.segments.models.activity import counted_orders, is_acting
from siyu.segments.models.config import DEFAULT_CONFIG
from siyu.segments.models.days import day_number, day_of
from siyu.storage.temp import temp_tables

#: Days the range covers by default.
DEFAULT_DAYS: Final = 30
#: Rolling windows, in days, for WAU and MAU.
WINDOWS: Final = {"wau": 7, "mau": 30}
_EPOCH: Final = date(1970, 1, 1)


class Request(AnalysisRequest):
    """``from`` / ``to`` local days (default: the 30 days ending today), ``segment``."""


def activity(ctx: Context, first: date, last: date, segment: str | None) -> ir.Table:
    """``person_id, day, carrier``: distinct acting person-days in the local days from
    30 days before ``first`` (for MAU and the previous period) to ``last``."""
    start = ctx.facts.day_start(first - timedelta(days=WINDOWS["mau"] + (last - first).days + 1))
    end = ctx.facts.day_start(last + timedelta(days=8))
    ev = ctx.facts.events
    ev = ev.filter(
        ev.event_time >= start, ev.event_time < end, is_acting(ev, DEFAULT_CONFIG.activity)
    )
    ev = only_segment(ev, ctx, segment)
    return ev.select("person_id", "carrier", day=day_of(ev.event_time, ctx.tz)).distinct()


def first_days(ctx: Context, segment: str | None) -> ir.Table:
    """``person_id, first_day, first_carrier``: each person's first acting local day."""
    ev = ctx.facts.events
    ev = only_segment(ev.filter(is_acting(ev, DEFAULT_CONFIG.activity)), ctx, segment)
    order = ibis.struct({"t": ev.event_time, "s": ev.seq})
    firsts = ev.group_by("person_id").aggregate(
        first_time=ev.event_time.min(), first_carrier=ev.carrier.argmin(order)
    )
    return firsts.select("person_id", "first_carrier", first_day=day_of(firsts.first_time, ctx.tz))


def rolling_active(person_days: ir.Table, window: int) -> ir.Table:
    """``day, delta``: +1 / -1 per day whose running sum is the number of persons active
    in the ``window`` days ending that day."""
    days = person_days.select("person_id", "day").distinct()
    w = ibis.window(group_by=days.person_id, order_by=days.day)
    spans = days.mutate(next_day=days.day.lead().over(w))
    ends = ibis.least(ibis.coalesce(spans.next_day, spans.day + window), spans.day + window)
    starts = spans.select(day=spans.day, delta=ibis.literal(1))
    stops = spans.select(day=ends, delta=ibis.literal(-1))
    both = starts.union(stops, distinct=False)
    return both.group_by("day").aggregate(delta=both.delta.sum())


def daily_tables(
    ctx: Context,
    first: date,
    last: date,
    segment: str | None,
    keep: Callable[[ir.Table, str], ir.Table] = lambda table, _label: table,
) -> dict[str, ir.Table]:
    """The Ibis tables of the overview, per local day number, over this period and the
    previous one of the same length. ``keep`` may compute the acting person-days and
    first days once (a temporary table) for the dozen queries that read them."""
    acts = keep(activity(ctx, first, last, segment), "overview_activity")
    firsts = keep(first_days(ctx, segment), "overview_first_days")
    person_days = acts.select("person_id", "day").distinct()
    dau = person_days.group_by("day").aggregate(dau=person_days.person_id.nunique())
    carrier_dau = acts.group_by(["day", "carrier"]).aggregate(dau=acts.person_id.nunique())
    lo, hi = day_number(first) - (last - first).days - 1, day_number(last)
    cohort = firsts.filter(firsts.first_day >= lo, firsts.first_day <= hi)
    returned = {}
    for name, offset in (("d1", 1), ("d7", 7)):
        back = person_days.select(person_id=person_days.person_id, day=person_days.day - offset)
        kept = cohort.semi_join(
            back, [cohort.person_id == back.person_id, cohort.first_day == back.day]
        )
        returned[name] = kept.group_by("first_day").aggregate(**{name: kept.count()})
    new = cohort.group_by("first_day").aggregate(new_users=cohort.count())
    new_by_carrier = cohort.group_by(["first_day", "first_carrier"]).aggregate(
        new_users=cohort.count()
    )
    until = ctx.facts.day_start(last + timedelta(days=1))
    orders = only_segment(
        counted_orders(ctx.facts.orders, DEFAULT_CONFIG.orders, until), ctx, segment
    )
    orders = orders.mutate(day=day_of(orders.paid_at, ctx.tz))
    orders = orders.filter(orders.day >= lo)
    paying = orders.group_by("day").aggregate(
        paying=orders.person_id.nunique(), gmv_fen=orders.net_fen.sum()
    )
    now = orders.day >= day_number(first)
    payers = orders.aggregate(
        current=orders.person_id.nunique(where=now),
        previous=orders.person_id.nunique(where=~now),
    )
    return {
        "dau": dau,
        "carrier_dau": carrier_dau,
        "new": new,
        "new_by_carrier": new_by_carrier,
        "d1": returned["d1"],
        "d7": returned["d7"],
        "paying": paying,
        "payers": payers,
        "new_persons": cohort.filter(cohort.first_day >= day_number(first)),
        "range_orders": orders.filter(now),
        **{name: rolling_active(person_days, w) for name, w in WINDOWS.items()},
    }


def by_channel(ctx: Context, tables: dict[str, ir.Table]) -> ir.Table:
    """``channel, new_users, paying, gmv_fen``: this period's new persons and revenue by
    first-touch channel (the ``channel:`` sets of the last segments compute)."""
    dims = person_dimension(ctx, Breakdown("channel"))
    new = tables["new_persons"]
    new = new.left_join(dims, new.person_id == dims.person_id)
    new = new.group_by(channel=ibis.coalesce(new.breakdown, NO_VALUE)).aggregate(
        new_users=new.count()
    )
    orders = tables["range_orders"]
    orders = orders.left_join(dims, orders.person_id == dims.person_id)
    money = orders.group_by(channel=ibis.coalesce(orders.breakdown, NO_VALUE)).aggregate(
        paying=orders.person_id.nunique(), gmv_fen=orders.net_fen.sum()
    )
    joined = new.outer_join(money, new.channel == money.channel)
    return joined.select(
        channel=ibis.coalesce(joined.channel, joined.channel_right),
        new_users=ibis.coalesce(joined.new_users, 0),
        paying=ibis.coalesce(joined.paying, 0),
        gmv_fen=ibis.coalesce(joined.gmv_fen, 0),
    )


def analyse(ctx: Context, request: Request) -> dict[str, Any]:
    first, last = local_range(ctx, request.date_from, request.date_to, default_days=DEFAULT_DAYS)
    span = (last - first).days + 1
    keep = ("dau", "carrier_dau", "new", "new_by_carrier", "d1", "d7", "paying", "payers")
    with temp_tables(ibis.get_backend(ctx.facts.events)) as temp:
        tables = daily_tables(ctx, first, last, request.segment, temp.materialise)
        frames = {name: tables[name].execute() for name in (*keep, *WINDOWS)}
        channels = by_channel(ctx, tables).execute()
    lo, hi = day_number(first) - span, day_number(last)
    table = pd.DataFrame({"day": range(lo, hi + 1)})
    for name, key in (
        ("dau", "day"),
        ("new", "first_day"),
        ("d1", "first_day"),
        ("d7", "first_day"),
        ("paying", "day"),
    ):
        table = table.merge(frames[name].rename(columns={key: "day"}), on="day", how="left")
    for name in WINDOWS:
        deltas = frames[name].set_index("day")["delta"]
        start = int(min(deltas.index.min(), lo)) if len(deltas) else lo
        running = deltas.groupby(level=0).sum().reindex(range(start, hi + 1), fill_value=0)
        table[name] = running.cumsum().reindex(table.day, fill_value=0).to_numpy()
    table = table.fillna(0)
    today_n = day_number(ctx.today)
    current = table[table.day >= day_number(first)]
    previous = table[table.day < day_number(first)]
    payers = frames["payers"].iloc[0]
    kpis = [
        _kpi("new_users", current.new_users.sum(), previous.new_users.sum()),
        _kpi("dau", current.dau.mean(), previous.dau.mean()),
        _kpi("wau", current.wau.iloc[-1], previous.wau.iloc[-1]),
        _kpi("mau", current.mau.iloc[-1], previous.mau.iloc[-1]),
        _kpi(
            "next_day_retention",
            _rate(current, "d1", 1, today_n),
            _rate(previous, "d1", 1, today_n),
        ),
        _kpi("day7_retention", _rate(current, "d7", 7, today_n), _rate(previous, "d7", 7, today_n)),
        _kpi("paying_users", payers["current"], payers["previous"]),
        _kpi("gmv_fen", current.gmv_fen.sum(), previous.gmv_fen.sum()),
    ]
    return {
        "range": {"from": first, "to": last, "previous_from": first - timedelta(days=span)},
        "kpis": kpis,
        "daily": {
            "days": [_EPOCH + timedelta(days=int(d)) for d in current.day],
            "new_users": [float(v) for v in current.new_users],
            "dau": [float(v) for v in current.dau],
            "wau": [float(v) for v in current.wau],
            "mau": [float(v) for v in current.mau],
            "paying": [float(v) for v in current.paying],
            "gmv_fen": [float(v) for v in current.gmv_fen],
            "next_day_retention": _daily_rate(current, "d1", 1, today_n),
            "day7_retention": _daily_rate(current, "d7", 7, today_n),
        },
        "by_carrier": _by_carrier(frames, day_number(first), hi),
        "by_channel": channels.sort_values(
            ["new_users", "channel"], ascending=[False, True]
        ).to_dict("records"),
    }


def _kpi(key: str, now: Any, before: Any) -> dict[str, Any]:
    change = None if now is None or before is None or not before else float(now) / float(before) - 1
    return {"key": key, "value": now, "previous": before, "change": change}


def _rate(part: pd.DataFrame, name: str, offset: int, today_n: int) -> float | None:
    """Returning new users over new users, for cohorts whose day ``offset`` has come."""
    done = part[part.day + offset <= today_n]
    cohort = float(done.new_users.sum())
    return float(done[name].sum()) / cohort if cohort else None


def _daily_rate(part: pd.DataFrame, name: str, offset: int, today_n: int) -> list[float | None]:
    rates: list[float | None] = []
    for day, new, back in zip(part.day, part.new_users, part[name], strict=True):
        done = int(day) + offset <= today_n and new
        rates.append(float(back) / float(new) if done else None)
    return rates


def _by_carrier(frames: dict[str, pd.DataFrame], lo: int, hi: int) -> list[dict[str, Any]]:
    """Average DAU and new users per carrier over the period."""
    dau = frames["carrier_dau"]
    dau = dau[(dau.day >= lo) & (dau.day <= hi)]
    new = frames["new_by_carrier"]
    new = new[(new.first_day >= lo) & (new.first_day <= hi)]
    days = hi - lo + 1
    rows = [
        {
            "carrier": carrier,
            "dau": float(dau[dau.carrier == carrier].dau.sum()) / days,
            "new_users": int(new[new.first_carrier == carrier].new_users.sum()),
        }
        for carrier in sorted(set(dau.carrier) | set(new.first_carrier))
    ]
    return sorted(rows, key=lambda r: -r["dau"])
