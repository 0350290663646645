"""Running the daily pipeline on a chosen engine: the embedded DuckDB or Spark."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from siyu.exceptions import SiyuError
from siyu.pipeline.daily import daily_summary
from siyu.runtime import Runtime

ENGINES: Final = ("duckdb", "spark")


class PipelineError(SiyuError):
    """The pipeline was asked for something it cannot do."""


def run_daily(
    runtime: Runtime,
    *,
    engine: str = "duckdb",
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """The daily summary over the warehouse, on DuckDB or on a Spark snapshot of it."""
    if engine not in ENGINES:
        raise PipelineError(f"engine {engine!r} is not one of: {', '.join(ENGINES)}")
    if start and end and start > end:
        raise PipelineError(f"start {start} is after end {end}")
    tz = runtime.settings.timezone
    if engine == "duckdb":
        con: Any = runtime.warehouse.ibis()
    else:
        from siyu.storage.spark import connect_spark, export_snapshot, spark_session

        tables = export_snapshot(runtime.warehouse, runtime.settings.lake_path)
        con = connect_spark(spark_session(), tables)
    result = daily_summary(con, tz, start=start, end=end)
    result["engine"] = engine
    return result
