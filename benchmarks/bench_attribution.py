"""Time attribution (every model side by side) and referral trees through the product
path on DuckDB, on a synthetic shop.

    uv run python benchmarks/bench_attribution.py --persons 1000000 --events 10000000 \
        --runs 3 --keep /tmp/bench-attribution-10m

The shop is `segment_population` (as `bench_segments` builds it): channel codes on
follows, WeCom adds and one launch in ten, paid orders, item views, and invite events
naming a random earlier member. It is written into a fresh on-disk warehouse (setup,
not timed; ``--keep DIR`` keeps and reuses it). Each run is
`siyu.analytics.service.run` — the context, the checks, the Ibis queries with the
identity join, the shaping — for:

- ``attribution``: orders of the last 30 days, channel touches with a 30-day lookback,
  all five models at once;
- ``attribution-content``: the same with content touches (item views), the widest join;
- ``referral``: every invite edge up to today (``new_within`` off: the synthetic
  persons have no arrival moment), all generations, top 20 inviters, a 300-node tree.

Prints the median of ``--runs`` per request, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from segment_population import populate
from siyu.analytics import service
from siyu.config import Settings
from siyu.runtime import Runtime
from siyu.storage import Warehouse

TODAY = date(2026, 6, 30)
MEMORY_LIMIT = "8GB"
MODELS = ["first", "last", "linear", "time_decay", "position"]


def build(home: Path, persons: int, events: int, days: int) -> Settings:
    """A populated warehouse under ``home`` (reused when one is there already)."""
    # Every run computes: no answer cache (siyu.analytics.answer_cache).
    settings = Settings(
        home=home, parse_workers=0, duckdb_memory_limit=MEMORY_LIMIT, analytics_cache_seconds=0
    )
    marker = home / "populated.json"
    wanted = {"persons": persons, "events": events, "days": days}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"reusing the warehouse in {home}", file=sys.stderr)
        return settings
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    warehouse = Warehouse.open(settings)
    started = time.perf_counter()
    populate(warehouse.cursor(), persons=persons, events=events, days=days, today=TODAY)
    warehouse.close()
    print(f"populated {events:,} events / {persons:,} persons in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)  # fmt: skip
    marker.write_text(json.dumps(wanted))
    return settings


def requests() -> dict[str, tuple[str, dict[str, Any]]]:
    first = (TODAY - timedelta(days=29)).isoformat()
    common = {"from": first, "to": TODAY.isoformat(), "today": TODAY.isoformat()}
    return {
        "attribution": ("attribution", {**common, "models": MODELS, "lookback": "30d"}),
        "attribution-content": (
            "attribution",
            {**common, "models": MODELS, "touch": "content", "content_events": ["view_item"]},
        ),
        "referral": ("referral", {"new_within": None, "today": TODAY.isoformat()}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the warehouse here")
    args = parser.parse_args()
    home = args.keep or Path(f"/tmp/siyu-bench-attribution-{args.persons}-{args.events}")
    settings = build(home, args.persons, args.events, args.days)
    runtime = Runtime.open(settings)
    timings: dict[str, list[float]] = {}
    facts: dict[str, Any] = {}
    try:
        for label, (name, body) in requests().items():
            timings[label] = []
            for _ in range(args.runs):
                started = time.perf_counter()
                answer = service.run(runtime, name, body)
                timings[label].append(time.perf_counter() - started)
            facts[label] = _facts(name, answer)
            runs = ", ".join(f"{t:.2f}" for t in timings[label])
            median = statistics.median(timings[label])
            print(f"{label:22} median {median:7.2f} s  runs {runs}  {facts[label]}")
    finally:
        if not args.keep:
            runtime.warehouse.close()
            shutil.rmtree(home, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        json.dumps(
            {
                "persons": args.persons,
                "events": args.events,
                "runs": args.runs,
                "median_seconds": {k: round(statistics.median(v), 3) for k, v in timings.items()},
                "facts": facts,
                "peak_rss_mb": peak_mb,
            }
        )
    )


def _facts(name: str, answer: dict[str, Any]) -> dict[str, Any]:
    if name == "attribution":
        totals = answer["totals"]
        return {"conversions": totals["conversions"], "values": len(answer["rows"]),
                "direct": totals["direct"]}  # fmt: skip
    summary = answer["summary"]
    return {
        "edges": answer["edges"]["accepted"],
        "persons": summary["persons"],
        "depth": summary["depth"],
        "cycles": answer["edges"]["refused"]["cycle"],
    }


if __name__ == "__main__":
    main()
