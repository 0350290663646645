"""Time 30-period daily retention through the product path on DuckDB against chDB's
``retention`` aggregate computing the same cohorts on the same data, side by side.

    uv run python benchmarks/bench_retention.py --persons 1000000 --events 100000000 --runs 3
    uv run python benchmarks/bench_retention.py --persons 100000 --events 10000000 \
        --keep /tmp/bench-retention-10m

A synthetic shop (`segment_population`, as `bench_segments` builds it) is written into a
fresh on-disk warehouse (setup, not timed; ``--keep DIR`` keeps it and reuses it next
time). The request: cohorts by the first ``--start-event`` (default ``$MPLaunch``) of each
person on the first 30 local days of the data, coming back with ``--return-event``
(default the same event; ``any`` for any event the lifecycle model counts as acting),
30 daily periods (Day 0 to Day 30), in Asia/Shanghai. Each siyu run is
`siyu.analytics.service.run` (context, checks, the Ibis query with the identity join,
shaping); the same analysis is also timed over a table of the events already joined to
their person (``bench_resolved``, made once), to show what the identity join costs. For
chDB the events with their resolved person are exported once (untimed) and
loaded into a MergeTree table of a chDB session; each chDB run is one SQL query: cohorts
by ``min(ts)``, local dates by ``toDateTime(..., 'Asia/Shanghai')``, one ``retention``
condition per period. Every cohort size and retained count must agree. Prints medians,
the ratio, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from segment_population import populate
from siyu.analytics import service
from siyu.config import Settings
from siyu.runtime import Runtime
from siyu.segments.dialect import utc_midnight
from siyu.segments.models.config import DEFAULT_CONFIG
from siyu.storage import Warehouse

TODAY = date(2026, 6, 30)
TZ = "Asia/Shanghai"
MEMORY_LIMIT = "8GB"


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


def request(days: int, periods: int, start: str, back: str | None) -> dict[str, Any]:
    first = TODAY - timedelta(days=days - 1)
    body: dict[str, Any] = {"return_event": back} if back else {}
    return body | {
        "start_event": start,
        "period": "day",
        "periods": periods,
        "from": first.isoformat(),
        "to": (first + timedelta(days=29)).isoformat(),
        "today": TODAY.isoformat(),
    }


class Clock:
    """Wall and CPU seconds (all threads of this process: DuckDB's and chDB's run here)
    of a ``with`` block; CPU time says more than wall time on a shared machine."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def siyu_run(settings: Settings, body: dict[str, Any]) -> tuple[Clock, dict[str, Any]]:
    runtime = Runtime.open(settings)
    try:
        with Clock() as clock:
            answer = service.run(runtime, "retention", dict(body))
        return clock, answer
    finally:
        runtime.close()


def resolve_once(settings: Settings) -> None:
    """``bench_resolved``: the events already joined to their person (for the core run)."""
    import ibis

    from siyu.analytics.scope import context_from
    from siyu.segments.facts import EVENT_FACT_COLUMNS

    warehouse = Warehouse.open(settings)
    try:
        cur = warehouse.cursor()
        ev = context_from(warehouse.ibis(), today=TODAY, tz=TZ, known_events=()).facts.events
        sql = ibis.to_sql(ev.select(*EVENT_FACT_COLUMNS), dialect="duckdb")
        cur.execute(f"CREATE TABLE IF NOT EXISTS bench_resolved AS {sql}")
    finally:
        warehouse.close()


def core_run(settings: Settings, body: dict[str, Any]) -> Clock:
    """The same retention over ``bench_resolved``: the query without the identity join."""
    from dataclasses import replace

    from siyu.analytics.scope import context_from

    warehouse = Warehouse.open(settings, read_only=True)
    try:
        con = warehouse.ibis()
        with Clock() as clock:
            ctx = context_from(con, today=TODAY, tz=TZ)
            ctx = replace(ctx, facts=replace(ctx.facts, events=con.table("bench_resolved")))
            fields = {k: v for k, v in body.items() if k != "today"}
            service.analyse_with(ctx, "retention", fields)
        return clock
    finally:
        warehouse.close()


