"""Lifecycle flow gives the same answer on DuckDB and on Spark over the demo warehouse:
statuses per week with a person breakdown, and the stage transitions."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.analytics.scope import Context
from siyu.analytics.service import analyse_with
from tests.analytics.conftest import spark_context
from tests.conformance import BackendPair

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.mark.parametrize(
    "body",
    [
        # The demo's stages were computed when the session began: any instant after that
        # sees them, one before sees none.
        {"period": "week", "by": "lifecycle", "flow_from": "2024-05-01", "flow_to": "2100-01-01"},
        {"period": "month", "churn_days": 10, "segment": "paying"},
    ],
    ids=["week-lifecycle-transitions", "month-segment"],
)
def test_same_on_duckdb_and_spark(
    demo_pair: BackendPair, demo_context: Context, body: dict[str, Any]
) -> None:
    duck = analyse_with(demo_context, "lifecycle", body)
    spark = analyse_with(spark_context(demo_pair, demo_context), "lifecycle", body)
    assert duck == spark
    totals = {s: sum(p[s] or 0 for p in duck["periods"]) for s in duck["statuses"]}
    assert totals["new"] and totals["returning"] and totals["churned"], totals
    if "by" in body:
        assert all(totals.values()), totals
        assert len(duck["breakdowns"]) >= 3
        assert sum(link["value"] for link in duck["transitions"]["links"]) > 100
