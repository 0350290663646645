"""Time a full tags-and-segments compute against the same work in straightforward pandas.

    uv run python benchmarks/bench_segments.py --persons 1000000 --events 100000000 \
        --pandas-events 10000000 --runs 3
    uv run python benchmarks/bench_segments.py --persons 20000 --events 1000000 --runs 1

A synthetic shop (`segment_population`) is written into a fresh on-disk warehouse (setup,
not timed). Each run times `siyu.segments.service.compute`: lifecycle, RFM, value tiers,
roles, interest and channel tags, the 30 segments of ``benchmarks/segments/bench.yaml``,
and writing every membership diff. The reference is `pandas_reference`: the same models
and segments as pandas code over DataFrames read from the same warehouse (its load is
timed apart from its compute). Pandas holds everything in memory, so it runs on its own
population of ``--pandas-events`` (default: the same size) and siyu runs on that one too,
side by side; set sizes of both must agree. Prints medians and ratios, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from segment_population import populate
from siyu.config import Settings
from siyu.runtime import Runtime
from siyu.segments import service
from siyu.storage import Warehouse

TODAY = date(2026, 6, 30)
MEMORY_LIMIT = "16GB"
HERE = Path(__file__).parent


def build(home: Path, persons: int, events: int, days: int) -> Settings:
    project = home / "project"
    (project / "segments").mkdir(parents=True)
    shutil.copy(HERE / "segments" / "bench.yaml", project / "segments" / "bench.yaml")
    # 100M events need more than the 4 GB default (the events' unique index alone).
    settings = Settings(
        home=home, project_dir=project, parse_workers=0, duckdb_memory_limit=MEMORY_LIMIT
    )
    warehouse = Warehouse.open(settings)
    started = time.perf_counter()
    populate(warehouse.cursor(), persons=persons, events=events, days=days, today=TODAY)
    print(f"populated {events:,} events / {persons:,} persons in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)  # fmt: skip
    warehouse.close()
    return settings


def siyu_run(settings: Settings) -> tuple[float, dict[str, Any], dict[str, int]]:
    runtime = Runtime.open(settings)
    try:
        started = time.perf_counter()
        result = service.compute(runtime, today=TODAY)
        seconds = time.perf_counter() - started
        sizes = {k: v["size"] for k, v in result["sets"].items()}
        sizes |= {f"segment:{k}": v["size"] for k, v in result["segments"].items()}
        # A second run starts from the first's memberships: clear them for equal runs.
        with runtime.warehouse.transaction() as cur:
            for table in ("memberships", "set_sizes", "segment_events"):
                cur.execute(f"DELETE FROM {table}")
        return seconds, result, sizes
    finally:
        runtime.close()


def pandas_run(settings: Settings) -> tuple[float, float, dict[str, int]]:
    import pandas_reference

    warehouse = Warehouse.open(settings, read_only=True)
    try:
        started = time.perf_counter()
        frames = pandas_reference.load(warehouse.cursor())
        loaded = time.perf_counter()
        sizes = pandas_reference.compute(frames, TODAY, HERE / "segments" / "bench.yaml")
        done = time.perf_counter()
    finally:
        warehouse.close()
    return loaded - started, done - loaded, sizes


def compare(siyu: dict[str, int], pandas: dict[str, int]) -> list[str]:
    """Set keys whose sizes differ (keys only one side has count as 0 there)."""
    keys = sorted(set(siyu) | set(pandas))
    return [f"{k}: siyu {siyu.get(k, 0)} pandas {pandas.get(k, 0)}" for k in keys
            if siyu.get(k, 0) != pandas.get(k, 0)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--pandas-events",
        type=int,
        default=None,
        help="events of the side-by-side population (default: --events; 0: no pandas)",
    )
    args = parser.parse_args()
    pandas_events = args.events if args.pandas_events is None else args.pandas_events
    report: dict[str, Any] = {"persons": args.persons, "events": args.events, "runs": args.runs}
    with tempfile.TemporaryDirectory(prefix="siyu-bench-seg-") as tmp:
        big = build(Path(tmp) / "big", args.persons, args.events, args.days)
        times, result = [], {}
        for _ in range(args.runs):
            seconds, result, _sizes = siyu_run(big)
            times.append(seconds)
            print(f"siyu compute {seconds:.1f} s {result['timings']}", file=sys.stderr)
        report["siyu_seconds"] = times
        report["siyu_median"] = statistics.median(times)
        report["siyu_timings_last"] = result["timings"]
        report["segments"] = len(result["segments"])
        shutil.rmtree(Path(tmp) / "big")
        if pandas_events:
            persons = max(1, args.persons * pandas_events // args.events)
            side = build(Path(tmp) / "side", persons, pandas_events, args.days)
            pairs = []
            for _ in range(args.runs):
                s_seconds, _r, s_sizes = siyu_run(side)
                p_load, p_compute, p_sizes = pandas_run(side)
                pairs.append((s_seconds, p_load, p_compute))
                print(f"side by side: siyu {s_seconds:.1f} s, pandas load {p_load:.1f} s "
                      f"+ compute {p_compute:.1f} s", file=sys.stderr)  # fmt: skip
                mismatch = compare(s_sizes, p_sizes)
                if mismatch:
                    print("SIZES DIFFER:\n  " + "\n  ".join(mismatch), file=sys.stderr)
                    sys.exit(1)
            report["side_by_side"] = {
                "persons": persons,
                "events": pandas_events,
                "siyu_median": statistics.median(p[0] for p in pairs),
                "pandas_load_median": statistics.median(p[1] for p in pairs),
                "pandas_compute_median": statistics.median(p[2] for p in pairs),
                "ratio_compute": statistics.median(p[2] / p[0] for p in pairs),
                "ratio_with_load": statistics.median((p[1] + p[2]) / p[0] for p in pairs),
                "sets_compared": len(s_sizes),
            }
    report["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