def export_events(settings: Settings, target: Path) -> None:
    """Events with their resolved person as Parquet: person_id, event, ts (UTC micros)."""
    if target.exists():
        return
    from siyu.analytics.scope import context_from

    warehouse = Warehouse.open(settings, read_only=True)
    try:
        con = warehouse.ibis()
        ev = context_from(con, today=TODAY, tz=TZ, known_events=()).facts.events
        staged = target.with_suffix(".staged.parquet")
        con.to_parquet(ev.select("person_id", "event", "event_time"), staged)
        # Microseconds since the epoch: no engine guesses a zone for a plain integer.
        warehouse.cursor().execute(
            f"COPY (SELECT person_id, event, epoch_us(event_time) AS ts FROM '{staged}') "
            f"TO '{target}' (FORMAT parquet)"
        )
        staged.unlink()
    finally:
        warehouse.close()


def chdb_session(path: Path, parquet: Path) -> Any:
    """A chDB session whose ``events`` MergeTree table holds the exported events."""
    from chdb import session

    fresh = not path.exists()
    opened: Any = session.Session  # chdb has no type hints
    chs = opened(str(path))
    if fresh:
        chs.query(
            "CREATE TABLE events (person_id String, event LowCardinality(String), ts Int64) "
            "ENGINE = MergeTree ORDER BY (person_id, ts)"
        )
        chs.query(f"INSERT INTO events SELECT * FROM file('{parquet}', Parquet)")
    return chs


def _micros(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1_000_000)


def _acting() -> str:
    """The lifecycle model's "acting" test (`ActivityConfig`) in ClickHouse SQL, on event
    names (the exported events are all of type ``track``)."""
    tests = [
        f"startsWith(event, '{p[:-1]}')" if p.endswith("*") else f"event = '{p}'"
        for p in DEFAULT_CONFIG.activity.ignored_events
    ]
    return "NOT (" + " OR ".join(tests) + ")"


def chdb_sql(body: dict[str, Any]) -> str:
    first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    periods, start = body["periods"], body["start_event"]
    back = f"e.event = '{body['return_event']}'" if "return_event" in body else "e.acting"
    lo, hi = _micros(utc_midnight(first, TZ)), _micros(utc_midnight(last + timedelta(1), TZ))
    horizon = min(last + timedelta(days=periods + 1), TODAY + timedelta(days=1))
    end = _micros(utc_midnight(horizon, TZ))
    marks = ", ".join(
        f"{back} AND dateDiff('day', c.cd, e.d) = {k}" + (" AND e.ts >= c.s" if k == 0 else "")
        for k in range(periods + 1)
    )
    return f"""
        WITH c AS (
            SELECT person_id, s, toDate(toDateTime(intDiv(s, 1000000), '{TZ}')) AS cd FROM (
                SELECT person_id, min(ts) AS s FROM events
                WHERE event = '{start}' AND ts < {end}
                GROUP BY person_id HAVING s >= {lo} AND s < {hi})
        )
        SELECT toString(cd) AS cohort, count() AS size, sumForEach(r) AS kept FROM (
            SELECT e.person_id, any(c.cd) AS cd,
                   retention(e.ts = c.s AND e.event = '{start}', {marks}) AS r
            FROM (
                SELECT person_id, event, ts, {_acting()} AS acting,
                       toDate(toDateTime(intDiv(ts, 1000000), '{TZ}')) AS d
                FROM events WHERE ts >= {lo} AND ts < {end}
            ) AS e INNER JOIN c ON e.person_id = c.person_id
            GROUP BY e.person_id
        ) GROUP BY cd ORDER BY cd
    """


