"""The funnel gives the same answer on DuckDB and on Spark (the demo warehouse): ordered
with a step-1 breakdown, strict with a person breakdown, any order, and an exclusion with
a step filter and a trend."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.analytics.scope import Context
from siyu.analytics.service import analyse_with
from tests.analytics.conftest import spark_context
from tests.conformance import BackendPair

pytestmark = [pytest.mark.spark, pytest.mark.slow]

STEPS = ["view_item", "add_to_cart", "checkout", "order_paid"]
REQUESTS = [
    {"steps": STEPS, "window": "7d", "by": "carrier"},
    {"steps": STEPS, "window": "2d", "mode": "strict", "by": "lifecycle"},
    {"steps": STEPS, "window": "1d", "mode": "any_order"},
    {
        "steps": [
            {
                "event": "view_item",
                "where": [{"property": "price_fen", "op": "gte", "value": 5000}],
            },
            "add_to_cart",
            "order_paid",
        ],
        "window": "3d",
        "exclusions": [{"event": "share", "between": [1, 3]}],
        "trend": "week",
    },
]


@pytest.mark.parametrize(
    "body", REQUESTS, ids=["ordered_by_carrier", "strict_by_lifecycle", "any_order", "exclusion"]
)
def test_same_on_duckdb_and_spark(
    demo_pair: BackendPair, demo_context: Context, body: dict[str, Any]
) -> None:
    duck = analyse_with(demo_context, "funnel", body)
    spark = analyse_with(spark_context(demo_pair, demo_context), "funnel", body)
    assert duck["steps"][0]["count"] > 0 and duck["steps"][1]["count"] > 0
    assert _rounded(duck) == _rounded(spark)


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value
