"""The segment and tag language: definitions as data, parsed with errors that name the node.

A definition is a tree of ``all`` / ``any`` / ``not`` over leaves (profile properties,
behaviour, sums and averages, sequences, memberships, carrier facts, CLV scores). It is
written as YAML or JSON, stored as JSON text, and parsed into frozen dataclasses; `serialise`
turns the tree back into the same plain data (canonical operator names), so
``parse(serialise(parse(x))) == parse(x)``. See docs/segments.md for every node.

Example:
    >>> d = parse_definition({"key": "buyers", "name": "买过的人",
    ...     "rule": {"event": {"name": "order_paid", "at_least": 1}}})
    >>> d.rule
    Event(name='order_paid', where=(), at_least=1, at_most=None, window=None)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from siyu.segments.exceptions import InvalidDefinition

KEY: Final = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,62}$")
KINDS: Final = ("segment", "tag")
TYPES: Final = ("string", "number", "boolean", "datetime")
#: Operator aliases accepted on input; serialised under their canonical name.
ALIASES: Final = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "<>": "ne",
    ">": "gt",
    ">=": "gte",
    "<": "lt",
    "<=": "lte",
}
OPERATORS: Final[dict[str, tuple[str, ...]]] = {
    "string": (
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "is_set",
        "is_not_set",
    ),
    "number": (
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "in",
        "not_in",
        "is_set",
        "is_not_set",
    ),
    "boolean": ("is_true", "is_false", "is_set", "is_not_set"),
    "datetime": (
        "before",
        "after",
        "on",
        "between",
        "within_last_days",
        "more_than_days_ago",
        "is_set",
        "is_not_set",
    ),
}
NO_VALUE: Final = ("is_set", "is_not_set", "is_true", "is_false")
AGGREGATES: Final = ("count", "sum", "avg", "min", "max")
SOURCES: Final = ("events", "orders")
#: Order columns an aggregate or a where-condition on orders may read.
ORDER_COLUMNS: Final = {
    "amount_fen": "number",
    "refund_fen": "number",
    "net_fen": "number",
    "status": "string",
    "channel": "string",
    "carrier": "string",
    "coupon_code": "string",
}
#: Event columns a where-condition reads directly; any other name is a JSON property.
EVENT_COLUMNS: Final = {
    "carrier": "string",
    "app_id": "string",
    "source_id": "string",
    "protocol": "string",
    "type": "string",
    "library": "string",
}
#: Computed profile columns (docs/profiles.md); any other property name is a user property.
PROFILE_COLUMNS: Final = {
    "first_seen": "datetime",
    "last_seen": "datetime",
    "event_count": "number",
    "active_days": "number",
    "first_source_id": "string",
    "first_carrier": "string",
    "latest_source_id": "string",
    "latest_carrier": "string",
    "first_channel": "string",
    "latest_channel": "string",
    "first_campaign": "string",
    "latest_campaign": "string",
    "follows_oa": "boolean",
    "wecom_contact": "boolean",
    "has_app": "boolean",
    "has_mp": "boolean",
}
LIFECYCLE_STAGES: Final = ("new", "active", "silent", "churned", "returning")
RFM_CLASSES: Final = (
    "important_value",
    "important_develop",
    "important_retain",
    "important_recall",
    "general_value",
    "general_develop",
    "general_retain",
    "general_recall",
)
VALUE_TIERS: Final = ("loyal", "high_quality", "ordinary", "low_frequency", "churned")
ROLES: Final = ("ordinary", "active", "paying", "ugc_author", "koc")
#: Fields of the latest CLV scores (`siyu clv score`) a ``clv`` leaf compares; money in fen.
CLV_FIELDS: Final = ("p_alive", "churn_risk", "expected_purchases", "clv_fen")
CLV_OPERATORS: Final = ("eq", "ne", "gt", "gte", "lt", "lte", "between")

Scalar = str | int | float | bool


@dataclass(frozen=True)
class RelativeDate:
    """A local date relative to the day the definition is evaluated: today - ``days_ago``."""

    days_ago: int


DateValue = date | RelativeDate


@dataclass(frozen=True)
class Window:
    """Which local days count: the last N days (today is day 1), or a date range."""

    last_days: int | None = None
    start: DateValue | None = None
    end: DateValue | None = None


@dataclass(frozen=True)
class Condition:
    """``name op value`` on a profile property, an event property or an order column."""

    name: str
    op: str
    value: Any = None
    type: str = "string"


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Property:
    """A profile property (用户属性) or a computed profile column."""

    condition: Condition


@dataclass(frozen=True)
class Event:
    """Did event ``name`` at least / at most N times in the window, where conditions hold."""

    name: str
    where: tuple[Condition, ...] = ()
    at_least: int | None = 1
    at_most: int | None = None
    window: Window | None = None


@dataclass(frozen=True)
class Aggregate:
    """``fn`` of a number over events (a JSON property) or orders (a column), compared."""

    fn: str
    source: str
    op: str
    value: Any
    event: str | None = None
    property: str | None = None
    where: tuple[Condition, ...] = ()
    window: Window | None = None


@dataclass(frozen=True)
class Step:
    name: str
    where: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Sequence:
    """Did the steps in order, the last within ``within_seconds`` of the first."""

    steps: tuple[Step, ...]
    within_seconds: int
    window: Window | None = None


@dataclass(frozen=True)
class LastEvent:
    """The latest ``name`` happened more (or fewer) than ``days`` local days ago."""

    name: str
    more_than_days_ago: int | None = None
    less_than_days_ago: int | None = None
    or_never: bool = False


@dataclass(frozen=True)
class FirstEvent:
    """The first ever ``name`` fell in the window."""

    name: str
    window: Window


@dataclass(frozen=True)
class InSet:
    """Membership in a materialised set: a segment, stage, class, tier, role or tag.

    ``kind`` is one of segment, lifecycle, paying, rfm, value_tier, role, tag, interest,
    channel; ``min_weight`` applies to interests.
    """

    kind: str
    value: str
    min_weight: float | None = None


@dataclass(frozen=True)
class Carrier:
    """A carrier fact now: ``follows`` an official account, is a ``wecom_contact`` of
    staff, is ``in_group``; ``target`` (appid, staff userid, chat id) narrows it."""

    fact: str
    target: str | None = None


@dataclass(frozen=True)
class Clv:
    """A field of the person's latest CLV score compared (``p_alive lt 0.3``); persons
    without a score are not members. ``churn_risk`` is 1 - ``p_alive``."""

    field: str
    op: str
    value: Any


Node = (
    All
    | AnyOf
    | Not
    | Property
    | Event
    | Aggregate
    | Sequence
    | LastEvent
    | FirstEvent
    | InSet
    | Carrier
    | Clv
)
SET_KINDS: Final = {
    "segment": None,
    "lifecycle": LIFECYCLE_STAGES,
    "rfm": RFM_CLASSES,
    "value_tier": VALUE_TIERS,
    "role": ROLES,
    "tag": None,
    "interest": None,
    "channel": None,
}
CARRIER_FACTS: Final = ("follows", "wecom_contact", "in_group")


@dataclass(frozen=True)
class Definition:
    """A named segment (分群) or tag (标签) and its rule."""

    key: str
    name: str
    rule: Node
    kind: str = "segment"
    description: str = ""


def parse_definition(data: Any) -> Definition:
    """A definition from plain data (parsed YAML / JSON); errors name the bad node."""
    doc = _mapping(data, "")
    _only(doc, "", {"key", "name", "rule", "kind", "description"})
    key = _text(doc.get("key"), "key")
    if not KEY.match(key):
        raise InvalidDefinition(
            "key", f"{key!r} is not a key: use 1-63 lower-case letters, digits, _ or -"
        )
    kind = doc.get("kind", "segment")
    if kind not in KINDS:
        raise InvalidDefinition("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    if "rule" not in doc:
        raise InvalidDefinition("rule", "missing: every definition needs a rule")
    return Definition(
        key=key,
        name=_text(doc.get("name", key), "name"),
        rule=parse_rule(doc["rule"], "rule"),
        kind=kind,
        description=str(doc.get("description", "")),
    )


def parse_rule(data: Any, path: str = "rule") -> Node:
    """One node of the tree: a mapping with exactly one key naming the node type."""
    doc = _mapping(data, path)
    if len(doc) != 1:
        names = ", ".join(sorted(map(str, doc))) or "nothing"
        raise InvalidDefinition(
            path,
            f"a node has exactly one key (its type), got {names}; node types: "
            + ", ".join(_PARSERS),
        )
    ((name, body),) = doc.items()
    parser = _PARSERS.get(name)
    if parser is None:
        raise InvalidDefinition(
            path, f"unknown node type {name!r}; use one of {', '.join(_PARSERS)}"
        )
    node: Node = parser(body, f"{path}.{name}")
    return node


def _all(body: Any, path: str) -> Node:
    return All(_children(body, path))


def _any(body: Any, path: str) -> Node:
    return AnyOf(_children(body, path))


def _not(body: Any, path: str) -> Node:
    return Not(parse_rule(body, path))


def _children(body: Any, path: str) -> tuple[Node, ...]:
    if not isinstance(body, list) or not body:
        raise InvalidDefinition(path, "needs a non-empty list of nodes")
    return tuple(parse_rule(child, f"{path}[{i}]") for i, child in enumerate(body))


def _property(body: Any, path: str) -> Node:
    return Property(parse_condition(body, path, columns=PROFILE_COLUMNS))


def _event(body: Any, path: str) -> Node:
    doc = _mapping(body, path)
    _only(doc, path, {"name", "where", "at_least", "at_most", "window"})
    at_least = _count(doc.get("at_least"), f"{path}.at_least")
    at_most = _count(doc.get("at_most"), f"{path}.at_most")
    if at_least is None and at_most is None:
        at_least = 1
    if at_least is not None and at_most is not None and at_most < at_least:
        raise InvalidDefinition(path, f"at_most ({at_most}) is below at_least ({at_least})")
    return Event(
        name=_text(doc.get("name"), f"{path}.name"),
        where=_where(doc.get("where"), f"{path}.where", EVENT_COLUMNS),
        at_least=at_least,
        at_most=at_most,
        window=_window(doc.get("window"), f"{path}.window"),
    )


def _aggregate(body: Any, path: str) -> Node:
    doc = _mapping(body, path)
    _only(doc, path, {"fn", "source", "event", "property", "op", "value", "where", "window"})
    fn = doc.get("fn", "sum")
    if fn not in AGGREGATES:
        raise InvalidDefinition(f"{path}.fn", f"{fn!r} is not one of {', '.join(AGGREGATES)}")
    source = doc.get("source", "events")
    if source not in SOURCES:
        raise InvalidDefinition(f"{path}.source", f"{source!r} is not one of {', '.join(SOURCES)}")
    event = doc.get("event")
    prop = doc.get("property")
    if source == "events":
        event = _text(event, f"{path}.event")
        if fn != "count":
            prop = _text(prop, f"{path}.property")
    else:
        if event is not None:
            raise InvalidDefinition(f"{path}.event", "orders have no event name; drop it")
        if fn != "count":
            prop = _text(prop, f"{path}.property")
            if prop not in ORDER_COLUMNS or ORDER_COLUMNS[prop] != "number":
                numbers = [k for k, v in ORDER_COLUMNS.items() if v == "number"]
                raise InvalidDefinition(
                    f"{path}.property", f"{prop!r} is not an order amount; use {', '.join(numbers)}"
                )
    columns = EVENT_COLUMNS if source == "events" else ORDER_COLUMNS
    cond = parse_condition(
        {
            "name": prop or fn,
            "op": doc.get("op", "gte"),
            "value": doc.get("value"),
            "type": "number",
        },
        path,
        columns=None,
    )
    if cond.op in ("in", "not_in", "is_set", "is_not_set"):
        raise InvalidDefinition(f"{path}.op", f"{cond.op!r} does not compare an aggregate")
    return Aggregate(
        fn=fn,
        source=source,
        op=cond.op,
        value=cond.value,
        event=event,
        property=prop,
        where=_where(doc.get("where"), f"{path}.where", columns, strict=source == "orders"),
        window=_window(doc.get("window"), f"{path}.window"),
    )


def _sequence(body: Any, path: str) -> Node:
    doc = _mapping(body, path)
    _only(doc, path, {"steps", "within_seconds", "within_days", "window"})
    steps_doc = doc.get("steps")
    if not isinstance(steps_doc, list) or len(steps_doc) < 2:
        raise InvalidDefinition(f"{path}.steps", "needs a list of at least two steps")
    steps = []
    for i, step in enumerate(steps_doc):
        spath = f"{path}.steps[{i}]"
        sdoc = {"name": step} if isinstance(step, str) else _mapping(step, spath)
        _only(sdoc, spath, {"name", "where"})
        steps.append(
            Step(
                _text(sdoc.get("name"), f"{spath}.name"),
                _where(sdoc.get("where"), f"{spath}.where", EVENT_COLUMNS),
            )
        )
    if ("within_seconds" in doc) == ("within_days" in doc):
        raise InvalidDefinition(path, "give exactly one of within_seconds or within_days")
    if "within_days" in doc:
        within = _positive(doc["within_days"], f"{path}.within_days") * 86_400
    else:
        within = _positive(doc["within_seconds"], f"{path}.within_seconds")
    return Sequence(tuple(steps), within, _window(doc.get("window"), f"{path}.window"))


def _last_event(body: Any, path: str) -> Node:
    doc = _mapping(body, path)
    _only(doc, path, {"name", "more_than_days_ago", "less_than_days_ago", "or_never"})
    more = _count(doc.get("more_than_days_ago"), f"{path}.more_than_days_ago")
    less = _count(doc.get("less_than_days_ago"), f"{path}.less_than_days_ago")
    if more is None and less is None:
        raise InvalidDefinition(path, "give more_than_days_ago or less_than_days_ago")
    or_never = doc.get("or_never", False)
    if not isinstance(or_never, bool):
        raise InvalidDefinition(f"{path}.or_never", "must be true or false")
    return LastEvent(_text(doc.get("name"), f"{path}.name"), more, less, or_never)


def _first_event(body: Any, path: str) -> Node:
    doc = _mapping(body, path)
    _only(doc, path, {"name", "window"})
    window = _window(doc.get("window"), f"{path}.window")
    if window is None:
        raise InvalidDefinition(f"{path}.window", "missing: first_event needs a window")
    return FirstEvent(_text(doc.get("name"), f"{path}.name"), window)


def _set_parser(kind: str) -> Any:
    def parse(body: Any, path: str) -> Node:
        min_weight = None
        if isinstance(body, Mapping):
            _only(body, path, {"value", "min_weight"} if kind == "interest" else {"value"})
            if "min_weight" in body:
                min_weight = _number(body["min_weight"], f"{path}.min_weight")
            body = body.get("value")
        value = _text(body, path)
        allowed = SET_KINDS[kind]
        if allowed is not None and value not in allowed:
            raise InvalidDefinition(path, f"{value!r} is not one of {', '.join(allowed)}")
        return InSet(kind, value, min_weight)

    return parse


def _paying(body: Any, path: str) -> Node:
    if not isinstance(body, bool):
        raise InvalidDefinition(path, "must be true or false")
    node = InSet("paying", "paying")
    return node if body else Not(node)


def _clv(body: Any, path: str) -> Node:
    doc = _mapping(body, path)
    _only(doc, path, {"field", "op", "value"})
    name = _text(doc.get("field"), f"{path}.field")
    if name not in CLV_FIELDS:
        raise InvalidDefinition(
            f"{path}.field",
            f"{name!r} is not a CLV score field; use one of {', '.join(CLV_FIELDS)}",
        )
    if "op" not in doc:
        raise InvalidDefinition(f"{path}.op", f"missing: use one of {', '.join(CLV_OPERATORS)}")
    cond = parse_condition(
        {"name": name, "op": doc["op"], "value": doc.get("value"), "type": "number"},
        path,
        columns=None,
    )
    if cond.op not in CLV_OPERATORS:
        raise InvalidDefinition(
            f"{path}.op", f"{cond.op!r} does not compare a score; use {', '.join(CLV_OPERATORS)}"
        )
    values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    if name in ("p_alive", "churn_risk") and any(not 0 <= v <= 1 for v in values):
        raise InvalidDefinition(
            f"{path}.value", f"{name} is a probability: compare it with numbers from 0 to 1"
        )
    return Clv(name, cond.op, cond.value)


def _carrier_parser(fact: str) -> Any:
    def parse(body: Any, path: str) -> Node:
        if body is True or body is None:
            return Carrier(fact)
        return Carrier(fact, _text(body, path))

    return parse


_PARSERS: Final = {
    "all": _all,
    "any": _any,
    "not": _not,
    "property": _property,
    "event": _event,
    "aggregate": _aggregate,
    "sequence": _sequence,
    "last_event": _last_event,
    "first_event": _first_event,
    "paying": _paying,
    **{kind: _set_parser(kind) for kind in SET_KINDS},
    **{fact: _carrier_parser(fact) for fact in CARRIER_FACTS},
    "clv": _clv,
}


def parse_condition(
    data: Any, path: str, *, columns: Mapping[str, str] | None, strict: bool = False
) -> Condition:
    """``{name, op, value, type?}``; the type comes from ``columns``, ``type`` or the value."""
    doc = _mapping(data, path)
    _only(doc, path, {"name", "op", "value", "type"})
    name = _text(doc.get("name"), f"{path}.name")
    if strict and columns is not None and name not in columns:
        raise InvalidDefinition(f"{path}.name", f"{name!r} is not one of {', '.join(columns)}")
    op = ALIASES.get(str(doc.get("op", "eq")), str(doc.get("op", "eq")))
    value = doc.get("value")
    declared = doc.get("type")
    if declared is not None and declared not in TYPES:
        raise InvalidDefinition(f"{path}.type", f"{declared!r} is not one of {', '.join(TYPES)}")
    known = columns.get(name) if columns else None
    kind = known or declared or _infer_type(op, value)
    if op not in OPERATORS[kind]:
        raise InvalidDefinition(
            f"{path}.op",
            f"{op!r} does not apply to a {kind} property {name!r}; "
            f"use one of {', '.join(OPERATORS[kind])}",
        )
    return Condition(name, op, _value(kind, op, value, f"{path}.value"), kind)


def _infer_type(op: str, value: Any) -> str:
    if op in ("before", "after", "on", "within_last_days", "more_than_days_ago"):
        return "datetime"
    if op in ("is_true", "is_false"):
        return "boolean"
    sample = value[0] if isinstance(value, list) and value else value
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, int | float) and op not in ("contains", "starts_with", "ends_with"):
        return "number"
    return "string"


def _value(kind: str, op: str, value: Any, path: str) -> Any:
    """The operand, checked against the type and operator (dates parsed)."""
    if op in NO_VALUE:
        if value is not None:
            raise InvalidDefinition(path, f"{op!r} takes no value; drop it")
        return None
    if value is None:
        raise InvalidDefinition(path, f"missing: {op!r} needs a value")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise InvalidDefinition(path, f"{op!r} needs a non-empty list")
        return tuple(_scalar(kind, v, f"{path}[{i}]") for i, v in enumerate(value))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise InvalidDefinition(path, "'between' needs a list of two values [low, high]")
        return tuple(_scalar(kind, v, f"{path}[{i}]") for i, v in enumerate(value))
    if op in ("within_last_days", "more_than_days_ago"):
        return _count(value, path)
    return _scalar(kind, value, path)


def _scalar(kind: str, value: Any, path: str) -> Any:
    if kind == "number":
        return _number(value, path)
    if kind == "datetime":
        return _date(value, path)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidDefinition(path, f"{value!r} is not true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidDefinition(path, f"{value!r} is not a text value")
    return str(value)


def _date(value: Any, path: str) -> DateValue:
    if isinstance(value, date):
        return value
    if isinstance(value, Mapping):
        _only(value, path, {"days_ago"})
        return RelativeDate(_count(value.get("days_ago"), f"{path}.days_ago") or 0)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidDefinition(path, f"{value!r} is not a date: use YYYY-MM-DD or {{days_ago: N}}")


def _window(data: Any, path: str) -> Window | None:
    if data is None:
        return None
    doc = _mapping(data, path)
    _only(doc, path, {"last_days", "start", "end"})
    if "last_days" in doc:
        if len(doc) > 1:
            raise InvalidDefinition(path, "give last_days or start/end, not both")
        return Window(last_days=_positive(doc["last_days"], f"{path}.last_days"))
    start = _date(doc["start"], f"{path}.start") if "start" in doc else None
    end = _date(doc["end"], f"{path}.end") if "end" in doc else None
    if start is None and end is None:
        raise InvalidDefinition(path, "give last_days, start or end")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        raise InvalidDefinition(path, f"end {end} is before start {start}")
    return Window(start=start, end=end)


def _where(
    data: Any, path: str, columns: Mapping[str, str], *, strict: bool = False
) -> tuple[Condition, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise InvalidDefinition(path, "needs a list of conditions {name, op, value}")
    return tuple(
        parse_condition(c, f"{path}[{i}]", columns=columns, strict=strict)
        for i, c in enumerate(data)
    )


def _mapping(data: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidDefinition(path, f"expected a mapping, got {type(data).__name__}")
    return data


def _only(doc: Mapping[str, Any], path: str, allowed: set[str]) -> None:
    unknown = sorted(set(map(str, doc)) - allowed)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise InvalidDefinition(where, f"unknown field; allowed: {', '.join(sorted(allowed))}")


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidDefinition(path, "missing or empty: needs a text value")
    return value


def _number(value: Any, path: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidDefinition(path, f"{value!r} is not a number")
    return value


def _count(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidDefinition(path, f"{value!r} is not a whole number >= 0")
    return value


def _positive(value: Any, path: str) -> int:
    count = _count(value, path)
    if not count:
        raise InvalidDefinition(path, f"{value!r} is not a whole number >= 1")
    return count


def serialise(definition: Definition) -> dict[str, Any]:
    """Plain data (JSON/YAML-ready) that `parse_definition` reads back to an equal value."""
    out: dict[str, Any] = {"key": definition.key, "name": definition.name}
    if definition.kind != "segment":
        out["kind"] = definition.kind
    if definition.description:
        out["description"] = definition.description
    out["rule"] = serialise_rule(definition.rule)
    return out


def serialise_rule(node: Node) -> dict[str, Any]:
    """One node as plain data."""
    match node:
        case All(children):
            return {"all": [serialise_rule(c) for c in children]}
        case AnyOf(children):
            return {"any": [serialise_rule(c) for c in children]}
        case Not(InSet("paying", "paying")):
            return {"paying": False}
        case Not(child):
            return {"not": serialise_rule(child)}
        case Property(cond):
            return {"property": _cond(cond)}
        case Event():
            body: dict[str, Any] = {"name": node.name}
            if node.where:
                body["where"] = [_cond(c) for c in node.where]
            if node.at_least is not None:
                body["at_least"] = node.at_least
            if node.at_most is not None:
                body["at_most"] = node.at_most
            return {"event": _with_window(body, node.window)}
        case Aggregate():
            body = {"fn": node.fn, "source": node.source}
            if node.event is not None:
                body["event"] = node.event
            if node.property is not None:
                body["property"] = node.property
            body |= {"op": node.op, "value": _plain(node.value)}
            if node.where:
                body["where"] = [_cond(c) for c in node.where]
            return {"aggregate": _with_window(body, node.window)}
        case Sequence():
            steps = [
                {"name": s.name, "where": [_cond(c) for c in s.where]}
                if s.where
                else {"name": s.name}
                for s in node.steps
            ]
            body = {"steps": steps, "within_seconds": node.within_seconds}
            return {"sequence": _with_window(body, node.window)}
        case LastEvent():
            body = {"name": node.name}
            if node.more_than_days_ago is not None:
                body["more_than_days_ago"] = node.more_than_days_ago
            if node.less_than_days_ago is not None:
                body["less_than_days_ago"] = node.less_than_days_ago
            if node.or_never:
                body["or_never"] = True
            return {"last_event": body}
        case FirstEvent():
            return {"first_event": _with_window({"name": node.name}, node.window)}
        case InSet("paying", _):
            return {"paying": True}
        case InSet(kind, value, min_weight):
            if min_weight is not None:
                return {kind: {"value": value, "min_weight": min_weight}}
            return {kind: value}
        case Carrier(fact, target):
            return {fact: target if target is not None else True}
        case Clv(name, op, value):
            return {"clv": {"field": name, "op": op, "value": _plain(value)}}
    raise TypeError(f"not a node: {node!r}")


def _cond(cond: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"name": cond.name, "op": cond.op}
    if cond.value is not None:
        out["value"] = _plain(cond.value)
    out["type"] = cond.type
    return out


def _with_window(body: dict[str, Any], window: Window | None) -> dict[str, Any]:
    if window is not None:
        if window.last_days is not None:
            body["window"] = {"last_days": window.last_days}
        else:
            body["window"] = {
                k: _plain(v)
                for k, v in (("start", window.start), ("end", window.end))
                if v is not None
            }
    return body


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, RelativeDate):
        return {"days_ago": value.days_ago}
    if isinstance(value, date):
        return value.isoformat()
    return value


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents before children."""
    out: list[Node] = [node]
    if isinstance(node, All | AnyOf):
        for child in node.children:
            out.extend(walk(child))
    elif isinstance(node, Not):
        out.extend(walk(node.child))
    return out


def referenced_events(node: Node) -> set[str]:
    """Event names the rule reads."""
    names: set[str] = set()
    for n in walk(node):
        if isinstance(n, Event | LastEvent | FirstEvent):
            names.add(n.name)
        elif isinstance(n, Aggregate) and n.event is not None:
            names.add(n.event)
        elif isinstance(n, Sequence):
            names.update(s.name for s in n.steps)
    return names


def referenced_segments(node: Node) -> set[str]:
    """Keys of the segments the rule is defined in terms of."""
    return {n.value for n in walk(node) if isinstance(n, InSet) and n.kind == "segment"}
