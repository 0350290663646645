"""Time demo generation and loading into a fresh warehouse; prints one JSON line.

Example:
    uv run python benchmarks/bench_demo.py --users 50000 --days 90 --seed 7
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import orjson

from siyu.config import Settings
from siyu.demo.generate import generate
from siyu.demo.load import ensure_sources, write_demo
from siyu.ingest.sources import SourceRegistry
from siyu.storage import Warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1))
    parser.add_argument("--memory", action="store_true", help="in-memory warehouse")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.memory:
            warehouse = Warehouse.in_memory()
        else:
            warehouse = Warehouse.open(Settings(home=Path(tmp)))
        ensure_sources(SourceRegistry(warehouse))
        t0 = time.perf_counter()
        data = generate(args.users, args.days, args.seed, args.start)
        t1 = time.perf_counter()
        events, orders = write_demo(warehouse, data)
        t2 = time.perf_counter()
        warehouse.close()
        t3 = time.perf_counter()
    result = {
        "users": args.users,
        "days": args.days,
        "seed": args.seed,
        "events": data.events.num_rows,
        "events_inserted": events,
        "orders": orders,
        "generate_seconds": round(t1 - t0, 2),
        "load_seconds": round(t2 - t1, 2),
        "checkpoint_seconds": round(t3 - t2, 2),
        "total_seconds": round(t3 - t0, 2),
        "events_per_second": round(data.events.num_rows / (t3 - t0)),
    }
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
