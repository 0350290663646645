"""Compile rule trees to Ibis: one boolean column per rule over one row per person.

Leaves become *features*, per-person columns computed in as few passes as possible:
every event leaf of every rule is one filtered aggregate in a single ``group_by`` over the
events (pre-filtered to the event names any rule reads); order leaves likewise over the
orders; memberships in one pass over the open memberships; profile properties in one
projection of the profile table; CLV score leaves in one pass over the latest scores;
sequences and carrier facts each in their own small pass. The frame is the persons
left-joined to those feature tables, and a rule is a boolean expression over the frame's
columns (missing features read as 0 / false), so 30 segments cost one scan of the events,
not 30.

A segment referenced by another is compiled inline (its rule, not last run's members),
so a run is consistent; a reference cycle is an error naming the node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final

import ibis
import ibis.expr.types as ir

from siyu.identity.profiles import (
    CHANGE_KEYS,
    GROUP_JOIN,
    GROUP_KEYS,
    GROUP_LEAVE,
    OA_FOLLOW,
    OA_UNFOLLOW,
    STAFF_KEYS,
    WECOM_ADD,
    WECOM_CHANGE,
    WECOM_REMOVE,
)
from siyu.segments.definition import (
    EVENT_COLUMNS,
    PROFILE_COLUMNS,
    Aggregate,
    All,
    AnyOf,
    Carrier,
    Clv,
    Condition,
    DateValue,
    Definition,
    Event,
    FirstEvent,
    InSet,
    LastEvent,
    Node,
    Not,
    Property,
    RelativeDate,
    Sequence,
    Step,
    Window,
)
from siyu.segments.exceptions import InvalidDefinition
from siyu.segments.facts import Facts

#: Set-key prefix per membership kind (docs/segments.md, "Sets").
SET_PREFIX: Final = {
    "lifecycle": "lifecycle:",
    "paying": "",
    "rfm": "rfm:",
    "value_tier": "value:",
    "role": "role:",
    "tag": "tag:",
    "interest": "interest:",
    "channel": "channel:",
}


def set_key(kind: str, value: str) -> str:
    """The materialised set a membership leaf reads, e.g. ``rfm:important_value``."""
    return f"{SET_PREFIX[kind]}{value}"


class RuleCompiler:
    """Compiles rules against one `Facts`; features are shared between rules."""

    def __init__(self, facts: Facts, segments: Mapping[str, Definition] | None = None) -> None:
        self.facts = facts
        self.segments = dict(segments or {})
        self._names: dict[tuple[str, Any], str] = {}
        self._event_names: set[str] = set()
        self._event_aggs: dict[str, Callable[[ir.Table], ir.Value]] = {}
        self._order_aggs: dict[str, Callable[[ir.Table], ir.Value]] = {}
        self._set_aggs: dict[str, Callable[[ir.Table], ir.Value]] = {}
        self._profile_cols: dict[str, Callable[[ir.Table], ir.Value]] = {}
        self._clv_aggs: dict[str, Callable[[ir.Table], ir.Value]] = {}
        self._tables: dict[str, ir.Table] = {}
        self._rules: dict[str, Callable[[ir.Table], ir.BooleanValue]] = {}

    # -- public -------------------------------------------------------------------------

    def add(self, name: str, rule: Node, path: str = "rule", *, key: str | None = None) -> None:
        """Register ``rule`` as output column ``name``; ``key`` is the segment it defines
        (so a reference back to it is reported as a cycle)."""
        self._rules[name] = self._node(rule, path, (key,) if key else ())

    def frame(self) -> ir.Table:
        """``person_id`` plus one boolean column per added rule, one row per person."""
        frame = self.facts.persons
        parts: list[ir.Table] = []
        if self._event_aggs:
            ev = self.facts.events
            ev = ev.filter(ev.event.isin(sorted(self._event_names)))
            parts.append(_grouped(ev, self._event_aggs))
        if self._order_aggs:
            parts.append(_grouped(self.facts.orders, self._order_aggs))
        if self._set_aggs:
            parts.append(_grouped(self.facts.memberships, self._set_aggs))
        if self._profile_cols:
            prof = self.facts.profiles()
            cols = {name: build(prof) for name, build in self._profile_cols.items()}
            parts.append(prof.select(person_id=prof.person_id, **cols))
        if self._clv_aggs:
            parts.append(_grouped(self.facts.clv_scores(), self._clv_aggs))
        parts.extend(self._tables.values())
        for i, part in enumerate(parts):
            keyed = part.rename(**{f"_pid{i}": "person_id"})
            frame = frame.left_join(keyed, frame.person_id == keyed[f"_pid{i}"]).drop(f"_pid{i}")
        return frame.select(
            "person_id", **{name: build(frame) for name, build in self._rules.items()}
        )

    # -- nodes --------------------------------------------------------------------------

    def _node(
        self, node: Node, path: str, stack: tuple[str, ...]
    ) -> Callable[[ir.Table], ir.BooleanValue]:
        match node:
            case All(children):
                parts = [self._node(c, f"{path}.all[{i}]", stack) for i, c in enumerate(children)]
                return lambda f: _fold(parts, f, lambda a, b: a & b)
            case AnyOf(children):
                parts = [self._node(c, f"{path}.any[{i}]", stack) for i, c in enumerate(children)]
                return lambda f: _fold(parts, f, lambda a, b: a | b)
            case Not(child):
                inner = self._node(child, f"{path}.not", stack)
                return lambda f: ~inner(f)
            case InSet("segment", key):
                return self._segment(key, f"{path}.segment", stack)
            case InSet():
                return self._set(node)
            case Property(cond):
                return self._property(cond)
            case Event():
                return self._event(node)
            case Aggregate():
                return self._aggregate(node)
            case LastEvent():
                return self._last(node)
            case FirstEvent():
                return self._first(node)
            case Sequence():
                return self._sequence(node)
            case Carrier():
                return self._carrier(node)
            case Clv():
                return self._clv(node)
        raise TypeError(f"not a node: {node!r}")  # pragma: no cover

    def _segment(
        self, key: str, path: str, stack: tuple[str, ...]
    ) -> Callable[[ir.Table], ir.BooleanValue]:
        if key in stack:
            cycle = " -> ".join([*stack, key])
            raise InvalidDefinition(path, f"segments refer to each other in a cycle: {cycle}")
        target = self.segments.get(key)
        if target is None:
            raise InvalidDefinition(path, f"no segment {key!r}; check `siyu segments list`")
        return self._node(target.rule, f"segment {key}: rule", (*stack, key))

    def _feature(self, kind: str, spec: Any) -> tuple[str, bool]:
        """The column name of a feature, and whether it is new."""
        known = self._names.get((kind, spec))
        if known is not None:
            return known, False
        name = f"f{len(self._names)}"
        self._names[(kind, spec)] = name
        return name, True

    def _set(self, node: InSet) -> Callable[[ir.Table], ir.BooleanValue]:
        name, new = self._feature("set", node)
        if new:
            key = set_key(node.kind, node.value)

            def member(m: ir.Table) -> ir.Value:
                hit = m.set_key == key
                if node.min_weight is not None:
                    hit &= m.weight >= node.min_weight
                return hit.any()

            self._set_aggs[name] = member
        return lambda f: f[name].fill_null(False)

    def _property(self, cond: Condition) -> Callable[[ir.Table], ir.BooleanValue]:
        name, new = self._feature("property", cond)
        if new:
            facts = self.facts

            def column(p: ir.Table) -> ir.Value:
                if cond.name in PROFILE_COLUMNS:
                    return compare(p[cond.name], cond, facts, utc=True)
                text = facts.dialect.json_text(p.properties, cond.name)
                return compare(text, cond, facts, utc=False)

            self._profile_cols[name] = column
        return lambda f: f[name].fill_null(False)

    def _event_agg(self, names: set[str], spec: Any, build: Callable[[ir.Table], ir.Value]) -> str:
        name, new = self._feature("event", spec)
        if new:
            self._event_names |= names
            self._event_aggs[name] = build
        return name

    def _event(self, node: Event) -> Callable[[ir.Table], ir.BooleanValue]:
        facts = self.facts
        name = self._event_agg(
            {node.name},
            ("count", node.name, node.where, node.window),
            lambda e: e.count(where=_event_filter(e, node.name, node.where, node.window, facts)),
        )

        def test(f: ir.Table) -> ir.BooleanValue:
            count = f[name].fill_null(0)
            ok: ir.BooleanValue = ibis.literal(True)
            if node.at_least is not None:
                ok &= count >= node.at_least
            if node.at_most is not None:
                ok &= count <= node.at_most
            return ok

        return test

    def _aggregate(self, node: Aggregate) -> Callable[[ir.Table], ir.BooleanValue]:
        facts = self.facts
        spec = (
            "aggregate",
            node.fn,
            node.source,
            node.event,
            node.property,
            node.where,
            node.window,
        )
        if node.source == "events":
            assert node.event is not None
            event = node.event

            def over_events(e: ir.Table) -> ir.Value:
                where = _event_filter(e, event, node.where, node.window, facts)
                if node.fn == "count":
                    return e.count(where=where)
                assert node.property is not None
                return _reduce(node.fn, _event_value(e, node.property, facts), where)

            name = self._event_agg({event}, spec, over_events)
        else:
            name, new = self._feature("order", spec)
            if new:

                def over_orders(o: ir.Table) -> ir.Value:
                    where = _order_filter(o, node.where, node.window, facts)
                    if node.fn == "count":
                        return o.count(where=where)
                    assert node.property is not None
                    return _reduce(node.fn, _order_value(o, node.property), where)

                self._order_aggs[name] = over_orders
        additive = node.fn in ("count", "sum")
        cond = Condition(name, node.op, node.value, "number")

        def test(f: ir.Table) -> ir.BooleanValue:
            value = f[name].cast("float64")
            value = value.fill_null(0) if additive else value
            return compare(value, cond, facts, utc=True).fill_null(False)

        return test

    def _last(self, node: LastEvent) -> Callable[[ir.Table], ir.BooleanValue]:
        facts = self.facts
        name = self._event_agg(
            {node.name},
            ("last", node.name),
            lambda e: e.event_time.max(where=e.event == node.name),
        )

        def test(f: ir.Table) -> ir.BooleanValue:
            last = f[name]
            ok: ir.BooleanValue = ibis.literal(True)
            if node.more_than_days_ago is not None:
                ok &= last < facts.day_start(facts.days_ago(node.more_than_days_ago))
            if node.less_than_days_ago is not None:
                ok &= last >= facts.day_start(facts.days_ago(node.less_than_days_ago - 1))
            ok = ok.fill_null(False)
            return (ok | last.isnull()) if node.or_never else ok

        return test

    def _first(self, node: FirstEvent) -> Callable[[ir.Table], ir.BooleanValue]:
        facts = self.facts
        name = self._event_agg(
            {node.name},
            ("first", node.name),
            lambda e: e.event_time.min(where=e.event == node.name),
        )

        def test(f: ir.Table) -> ir.BooleanValue:
            lo, hi = window_bounds(node.window, facts)
            first = f[name]
            ok = first.notnull()
            if lo is not None:
                ok &= first >= lo
            if hi is not None:
                ok &= first < hi
            return ok.fill_null(False)

        return test

    def _sequence(self, node: Sequence) -> Callable[[ir.Table], ir.BooleanValue]:
        name, new = self._feature("sequence", node)
        if new:
            self._tables[name] = sequence_matches(self.facts, node, name)
        return lambda f: f[name].fill_null(False)

    def _carrier(self, node: Carrier) -> Callable[[ir.Table], ir.BooleanValue]:
        name, new = self._feature("carrier", node)
        if new:
            self._tables[name] = carrier_facts(self.facts, node, name)
        return lambda f: f[name].fill_null(False)

    def _clv(self, node: Clv) -> Callable[[ir.Table], ir.BooleanValue]:
        """A field of the latest CLV score; persons without one read as null (not members)."""
        name, new = self._feature("clv", node.field)
        if new:
            field = node.field

            def score(s: ir.Table) -> ir.Value:
                value = 1.0 - s.p_alive if field == "churn_risk" else s[field]
                return value.max()

            self._clv_aggs[name] = score
        cond = Condition(name, node.op, node.value, "number")
        facts = self.facts
        return lambda f: compare(f[name], cond, facts, utc=True).fill_null(False)


def compile_rules(
    facts: Facts,
    rules: Mapping[str, Node],
    segments: Mapping[str, Definition] | None = None,
) -> ir.Table:
    """``person_id`` plus one boolean column per rule (name -> rule), over every person."""
    compiler = RuleCompiler(facts, segments)
    for name, rule in rules.items():
        compiler.add(name, rule)
    return compiler.frame()


def members(
    facts: Facts, definition: Definition, segments: Mapping[str, Definition] | None = None
) -> ir.Table:
    """The ``person_id`` of every member of one definition."""
    frame = compile_rules(facts, {"member": definition.rule}, segments)
    return frame.filter(frame.member).select("person_id")


# -- building blocks ------------------------------------------------------------------


def _grouped(table: ir.Table, aggs: Mapping[str, Callable[[ir.Table], ir.Value]]) -> ir.Table:
    return table.group_by("person_id").aggregate(
        **{name: build(table) for name, build in aggs.items()}
    )


def _fold(
    parts: list[Callable[[ir.Table], ir.BooleanValue]],
    frame: ir.Table,
    op: Callable[[ir.BooleanValue, ir.BooleanValue], ir.BooleanValue],
) -> ir.BooleanValue:
    out = parts[0](frame)
    for part in parts[1:]:
        out = op(out, part(frame))
    return out


def _reduce(fn: str, value: ir.FloatingValue, where: ir.BooleanValue) -> ir.Value:
    reducers: dict[str, Callable[..., ir.Value]] = {
        "sum": value.sum,
        "avg": value.mean,
        "min": value.min,
        "max": value.max,
    }
    return reducers[fn](where=where)


def _event_value(e: ir.Table, name: str, facts: Facts) -> ir.FloatingValue:
    return facts.dialect.json_number(e.properties, name)


def _order_value(o: ir.Table, name: str) -> ir.FloatingValue:
    if name == "net_fen":
        return (o.amount_fen - o.refund_fen).cast("float64")
    column: ir.FloatingValue = o[name].cast("float64")
    return column


def _event_filter(
    e: ir.Table,
    event: str,
    where: tuple[Condition, ...],
    window: Window | None,
    facts: Facts,
) -> ir.BooleanValue:
    cond: ir.BooleanValue = e.event == event
    cond &= _time_filter(e.event_time, window, facts)
    for c in where:
        if c.name in EVENT_COLUMNS:
            cond &= compare(e[c.name], c, facts, utc=True)
        elif c.type == "number":
            cond &= compare(_event_value(e, c.name, facts), c, facts, utc=False)
        else:
            cond &= compare(facts.dialect.json_text(e.properties, c.name), c, facts, utc=False)
    return cond.fill_null(False)


def _order_filter(
    o: ir.Table, where: tuple[Condition, ...], window: Window | None, facts: Facts
) -> ir.BooleanValue:
    cond = _time_filter(o.paid_at, window, facts)
    for c in where:
        column = _order_value(o, c.name) if c.type == "number" else o[c.name]
        cond &= compare(column, c, facts, utc=True)
    return cond.fill_null(False)


def _time_filter(ts: ir.TimestampValue, window: Window | None, facts: Facts) -> ir.BooleanValue:
    lo, hi = window_bounds(window, facts)
    cond: ir.BooleanValue = ibis.literal(True)
    if lo is not None:
        cond &= ts >= lo
    if hi is not None:
        cond &= ts < hi
    return cond


def window_bounds(window: Window | None, facts: Facts) -> tuple[datetime | None, datetime | None]:
    """[lo, hi) in UTC for a window of local days; ``last_days`` ends with today."""
    if window is None:
        return None, None
    if window.last_days is not None:
        return (
            facts.day_start(facts.days_ago(window.last_days - 1)),
            facts.day_start(facts.today + timedelta(days=1)),
        )
    lo = facts.day_start(resolve_date(window.start, facts)) if window.start else None
    hi = (
        facts.day_start(resolve_date(window.end, facts) + timedelta(days=1)) if window.end else None
    )
    return lo, hi


def resolve_date(value: DateValue, facts: Facts) -> date:
    return facts.days_ago(value.days_ago) if isinstance(value, RelativeDate) else value


def compare(column: ir.Value, cond: Condition, facts: Facts, *, utc: bool) -> ir.BooleanValue:
    """``column op value`` for a condition of the column's type.

    ``utc`` says the column is a stored UTC timestamp (dates compare against the local
    day's UTC start); otherwise date text is taken as local time. A missing value matches
    only ``is_not_set``.
    """
    op, value = cond.op, cond.value
    if op == "is_set":
        return column.notnull()
    if op == "is_not_set":
        return column.isnull()
    col: Any = column
    if cond.type == "number":
        col = column.cast("float64") if not column.type().is_floating() else column
    elif cond.type == "boolean":
        if column.type().is_string():
            col = column.lower() == "true"
        return col if op == "is_true" else ~col
    elif cond.type == "datetime":
        return _compare_time(column, op, value, facts, utc=utc)
    else:
        col = column.cast("string") if not column.type().is_string() else column
    match op:
        case "eq":
            return col == value
        case "ne":
            return col != value
        case "gt":
            return col > value
        case "gte":
            return col >= value
        case "lt":
            return col < value
        case "lte":
            return col <= value
        case "between":
            return (col >= value[0]) & (col <= value[1])
        case "in":
            return col.isin(list(value))
        case "not_in":
            return ~col.isin(list(value))
        case "contains":
            return col.contains(value)
        case "not_contains":
            return ~col.contains(value)
        case "starts_with":
            return col.startswith(value)
        case "ends_with":
            return col.endswith(value)
    raise InvalidDefinition(cond.name, f"operator {op!r} is not supported here")


def _compare_time(
    column: ir.Value, op: str, value: Any, facts: Facts, *, utc: bool
) -> ir.BooleanValue:
    ts: Any = column.try_cast("timestamp") if column.type().is_string() else column

    def start(day: date) -> datetime:
        return facts.day_start(day) if utc else datetime(day.year, day.month, day.day)

    def day(v: Any) -> date:
        return resolve_date(v, facts)

    match op:
        case "before":
            return ts < start(day(value))
        case "after":
            return ts >= start(day(value) + timedelta(days=1))
        case "on":
            d = day(value)
            return (ts >= start(d)) & (ts < start(d + timedelta(days=1)))
        case "between":
            lo, hi = sorted((day(value[0]), day(value[1])))
            return (ts >= start(lo)) & (ts < start(hi + timedelta(days=1)))
        case "within_last_days":
            return ts >= start(facts.days_ago(int(value) - 1))
        case "more_than_days_ago":
            return ts < start(facts.days_ago(int(value)))
    raise InvalidDefinition("", f"operator {op!r} does not apply to dates")


def _step_filter(e: ir.Table, step: Step, facts: Facts) -> ir.BooleanValue:
    return _event_filter(e, step.name, step.where, None, facts)


def sequence_matches(facts: Facts, node: Sequence, name: str) -> ir.Table:
    """Persons with the steps in order (strictly later each), last within the limit.

    For each occurrence of step k, ``start`` is the latest start of a chain through
    steps 1..k-1 that happened before it (a later start can only help the time limit),
    carried forward with a running ``max`` over the person's occurrences in time order.
    """
    ev = facts.events
    ev = ev.filter(_time_filter(ev.event_time, node.window, facts))
    ev = ev.filter(ev.event.isin(sorted({s.name for s in node.steps})))
    first = ev.filter(_step_filter(ev, node.steps[0], facts))
    chain = first.select("person_id", "event_time", "seq", start=first.event_time)
    for step in node.steps[1:]:
        hits = ev.filter(_step_filter(ev, step, facts))
        hits = hits.select("person_id", "event_time", "seq", start=ibis.null(ev.event_time.type()))
        both = chain.mutate(is_hit=False).union(hits.mutate(is_hit=True))
        window = ibis.window(
            group_by=both.person_id,
            # Hits sort first at equal times: a step must be strictly later than the last.
            order_by=[both.event_time, both.is_hit.desc(), both.seq],
            preceding=None,
            following=0,
        )
        carried = both.mutate(best=both.start.max().over(window))
        reached = carried.filter(carried.is_hit & carried.best.notnull())
        chain = reached.select("person_id", "event_time", "seq", start=reached.best)
    limit = node.within_seconds
    ok = chain.filter((chain.event_time.epoch_seconds() - chain.start.epoch_seconds()) <= limit)
    return ok.group_by("person_id").aggregate(**{name: ok.count() > 0})


def carrier_facts(facts: Facts, node: Carrier, name: str) -> ir.Table:
    """Persons for whom the fact holds now: the latest relevant event says so."""
    ev = facts.events
    text = facts.dialect.json_text
    if node.fact == "follows":
        moves = ev.filter(ev.event.isin([OA_FOLLOW, OA_UNFOLLOW]))
        if node.target is not None:
            moves = moves.filter(moves.app_id == node.target)
        keyed = moves.mutate(k=moves.app_id.fill_null(""), on=moves.event == OA_FOLLOW)
    elif node.fact == "wecom_contact":
        change = ibis.coalesce(*(text(ev.properties, k) for k in CHANGE_KEYS))
        action = ibis.cases((ev.event == WECOM_CHANGE, change), else_=ev.event)
        staff = ibis.coalesce(*(text(ev.properties, k) for k in STAFF_KEYS))
        moves = ev.filter(ev.event.isin([WECOM_CHANGE, *WECOM_ADD, *WECOM_REMOVE]))
        moves = moves.mutate(action=action, k=staff.fill_null(""))
        moves = moves.filter(moves.action.isin([*WECOM_ADD, *WECOM_REMOVE]))
        if node.target is not None:
            moves = moves.filter(moves.k == node.target)
        keyed = moves.mutate(on=moves.action.isin(list(WECOM_ADD)))
    else:
        group = ibis.coalesce(*(text(ev.properties, k) for k in GROUP_KEYS))
        moves = ev.filter(ev.event.isin([*GROUP_JOIN, *GROUP_LEAVE]) | (ev.type == "group"))
        moves = moves.mutate(k=group).filter(group.notnull())
        if node.target is not None:
            moves = moves.filter(moves.k == node.target)
        keyed = moves.mutate(on=~moves.event.isin(list(GROUP_LEAVE)))
    order = ibis.struct({"t": keyed.event_time, "s": keyed.seq})
    latest = keyed.group_by(["person_id", "k"]).aggregate(on=keyed.on.argmax(order))
    return latest.group_by("person_id").aggregate(**{name: latest.on.any()})
