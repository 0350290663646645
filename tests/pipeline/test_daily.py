"""The daily summary on a hand-made fixture with hand-computed answers."""

from __future__ import annotations

from datetime import date, datetime

from siyu.pipeline.daily import daily_summary, utc_offsets
from siyu.storage import Warehouse


def test_daily_summary_by_hand(fixture_warehouse: Warehouse) -> None:
    got = daily_summary(
        fixture_warehouse.ibis(), "Asia/Shanghai", start=date(2024, 3, 1), end=date(2024, 3, 2)
    )
    first, second = got["days"]
    assert first == {
        "date": "2024-03-01",
        "actors": {"app": 1, "mp": 3},
        "actors_total": 4,
        "new_actors": {"app": 1, "mp": 2},
        "new_actors_total": 3,
        "retained_next_day": {"app": 1, "mp": 1},
        "orders": 1,
        "buyers": 1,
        "gmv_fen": 1000,
        "refund_fen": 0,
    }
    assert second == {
        "date": "2024-03-02",
        "actors": {"app": 2, "mp": 1},
        "actors_total": 3,
        "new_actors": {"app": 1},
        "new_actors_total": 1,
        "retained_next_day": {"app": 1},
        "orders": 2,
        "buyers": 2,
        "gmv_fen": 3000,
        "refund_fen": 2500,
    }
    # u4's return on 03-03 lies after the period, so 03-02's newcomers are not rated.
    assert got["retention"] == {
        "app": {"new": 1, "retained": 1, "rate": 1.0},
        "mp": {"new": 2, "retained": 1, "rate": 0.5},
    }
    assert [(f["step"], f["actors"]) for f in got["funnel"]] == [
        ("view_item", 3),
        ("add_to_cart", 2),
        ("checkout", 2),
        ("order_paid", 1),
    ]
    assert got["funnel"][3]["from_previous"] == 0.5
    assert got["totals"] == {"orders": 3, "gmv_fen": 4000, "refund_fen": 2500, "new_actors": 4}


def test_default_period_is_the_data(fixture_warehouse: Warehouse) -> None:
    got = daily_summary(fixture_warehouse.ibis())
    assert (got["start"], got["end"]) == ("2024-02-28", "2024-03-03")
    assert [d["date"] for d in got["days"]][:2] == ["2024-02-28", "2024-02-29"]


def test_empty_warehouse() -> None:
    warehouse = Warehouse.in_memory()
    got = daily_summary(warehouse.ibis())
    warehouse.close()
    assert got["days"] == [] and got["retention"]["mp"]["rate"] is None


def test_offsets_follow_daylight_saving() -> None:
    assert utc_offsets("Asia/Shanghai", date(2024, 3, 1), date(2024, 12, 31)) == [
        (datetime(2024, 2, 29), 28_800)
    ]
    berlin = utc_offsets("Europe/Berlin", date(2024, 3, 30), date(2024, 4, 1))
    assert [s for _, s in berlin] == [3600, 7200]
    assert berlin[1][0] == datetime(2024, 3, 31, 1)
