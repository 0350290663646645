"""HTTP ingestion throughput: Segment /v1/batch from a separate load process, durable.

Starts `siyu serve` on a fresh data directory, sends ``--events`` events in batches of
``--batch`` from ``--connections`` keep-alive connections in a separate process, and
counts what the server acknowledged. Then times DuckDB appending the same records
(Arrow -> INSERT OR IGNORE, one commit per ``--batch * 50`` rows) into an identical
table: the speed limit we chase. Prints one JSON line; repeat with ``--runs`` for medians.

With ``--identity both`` (the default) each run serves twice, with the identity resolver
off and on (``SIYU_IDENTITY_RESOLVE_INTERVAL``; which goes first alternates), and reports
the cost incremental resolution adds to ingestion two ways: the throughput ratio (off / on)
and the ratio of the server's CPU time per event (on / off; the server process and its
parser processes, from the moment it is idle and ready, with everything checkpointed into
the database file, until it is so again after the load: resolving what was still pending,
and checkpointing what either mode wrote, count). The run checks every event ended up
with a person.

Traffic: ``--members`` members with two devices and a unionid each, every event from one
member-device pair (one in 100 from one of 7 shared shop tablets). With the default
50,000 members and 300,000 events each pair comes three times, so one event in three
founds new ids; fewer members make the traffic more of returning users.

That default measures a cold start: an empty graph, every member new. ``--history N``
measures a running account instead: each server first takes ``N`` events of the same
members (resolved, with the resolver on), untimed, and the timed ``--events`` then come
from those members plus ``--new-members`` members never seen before (their share of the
timed events is new / (members + new)). DuckDB's raw append gets the same history first.

    uv run python benchmarks/bench_ingest.py --events 300000 --runs 3
    # a surge of new users with a session's worth of events each (one event in ten new)
    uv run python benchmarks/bench_ingest.py --events 300000 --runs 3 --members 15000
    uv run python benchmarks/bench_ingest.py --events 300000 --runs 3 \
        --history 1000000 --new-members 2500

``--rate R`` sends the timed events at R a second instead of as fast as they go: the
steady traffic of a working day, where every request is its own commit and each apply of
the resolver takes a few seconds' events.

    uv run python benchmarks/bench_ingest.py --events 60000 --rate 2000 --runs 1 \
        --members 500000 --history 2000000 --new-members 5000
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]


def make_bodies(
    write_key: str, events: int, batch: int, seed: str, members: int = 50_000
) -> list[bytes]:
    """Segment batch bodies: ``members`` members with two devices each, each pair seen
    ``events / (2 * members)`` times (the first sighting founds its ids)."""
    bodies = []
    for start in range(0, events, batch):
        items = [
            {
                "type": "track",
                "event": ("view_item", "add_to_cart", "checkout", "order_paid")[i % 4],
                "userId": f"member-{i % members}",
                # Two devices per member; one event in 100 from a shop's shared tablet.
                "anonymousId": (
                    f"tablet-{i % 7}" if i % 100 == 0 else f"anon-{i % members}-{i // members % 2}"
                ),
                "messageId": f"{seed}-{i}",
                "timestamp": "2026-11-20T10:00:00.000Z",
                "properties": {"sku": f"book-{i % 997}", "price_fen": 3900 + i % 5000},
                "context": {
                    "library": {"name": "analytics-python", "version": "2.4.0"},
                    "traits": {"unionid": f"oUnion{i % members}"},
                },
            }
            for i in range(start, min(start + batch, events))
        ]
        bodies.append(
            orjson.dumps({"batch": items, "writeKey": write_key, "sentAt": "2026-11-20T10:00:01Z"})
        )
    return bodies


def _sender(port: int, bodies: list[bytes], out: list[int], due: list[float] | None = None) -> None:
    """Send ``bodies`` on one connection; ``due``: not before these perf_counter times."""
    con = http.client.HTTPConnection("127.0.0.1", port)
    accepted = 0
    for n, body in enumerate(bodies):
        if due is not None and (early := due[n] - time.perf_counter()) > 0:
            time.sleep(early)
        while True:
            con.request("POST", "/v1/batch", body, {"Content-Type": "application/json"})
            answer = con.getresponse()
            data = answer.read()
            if answer.status == 200:
                accepted += orjson.loads(data)["accepted"]
                break
            if answer.status != 503:
                raise RuntimeError(f"{answer.status}: {data[:200]!r}")
            time.sleep(0.05)
    out.append(accepted)


def load_process(
    port: int, bodies: list[bytes], connections: int, queue: mp.Queue, rate: float = 0
) -> None:
    """Runs in its own process: sends every body, reports (accepted, seconds).

    ``rate`` > 0: events per second in all, body ``i`` falling due ``i * batch / rate``
    seconds after the start (steady traffic rather than a burst).
    """
    shares = [bodies[i::connections] for i in range(connections)]
    out: list[int] = []
    start = time.perf_counter()
    per_body = len(orjson.loads(bodies[0])["batch"]) / rate if rate > 0 and bodies else 0.0
    threads = [
        threading.Thread(
            target=_sender,
            args=(
                port,
                share,
                out,
                [start + (i + k * connections) * per_body for k in range(len(share))]
                if per_body
                else None,
            ),
        )
        for i, share in enumerate(shares)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((sum(out), time.perf_counter() - start))


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and every live descendant
    (the server and its parser processes), from ``/proc``."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # the command name may hold spaces: fields follow its closing parenthesis
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    family = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in family and pid not in family:
                family.add(pid)
                grew = True
    return sum(ticks.get(pid, 0) for pid in family) / os.sysconf("SC_CLK_TCK")


def settled_cpu(
    root: int, quiet: float = 0.05, every: float = 1.0, windows: int = 2, limit: float = 120
) -> float:
    """``tree_cpu`` once the server has gone idle: no more than ``quiet`` CPU seconds in
    each of ``windows`` running intervals of ``every`` seconds. Two seconds: the collector
    checkpoints after one idle second, and that checkpoint must land inside the window."""
    deadline = time.time() + limit
    last = tree_cpu(root)
    calm = 0
    while time.time() < deadline:
        time.sleep(every)
        now = tree_cpu(root)
        calm = calm + 1 if now - last <= quiet else 0
        if calm >= windows:
            return now
        last = now
    raise SystemExit(f"the server did not go idle within {limit:.0f} s of the load ending")


def admin(port: int, home: Path, method: str, path: str) -> dict[str, Any]:
    """One admin API call with the server's admin token, its JSON answer."""
    token = json.loads((home / "server.json").read_text())["admin_token"]
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request(method, f"/admin/v1{path}", headers={"Authorization": f"Bearer {token}"})
    answer = c.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise SystemExit(f"{method} {path} failed: {answer.status} {body!r}")
    result: dict[str, Any] = json.loads(body)
    return result


