"""Attribution gives the same answer on DuckDB and on Spark over the demo warehouse:
every model side by side, for channel touches on orders and campaign touches on an
event conversion."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.analytics.attribution import MODELS
from siyu.analytics.scope import Context
from siyu.analytics.service import analyse_with
from tests.analytics.conftest import spark_context
from tests.conformance import BackendPair

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def same(duck: Any, spark: Any, where: str = "") -> None:
    """Equal JSON, floats to 1e-9 relative (sums may add in another order)."""
    if isinstance(duck, dict):
        assert isinstance(spark, dict) and duck.keys() == spark.keys(), where
        for key in duck:
            same(duck[key], spark[key], f"{where}.{key}")
    elif isinstance(duck, list):
        assert isinstance(spark, list) and len(duck) == len(spark), where
        for n, (a, b) in enumerate(zip(duck, spark, strict=True)):
            same(a, b, f"{where}[{n}]")
    elif isinstance(duck, float) or isinstance(spark, float):
        assert spark == pytest.approx(duck, rel=1e-9, abs=1e-6), where
    else:
        assert duck == spark, where


@pytest.mark.parametrize(
    "body",
    [
        {"models": list(MODELS), "lookback": "14d", "top": 8},
        {"conversion": "$SignUp", "touch": "campaign", "models": ["first", "time_decay"]},
    ],
    ids=["orders-channel-every-model", "signup-campaign"],
)
def test_same_on_duckdb_and_spark(
    demo_pair: BackendPair, demo_context: Context, body: dict[str, Any]
) -> None:
    duck = analyse_with(demo_context, "attribution", body)
    spark = analyse_with(spark_context(demo_pair, demo_context), "attribution", body)
    same(duck, spark)
    assert duck["totals"]["conversions"] > 20
    assert len(duck["rows"]) >= 3 and duck["totals"]["direct"] < duck["totals"]["conversions"]
