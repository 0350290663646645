"""Funnel steps and exclusions as data, and the step events they select (Ibis).

A step is an event name with optional conditions on its properties (the JSON
``properties``) or on event columns (``carrier``, ``app_id``, ``source_id`` ...), in the
operator vocabulary of the segment language (``eq``, ``in``, ``gt``, ``contains``,
``is_set`` ...; see docs/segments.md). `step_entries` turns the events into *entries*:
one row per event and step it matches, ``person_id, t, step`` (an event matching two
steps gives two entries, as in ClickHouse's ``windowFunnel``).

Example:
    >>> parse_where([{"property": "price_fen", "op": "gt", "value": 100}], "steps[1].where")
    (Condition(name='price_fen', op='gt', value=100, type='number'),)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import ibis
import ibis.expr.types as ir

from siyu.analytics.exceptions import InvalidRequest
from siyu.segments.compile import compare
from siyu.segments.definition import EVENT_COLUMNS, Condition, parse_condition
from siyu.segments.exceptions import InvalidDefinition
from siyu.segments.facts import Facts

#: Fewest and most steps a funnel may have (ClickHouse's windowFunnel allows 32).
MIN_STEPS: Final = 2
MAX_STEPS: Final = 20


@dataclass(frozen=True)
class StepDef:
    """One step: ``event`` where all ``where`` conditions hold, shown as ``label``."""

    event: str
    where: tuple[Condition, ...] = ()
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.event


@dataclass(frozen=True)
class ExclusionDef:
    """``event`` (where ``where`` holds) must not happen between steps ``start`` and
    ``end`` (1-based step numbers, ``start < end``) of a chain."""

    event: str
    start: int
    end: int
    where: tuple[Condition, ...] = ()

    def covers(self, step: int) -> bool:
        """Whether reaching ``step`` from ``step - 1`` is a move this exclusion guards."""
        return self.start < step <= self.end


def parse_where(data: Any, field: str) -> tuple[Condition, ...]:
    """``[{property, op, value, type?}]`` as segment-language conditions.

    ``property`` names an event column (carrier, app_id, source_id, protocol, type,
    library) or else a member of the event's JSON properties.
    """
    if data is None:
        return ()
    if not isinstance(data, list):
        raise InvalidRequest(field, "expected a list of conditions {property, op, value}")
    conditions = []
    for i, item in enumerate(data):
        path = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequest(path, "expected a condition {property, op, value}")
        unknown = sorted(set(map(str, item)) - {"property", "op", "value", "type"})
        if unknown:
            raise InvalidRequest(
                f"{path}.{unknown[0]}", "unknown field; a condition has property, op, value, type"
            )
        if "property" not in item:
            raise InvalidRequest(f"{path}.property", "missing: name the property to test")
        body = {"name": item["property"], **{k: v for k, v in item.items() if k != "property"}}
        try:
            conditions.append(parse_condition(body, path, columns=EVENT_COLUMNS))
        except InvalidDefinition as exc:
            where = exc.path.removesuffix(".name")
            where = f"{where}.property" if where != exc.path else where
            raise InvalidRequest(where, exc.detail) from None
    return tuple(conditions)


def matches(
    events: ir.Table, event: str, where: Sequence[Condition], facts: Facts
) -> ir.BooleanValue:
    """Rows of ``events`` that are ``event`` and meet every condition (null is no)."""
    cond: ir.BooleanValue = events.event == event
    for c in where:
        if c.name in EVENT_COLUMNS:
            cond &= compare(events[c.name], c, facts, utc=True)
        elif c.type == "number":
            cond &= compare(
                facts.dialect.json_number(events.properties, c.name), c, facts, utc=False
            )
        else:
            text = facts.dialect.json_text(events.properties, c.name)
            cond &= compare(text, c, facts, utc=False)
    return cond.fill_null(False)


@dataclass(frozen=True)
class Selection:
    """The step events of a funnel: ``entries`` (``person_id, t, step`` and, when asked,
    ``cohort``) and ``excluded`` (``person_id, t, x``: exclusion ``x`` happened)."""

    entries: ir.Table
    excluded: ir.Table | None


def step_entries(
    events: ir.Table,
    facts: Facts,
    steps: Sequence[StepDef],
    *,
    entry_until: datetime,
    exclusions: Sequence[ExclusionDef] = (),
    cohort: ir.Value | None = None,
    person: str = "person_id",
) -> Selection:
    """Entries of ``events`` (already narrowed to the funnel's time span and persons).

    Step 1 counts only before ``entry_until`` (the end of the date range: a funnel is
    entered in the range, later steps may follow up to the window after it). ``cohort``
    (an expression over ``events``) is kept on step-1 entries: a trend period or a
    per-event breakdown value. The entries' ``person_id`` is column ``person`` of
    ``events`` (a funnel passes the run's integer person number).
    """
    names = [s.event for s in steps]
    first = matches(events, steps[0].event, steps[0].where, facts) & (
        events.event_time < entry_until
    )
    tests = [first] + [matches(events, s.event, s.where, facts) for s in steps[1:]]
    extra = (
        {"cohort": ibis.ifelse(tests[0], cohort, ibis.null()).cast("string")}
        if cohort is not None
        else {}
    )
    if len(set(names)) == len(names):
        # Each event matches one step at most: one pass, the step from its name.
        step = ibis.cases(*((test, i + 1) for i, test in enumerate(tests)), else_=ibis.null())
        rows = events.select(
            person_id=events[person], t=events.event_time, step=step.cast("int16"), **extra
        )
        entries = rows.filter(rows.step.notnull())
    else:
        parts = [
            events.filter(test).select(
                person_id=events[person],
                t=events.event_time,
                step=ibis.literal(i + 1, "int16"),
                **extra,
            )
            for i, test in enumerate(tests)
        ]
        entries = parts[0].union(*parts[1:], distinct=False)
    excluded = None
    if exclusions:
        marks = [
            events.filter(matches(events, x.event, x.where, facts)).select(
                person_id=events[person], t=events.event_time, x=ibis.literal(i, "int16")
            )
            for i, x in enumerate(exclusions)
        ]
        excluded = marks[0].union(*marks[1:], distinct=False) if len(marks) > 1 else marks[0]
    return Selection(entries, excluded)
