"""Lifecycle stages (生命周期): new, active, silent, churned, returning; and paying.

One grouped pass makes the person's active local days; one window over those (not over
events) finds the gaps between them; one more group-by gives each person's first and
last day, the day their current run of activity began and their last return. The stage
and the date it began follow from those few numbers (docs/models.md, "Lifecycle").
"""

from __future__ import annotations

from datetime import date
from typing import Final

import ibis
import ibis.expr.types as ir

from siyu.segments.dialect import Dialect
from siyu.segments.models.activity import activity_times, paying_persons
from siyu.segments.models.config import DEFAULT_CONFIG, ModelsConfig
from siyu.segments.models.days import date_of, day_number, day_of, end_of

#: Stage code -> (中文, English).
STAGES: Final = {
    "new": ("新用户", "new"),
    "active": ("活跃", "active"),
    "silent": ("沉默", "silent"),
    "churned": ("流失", "churned"),
    "returning": ("回流", "returning"),
}


def lifecycle(
    events: ir.Table,
    orders: ir.Table,
    *,
    today: date,
    tz: str = "Asia/Shanghai",
    config: ModelsConfig = DEFAULT_CONFIG,
    dialect: Dialect | None = None,
) -> ir.Table:
    """One row per person with activity up to the end of ``today``:
    person_id, stage, paying, first_seen, last_active, stage_since.

    ``first_seen`` and ``last_active`` are UTC timestamps of the first and last activity
    (acting events and counted orders); ``stage_since`` is the local date the stage
    began. ``dialect`` is accepted for a uniform call; lifecycle reads no JSON.
    """
    del dialect
    rules = config.lifecycle
    until = end_of(today, tz)
    acts = activity_times(
        events, orders, activity=config.activity, rules=config.orders, until=until
    )
    acts = acts.mutate(day=day_of(acts.at, tz))
    days = acts.group_by(["person_id", "day"]).aggregate(
        first_at=acts.at.min(), last_at=acts.at.max()
    )
    days = days.mutate(gap=days.day - days.day.lag().over(group_by="person_id", order_by="day"))
    people = days.group_by("person_id").aggregate(
        first_seen=days.first_at.min(),
        last_active=days.last_at.max(),
        first_day=days.day.min(),
        last_day=days.day.max(),
        entry=days.day.max(where=days.gap.isnull() | (days.gap > rules.active_days)),
        back=days.day.max(where=days.gap > rules.return_gap_days),
    )
    paying = paying_persons(orders, today, tz, config)
    people = people.left_join(paying, people.person_id == paying.paying_id)
    stage, since = _stage(people, day_number(today), config)
    return people.select(
        "person_id",
        stage=stage,
        paying=people.paying_id.notnull(),
        first_seen=people.first_seen,
        last_active=people.last_active,
        stage_since=date_of(since),
    )


def _stage(
    people: ir.Table, today: int, config: ModelsConfig
) -> tuple[ir.StringValue, ir.IntegerValue]:
    """The stage and the day number it began, from first/last/entry/back days.

    ``entry`` is the last day the person became active after more than ``active_days``
    without activity (or their first day); ``back`` the last such day after more than
    ``return_gap_days``. Stages after "new" cannot begin before it ends.
    """
    rules = config.lifecycle
    first, last, entry, back = people.first_day, people.last_day, people.entry, people.back
    age = today - last
    is_new = today - first < rules.new_days
    is_returning = back.notnull() & (today - back < rules.active_days)
    new_end = first + rules.new_days
    active_since = ibis.cases(
        (entry == first, new_end),
        (entry == back, back + rules.active_days),
        else_=entry,
    )
    stage: ir.StringValue = ibis.cases(
        (is_new, "new"),
        (is_returning, "returning"),
        (age < rules.active_days, "active"),
        (age < rules.churn_days, "silent"),
        else_="churned",
    )
    since: ir.IntegerValue = ibis.cases(
        (is_new, first),
        (is_returning, back),
        (age < rules.active_days, ibis.greatest(active_since, new_end)),
        (age < rules.churn_days, ibis.greatest(last + rules.active_days, new_end)),
        else_=ibis.greatest(last + rules.churn_days, new_end),
    )
    return stage, since
