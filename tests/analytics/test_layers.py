"""Layers at a glance: sizes equal the materialised sets, revenue the orders; on Spark too."""

from __future__ import annotations

from datetime import timedelta

import pytest

from siyu.analytics.scope import Context
from siyu.analytics.service import analyse_with
from siyu.segments.models.activity import counted_orders
from siyu.segments.models.config import DEFAULT_CONFIG
from tests.analytics.conftest import spark_context
from tests.conformance import BackendPair


def test_sizes_and_revenue(demo_context: Context) -> None:
    result = analyse_with(demo_context, "layers", {"days": 30})
    m = demo_context.facts.memberships.execute()
    stages = {r["value"]: r for r in result["layers"]["lifecycle"]}
    assert list(stages) == ["new", "active", "silent", "churned", "returning"]
    for stage, row in stages.items():
        members = set(m[m.set_key == f"lifecycle:{stage}"].person_id)
        assert row["persons"] == len(members)
    # Revenue of a class is the net of its members' counted, not refunded orders.
    today = demo_context.today
    until = demo_context.facts.day_start(today + timedelta(days=1))
    since = demo_context.facts.day_start(today - timedelta(days=29))
    orders = counted_orders(demo_context.facts.orders, DEFAULT_CONFIG.orders, until).execute()
    orders = orders[(orders.paid_at >= since) & ~orders.refunded]
    for row in result["layers"]["rfm"]:
        members = set(m[m.set_key == f"rfm:{row['value']}"].person_id)
        expected = int(orders[orders.person_id.isin(members)].net_fen.sum())
        assert row["revenue_fen"] == expected
    assert sum(r["persons"] for r in result["layers"]["lifecycle"]) == result["persons"]
    assert len(result["layers"]["interest"]) <= 20


@pytest.mark.spark
@pytest.mark.slow
def test_same_on_spark(demo_context: Context, demo_pair: BackendPair) -> None:
    duck = analyse_with(demo_context, "layers", {})
    spark = analyse_with(spark_context(demo_pair, demo_context), "layers", {})
    assert duck == spark
