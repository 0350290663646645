"""Load the demo data set into the warehouse; the ``demo`` job behind `siyu demo`.

Events go through `Warehouse.event_loader` in chunks (it assigns ``seq`` and skips ids
already present, so loading the same demo twice adds nothing); channels, items and
orders are written set-wise from registered Arrow tables (phones sealed first).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from siyu.demo import scenario as sc
from siyu.demo.exceptions import DemoError
from siyu.demo.generate import DemoData, default_start, generate
from siyu.ingest.sources import SourceRegistry
from siyu.progress import Progress, no_progress
from siyu.runtime import Runtime
from siyu.storage import Warehouse
from siyu.storage.sealing import seal_identities

CHUNK_ROWS = 500_000
MAX_USERS = 5_000_000
MAX_DAYS = 3_650


@dataclass(frozen=True)
class DemoSummary:
    """What a demo load produced, JSON-ready through `public`."""

    persons: int
    days: int
    seed: int
    start: date
    events: int
    events_inserted: int
    events_by_carrier: dict[str, int]
    orders: int
    orders_inserted: int
    gmv_fen: int
    refund_fen: int
    max_invite_depth: int
    generate_seconds: float
    load_seconds: float

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["gmv_yuan"] = round(self.gmv_fen / 100, 2)
        data["refund_yuan"] = round(self.refund_fen / 100, 2)
        data["seconds"] = round(self.generate_seconds + self.load_seconds, 2)
        return data


def ensure_sources(registry: SourceRegistry) -> list[str]:
    """Register the demo's sources that do not exist yet; returns the ids added."""
    existing = {s.source_id for s in registry.list()}
    added = []
    for source in sc.SOURCES:
        if source.source_id not in existing:
            registry.add(
                source.source_id,
                name=source.name,
                carrier=source.carrier,
                app_id=source.app_id,
                project="demo",
            )
            added.append(source.source_id)
    return added


def write_demo(
    warehouse: Warehouse, data: DemoData, progress: Progress = no_progress
) -> tuple[int, int]:
    """Write generated tables; returns (events inserted, orders inserted)."""
    with warehouse.transaction() as cur:
        for name, table in (("channels", data.channels), ("items", data.items)):
            cur.register("_siyu_demo", table)
            cur.execute(f"INSERT OR REPLACE INTO {name} BY NAME SELECT * FROM _siyu_demo")
            cur.unregister("_siyu_demo")
    total = data.events.num_rows
    inserted = 0
    with warehouse.event_loader(total) as load:
        for offset in range(0, total, CHUNK_ROWS):
            progress("loading events", offset, total)
            load.append(data.events.slice(offset, CHUNK_ROWS))
        progress("indexing", total, total)
    inserted = load.inserted
    progress("loading orders", total, total)
    orders = seal_identities(data.orders, warehouse.sealer)
    with warehouse.transaction() as cur:
        cur.register("_siyu_demo", orders)
        row = cur.execute(
            "INSERT OR IGNORE INTO orders BY NAME SELECT * FROM _siyu_demo"
        ).fetchone()
        cur.unregister("_siyu_demo")
        warehouse.number_new_orders(cur)
    return inserted, int(row[0]) if row else 0


def load_demo(
    warehouse: Warehouse,
    users: int,
    days: int,
    seed: int,
    progress: Progress = no_progress,
    start: date | None = None,
    *,
    sources: SourceRegistry | None = None,
) -> DemoSummary:
    """Generate the demo for ``users`` persons over ``days`` days and load it."""
    if not 1 <= users <= MAX_USERS:
        raise DemoError(f"--users must be between 1 and {MAX_USERS:,}, got {users}")
    if not 2 <= days <= MAX_DAYS:
        raise DemoError(f"--days must be between 2 and {MAX_DAYS}, got {days}")
    begin = start or default_start(days)
    ensure_sources(sources or SourceRegistry(warehouse))
    t0 = time.perf_counter()
    data = generate(users, days, seed, begin, progress)
    t1 = time.perf_counter()
    events_inserted, orders_inserted = write_demo(warehouse, data, progress)
    t2 = time.perf_counter()
    progress("done", data.events.num_rows, data.events.num_rows)
    return DemoSummary(
        persons=data.persons,
        days=days,
        seed=seed,
        start=begin,
        events=data.events.num_rows,
        events_inserted=events_inserted,
        events_by_carrier=data.events_by_carrier,
        orders=data.orders.num_rows,
        orders_inserted=orders_inserted,
        gmv_fen=_sum(data.orders["amount_fen"]),
        refund_fen=_sum(data.orders["refund_fen"]),
        max_invite_depth=data.max_invite_depth,
        generate_seconds=round(t1 - t0, 3),
        load_seconds=round(t2 - t1, 3),
    )


def _sum(column: pa.ChunkedArray) -> int:
    value = pc.sum(column).as_py()
    return int(value or 0)


def run_demo_job(runtime: Runtime, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The ``demo`` job: arguments ``users``, ``days``, ``seed`` and optional ``start``."""
    try:
        users = int(args.get("users", 10_000))
        days = int(args.get("days", 90))
        seed = int(args.get("seed", 7))
        raw_start = args.get("start")
        start = date.fromisoformat(str(raw_start)) if raw_start else None
    except (TypeError, ValueError) as exc:
        raise DemoError(
            f"demo arguments must be integers users, days, seed and an ISO start date: {exc}"
        ) from None
    if start is None:
        start = default_start(days, runtime.settings.timezone)
    summary = load_demo(
        runtime.warehouse, users, days, seed, progress, start, sources=runtime.sources
    )
    from siyu.identity.graph import apply_new  # deferred: numba loads slowly
    from siyu.storage.identity_store import person_counts

    progress("resolving identities (ID-Mapping)", 0, 1)
    resolved = apply_new(runtime.warehouse, runtime.rules)
    result = summary.public()
    result["identity"] = {
        **person_counts(runtime.warehouse.cursor()),
        "seconds": round(resolved.seconds, 3) if resolved else 0.0,
    }
    result["segments"] = _demo_segments(runtime, start + timedelta(days=days - 1), progress)
    progress("done", 1, 1)
    return result


def _demo_segments(runtime: Runtime, last_day: date, progress: Progress) -> dict[str, Any]:
    """Install the demo's segments (unless the project has its own) and compute them all."""
    from siyu.segments import service  # deferred: keeps `siyu demo --help` quick

    folder = runtime.settings.project_path / "segments"
    if not folder.exists():
        folder.mkdir(parents=True)
        text = resources.files("siyu.demo").joinpath("segments.yaml").read_text("utf-8")
        (folder / "demo.yaml").write_text(text, encoding="utf-8")
    progress("computing tags and segments", 0, 1)
    computed = service.compute(runtime, today=last_day)
    return {
        "segments": {k: v["size"] for k, v in computed["segments"].items()},
        "seconds": computed["seconds"],
    }
