"""The rule language: parsing, canonical round-trips and errors that name the node."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.segments.definition import (
    LIFECYCLE_STAGES,
    RFM_CLASSES,
    Not,
    parse_definition,
    parse_rule,
    referenced_events,
    referenced_segments,
    serialise,
    serialise_rule,
)
from siyu.segments.exceptions import InvalidDefinition

EVENT_NAMES = st.sampled_from(["order_paid", "view_item", "share", "$MPLaunch", "签到"])
WINDOWS = st.one_of(
    st.none(),
    st.builds(lambda n: {"last_days": n}, st.integers(1, 400)),
    st.builds(
        lambda a, b: {"start": min(a, b).isoformat(), "end": max(a, b).isoformat()},
        st.dates(date(2020, 1, 1), date(2030, 1, 1)),
        st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    ),
    st.builds(lambda n: {"start": {"days_ago": n}}, st.integers(0, 90)),
)
CONDITIONS = st.one_of(
    st.builds(lambda v: {"name": "city", "op": "eq", "value": v}, st.text(min_size=1, max_size=8)),
    st.builds(lambda v: {"name": "amount", "op": ">=", "value": v}, st.integers(0, 10**6)),
    st.builds(
        lambda vs: {"name": "tier", "op": "in", "value": vs},
        st.lists(st.sampled_from(["a", "b", "金"]), min_size=1, max_size=3),
    ),
    st.just({"name": "vip", "op": "is_true"}),
    st.just({"name": "birthday", "op": "within_last_days", "value": 30}),
    st.builds(
        lambda lo, hi: {"name": "score", "op": "between", "value": [lo, hi]},
        st.floats(-100, 100, allow_nan=False),
        st.floats(-100, 100, allow_nan=False),
    ),
    st.just({"name": "carrier", "op": "ne", "value": "app"}),
)


def _with_window(body: dict[str, Any], window: dict[str, Any] | None) -> dict[str, Any]:
    return body if window is None else {**body, "window": window}


LEAVES = st.one_of(
    st.builds(
        lambda n, w, c, lo: {"event": _with_window({"name": n, "where": c, "at_least": lo}, w)},
        EVENT_NAMES,
        WINDOWS,
        st.lists(CONDITIONS, max_size=2),
        st.integers(0, 5),
    ),
    st.builds(lambda n, hi: {"event": {"name": n, "at_most": hi}}, EVENT_NAMES, st.integers(0, 5)),
    st.builds(lambda c: {"property": c}, CONDITIONS),
    st.builds(
        lambda v, w: {
            "aggregate": _with_window(
                {"fn": "sum", "source": "orders", "property": "net_fen", "value": v}, w
            )
        },
        st.integers(0, 10**6),
        WINDOWS,
    ),
    st.builds(
        lambda n, v: {
            "aggregate": {"fn": "avg", "event": n, "property": "price", "op": "<", "value": v}
        },
        EVENT_NAMES,
        st.integers(0, 1000),
    ),
    st.builds(
        lambda a, b, s: {"sequence": {"steps": [a, {"name": b}], "within_seconds": s}},
        EVENT_NAMES,
        EVENT_NAMES,
        st.integers(1, 10**7),
    ),
    st.builds(
        lambda n, d: {"last_event": {"name": n, "more_than_days_ago": d}},
        EVENT_NAMES,
        st.integers(0, 90),
    ),
    st.builds(lambda n: {"first_event": {"name": n, "window": {"last_days": 7}}}, EVENT_NAMES),
    st.builds(lambda s: {"lifecycle": s}, st.sampled_from(LIFECYCLE_STAGES)),
    st.builds(lambda s: {"rfm": s}, st.sampled_from(RFM_CLASSES)),
    st.builds(lambda b: {"paying": b}, st.booleans()),
    st.builds(lambda t: {"tag": t}, st.sampled_from(["vip", "黑名单"])),
    st.builds(lambda t: {"interest": {"value": t, "min_weight": 2.5}}, st.sampled_from(["童书"])),
    st.builds(lambda k: {"segment": k}, st.sampled_from(["buyers", "fans"])),
    st.sampled_from(
        [
            {"follows": True},
            {"follows": "wx01"},
            {"wecom_contact": "zhaomin"},
            {"in_group": "grp_kids_books"},
        ]
    ),
    st.builds(
        lambda f, op, v: {"clv": {"field": f, "op": op, "value": v}},
        st.sampled_from(["p_alive", "churn_risk"]),
        st.sampled_from(["<", "lte", "gt", "ne"]),
        st.floats(0, 1, allow_nan=False),
    ),
    st.builds(
        lambda f, lo, d: {"clv": {"field": f, "op": "between", "value": [lo, lo + d]}},
        st.sampled_from(["expected_purchases", "clv_fen"]),
        st.integers(0, 10**6),
        st.floats(0, 1000, allow_nan=False),
    ),
)
RULES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(RULES)
def test_round_trip(rule: dict[str, Any]) -> None:
    parsed = parse_definition({"key": "s1", "name": "测试", "rule": rule})
    again = parse_definition(serialise(parsed))
    assert again == parsed
    assert serialise(again) == serialise(parsed)


@settings(max_examples=100, deadline=None)
@given(RULES)
def test_double_negation_is_the_rule(rule: dict[str, Any]) -> None:
    node = parse_rule(rule)
    twice = parse_rule({"not": {"not": serialise_rule(node)}})
    assert isinstance(twice, Not) and isinstance(twice.child, Not)
    assert twice.child.child == node


def test_aliases_become_canonical() -> None:
    d = parse_definition(
        {"key": "big", "rule": {"property": {"name": "points", "op": ">=", "value": 100}}}
    )
    assert serialise(d)["rule"] == {
        "property": {"name": "points", "op": "gte", "value": 100, "type": "number"}
    }


def test_references() -> None:
    rule = parse_rule(
        {
            "all": [
                {"event": {"name": "a"}},
                {"not": {"segment": "x"}},
                {"sequence": {"steps": ["b", "c"], "within_days": 1}},
            ]
        }
    )
    assert referenced_events(rule) == {"a", "b", "c"}
    assert referenced_segments(rule) == {"x"}


@pytest.mark.parametrize(
    ("rule", "path", "words"),
    [
        ({"all": []}, "rule.all", "non-empty"),
        ({"evnt": {"name": "x"}}, "rule", "unknown node type 'evnt'"),
        ({"event": {"name": "x"}, "not": {"tag": "y"}}, "rule", "exactly one key"),
        ({"all": [{"event": {"name": ""}}]}, "rule.all[0].event.name", "empty"),
        ({"all": [{"event": {"name": "x", "at_least": -1}}]}, "rule.all[0].event.at_least", ">= 0"),
        ({"event": {"name": "x", "at_least": 3, "at_most": 1}}, "rule.event", "below"),
        (
            {"property": {"name": "first_seen", "op": "contains", "value": "x"}},
            "rule.property.op",
            "datetime",
        ),
        ({"property": {"name": "vip", "op": "gt", "value": True}}, "rule.property.op", "boolean"),
        (
            {"property": {"name": "age", "op": "between", "value": [1]}},
            "rule.property.value",
            "two values",
        ),
        (
            {"property": {"name": "age", "op": "is_set", "value": 3}},
            "rule.property.value",
            "takes no value",
        ),
        (
            {"property": {"name": "d", "op": "before", "value": "yesterday"}},
            "rule.property.value",
            "not a date",
        ),
        (
            {"event": {"name": "x", "window": {"start": "2024-02-01", "end": "2024-01-01"}}},
            "rule.event.window",
            "before start",
        ),
        ({"lifecycle": "sleepy"}, "rule.lifecycle", "not one of"),
        (
            {"aggregate": {"source": "orders", "property": "price", "value": 1}},
            "rule.aggregate.property",
            "not an order amount",
        ),
        (
            {"aggregate": {"fn": "median", "event": "x", "property": "p", "value": 1}},
            "rule.aggregate.fn",
            "not one of",
        ),
        ({"sequence": {"steps": ["a"], "within_days": 1}}, "rule.sequence.steps", "at least two"),
        ({"event": {"name": "x", "when": 1}}, "rule.event.when", "unknown field"),
        ({"clv": {"field": "ltv", "op": "gt", "value": 1}}, "rule.clv.field", "clv_fen"),
        ({"clv": {"field": "p_alive", "value": 0.3}}, "rule.clv.op", "missing"),
        ({"clv": {"field": "p_alive", "op": "in", "value": [0.3]}}, "rule.clv.op", "score"),
        ({"clv": {"field": "p_alive", "op": "lt", "value": 30}}, "rule.clv.value", "0 to 1"),
        ({"clv": {"field": "clv_fen", "op": "gt", "value": "a"}}, "rule.clv.value", "number"),
        ({"clv": {"field": "clv_fen", "op": "gt"}}, "rule.clv.value", "needs a value"),
        ({"clv": {"field": "p_alive", "op": "lt", "value": 0.3, "x": 1}}, "rule.clv.x", "unknown"),
    ],
)
def test_errors_name_the_node(rule: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition({"key": "bad", "rule": rule})
    assert caught.value.path == path, str(caught.value)
    assert words in str(caught.value)


def test_bad_key_and_missing_rule() -> None:
    with pytest.raises(InvalidDefinition, match="key"):
        parse_definition({"key": "Has Space", "rule": {"tag": "x"}})
    with pytest.raises(InvalidDefinition, match="rule: missing"):
        parse_definition({"key": "ok"})
