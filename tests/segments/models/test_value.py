"""Value tiers and roles on hand-made persons, as of 2024-03-31 in Asia/Shanghai."""

from __future__ import annotations

from collections import defaultdict

from siyu.segments.dialect import DUCKDB
from siyu.segments.models import load_models_config, roles, value_tiers
from siyu.segments.models.config import ModelsConfig
from tests.segments.models.warehouse import TODAY, Ev, Order, build, rows, tables


def tiers(
    events: list[Ev], orders: list[Order], config: ModelsConfig | None = None
) -> dict[str, str]:
    wh = build(events, orders)
    try:
        t = tables(wh.ibis())
        expr = value_tiers(t["events"], t["orders"], today=TODAY, config=config or ModelsConfig())
        return {r["person_id"]: r["value_tier"] for r in rows(expr)}
    finally:
        wh.close()


def test_value_tiers() -> None:
    found = tiers(
        [
            Ev("lapsed_four", "2024-03-30 10:00"),
            Ev("browser", "2024-03-30 10:00"),
            Ev("gone", "2024-01-01 23:59"),  # day 91
            Ev("edge_in", "2024-01-02 00:00"),  # day 90
            Ev("unsub_only", "2024-03-30 10:00", "unsubscribe", carrier="oa"),
            Ev("lapsed_buyer", "2024-03-30 10:00"),
        ],
        [
            *[Order("loyal", f"{d} 10:00", 5_000) for d in
              ("2024-03-20", "2024-03-01", "2024-02-01", "2024-01-10")],
            *[Order("lapsed_four", f"{d} 10:00", 5_000) for d in
              ("2023-12-01", "2023-11-01", "2023-10-01", "2023-09-01")],
            Order("two_recent", "2024-03-01 10:00", 5_000),
            Order("two_recent", "2024-02-01 10:00", 5_000),
            Order("big_spender", "2024-03-10 10:00", 30_000),
            Order("one_order", "2024-03-10 10:00", 10_000),
            Order("refunded_only", "2024-03-30 10:00", 10_000, refund=10_000),
            Order("lapsed_buyer", "2023-03-01 10:00", 10_000),
        ],
    )  # fmt: skip
    assert found == {
        "loyal": "loyal",
        "lapsed_four": "ordinary",
        "two_recent": "high_quality",
        "big_spender": "high_quality",
        "one_order": "ordinary",
        "browser": "low_frequency",
        "gone": "churned",
        "edge_in": "low_frequency",
        "unsub_only": "churned",
        "refunded_only": "low_frequency",
        "lapsed_buyer": "low_frequency",
    }


def test_value_thresholds_are_configurable() -> None:
    config = load_models_config(
        {"value": {"loyal_min_orders": 2, "high_quality_min_fen": 10_000, "churn_days": 30}}
    )
    found = tiers(
        [Ev("gone", "2024-03-01 10:00")],
        [
            Order("two_recent", "2024-03-20 10:00", 5_000),
            Order("two_recent", "2024-02-01 10:00", 5_000),
            Order("one_order", "2024-03-10 10:00", 10_000),
        ],
        config,
    )
    assert found == {"two_recent": "loyal", "one_order": "high_quality", "gone": "churned"}


def test_roles_several_per_person_and_ordinary_alone() -> None:
    invite = "invite_accepted"
    events = [
        Ev("buyer", "2024-03-30 10:00"),
        Ev("quiet", "2024-03-01 10:00"),
        Ev("writer", "2024-02-01 10:00", "publish_content"),
        Ev("old_writer", "2023-03-01 10:00", "publish_content"),
        Ev("old_writer", "2024-03-01 10:00"),
        Ev("M4", "2024-03-01 10:00", anon="anon4"),
        Ev("M4", "2024-03-02 10:00", invite, {"inviter": "M4"}),  # self: not counted
        Ev("f1", "2024-03-10 10:00", invite, {"inviter": "M4", "$share_depth": 1}),
        Ev("f2", "2024-03-11 10:00", invite, {"inviter": "M4"}),
        Ev("f2", "2024-03-12 10:00", invite, {"inviter": "M4"}),
        Ev("f3", "2024-03-12 10:00", "$MPLaunch", {"$share_distinct_id": "anon4"}),
        Ev("M5", "2024-03-01 10:00"),
        Ev("g1", "2024-03-10 10:00", invite, {"inviter": "M5"}),
        Ev("g2", "2024-03-10 10:00", invite, {"inviter": "M5"}),
        Ev("g3", "2024-03-10 10:00", "view", {"inviter": "M5"}),  # not a referral event
        Ev("M11", "2024-03-01 10:00"),
        Ev("M12", "2024-03-01 10:00"),
    ]
    items = [
        ("note", "U1", {"author_id": "M11", "tags": ["读后感"]}, False),
        ("note", "U2", {"author_id": "M12"}, True),  # deleted
    ]
    orders = [
        Order("buyer", "2024-03-01 10:00", 100),
        Order("orders_only", "2024-03-30 10:00", 100),
    ]
    wh = build(events, orders, items)
    try:
        t = tables(wh.ibis())
        expr = roles(t["events"], t["orders"], t["items"], today=TODAY, dialect=DUCKDB)
        found: dict[str, set[str]] = defaultdict(set)
        for r in rows(expr):
            found[r["person_id"]].add(r["role"])
    finally:
        wh.close()
    ordinary = {"ordinary"}
    assert dict(found) == {
        "buyer": {"active", "paying"},
        "orders_only": {"active", "paying"},
        "quiet": ordinary,
        "writer": {"ugc_author"},
        "old_writer": ordinary,
        "M4": {"koc"},
        "f1": ordinary,
        "f2": ordinary,
        "f3": ordinary,
        "M5": ordinary,
        "g1": ordinary,
        "g2": ordinary,
        "g3": ordinary,
        "M11": {"ugc_author"},
        "M12": ordinary,
    }
