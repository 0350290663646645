"""Time a 4-step, 7-day funnel through siyu and side by side through chDB's windowFunnel.

    uv run python benchmarks/bench_funnel.py --persons 1000000 --events 100000000 --runs 3 \
        --keep /data/bench-funnel-100m
    uv run python benchmarks/bench_funnel.py --persons 20000 --events 1000000 --runs 3

A synthetic shop (`segment_population`, the one `bench_segments` uses: view_item,
add_to_cart, checkout, order_paid among 16 event names, skewed activity, second-resolution
times, many ties) is written into an on-disk warehouse (setup, not timed; ``--keep DIR``
keeps it and reuses it on the next run with the same sizes). Each run times the product
path, ``siyu.analytics.service.run(runtime, "funnel", ...)`` on DuckDB: the events
resolved to persons through the identity tables, the step entries, one window pass per
step, the counts and the time-to-convert statistics. The identity join alone (the step
events of the range with their person) is timed too.

chDB gets the same events once, untimed: every event with its resolved ``person_id``,
its name and its time (as epoch microseconds), exported by DuckDB to one Parquet file
that each chDB run reads with ``file(..., Parquet)``; the query is the usual
``windowFunnel(window)(ts, cond1, ..., cond4)`` per person, then a count per level. Step
counts must be equal or the benchmark fails. Prints medians and the ratio, then one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chdb

from segment_population import populate
from siyu.analytics import service
from siyu.analytics.scope import context_from, events_between, utc_bounds
from siyu.config import Settings
from siyu.runtime import Runtime
from siyu.segments.dialect import utc_midnight
from siyu.storage import Warehouse

#: chDB ships no type hints.
_chdb_query: Any = chdb.query
TODAY = date(2026, 6, 30)
TZ = "Asia/Shanghai"
STEPS = ("view_item", "add_to_cart", "checkout", "order_paid")
WINDOW = 7 * 86_400
MEMORY_LIMIT = "16GB"


def warehouse_at(home: Path, persons: int, events: int, days: int) -> Settings:
    """Settings of a populated warehouse under ``home``, populating it unless a previous
    run with the same sizes left it there."""
    # Every run computes: no answer cache (siyu.analytics.answer_cache).
    settings = Settings(
        home=home, parse_workers=0, duckdb_memory_limit=MEMORY_LIMIT, analytics_cache_seconds=0
    )
    marker = home / "population.json"
    sizes = {"persons": persons, "events": events, "days": days, "today": TODAY.isoformat()}
    if marker.exists() and json.loads(marker.read_text()) == sizes:
        print(f"reusing the warehouse in {home}", file=sys.stderr)
        return settings
    if settings.database_path.exists():
        sys.exit(f"{home} holds another warehouse; give --keep an empty or matching directory")
    warehouse = Warehouse.open(settings)
    started = time.perf_counter()
    populate(warehouse.cursor(), persons=persons, events=events, days=days, today=TODAY)
    warehouse.close()
    print(f"populated {events:,} events / {persons:,} persons in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)  # fmt: skip
    marker.write_text(json.dumps(sizes))
    return settings


def export_for_chdb(settings: Settings, path: Path) -> None:
    """Every event with its person, name and epoch-microsecond time, as Parquet."""
    if path.exists():
        return
    started = time.perf_counter()
    warehouse = Warehouse.open(settings, read_only=True)
    try:
        warehouse.cursor().execute(
            f"""
            COPY (
                SELECT i.person_id, e.event, epoch_us(e.event_time) AS ts
                FROM events e
                JOIN identity_links l ON l.seq = e.seq AND l.kind = 'node'
                JOIN identities i
                  ON i.identity_type = l.a_type AND i.identity_value = l.a_value
            ) TO '{path}' (FORMAT parquet)
            """
        )
    finally:
        warehouse.close()
    print(f"exported the events for chDB in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)  # fmt: skip


def request(first: date) -> dict[str, Any]:
    return {
        "steps": list(STEPS),
        "window": f"{WINDOW}s",
        "from": first.isoformat(),
        "to": TODAY.isoformat(),
        "today": TODAY.isoformat(),
    }


def cpu_seconds() -> float:
    """CPU time of this process, every thread (DuckDB's and chDB's run in it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def siyu_run(settings: Settings, first: date) -> tuple[float, float, list[int]]:
    """(seconds of ``service.run``, its CPU seconds, step counts)."""
    runtime = Runtime.open(settings)
    try:
        cpu = cpu_seconds()
        started = time.perf_counter()
        result = service.run(runtime, "funnel", request(first))
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu
    finally:
        runtime.close()
    return seconds, cpu, [s["count"] for s in result["steps"]]


def identity_join_run(settings: Settings, first: date) -> tuple[float, float]:
    """Seconds (and CPU seconds) to read the funnel's events with their person."""
    runtime = Runtime.open(settings)
    try:
        ctx = context_from(runtime.warehouse.ibis(), today=TODAY, tz=TZ, known_events=STEPS)
        lo, hi = utc_bounds(ctx, first, TODAY)
        events = events_between(ctx, lo, hi + timedelta(seconds=WINDOW), STEPS)
        cpu = cpu_seconds()
        started = time.perf_counter()
        events.aggregate(n=events.count(), last=events.event_time.max()).execute()
        return time.perf_counter() - started, cpu_seconds() - cpu
    finally:
        runtime.close()


def chdb_run(parquet: Path, first: date) -> tuple[float, float, list[int]]:
    lo = _epoch_us(utc_midnight(first, TZ))
    hi = _epoch_us(utc_midnight(TODAY + timedelta(days=1), TZ))
    window = WINDOW * 1_000_000
    names = ", ".join(f"'{s}'" for s in STEPS)
    conds = ", ".join(
        [f"event = '{STEPS[0]}' AND ts < {hi}", *(f"event = '{s}'" for s in STEPS[1:])]
    )
    query = f"""
        SELECT level, count() AS persons FROM (
            SELECT person_id, windowFunnel({window})(toUInt64(ts), {conds}) AS level
            FROM file('{parquet}', Parquet)
            WHERE event IN ({names}) AND ts >= {lo} AND ts < {hi + window}
            GROUP BY person_id
        ) WHERE level > 0 GROUP BY level ORDER BY level
    """
    cpu = cpu_seconds()
    started = time.perf_counter()
    result = _chdb_query(query, "CSV")
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    per_level = {}
    for line in str(result).strip().splitlines():
        level, persons = line.split(",")
        per_level[int(level)] = int(persons)
    counts = [
        sum(v for k, v in per_level.items() if k >= step) for step in range(1, len(STEPS) + 1)
    ]
    return seconds, cpu, counts


def _epoch_us(instant: Any) -> int:
    return int((instant - instant.__class__(1970, 1, 1)).total_seconds()) * 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the data here")
    args = parser.parse_args()
    first = TODAY - timedelta(days=args.days - 1)
    report: dict[str, Any] = {"persons": args.persons, "events": args.events, "runs": args.runs}
    with tempfile.TemporaryDirectory(prefix="siyu-bench-funnel-") as tmp:
        home = args.keep or Path(tmp) / "home"
        home.mkdir(parents=True, exist_ok=True)
        settings = warehouse_at(home, args.persons, args.events, args.days)
        parquet = home / "chdb_events.parquet"
        export_for_chdb(settings, parquet)
        runs: dict[str, list[float]] = {k: [] for k in ("siyu", "siyu_cpu", "chdb", "chdb_cpu")}
        runs |= {"join": [], "join_cpu": []}
        for _ in range(args.runs):
            seconds, cpu, counts = siyu_run(settings, first)
            ch_seconds, ch_cpu, ch_counts = chdb_run(parquet, first)
            join_seconds, join_cpu = identity_join_run(settings, first)
            print(f"siyu {seconds:.2f} s ({cpu:.2f} s CPU; identity join alone {join_seconds:.2f} "
                  f"s, {join_cpu:.2f} s CPU), chDB {ch_seconds:.2f} s ({ch_cpu:.2f} s CPU); "
                  f"counts {counts}", file=sys.stderr)  # fmt: skip
            if counts != ch_counts:
                print(f"COUNTS DIFFER: siyu {counts} chDB {ch_counts}", file=sys.stderr)
                sys.exit(1)
            for key, value in zip(
                runs, (seconds, cpu, ch_seconds, ch_cpu, join_seconds, join_cpu), strict=True
            ):
                runs[key].append(value)
    report["counts"] = counts
    report |= {f"{k}_seconds": [round(v, 3) for v in values] for k, values in runs.items()}
    report |= {f"{k}_median": round(statistics.median(v), 3) for k, v in runs.items()}
    report["ratio"] = round(report["siyu_median"] / report["chdb_median"], 2)
    report["ratio_cpu"] = round(report["siyu_cpu_median"] / report["chdb_cpu_median"], 2)
    report["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
