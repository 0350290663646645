"""The daily summary gives the same answers on Spark as on DuckDB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from siyu.demo.load import load_demo
from siyu.pipeline.daily import daily_summary
from siyu.storage import Warehouse
from tests.conformance import BackendPair

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_daily_summary_same_on_spark_and_duckdb(
    backend_pair: Callable[[Warehouse], BackendPair],
) -> None:
    warehouse = Warehouse.in_memory()
    load_demo(warehouse, 400, 10, 3, start=date(2024, 5, 1))
    pair = backend_pair(warehouse)
    duck = daily_summary(pair.duckdb, "Asia/Shanghai")
    spark = daily_summary(pair.spark, "Asia/Shanghai")
    warehouse.close()
    assert duck["days"] and duck["totals"]["orders"] > 0
    assert spark == duck


def test_day_boundaries_same_on_spark_and_duckdb(
    backend_pair: Callable[[Warehouse], BackendPair], fixture_warehouse: Warehouse
) -> None:
    pair = backend_pair(fixture_warehouse)
    period = {"start": date(2024, 3, 1), "end": date(2024, 3, 2)}
    assert daily_summary(pair.spark, **period) == daily_summary(pair.duckdb, **period)
