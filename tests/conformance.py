"""The backend-conformance harness: one Ibis expression, run on DuckDB and on Spark.

Later issues reuse it through the ``backend_pair`` fixture:

    def test_my_metric(backend_pair, warehouse_with_data):
        pair = backend_pair(warehouse_with_data)
        pair.assert_same(lambda con: my_metric(con.table("events")), order_by=["day"])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from siyu.storage import Warehouse
from siyu.storage.spark import connect_spark, export_snapshot

Build = Callable[[Any], Any]


class BackendPair:
    """The same warehouse tables seen through DuckDB and through Spark."""

    def __init__(self, warehouse: Warehouse, spark: Any, lake: Path) -> None:
        self.duckdb = warehouse.ibis()
        self._session = spark
        self._files = export_snapshot(warehouse, lake)

    @property
    def spark(self) -> Any:
        """An Ibis connection over this pair's snapshot. Tables are views named after
        the warehouse's, and one Spark session serves every pair of a run: each access
        registers this pair's files again, so another pair's views never leak in."""
        return connect_spark(self._session, self._files)

    def run(self, build: Build) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``build(con)`` executed on each backend, as pandas frames."""
        return _frame(build(self.duckdb).execute()), _frame(build(self.spark).execute())

    def assert_same(
        self, build: Build, *, order_by: Sequence[str] | None = None, rtol: float = 1e-9
    ) -> pd.DataFrame:
        """Assert both backends return equal results; returns DuckDB's for more checks."""
        duck, spark = self.run(build)
        assert list(duck.columns) == list(spark.columns), (duck.columns, spark.columns)
        keys = list(order_by or duck.columns)
        duck = duck.sort_values(keys, kind="stable").reset_index(drop=True)
        spark = spark.sort_values(keys, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(
            duck, spark, check_dtype=False, check_exact=False, rtol=rtol, check_like=False
        )
        return duck


def _frame(result: Any) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        frame = result
    elif isinstance(result, pd.Series):
        frame = result.to_frame()
    else:
        frame = pd.DataFrame({"value": [result]})
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = (
                frame[column].dt.tz_localize(None) if frame[column].dt.tz else frame[column]
            )
            frame[column] = frame[column].astype("datetime64[us]")
        elif pd.api.types.is_integer_dtype(frame[column]) or pd.api.types.is_bool_dtype(
            frame[column]
        ):
            frame[column] = frame[column].astype("int64")
        elif pd.api.types.is_float_dtype(frame[column]):
            frame[column] = frame[column].astype("float64")
        elif pd.api.types.is_string_dtype(frame[column]) or frame[column].dtype == object:
            frame[column] = frame[column].astype(object)
    return frame
