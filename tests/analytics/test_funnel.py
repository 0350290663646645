"""Funnels on hand-made persons (every rule of docs/analytics-funnels.md) and on the demo
(breakdowns, drop-off), plus the requests that must be refused."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.scope import Context, context_from
from siyu.analytics.service import analyse_with
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from tests.segments.models.warehouse import Ev, build

TZ = "Asia/Shanghai"
STEPS = ["view", "cart", "pay"]


def context(events: list[Ev], today: str = "2024-03-10") -> Context:
    from datetime import date

    wh = build(events)
    rebuild(wh, IdentityRules())
    return context_from(wh.ibis(), today=date.fromisoformat(today), tz=TZ)


def counts(ctx: Context, **body: Any) -> list[int]:
    body = {"steps": STEPS, "window": "1d", "from": "2024-03-01", **body}
    return [s["count"] for s in analyse_with(ctx, "funnel", body)["steps"]]


def journeys(person: str, day: str, *steps: tuple[str, str]) -> list[Ev]:
    return [Ev(person, f"{day} {when}", name) for when, name in steps]


def test_order_window_and_the_latest_start() -> None:
    ctx = context(
        [
            *journeys("ok", "2024-03-05", ("10:00", "view"), ("10:30", "cart"), ("11:00", "pay")),
            *journeys("reversed", "2024-03-05", ("10:00", "cart"), ("10:30", "view")),
            *journeys("edge", "2024-03-05", ("10:00", "view"), ("11:00", "cart")),
            *journeys("late", "2024-03-05", ("10:00", "view"), ("11:01", "cart")),
            # The first view is too early for the cart; the second one starts a chain.
            *journeys("restart", "2024-03-05", ("08:00", "view"), ("10:00", "view")),
            *journeys("restart", "2024-03-05", ("10:50", "cart"), ("11:00", "pay")),
        ]
    )
    assert counts(ctx, window="1h") == [5, 3, 2]
    assert counts(ctx, window="3h") == [5, 4, 2]


def test_repeated_step_event_can_serve_both_steps_like_clickhouse() -> None:
    """windowFunnel counts one event for two steps with the same condition."""
    ctx = context(journeys("once", "2024-03-05", ("10:00", "view")))
    assert counts(ctx, steps=["view", "view"]) == [1, 1]


def test_strict_mode_ends_at_a_step_out_of_order() -> None:
    ctx = context(
        [
            *journeys("jumps", "2024-03-05", ("10:00", "view"), ("10:01", "pay")),
            *journeys("jumps", "2024-03-05", ("10:02", "cart"), ("10:03", "pay")),
            *journeys("clean", "2024-03-05", ("10:00", "view"), ("10:01", "view")),
            *journeys("clean", "2024-03-05", ("10:02", "cart"), ("10:03", "pay")),
        ]
    )
    assert counts(ctx) == [2, 2, 2]
    assert counts(ctx, mode="strict") == [2, 1, 1]


def test_any_order_needs_every_step_within_one_window() -> None:
    ctx = context(
        [
            *journeys("backwards", "2024-03-05", ("10:00", "pay"), ("10:01", "cart")),
            Ev("backwards", "2024-03-05 10:02", "view"),
            *journeys("spread", "2024-03-05", ("10:00", "view"), ("12:00", "cart")),
            Ev("spread", "2024-03-05 14:00", "pay"),
        ]
    )
    assert counts(ctx, window="1h") == [2, 0, 0]
    assert counts(ctx, window="1h", mode="any_order") == [2, 1, 1]
    assert counts(ctx, window="4h", mode="any_order") == [2, 2, 2]


def test_exclusions_break_the_steps_they_sit_between() -> None:
    ctx = context(
        [
            *journeys("between", "2024-03-05", ("10:00", "view"), ("10:01", "refund")),
            *journeys("between", "2024-03-05", ("10:02", "cart"), ("10:03", "pay")),
            *journeys("after", "2024-03-05", ("10:00", "view"), ("10:01", "cart")),
            *journeys("after", "2024-03-05", ("10:02", "refund"), ("10:03", "pay")),
            *journeys("restart", "2024-03-05", ("10:00", "view"), ("10:01", "refund")),
            *journeys("restart", "2024-03-05", ("10:02", "view"), ("10:03", "cart")),
            *journeys("with_start", "2024-03-05", ("10:00", "refund"), ("10:00", "view")),
            Ev("with_start", "2024-03-05 10:01", "cart"),
            *journeys("with_end", "2024-03-05", ("10:00", "view"), ("10:01", "cart")),
            Ev("with_end", "2024-03-05 10:01", "refund"),
        ]
    )
    assert counts(ctx) == [5, 5, 2]
    excluded = [{"event": "refund", "between": [1, 2]}]
    assert counts(ctx, exclusions=excluded) == [5, 3, 1]
    result = analyse_with(
        ctx, "funnel", {"steps": STEPS, "from": "2024-03-01", "exclusions": excluded}
    )
    assert result["exclusions"] == [{"event": "refund", "between": [1, 2]}]
    wide = [{"event": "refund", "between": [1, 3]}]
    assert counts(ctx, exclusions=wide) == [5, 3, 0]


def test_property_and_column_filters_on_steps() -> None:
    ctx = context(
        [
            Ev("dear", "2024-03-05 10:00", "view", {"price": 120}),
            Ev("dear", "2024-03-05 10:01", "cart", carrier="app"),
            Ev("cheap", "2024-03-05 10:00", "view", {"price": 10}),
            Ev("cheap", "2024-03-05 10:01", "cart", carrier="app"),
            Ev("mp", "2024-03-05 10:00", "view", {"price": 300}),
            Ev("mp", "2024-03-05 10:01", "cart"),
        ]
    )
    steps = [
        {"event": "view", "where": [{"property": "price", "op": ">=", "value": 100}]},
        {
            "event": "cart",
            "where": [{"property": "carrier", "op": "eq", "value": "app"}],
            "label": "app cart",
        },
    ]
    result = analyse_with(ctx, "funnel", {"steps": steps, "from": "2024-03-01"})
    assert [s["count"] for s in result["steps"]] == [2, 1]
    assert [s["label"] for s in result["steps"]] == ["view", "app cart"]


def test_step_one_in_the_range_later_steps_up_to_the_window_after_it() -> None:
    ctx = context(
        [
            *journeys("before", "2024-03-01", ("23:00", "view")),
            *journeys("before", "2024-03-02", ("01:00", "cart")),
            *journeys("last_day", "2024-03-07", ("23:50", "view")),
            *journeys("last_day", "2024-03-08", ("00:10", "cart")),
            *journeys("after", "2024-03-08", ("00:05", "view"), ("00:06", "cart")),
        ]
    )
    assert counts(ctx, steps=["view", "cart"], **{"from": "2024-03-02", "to": "2024-03-07"}) == [
        1,
        1,
    ]


def test_conversion_drop_off_and_time_to_convert() -> None:
    ctx = context(
        [
            *journeys("a", "2024-03-05", ("10:00", "view"), ("10:05", "cart"), ("11:05", "pay")),
            *journeys("b", "2024-03-05", ("10:00", "view"), ("10:01", "cart")),
            *journeys("c", "2024-03-05", ("10:00", "view")),
            *journeys("d", "2024-03-05", ("10:00", "view")),
        ]
    )
    result = analyse_with(ctx, "funnel", {"steps": STEPS, "window": "1d", "from": "2024-03-01"})
    view, cart, pay = result["steps"]
    assert (view["count"], view["conversion"], view["drop_off"]) == (4, 1.0, 0)
    assert (cart["conversion"], cart["conversion_from_previous"]) == (0.5, 0.5)
    assert (cart["drop_off"], cart["drop_off_rate"]) == (2, 0.5)
    assert (pay["count"], pay["conversion"], pay["drop_off_rate"]) == (1, 0.25, 0.5)
    assert result["conversion"] == 0.25
    assert result["mean_step_drop_off"] == pytest.approx(0.5)
    timing = cart["time_to_convert"]
    assert (timing["persons"], timing["median_seconds"], timing["mean_seconds"]) == (2, 180, 180)
    assert {b["label"]: b["count"] for b in timing["histogram"] if b["count"]} == {
        "1m–2m": 1,
        "5m–10m": 1,
    }
    edges = [(b["from_seconds"], b["to_seconds"]) for b in timing["histogram"]]
    assert edges[0] == (0, 1) and edges[-1][1] == 86400
    pay_time = pay["time_to_convert"]
    assert pay_time["median_seconds"] == 3600
    assert [b["label"] for b in pay_time["histogram"] if b["count"]] == ["1h–2h"]


def test_breakdown_by_the_first_step_and_trend_by_local_day() -> None:
    ctx = context(
        [
            Ev("both", "2024-03-05 10:00", "view", carrier="mp"),
            Ev("both", "2024-03-05 12:00", "view", carrier="app"),
            Ev("both", "2024-03-05 12:30", "cart", carrier="app"),
            Ev("mp_only", "2024-03-05 23:59", "view", carrier="mp"),
            Ev("mp_only", "2024-03-06 00:01", "cart", carrier="mp"),
            Ev("mp_only", "2024-03-06 00:00", "view", carrier="mp"),
        ]
    )
    body = {"steps": ["view", "cart"], "window": "1h", "from": "2024-03-04", "to": "2024-03-06"}
    result = analyse_with(ctx, "funnel", {**body, "by": "carrier", "trend": "day"})
    series = {s["value"]: (s["entered"], s["converted"]) for s in result["breakdown"]["series"]}
    # "both": the mp view is over an hour before the cart; the app view converts.
    assert series == {"mp": (2, 1), "app": (1, 1)}
    assert [s["count"] for s in result["steps"]] == [2, 2]
    trend = {s["period"]: (s["entered"], s["converted"]) for s in result["trend"]["series"]}
    assert trend == {"2024-03-04": (0, 0), "2024-03-05": (2, 2), "2024-03-06": (1, 1)}
    assert result["trend"]["period"] == "day"


def test_person_breakdowns_cover_every_entrant(demo_context: Context) -> None:
    body = {"steps": ["view_item", "add_to_cart", "order_paid"], "window": "7d"}
    overall = analyse_with(demo_context, "funnel", body)
    assert overall["steps"][0]["count"] > 100
    assert (
        overall["steps"][0]["count"] >= overall["steps"][1]["count"] >= overall["steps"][2]["count"]
    )
    for by in ("lifecycle", "channel"):
        split = analyse_with(demo_context, "funnel", {**body, "by": by})
        series = split["breakdown"]["series"]
        assert sum(s["entered"] for s in series) == overall["entered"]
        assert sum(s["converted"] for s in series) == overall["converted"]


INVALID = [
    ({"steps": ["view_item", "chekout"]}, "steps[1].event", "did you mean checkout"),
    ({"steps": ["view_item", "checkout"], "window": "0d"}, "window", "longer than 0"),
    ({"steps": ["view_item", "checkout"], "window": -5}, "window", "longer than 0"),
    ({"steps": ["view_item", "checkout"], "window": "soon"}, "window", "not a duration"),
    ({"steps": []}, "steps", "at least 2 steps, got 0"),
    ({"steps": ["view_item"]}, "steps", "at least 2 steps, got 1"),
    ({"steps": ["view_item"] * 21}, "steps", "at most 20 steps"),
    ({}, "steps", "needs a list"),
    ({"steps": ["view_item", "checkout"], "mode": "loose"}, "mode", "ordered, strict, any_order"),
    (
        {"steps": ["view_item", "checkout"], "exclusions": [{"event": "share", "between": [0, 2]}]},
        "exclusions[0].between",
        "1 <= from < to <= 2",
    ),
    (
        {"steps": ["view_item", "checkout"], "exclusions": [{"event": "share", "between": [2, 2]}]},
        "exclusions[0].between",
        "1 <= from < to",
    ),
    (
        {"steps": ["view_item", "checkout"], "exclusions": [{"event": "shar", "between": [1, 2]}]},
        "exclusions[0].event",
        "did you mean share",
    ),
    (
        {
            "steps": ["view_item", "checkout"],
            "mode": "any_order",
            "exclusions": [{"event": "share", "between": [1, 2]}],
        },
        "exclusions",
        "ordered funnel",
    ),
    ({"steps": ["view_item", "checkout"], "by": "colour"}, "by", "unknown breakdown"),
    ({"steps": ["view_item", "checkout"], "trend": "hour"}, "trend", "day, week, month"),
    (
        {"steps": ["view_item", "checkout"], "trend": "day", "from": "2020-01-01"},
        "trend",
        "at most 400 fit",
    ),
    (
        {
            "steps": [
                {"event": "view_item", "where": [{"property": "p", "op": "near", "value": 1}]},
                "checkout",
            ]
        },
        "steps[0].where[0].op",
        "does not apply",
    ),
    (
        {"steps": [{"event": "view_item", "filter": []}, "checkout"]},
        "steps[0].filter",
        "unknown field",
    ),
    ({"steps": [{"where": []}, "checkout"]}, "steps[0].event", "name an event"),
    ({"steps": ["view_item", "checkout"], "colour": "red"}, "colour", "unknown field"),
    ({"steps": ["view_item", "checkout"], "segment": "nobody"}, "segment", "no segment"),
]


@pytest.mark.parametrize(("body", "field", "message"), INVALID)
def test_invalid_requests_name_the_field(
    demo_context: Context, body: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        analyse_with(demo_context, "funnel", body)
    assert caught.value.field == field
    assert message in caught.value.detail


def test_too_many_breakdown_values_are_refused() -> None:
    ctx = context([Ev(f"p{i}", "2024-03-05 10:00", "view", {"ref": f"r{i}"}) for i in range(60)])
    body = {"steps": ["view", "view"], "from": "2024-03-01", "by": "event:ref"}
    with pytest.raises(InvalidRequest) as caught:
        analyse_with(ctx, "funnel", body)
    assert caught.value.field == "by" and "has 60 values; at most 50" in caught.value.detail
    fewer = analyse_with(ctx, "funnel", {**body, "by": "event:missing"})
    assert [s["value"] for s in fewer["breakdown"]["series"]] == ["(none)"]
