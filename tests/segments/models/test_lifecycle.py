"""Lifecycle stages on hand-made activity, as of 2024-03-31 in Asia/Shanghai."""

from __future__ import annotations

from datetime import date
from typing import Any

from siyu.segments.dialect import DUCKDB
from siyu.segments.models import lifecycle, load_models_config
from siyu.segments.models.config import ModelsConfig
from tests.segments.models.warehouse import TODAY, Ev, Order, build, rows, tables, utc


def stages(
    events: list[Ev],
    orders: list[Order] = (),
    config: ModelsConfig | None = None,  # type: ignore[assignment]
) -> dict[str, dict[str, Any]]:
    wh = build(events, orders)
    try:
        t = tables(wh.ibis())
        expr = lifecycle(
            t["events"], t["orders"], today=TODAY, tz="Asia/Shanghai",
            config=config or ModelsConfig(), dialect=DUCKDB,
        )  # fmt: skip
        return {r["person_id"]: r for r in rows(expr)}
    finally:
        wh.close()


def days(user: str, *dates: str) -> list[Ev]:
    return [Ev(user, f"{d} 12:00") for d in dates]


def test_new_counts_today_as_day_one_on_local_days() -> None:
    found = stages(
        [
            Ev("first_on_day_7", "2024-03-25 00:00"),  # 2024-03-24 16:00 UTC
            Ev("first_on_day_8", "2024-03-24 23:59"),  # 2024-03-24 15:59 UTC
            Ev("first_on_day_8", "2024-03-30 09:00"),
            Ev("late_tonight", "2024-03-31 23:59"),
            Ev("tomorrow", "2024-04-01 00:00"),
        ]
    )
    assert (found["first_on_day_7"]["stage"], found["first_on_day_7"]["stage_since"]) == (
        "new",
        date(2024, 3, 25),
    )
    assert found["first_on_day_7"]["first_seen"] == utc("2024-03-25 00:00")
    # New ended today: day 8 is the first day not new, and the person is active.
    assert (found["first_on_day_8"]["stage"], found["first_on_day_8"]["stage_since"]) == (
        "active",
        date(2024, 3, 31),
    )
    assert found["late_tonight"]["stage"] == "new"
    assert "tomorrow" not in found


def test_active_silent_and_churned_boundaries() -> None:
    found = stages(
        [
            *days("active_edge", "2024-03-10"),
            Ev("active_edge", "2024-03-25 00:00"),
            *days("silent_edge", "2024-02-01"),
            Ev("silent_edge", "2024-03-24 23:59"),
            *days("silent_29", "2024-02-01", "2024-03-02"),
            *days("churned_30", "2024-02-01", "2024-03-01"),
        ]
    )
    got = {p: (r["stage"], r["stage_since"]) for p, r in found.items()}
    assert got == {
        "active_edge": ("active", date(2024, 3, 25)),
        "silent_edge": ("silent", date(2024, 3, 31)),
        "silent_29": ("silent", date(2024, 3, 9)),
        "churned_30": ("churned", date(2024, 3, 31)),
    }
    assert found["silent_edge"]["last_active"] == utc("2024-03-24 23:59")


def test_active_since_the_last_return_from_silence() -> None:
    found = stages(
        [
            *days("again", "2024-03-01", "2024-03-05", "2024-03-20", "2024-03-28"),
            *days("steady", *[f"2024-03-{d:02d}" for d in range(1, 32, 3)]),
        ]
    )
    # again: silent on 03-27 (7 days after 03-20), active again from 03-28.
    assert (found["again"]["stage"], found["again"]["stage_since"]) == ("active", date(2024, 3, 28))
    # steady: never 7 days apart, so active from the day new ended.
    assert (found["steady"]["stage"], found["steady"]["stage_since"]) == (
        "active",
        date(2024, 3, 8),
    )


def test_returning_after_more_than_30_days() -> None:
    found = stages(
        [
            *days("back", "2024-01-10", "2024-02-01", "2024-03-29"),
            *days("gap_31", "2024-02-27", "2024-03-29"),
            *days("gap_30", "2024-02-28", "2024-03-29"),
            *days("back_earlier", "2024-02-01", "2024-03-20", "2024-03-26", "2024-03-30"),
        ]
    )
    got = {p: (r["stage"], r["stage_since"]) for p, r in found.items()}
    assert got == {
        "back": ("returning", date(2024, 3, 29)),
        "gap_31": ("returning", date(2024, 3, 29)),
        # Silent, not churned, the day before: a reactivation, not a return.
        "gap_30": ("active", date(2024, 3, 29)),
        # Returned 03-20; returning for 7 days, then active.
        "back_earlier": ("active", date(2024, 3, 27)),
    }


def test_orders_count_as_activity_and_paying() -> None:
    found = stages(
        [
            *days("refunded", "2024-03-30"),
            *days("partial", "2024-03-30"),
            Ev("bookkeeping", "2024-03-30 10:00", "profile_set", type="profile_set"),
            Ev("bookkeeping", "2024-03-30 11:00", "unsubscribe", carrier="oa"),
            Ev("bookkeeping", "2024-03-30 11:00", "segment_entered", carrier="server"),
        ],
        [
            Order("orders_only", "2024-03-30 10:00", 5000),
            Order("refunded", "2024-03-10 10:00", 5000, refund=5000),
            Order("partial", "2024-03-10 10:00", 5000, refund=1000),
            Order("unpaid", "2024-03-10 10:00", 5000, status="cancelled"),
        ],
    )
    assert (found["orders_only"]["stage"], found["orders_only"]["paying"]) == ("new", True)
    assert found["orders_only"]["first_seen"] == utc("2024-03-30 10:00")
    assert found["refunded"]["paying"] is False
    assert found["refunded"]["first_seen"] == utc("2024-03-10 10:00")  # the order was activity
    assert found["partial"]["paying"] is True
    assert "bookkeeping" not in found and "unpaid" not in found


def test_thresholds_and_paying_window_are_configurable() -> None:
    config = load_models_config(
        {"lifecycle": {"new_days": 1, "active_days": 3, "churn_days": 10, "return_gap_days": 5,
                       "paying_window_days": 30}}
    )  # fmt: skip
    found = stages(
        [
            *days("new", "2024-03-31"),
            *days("active", "2024-03-26", "2024-03-27", "2024-03-29"),
            *days("silent", "2024-03-25"),
            *days("churned", "2024-03-21"),
            *days("back", "2024-03-20", "2024-03-30"),
        ],
        [Order("churned", "2024-03-01 10:00", 100), Order("back", "2024-03-02 10:00", 100)],
        config,
    )
    got = {p: (r["stage"], r["stage_since"], r["paying"]) for p, r in found.items()}
    assert got == {
        "new": ("new", date(2024, 3, 31), False),
        "active": ("active", date(2024, 3, 27), False),
        "silent": ("silent", date(2024, 3, 28), False),
        "churned": ("churned", date(2024, 3, 31), False),
        "back": ("returning", date(2024, 3, 30), True),
    }