def chdb_run(chs: Any, sql: str) -> tuple[Clock, dict[str, tuple[int, list[int]]]]:
    with Clock() as clock:
        rows = chs.query(sql, "JSONCompact")
    data = json.loads(rows.bytes())["data"]
    return clock, {str(c): (int(n), [int(x) for x in kept[1:]]) for c, n, kept in data}


def compare(answer: dict[str, Any], theirs: dict[str, tuple[int, list[int]]]) -> list[str]:
    """Cells that differ (incomplete periods are null in siyu and left out)."""
    wrong = []
    for row in answer["cohorts"]:
        size, kept = theirs.get(row["cohort"], (0, [0] * len(row["retained"])))
        if row["size"] != size:
            wrong.append(f"{row['cohort']} size: siyu {row['size']} chdb {size}")
        for k, n in enumerate(row["retained"]):
            if n is not None and n != kept[k]:
                wrong.append(f"{row['cohort']} day {k}: siyu {n} chdb {kept[k]}")
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--periods", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--start-event", default="$MPLaunch")
    parser.add_argument(
        "--return-event", default="$MPLaunch", help="an event name, or 'any' (any acting event)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep and reuse this directory")
    args = parser.parse_args()
    if not 1 <= args.periods <= 31:
        parser.error("--periods: chDB's retention takes at most 32 conditions, so 1 to 31")
    back = None if args.return_event == "any" else args.return_event
    body = request(args.days, args.periods, args.start_event, back)
    report: dict[str, Any] = {"persons": args.persons, "events": args.events, "runs": args.runs}
    report["request"] = body
    with tempfile.TemporaryDirectory(prefix="siyu-bench-ret-") as tmp:
        root = args.keep or Path(tmp)
        settings = build(root / "siyu", args.persons, args.events, args.days)
        started = time.perf_counter()
        resolve_once(settings)
        export_events(settings, root / "events.parquet")
        chs = chdb_session(root / "chdb", root / "events.parquet")
        print(f"exported and loaded into chDB in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)  # fmt: skip
        sql = chdb_sql(body)
        siyu_run(settings, body)  # warm-up, untimed: imports, first compile of the query
        chdb_run(chs, sql)
        runs: list[tuple[Clock, Clock, Clock]] = []
        answer: dict[str, Any] = {}
        for _ in range(args.runs):
            ours, answer = siyu_run(settings, body)
            core = core_run(settings, body)
            theirs, counts = chdb_run(chs, sql)
            runs.append((ours, core, theirs))
            print(f"siyu {ours.wall:.2f} s (cpu {ours.cpu:.2f} s), without the identity join "
                  f"{core.wall:.2f} s (cpu {core.cpu:.2f} s), chdb {theirs.wall:.2f} s "
                  f"(cpu {theirs.cpu:.2f} s)", file=sys.stderr)  # fmt: skip
            wrong = compare(answer, counts)
            if wrong:
                print("COUNTS DIFFER:\n  " + "\n  ".join(wrong[:20]), file=sys.stderr)
                sys.exit(1)
        chs.close()
    for n, name in enumerate(("siyu", "siyu_core", "chdb")):
        report[f"{name}_seconds"] = [round(r[n].wall, 3) for r in runs]
        report[f"{name}_median"] = round(statistics.median(r[n].wall for r in runs), 3)
        report[f"{name}_cpu_median"] = round(statistics.median(r[n].cpu for r in runs), 3)
    report["ratio_siyu_to_chdb"] = round(statistics.median(r[0].wall / r[2].wall for r in runs), 2)
    report["cpu_ratio_siyu_to_chdb"] = round(
        statistics.median(r[0].cpu / r[2].cpu for r in runs), 2
    )
    report["load_average"] = os.getloadavg()[0]
    report["cohort_persons"] = answer["average"]["size"]
    report["day1_rate"] = answer["average"]["rates"][1]
    report["cells_compared"] = sum(n is not None for r in answer["cohorts"] for n in r["retained"])
    report["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
