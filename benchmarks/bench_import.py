"""Time ``run_import`` of canonical events from Parquet against DuckDB's raw INSERT.

    uv run python benchmarks/bench_import.py --rows 10000000

Prints one JSON line: import seconds, re-import (all duplicates) seconds, the seconds of a
plain ``INSERT INTO events SELECT ... FROM read_parquet(...)`` into an identically
created table with no validation, and the ratio import / raw.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb

from siyu.config import Settings
from siyu.ingest.importers import run_import
from siyu.storage import Warehouse
from siyu.storage.schema import MIGRATIONS


def generate(path: Path, rows: int) -> None:
    """Canonical events, vectorised in DuckDB, in random event_id order."""
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
            SELECT 'e' || lpad(CAST(i AS VARCHAR), 12, '0') || '-' || md5(CAST(i AS VARCHAR))[:8]
                       AS event_id,
                   'track' AS type,
                   ['view', 'click', 'order', 'share'][1 + i % 4] AS event,
                   TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_microseconds(i * 2000) AS event_time,
                   'u' || CAST(i % 1000000 AS VARCHAR) AS user_id,
                   -- 500,000 mainland mobiles; one row in 20 spelled '+86 130 …'
                   CASE WHEN i % 20 = 0 THEN '+86 130 ' || lpad(CAST(i % 500000 AS VARCHAR), 8, '0')
                        ELSE '130' || lpad(CAST(i % 500000 AS VARCHAR), 8, '0') END AS id_phone,
                   '{{"page":"/p/' || CAST(i % 100 AS VARCHAR) || '"}}' AS properties
            FROM range({int(rows)}) t(i)
            ORDER BY hash(i)
        ) TO '{path}' (FORMAT parquet)
        """
    )
    con.close()


def raw_insert(db: Path, parquet: Path, *, index: bool = True) -> float:
    """DuckDB's own load of the same rows, no validation: the reference.

    The table is created by the same migrations as the warehouse's (with its unique
    dedup index, or, with ``index=False``, without it: the floor of any load). ``seq``
    is the file's row number: ``row_number() OVER ()`` would make DuckDB insert on one
    thread (a reference half as fast as it can be: 19.7-21.9 against 9.7-11.6 s for
    10 M rows on this machine, 2026-11-24).
    """
    con = duckdb.connect(
        str(db), config={"memory_limit": "4GB", "threads": 2, "preserve_insertion_order": False}
    )
    for migration in MIGRATIONS:
        for statement in migration.statements:
            con.execute(statement)
    if not index:
        con.execute("DROP INDEX events_event_key")
    started = time.perf_counter()
    con.execute(
        f"""
        INSERT INTO events BY NAME
        SELECT file_row_number + 1 AS seq, event_id, type, event,
               timezone('UTC', event_time) AS event_time, now()::TIMESTAMP AS received_at,
               user_id, map(['phone'], [id_phone]) AS identities, 'import' AS source_id,
               'import' AS protocol, 'import' AS carrier, 'import' AS method, properties,
               '{{}}' AS context, md5_number(event_id) AS event_key
        FROM read_parquet('{parquet}', file_row_number = true)
        """
    )
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        parquet = root / "events.parquet"
        started = time.perf_counter()
        generate(parquet, args.rows)
        generate_s = time.perf_counter() - started

        warehouse = Warehouse.open(Settings(home=root / "home"))
        extra = {"chunk_rows": args.chunk_rows} if args.chunk_rows else {}
        started = time.perf_counter()
        first = run_import(warehouse, "events", parquet, **extra)  # type: ignore[arg-type]
        warehouse.cursor().execute("CHECKPOINT")
        import_s = time.perf_counter() - started
        started = time.perf_counter()
        again = run_import(warehouse, "events", parquet, **extra)  # type: ignore[arg-type]
        reimport_s = time.perf_counter() - started
        warehouse.close()

        raw_s = raw_insert(root / "raw.duckdb", parquet)
        floor_s = raw_insert(root / "floor.duckdb", parquet, index=False)
    print(
        json.dumps(
            {
                "rows": args.rows,
                "generate_s": round(generate_s, 2),
                "import_s": round(import_s, 2),
                "accepted": first.rows_accepted,
                "rejected": first.rows_rejected,
                "reimport_s": round(reimport_s, 2),
                "reimport_duplicates": again.rows_duplicate,
                "raw_insert_s": round(raw_s, 2),
                "raw_insert_no_index_s": round(floor_s, 2),
                "ratio": round(import_s / raw_s, 2),
                "rows_per_s": round(args.rows / import_s),
            }
        )
    )


if __name__ == "__main__":
    main()
