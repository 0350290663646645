"""What an analysis reads and the checks every analysis makes on its request.

`Context` bundles the `Facts` (events and orders with their person, memberships,
profiles, the local day and time zone), the names of events ever received (to refuse a
misspelt step) and access to the other warehouse tables by name. It opens nothing:
`context_from(con, ...)` builds it from an Ibis connection storage opened.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.request import (
    MAX_BREAKDOWN_VALUES,
    NO_VALUE,
    SET_BREAKDOWNS,
    Breakdown,
)
from siyu.segments.facts import Facts, facts_from
from siyu.segments.service import SYSTEM_EVENTS


@dataclass(frozen=True)
class Context:
    """Everything an analysis may read. ``facts.today`` is the last local day counted."""

    facts: Facts
    known_events: frozenset[str]
    table: Callable[[str], ir.Table]

    @property
    def today(self) -> date:
        return self.facts.today

    @property
    def tz(self) -> str:
        return self.facts.tz


def context_from(
    con: Any, *, today: date, tz: str, known_events: Iterable[str] | None = None
) -> Context:
    """A context over the warehouse tables of ``con`` (DuckDB or Spark, same names).

    ``known_events`` defaults to the distinct event names in ``events`` (one scan).
    """
    facts = facts_from(con, today=today, tz=tz)
    if known_events is None:
        names = con.table("events").select("event").distinct().execute()["event"]
        known_events = {str(n) for n in names}
    return Context(facts, frozenset(known_events) | SYSTEM_EVENTS, con.table)


def check_event(ctx: Context, name: str, field: str) -> str:
    """``name`` if some event of that name was received; else a clear `InvalidRequest`."""
    if not name or not name.strip():
        raise InvalidRequest(field, "the event name is empty")
    if name not in ctx.known_events:
        close = difflib.get_close_matches(name, sorted(ctx.known_events), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InvalidRequest(
            field, f"no event {name!r} has been received{hint} (send one first, or fix the name)"
        )
    return name


def check_segment(ctx: Context, key: str, field: str = "segment") -> str:
    """``key`` if it names a set with members now (a segment, tag or layer)."""
    m = ctx.facts.memberships
    found = int(m.filter(m.set_key == key).limit(1).count().execute())
    if not found:
        raise InvalidRequest(
            field,
            f"no segment, tag or layer {key!r} has members; check the key with "
            "`siyu segments sets`, or run `siyu segments compute` first",
        )
    return key


def local_range(
    ctx: Context, date_from: date | None, date_to: date | None, *, default_days: int
) -> tuple[date, date]:
    """The local days analysed: ``to`` defaults to today, ``from`` to ``default_days``
    days ending ``to``."""
    last = date_to or ctx.today
    first = date_from or last - timedelta(days=default_days - 1)
    if first > last:
        raise InvalidRequest("from", f"from ({first}) is after to ({last}); swap them")
    return first, last


def utc_bounds(ctx: Context, first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants (naive, like stored timestamps) from the start of local day ``first``
    to the end of local day ``last``."""
    return ctx.facts.day_start(first), ctx.facts.day_start(last + timedelta(days=1))


def events_between(
    ctx: Context, start: datetime, end: datetime, names: Iterable[str] | None = None
) -> ir.Table:
    """Events with their person in [start, end), optionally of the given names only."""
    ev = ctx.facts.events
    ev = ev.filter(ev.event_time >= start, ev.event_time < end)
    wanted = sorted(set(names)) if names is not None else None
    if wanted is not None:
        ev = ev.filter(ev.event.isin(wanted))
    return ev


def segment_persons(ctx: Context, key: str) -> ir.Table:
    """``person_id`` of the persons now in set ``key``."""
    m = ctx.facts.memberships
    return m.filter(m.set_key == key).select("person_id").distinct()


def only_segment(table: ir.Table, ctx: Context, key: str | None) -> ir.Table:
    """``table`` (with ``person_id``) kept to persons now in set ``key``, if given."""
    if key is None:
        return table
    members = segment_persons(ctx, key)
    return table.semi_join(members, table.person_id == members.person_id)


def person_dimension(ctx: Context, by: Breakdown) -> ir.Table:
    """``person_id, breakdown`` for a person-level breakdown.

    Set breakdowns (channel, lifecycle, rfm, value_tier, role) read the sets of the last
    `siyu segments compute`; ``segment:a,b`` gives a row per set the person is in (a
    person in both counts in both); ``property:name`` reads the person property.
    Persons without a value are absent: callers label them `NO_VALUE`.
    """
    m = ctx.facts.memberships
    if by.kind in SET_BREAKDOWNS:
        prefix = SET_BREAKDOWNS[by.kind]
        rows = m.filter(m.set_key.startswith(prefix))
        return rows.select("person_id", breakdown=rows.set_key.substr(len(prefix)))
    if by.kind == "segment":
        for key in by.arg:
            check_segment(ctx, key, "by")
        rows = m.filter(m.set_key.isin(list(by.arg)))
        return rows.select("person_id", breakdown=rows.set_key)
    if by.kind == "property":
        profiles = ctx.facts.profiles()
        value = ctx.facts.dialect.json_text(profiles.properties, by.arg[0])
        return profiles.select("person_id", breakdown=value).filter(lambda t: t.breakdown.notnull())
    raise InvalidRequest("by", f"{by.label()!r} is a per-event breakdown, not a person one")


def event_dimension(ctx: Context, events: ir.Table, by: Breakdown) -> ir.StringValue:
    """The breakdown value of each event for a per-event breakdown (null: no value)."""
    if by.kind == "event":
        value: ir.StringValue = ctx.facts.dialect.json_text(events.properties, by.arg[0])
        return value
    if by.kind in ("carrier", "app_id", "source_id"):
        column: ir.StringValue = events[by.kind].cast(dt.string)
        return column
    raise InvalidRequest("by", f"{by.label()!r} is a person breakdown, not a per-event one")


def with_breakdown(ctx: Context, table: ir.Table, by: Breakdown | None) -> ir.Table:
    """``table`` (one row per person, or per event for per-event breakdowns) plus a
    ``breakdown`` string column; `NO_VALUE` where there is none. Without a breakdown the
    column is the constant ``"all"``."""
    if by is None:
        return table.mutate(breakdown=ibis.literal("all"))
    if by.per_event:
        return table.mutate(breakdown=ibis.coalesce(event_dimension(ctx, table, by), NO_VALUE))
    dims = person_dimension(ctx, by)
    joined = table.left_join(dims, table.person_id == dims.person_id)
    joined = joined.drop("person_id_right") if "person_id_right" in joined.columns else joined
    return joined.mutate(breakdown=ibis.coalesce(joined.breakdown, NO_VALUE))


def check_breakdown_values(values: Iterable[Any], by: Breakdown | None) -> None:
    """Refuse a breakdown with more than `MAX_BREAKDOWN_VALUES` values."""
    if by is None:
        return
    distinct = set(values)
    if len(distinct) > MAX_BREAKDOWN_VALUES:
        raise InvalidRequest(
            "by",
            f"{by.label()!r} has {len(distinct)} values; at most {MAX_BREAKDOWN_VALUES} fit a "
            "chart — choose a coarser breakdown or filter with a segment",
        )
