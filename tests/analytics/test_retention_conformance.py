"""Retention gives the same answer on DuckDB and on Spark: each cohort mode, and the
person (channel) and per-event (carrier) breakdowns, over the demo warehouse."""

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
        {"start_event": "$SignUp", "return_event": "order_paid", "periods": 14, "by": "carrier"},
        {"cohort": "first_seen", "period": "month", "periods": 1, "by": "channel"},
        {"start_event": "$MPLaunch", "cohort": "any", "period": "week", "periods": 4},
    ],
    ids=["first-day-carrier", "first_seen-month-channel", "any-week"],
)
def test_same_on_duckdb_and_spark(
    demo_pair: BackendPair, demo_context: Context, body: dict[str, Any]
) -> None:
    duck = analyse_with(demo_context, "retention", body)
    spark = analyse_with(spark_context(demo_pair, demo_context), "retention", body)
    assert duck == spark
    assert duck["average"]["size"] > 50
    assert any(n for row in duck["cohorts"] for n in row["retained"] if n)
    if "by" in body:
        assert len(duck["breakdowns"]) >= 2