def checkpoint(port: int, home: Path) -> None:
    """``POST /admin/v1/checkpoint``: everything written goes from DuckDB's log into the
    file, the identity graph's writes included (it waits for an apply under way)."""
    admin(port, home, "POST", "/checkpoint")


def resolver_report(port: int, home: Path) -> dict[str, Any]:
    """The server's ``/admin/v1/identity/status`` (``pending_records``, ``resolver``).

    Not ``/admin/v1/status``: it counts every event and identity, 22 ms of the server's
    CPU per poll at 1.3 million events (`siyu.ingest.status.resolution_status`), which
    only the resolver-on runs paid.
    """
    return admin(port, home, "GET", "/identity/status")


def wait_resolved(port: int, home: Path, limit: float = 120) -> None:
    """Poll the server's status until no event waits for identity resolution."""
    deadline = time.time() + limit
    while time.time() < deadline:
        if not resolver_report(port, home)["pending_records"]:
            return
        time.sleep(0.5)
    raise SystemExit(f"events still unresolved {limit:.0f} s after the load ended")


def send(port: int, bodies: list[bytes], connections: int, rate: float = 0) -> tuple[int, float]:
    """Send ``bodies`` from a separate load process: (events accepted, seconds)."""
    queue: mp.Queue = mp.Queue()
    proc = mp.Process(target=load_process, args=(port, bodies, connections, queue, rate))
    proc.start()
    accepted, seconds = queue.get()
    proc.join()
    return int(accepted), float(seconds)


