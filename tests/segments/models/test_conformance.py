"""Every model gives the same rows on DuckDB and Spark: the hand-made cases of the other
tests plus a small demo, in one warehouse exported to Spark once for the module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pytest

from siyu.demo.load import load_demo
from siyu.segments.dialect import dialect_of
from siyu.segments.models import (
    channel_tags,
    interests,
    lifecycle,
    load_models_config,
    rfm,
    roles,
    value_tiers,
)
from siyu.storage import Warehouse
from tests.conformance import BackendPair
from tests.segments.models.cases import (
    CHANNEL_EVENTS,
    CHANNELS,
    INTEREST_EVENTS,
    INTEREST_ITEMS,
    INTEREST_ORDERS,
    RFM_ORDERS,
)
from tests.segments.models.warehouse import TODAY, Ev, Order, append, tables

pytestmark = [pytest.mark.spark, pytest.mark.slow]

HAND_EVENTS = [
    Ev("new", "2024-03-25 00:00"),
    Ev("old", "2024-03-24 23:59"),
    Ev("old", "2024-03-30 09:00"),
    *[Ev("back", f"{d} 12:00") for d in ("2024-01-10", "2024-02-01", "2024-03-29")],
    *[Ev("gap_30", f"{d} 12:00") for d in ("2024-02-28", "2024-03-29")],
    Ev("churned", "2024-03-01 12:00"),
    Ev("silent", "2024-03-24 23:59"),
    Ev("bookkeeping", "2024-03-30 10:00", "profile_set", type="profile_set"),
    Ev("writer", "2024-02-01 10:00", "publish_content"),
]
HAND_ORDERS = [
    Order("orders_only", "2024-03-30 10:00", 5000),
    Order("partial", "2024-03-10 10:00", 5000, refund=1000),
]


@pytest.fixture(scope="module")
def pair(spark: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendPair]:
    wh = Warehouse.in_memory()
    load_demo(wh, 300, 30, 5, start=date(2024, 3, 1))
    append(wh, HAND_EVENTS, HAND_ORDERS, prefix="h")
    append(wh, [], RFM_ORDERS, prefix="r")
    append(wh, INTEREST_EVENTS, INTEREST_ORDERS, INTEREST_ITEMS, prefix="i")
    append(wh, CHANNEL_EVENTS, channels=CHANNELS, prefix="c")
    append(wh, *_roles_rows(), prefix="o")
    lake = Path(tmp_path_factory.mktemp("models-lake"))
    yield BackendPair(wh, spark, lake)
    wh.close()


def _roles_rows() -> tuple[list[Ev], list[Order], list[tuple[str, str, dict[str, Any], bool]]]:
    invite = "invite_accepted"
    events = [
        Ev("M4", "2024-03-01 10:00", anon="anon4"),
        *[Ev(f"f{n}", "2024-03-10 10:00", invite, {"inviter": "M4"}) for n in range(3)],
        Ev("f9", "2024-03-12 10:00", "$MPLaunch", {"$share_distinct_id": "anon4"}),
        Ev("M11", "2024-03-01 10:00"),
    ]
    items = [("note", "U1", {"author_id": "M11", "tags": ["读后感"]}, False)]
    return events, [Order("M4", "2024-03-30 10:00", 100)], items


def test_lifecycle(pair: BackendPair) -> None:
    def build(con: Any) -> ir.Table:
        t = tables(con)
        return lifecycle(t["events"], t["orders"], today=TODAY, dialect=dialect_of(con))

    found = pair.assert_same(build, order_by=["person_id"])
    assert set(found["stage"]) == {"new", "active", "silent", "churned", "returning"}
    assert found["paying"].astype(bool).any()


def test_rfm(pair: BackendPair) -> None:
    quantile = pair.assert_same(
        lambda con: rfm(tables(con)["orders"], today=TODAY), order_by=["person_id"]
    )
    assert quantile["rfm_class"].nunique() >= 4
    config = load_models_config(
        {"rfm": {"scoring": "cuts", "recency_cuts": [7, 30, 90, 180], "split": "threshold",
                 "frequency_cuts": [2, 3, 5, 8], "monetary_cuts": [5000, 10000, 20000, 50000]}}
    )  # fmt: skip
    pair.assert_same(
        lambda con: rfm(tables(con)["orders"], today=TODAY, config=config), order_by=["person_id"]
    )


def test_value_tiers(pair: BackendPair) -> None:
    def build(con: Any) -> ir.Table:
        t = tables(con)
        return value_tiers(t["events"], t["orders"], today=TODAY)

    found = pair.assert_same(build, order_by=["person_id"])
    assert found["value_tier"].nunique() >= 4


def test_roles(pair: BackendPair) -> None:
    def build(con: Any) -> ir.Table:
        t = tables(con)
        return roles(t["events"], t["orders"], t["items"], today=TODAY, dialect=dialect_of(con))

    found = pair.assert_same(build, order_by=["person_id", "role"])
    assert set(found["role"]) == {"ordinary", "active", "paying", "ugc_author", "koc"}


def test_interests(pair: BackendPair) -> None:
    def build(con: Any) -> ir.Table:
        t = tables(con)
        return interests(t["events"], t["orders"], t["items"], today=TODAY, dialect=dialect_of(con))

    found = pair.assert_same(build, order_by=["person_id", "tag"], rtol=0)
    assert found["tag"].nunique() > 5


def test_channel_tags(pair: BackendPair) -> None:
    def build(con: Any) -> ir.Table:
        t = tables(con)
        return channel_tags(t["events"], t["channels"], dialect=dialect_of(con))

    found = pair.assert_same(build, order_by=["person_id"])
    assert found["first_channel"].notna().any() and found["first_scene"].notna().any()
