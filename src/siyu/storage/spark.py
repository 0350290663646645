"""The scale-out backend: Apache Spark (local mode here) over the same tables, via Ibis.

The warehouse exports a consistent snapshot of each table to Parquet under
``SIYU_HOME/lake/<table>/``; Spark registers them under the same names, so an Ibis
expression built against ``con.table("events")`` runs unchanged on either engine.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis

from siyu.storage.exceptions import StorageError
from siyu.storage.schema import SNAPSHOT_EXCLUDE, TABLES
from siyu.storage.warehouse import Warehouse

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def export_snapshot(
    warehouse: Warehouse, lake: Path, tables: Iterable[str] = TABLES
) -> dict[str, Path]:
    """Write each table to ``lake/<table>.parquet`` from one read transaction.

    Every table comes from the same snapshot (one transaction), and each file replaces
    the previous one atomically, so a reader never sees a half-written table.
    """
    lake.mkdir(parents=True, exist_ok=True)
    cur = warehouse.cursor()
    written: dict[str, Path] = {}
    cur.execute("BEGIN TRANSACTION")
    try:
        for table in tables:
            if table not in TABLES:
                raise StorageError(f"unknown table {table!r}; known: {', '.join(TABLES)}")
            final = lake / f"{table}.parquet"
            tmp = lake / f".{table}.{uuid.uuid4().hex}.parquet"
            excluded = SNAPSHOT_EXCLUDE.get(table)
            columns = f"* EXCLUDE ({', '.join(excluded)})" if excluded else "*"
            cur.execute(
                f"COPY (SELECT {columns} FROM {table}) TO '{tmp}'"
                " (FORMAT parquet, COMPRESSION zstd)"
            )
            tmp.replace(final)
            written[table] = final
    finally:
        cur.execute("COMMIT")
        cur.close()
    return written


def spark_session(master: str = "local[2]", app_name: str = "siyu") -> SparkSession:
    """A Spark session in UTC, quiet and small, for local runs and tests."""
    from pyspark.sql import SparkSession

    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        raise StorageError(
            "Spark needs Java 17: install it (`scripts/ensure-system.sh` does) or set JAVA_HOME"
        )
    session = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def connect_spark(session: SparkSession, tables: dict[str, Path]) -> Any:
    """An Ibis PySpark backend with ``tables`` (name -> Parquet path) registered."""
    con = ibis.pyspark.connect(session)
    for name, path in tables.items():
        con.read_parquet(str(path), table_name=name)
    return con