def run_http(
    events: int,
    batch: int,
    connections: int,
    resolve: bool,
    members: int = 50_000,
    history: int = 0,
    new_members: int = 0,
    rate: float = 0,
) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="siyu-bench-"))
    try:
        env = {
            **os.environ,
            "SIYU_HOME": str(home),
            "SIYU_IDENTITY_RESOLVE_INTERVAL": os.environ.get("SIYU_IDENTITY_RESOLVE_INTERVAL", "1")
            if resolve
            else "0",
        }
        siyu = [sys.executable, "-m", "siyu"]
        made = subprocess.run(
            [*siyu, "sources", "add", "bench", "--carrier", "server", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = json.loads(made.stdout)["write_key"]
        port = 18000 + os.getpid() % 1000
        server = subprocess.Popen(
            [*siyu, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # Up, and done with start-up work (imports, compiling the resolver's SQL,
            # loading its machine code: ~4 s of CPU once per process): the benchmark
            # measures the per-event cost of running, not of starting.
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    c.request("GET", "/health")
                    answer = c.getresponse()
                    if answer.status == 200 and json.loads(answer.read())["identity"] != "starting":
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            if history:
                # A running account's past: sent, and resolved, before anything is timed.
                past = make_bodies(key, history, batch, uuid.uuid4().hex[:8], members)
                if send(port, past, connections)[0] != history:
                    raise SystemExit("the server did not accept the whole history")
                del past
                if resolve:
                    wait_resolved(port, home, limit=600)
            bodies = make_bodies(key, events, batch, uuid.uuid4().hex[:8], members + new_members)
            # Both ends are fully in the file: a checkpoint, then idle. Left to itself the
            # collector checkpoints a second after the load, which the resolver-off runs
            # used to finish before (0.5 s of CPU per 300,000 events their figure lacked),
            # and the resolver's last writes would wait in the log for the next load.
            checkpoint(port, home)
            cpu_before = settled_cpu(server.pid)
            before = resolver_report(port, home)["resolver"] if resolve else None
            accepted, seconds = send(port, bodies, connections, rate)
            # Includes resolving what was still pending when the load ended: a resolver
            # pacing itself can sleep while events wait, which looks idle, so with it on
            # the server is asked until nothing is pending. How long that took is how far
            # persons lagged behind the events at the end of the burst (to 0.5 s).
            ended = time.perf_counter()
            if resolve:
                wait_resolved(port, home)
            lag = time.perf_counter() - ended
            applies = apply_s = 0.0
            if before is not None:
                after = resolver_report(port, home)["resolver"]
                applies = after["applies"] - before["applies"]
                apply_s = after["apply_seconds_total"] - before["apply_seconds_total"]
            checkpoint(port, home)
            cpu = settled_cpu(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=60)
        stored = subprocess.run(
            [*siyu, "status", "--json"], env=env, check=True, capture_output=True, text=True
        )
        status = json.loads(stored.stdout)
        total = status["events"]["total"]
        if resolve and status["identity"]["pending_records"]:
            raise SystemExit(f"events left unresolved: {status['identity']}")
        return {
            "persons": status["identity"]["persons"],
            "accepted": accepted,
            "stored": total,
            "seconds": seconds,
            "events_per_s": accepted / seconds,
            "cpu_us_per_event": cpu / accepted * 1e6,
            "lag_s": lag,
            "applies": applies,
            "apply_s": apply_s,
            "key": key,
        }
    finally:
        # Each run leaves 0.3-1.6 GB of DuckDB files; runs of runs filled the disk.
        shutil.rmtree(home, ignore_errors=True)


def run_raw(
    events: int,
    batch: int,
    key: str,
    members: int = 50_000,
    history: int = 0,
    new_members: int = 0,
) -> dict[str, float]:
    """DuckDB's own append rate for the same records, parsed outside the timing (after
    appending ``history`` events of ``members``, untimed)."""
    from siyu.config import Settings
    from siyu.ingest import segment
    from siyu.ingest.model import records_to_arrow
    from siyu.ingest.sources import Source
    from siyu.storage import Warehouse

    source = Source("bench", "bench", key, "server", None, None, None)  # type: ignore[arg-type]
    chunk = batch * 50

    def tables_of(bodies: list[bytes]) -> list[Any]:
        records = []
        for body in bodies:
            parsed, _ = segment.parse(orjson.loads(body), "batch", source, 1_763_600_000_000_000)
            records.extend(parsed)
        return [records_to_arrow(records[i : i + chunk]) for i in range(0, len(records), chunk)]

    home = Path(tempfile.mkdtemp(prefix="siyu-raw-"))
    try:
        wh = Warehouse.open(Settings(home=home))
        if history:
            for table in tables_of(make_bodies(key, history, batch, uuid.uuid4().hex[:8], members)):
                wh.append_events(table)
        tables = tables_of(
            make_bodies(key, events, batch, uuid.uuid4().hex[:8], members + new_members)
        )
        start = time.perf_counter()
        for table in tables:
            wh.append_events(table)
        seconds = time.perf_counter() - start
        wh.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"seconds": seconds, "events_per_s": events / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    # 50,000 members (100,000 member-device pairs): one event in three from 300,000 is a
    # first sighting. Fewer members: more returning traffic, as in a mature account.
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--identity", choices=("off", "on", "both"), default="both")
    # A running account: events of the same members sent (and resolved) before timing.
    parser.add_argument("--history", type=int, default=0)
    # Members first seen in the timed events (only meaningful with --history).
    parser.add_argument("--new-members", type=int, default=0)
    # Steady traffic: the timed events at this many a second (0: as fast as they go).
    parser.add_argument("--rate", type=float, default=0)
    args = parser.parse_args()
    for name in ("events", "batch", "connections", "runs", "members"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.history < 0 or args.new_members < 0 or args.rate < 0:
        parser.error("--history, --new-members and --rate cannot be negative")
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.identity]
    rates: dict[bool, list[float]] = {False: [], True: []}
    raw_rates, ratios, costs = [], [], []
    cpu: dict[bool, list[float]] = {False: [], True: []}
    cpu_ratios: list[float] = []
    lags: list[float] = []
    for run in range(args.runs):
        got = {}
        # Alternate which mode goes first, so a drift in the host's speed during a run
        # does not always favour the same one.
        for resolve in modes if run % 2 == 0 else modes[::-1]:
            h = run_http(
                args.events,
                args.batch,
                args.connections,
                resolve,
                args.members,
                args.history,
                args.new_members,
                args.rate,
            )
            if h["stored"] != args.history + args.events or h["accepted"] != args.events:
                raise SystemExit(f"lost events: {h}")
            got[resolve] = h
            rates[resolve].append(h["events_per_s"])
            cpu[resolve].append(h["cpu_us_per_event"])
        r = run_raw(
            args.events,
            args.batch,
            next(iter(got.values()))["key"],
            args.members,
            args.history,
            args.new_members,
        )
        raw_rates.append(r["events_per_s"])
        line: dict[str, object] = {"run": len(raw_rates)}
        for resolve, h in got.items():
            mode = "on" if resolve else "off"
            line[f"http_events_per_s_identity_{mode}"] = round(h["events_per_s"])
            line[f"server_cpu_us_per_event_identity_{mode}"] = round(h["cpu_us_per_event"], 1)
        line["duckdb_raw_events_per_s"] = round(r["events_per_s"])
        best = got.get(True) or got[False]
        ratios.append(best["events_per_s"] / r["events_per_s"])
        line["fraction_of_raw"] = round(ratios[-1], 3)
        if len(got) == 2:
            costs.append(got[False]["events_per_s"] / got[True]["events_per_s"])
            line["identity_cost_ratio"] = round(costs[-1], 3)
            cpu_ratios.append(got[True]["cpu_us_per_event"] / got[False]["cpu_us_per_event"])
            line["identity_cpu_ratio"] = round(cpu_ratios[-1], 3)
            line["persons"] = got[True]["persons"]
        if True in got:
            line["persons_lag_s_after_load"] = round(got[True]["lag_s"], 1)
            # the timed load's applies and their wall time (the resolver's own figures)
            line["applies"] = got[True]["applies"]
            line["apply_s"] = round(got[True]["apply_s"], 2)
            lags.append(got[True]["lag_s"])
        print(json.dumps(line), file=sys.stderr)
    summary: dict[str, object] = {
        "benchmark": "ingest_segment_batch",
        "events": args.events,
        "batch": args.batch,
        "connections": args.connections,
        "members": args.members,
        "history": args.history,
        "new_members": args.new_members,
        "rate": args.rate,
        "runs": args.runs,
    }
    for resolve in modes:
        mode = "on" if resolve else "off"
        summary[f"http_events_per_s_identity_{mode}_median"] = round(
            statistics.median(rates[resolve])
        )
        summary[f"server_cpu_us_per_event_identity_{mode}_median"] = round(
            statistics.median(cpu[resolve]), 1
        )
    if lags:
        summary["persons_lag_s_after_load_median"] = round(statistics.median(lags), 1)
    summary["duckdb_raw_events_per_s_median"] = round(statistics.median(raw_rates))
    summary["fraction_of_raw_median"] = round(statistics.median(ratios), 3)
    if costs:
        # time per event with the resolver on / off; the target is <= 1.2
        summary["identity_cost_ratio_median"] = round(statistics.median(costs), 3)
        # the server's CPU per event (with its parser processes, and resolving what was
        # pending when the load ended) on / off
        summary["identity_cpu_ratio_median"] = round(statistics.median(cpu_ratios), 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
