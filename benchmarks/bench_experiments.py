"""Time experiments through the product path: assignment (Python and engine), exposure
logging, and results on a large experiment.

    uv run python benchmarks/bench_experiments.py --persons 1000000 --events 10000000 --runs 3
    uv run python benchmarks/bench_experiments.py --persons 100000 --events 1000000 \
        --keep /tmp/bench-experiments-1m

The synthetic shop of `bench_segments` (`segment_population`: skewed activity, orders
with refunds, identities resolved) is written into a fresh on-disk warehouse (setup, not
timed; ``--keep DIR`` reuses it). ``--exposed`` of the persons (default half) get one
``$experiment_exposure`` over the first week, in the variant the hash of their person
id gives (written by SQL as a client SDK would send them, so setup stays fast). The
experiment has three metrics: conversion to ``order_paid`` in 7 days, net order revenue
in 14 days with CUPED, and ``view_item`` count in 7 days. Timed, median of ``--runs``:

* ``variant_of`` in Python per id, and `with_variant` on DuckDB over every person;
* ``experiment.assign``: one person (latency), and a batch of 10,000 (identity lookups,
  one durable append, one identity apply);
* the ``experiment`` analysis end to end (`siyu.analytics.service.run`: context, the Ibis
  query with the identity join over all events, statistics, shaping).

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from segment_population import populate
from siyu.analytics import service
from siyu.analytics.experiments import EXPOSURE_EVENT, Definition, variant_of, with_variant
from siyu.config import Settings
from siyu.runtime import Runtime
from siyu.storage import Warehouse
from siyu.storage.identity_store import attach_actors

TODAY = date(2026, 6, 30)
DAYS = 60
KEY = "bench_coupon"
MEMORY_LIMIT = "8GB"
DEFINITION: dict[str, Any] = {
    "key": KEY,
    "name": "benchmark coupon",
    "variants": [{"key": "control", "weight": 1}, {"key": "b", "weight": 1}],
    "metrics": [
        {"key": "ordered", "kind": "conversion", "event": "order_paid", "days": 7},
        {"key": "revenue", "kind": "mean", "source": "orders", "days": 14, "cuped": True},
        {"key": "views", "kind": "mean", "event": "view_item", "days": 7},
    ],
}


def build(home: Path, persons: int, events: int, exposed: float) -> Settings:
    """A populated warehouse with the experiment saved, started and exposed."""
    # Every run computes: no answer cache (siyu.analytics.answer_cache).
    settings = Settings(
        home=home, parse_workers=0, duckdb_memory_limit=MEMORY_LIMIT, analytics_cache_seconds=0
    )
    marker = home / "populated.json"
    wanted = {"persons": persons, "events": events, "exposed": exposed}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"reusing the warehouse in {home}", file=sys.stderr)
        return settings
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    started = time.perf_counter()
    warehouse = Warehouse.open(settings)
    populate(warehouse.cursor(), persons=persons, events=events, days=DAYS, today=TODAY)
    first = datetime(TODAY.year, TODAY.month, TODAY.day) - timedelta(days=DAYS - 1, hours=8)
    count = int(persons * exposed)
    definition = Definition.model_validate(DEFINITION)
    ids = [f"p{i}" for i in range(count)]
    exposures = pa.table(
        {
            "i": pa.array(range(count), pa.int64()),
            "variant": [variant_of(KEY, p, definition.variants) for p in ids],
        }
    )
    cur = warehouse.cursor()
    cur.execute("DROP INDEX events_event_key")
    cur.register("_exposures", exposures)
    # After the shop's events and orders: seq continues past both.
    base = int(cur.execute("SELECT max(seq) FROM orders").fetchall()[0][0])
    cur.execute(
        f"""
        INSERT INTO events BY NAME
        SELECT {base} + i + 1 AS seq, 'xp' || i AS event_id, 'track' AS type,
               '{EXPOSURE_EVENT}' AS event,
               TIMESTAMP '{first:%Y-%m-%d %H:%M:%S}' + to_seconds(hash(i) % (7 * 86400))
                   AS event_time,
               TIMESTAMP '{first:%Y-%m-%d %H:%M:%S}' AS received_at,
               'm' || i AS user_id, 'bench' AS source_id, 'import' AS protocol,
               'mp' AS carrier, 'import' AS method,
               '{{"experiment":"{KEY}","variant":"' || variant || '"}}' AS properties,
               '{{}}' AS context, md5_number('xp' || i) AS event_key
        FROM _exposures
        """
    )
    cur.execute(
        f"""
        INSERT INTO identity_link_rows
        SELECT seq, 0, 'node', 'member_id', user_id, NULL, NULL, 'event', event_id, event_time
        FROM events WHERE seq > {base}
        """
    )
    attach_actors(cur, base + 1)
    cur.execute("CREATE UNIQUE INDEX events_event_key ON events (event_key)")
    # The graph is resolved through everything written so far.
    cur.execute(
        "INSERT OR REPLACE INTO identity_state VALUES ('watermark', "
        "(SELECT CAST(max(seq) AS VARCHAR) FROM events))"
    )
    cur.execute("CHECKPOINT")
    warehouse.close()
    with opened(settings) as rt:
        service.run(rt, "experiment.save", DEFINITION)
        service.run(rt, "experiment.start", {"key": KEY, "at": first.isoformat() + "+00:00"})
    print(
        f"populated {events:,} events, {persons:,} persons, {count:,} exposed in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    marker.write_text(json.dumps(wanted))
    return settings


@contextmanager
def opened(settings: Settings) -> Iterator[Runtime]:
    """A runtime over the warehouse file, closed on exit."""
    runtime = Runtime.open(settings)
    try:
        yield runtime
    finally:
        runtime.warehouse.close()


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--exposed", type=float, default=0.5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="reuse this data directory")
    args = parser.parse_args()
    home = args.keep or Path(tempfile.mkdtemp(prefix="bench-experiments-"))
    settings = build(home, args.persons, args.events, args.exposed)
    definition = Definition.model_validate(DEFINITION)
    figures: dict[str, Any] = {
        "persons": args.persons,
        "events": args.events,
        "exposed": int(args.persons * args.exposed),
    }

    ids = [hashlib.md5(str(i).encode()).hexdigest()[:21] for i in range(200_000)]
    seconds, _ = median_time(lambda: [variant_of(KEY, p, definition.variants) for p in ids], 3)
    figures["python_assign_us_per_id"] = seconds / len(ids) * 1e6

    with opened(settings) as rt:
        con = rt.warehouse.ibis()
        persons = con.table("identities").select("person_id")
        split = with_variant(persons, KEY, definition.variants).group_by("assigned").count()
        figures["duckdb_assign_all_persons_s"], _ = median_time(split.execute, args.runs)

        results = {"key": KEY, "today": TODAY.isoformat()}
        figures["results_s"], answer = median_time(
            lambda: service.run(rt, "experiment", results), args.runs
        )
        n = iter(range(10**9))

        def single() -> dict[str, Any]:
            body = {"key": KEY, "ref": f"member_id:m{next(n)}"}
            answer: dict[str, Any] = service.run(rt, "experiment.assign", body)
            return answer

        single()  # first call loads the identity code
        figures["assign_one_s"], _ = median_time(single, max(args.runs, 5))
        batch = [f"member_id:m{i}" for i in range(10_000, 20_000)]
        figures["assign_10k_s"], _ = median_time(
            lambda: service.run(rt, "experiment.assign", {"key": KEY, "refs": batch}), 1
        )

    print(f"{'step':<34}{'value':>12}")
    for name, value in figures.items():
        print(
            f"{name:<34}{value:>12,.3f}" if isinstance(value, float) else f"{name:<34}{value:>12,}"
        )
    primary, exposures = answer["metrics"][0]["variants"], answer["exposures"]
    print(
        f"exposed {exposures['persons']:,}; srm p={exposures['srm']['p_value']:.3g}; "
        f"ordered control {primary[0]['value']:.4f} vs b {primary[1]['value']:.4f}",
        file=sys.stderr,
    )
    print(json.dumps(figures))
    if args.keep is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
