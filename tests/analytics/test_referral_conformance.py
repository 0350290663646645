"""Referral trees come out the same on DuckDB and on Spark over the demo warehouse:
edges judged, generations grown one join at a time, the shaped trees."""

from __future__ import annotations

import pytest

from siyu.analytics.scope import Context
from siyu.analytics.service import analyse_with
from tests.analytics.conftest import spark_context
from tests.analytics.test_attribution_conformance import same
from tests.conformance import BackendPair

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_same_on_duckdb_and_spark(demo_pair: BackendPair, demo_context: Context) -> None:
    body = {"top": 10, "max_nodes": 200}
    duck = analyse_with(demo_context, "referral", body)
    spark = analyse_with(spark_context(demo_pair, demo_context), "referral", body)
    same(duck, spark)
    assert duck["summary"]["invitees"] > 50 and len(duck["generations"]) >= 2
    assert duck["tree"]["shown"] == min(200, duck["summary"]["persons"])
