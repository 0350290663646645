"""The tables a rule reads, on one backend, as of one local day.

`Facts` is a bundle of Ibis expressions — events and orders with their person, the
persons, the materialised memberships and the person profiles — plus the day and time
zone that relative windows count from. It opens nothing: ``facts_from(con, ...)`` builds
it from an Ibis connection the caller (storage) opened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Final

import ibis.expr.types as ir

from siyu.identity.profiles import person_profiles
from siyu.identity.resolution import events_with_person, orders_with_person
from siyu.segments.dialect import Dialect, dialect_of, utc_midnight

#: Event columns rules and models read (the rest stay in the warehouse).
EVENT_FACT_COLUMNS: Final = (
    "person_id",
    "seq",
    "event_id",
    "type",
    "event",
    "event_time",
    "carrier",
    "app_id",
    "source_id",
    "protocol",
    "user_id",
    "anonymous_id",
    "properties",
    "context",
)


@dataclass(frozen=True)
class Facts:
    """Everything a compiled rule may read. ``today`` is the local day evaluated (day 1)."""

    events: ir.Table
    orders: ir.Table
    persons: ir.Table
    memberships: ir.Table
    today: date
    tz: str
    dialect: Dialect
    profiles_source: Callable[[], ir.Table] = field(compare=False)
    clv_scores_source: Callable[[], ir.Table] | None = field(default=None, compare=False)

    def profiles(self) -> ir.Table:
        """One row per person (docs/profiles.md); built only when a rule reads it."""
        return self.profiles_source()

    def clv_scores(self) -> ir.Table:
        """The latest per-person CLV scores (`siyu clv score`); read only when a rule does."""
        if self.clv_scores_source is None:
            raise LookupError("these facts have no CLV scores table")
        return self.clv_scores_source()

    def cached(self, materialise: Callable[[ir.Table, str], ir.Table]) -> Facts:
        """The same facts with orders and persons computed once (``materialise``, e.g.
        `siyu.storage.temp.TempTables.materialise`).

        The events stay an expression: each pass reads only the columns and row groups
        it needs from the events table and finds persons with one integer probe per
        event (its ``actor``). On DuckDB, copying every event with its person into a
        temporary table first cost more than it saved (10M events: a compute run took
        10.8-12.7 s with the copy, 8.3-9.5 s without).
        """
        return replace(
            self,
            orders=materialise(self.orders, "orders"),
            persons=materialise(self.persons, "persons"),
        )

    def day_start(self, day: date) -> datetime:
        """UTC instant at which local ``day`` begins."""
        return utc_midnight(day, self.tz)

    def days_ago(self, days: int) -> date:
        return self.today - timedelta(days=days)


def facts_from(
    con: Any,
    *,
    today: date,
    tz: str,
    profiles: ir.Table | None = None,
    memberships: ir.Table | None = None,
) -> Facts:
    """Facts over the warehouse tables of ``con`` (DuckDB or Spark, same names).

    ``profiles`` is a materialised profile table when one exists (a compute run writes
    it); otherwise profiles are computed from the events when a rule needs them.
    ``memberships`` defaults to the open rows of the ``memberships`` table.
    """
    return facts_over(
        con.table, dialect_of(con), today=today, tz=tz, profiles=profiles, memberships=memberships
    )


def facts_over(
    table: Callable[[str], ir.Table],
    dialect: Dialect,
    *,
    today: date,
    tz: str,
    profiles: ir.Table | None = None,
    memberships: ir.Table | None = None,
) -> Facts:
    """`facts_from` over any source of tables by name (unbound tables print golden SQL)."""
    identities = table("identities")
    events = events_with_person(table("events"), identities)
    events = events.filter(events.person_id.notnull())
    orders = orders_with_person(table("orders"), identities)
    orders = orders.filter(orders.person_id.notnull())
    persons = identities.filter(~identities.junk).select("person_id").distinct()
    if memberships is None:
        stored = table("memberships")
        memberships = stored.filter(stored.exited_at.isnull()).select(
            "set_key", "person_id", "weight"
        )
    channels = table("channels")

    def live_profiles() -> ir.Table:
        return person_profiles(events, tz, channels=channels)

    return Facts(
        events=events,
        orders=orders,
        persons=persons,
        memberships=memberships,
        today=today,
        tz=tz,
        dialect=dialect,
        profiles_source=(lambda: profiles) if profiles is not None else live_profiles,
        clv_scores_source=lambda: table("clv_scores"),
    )
