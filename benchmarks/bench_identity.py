"""Time the identity graph's replay against scipy's ``connected_components`` on the same edges.

    uv run python benchmarks/bench_identity.py --edges 10000000 --persons 3000000 --runs 3
    uv run python benchmarks/bench_identity.py --edges 1000000 --persons 300000 --no-noise

A synthetic population (`identity_population`) is written straight into
``identity_links`` of a fresh on-disk warehouse; loading is setup and not timed. Each run
then times the part of `siyu.identity.graph.rebuild` after extraction (scope, intern,
load ops, kernel, regions, write, commit), and, on the same interned edges, scipy's
sparse build + ``connected_components`` (the speed limit: it ignores the merge rules)
and scipy end to end (the same DuckDB interning + scipy). Where no rule fires
(``--no-noise``) siyu's persons must equal scipy's components; in every case each person
must lie within one component. Prints a table of medians and ratios, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from identity_population import generate, load_links
from siyu.config import Settings
from siyu.identity import graph, replay
from siyu.identity.replay import KIND_LINK
from siyu.identity.rules import IdentityRules
from siyu.storage import Warehouse
from siyu.storage import identity_store as store

STEPS = ("scope", "intern", "load_ops", "kernel", "regions", "write", "commit")


class Recorder:
    """Wraps the steps of `graph._resolve` to time them and keep what they return."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.kept: dict[str, Any] = {}

    @contextmanager
    def installed(self) -> Iterator[None]:
        patches = [
            (store, "intern_nodes", "intern"),
            (store, "load_ops", "load_ops"),
            (graph, "replay", "kernel"),
            (graph, "_regions", "regions"),
            (store, "write_result", "write"),
        ]
        originals = [(module, name, getattr(module, name)) for module, name, _ in patches]
        for module, name, step in patches:
            setattr(module, name, self._timed(getattr(module, name), step))
        try:
            yield
        finally:
            for module, name, original in originals:
                setattr(module, name, original)

    def _timed(self, fn: Callable[..., Any], step: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = fn(*args, **kwargs)
            self.seconds[step] += time.perf_counter() - started
            self.kept[step] = result
            return result

        return wrapper


def siyu_replay(warehouse: Warehouse, rules: IdentityRules) -> tuple[dict[str, float], Any, Any]:
    """Rebuild minus extraction, timed by step; returns (seconds, stats, recorder)."""
    recorder = Recorder()
    with recorder.installed():
        started = time.perf_counter()
        with warehouse.transaction() as cur:
            store.scope_everything(cur)
            scoped = time.perf_counter()
            stats = graph._resolve(cur, rules, scoped=False, started=started)
            resolved = time.perf_counter()
        done = time.perf_counter()
    seconds = dict(recorder.seconds)
    seconds["scope"] = scoped - started
    seconds["commit"] = done - resolved
    seconds["total"] = done - started
    seconds["prep"] = seconds["total"] - sum(seconds[s] for s in STEPS)
    return seconds, stats, recorder


def link_edges(ops: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) node pairs of the link rows of `store.load_ops`."""
    links = ops["kind"] == KIND_LINK
    return ops["a"][links], ops["b"][links]


def scipy_components(a: np.ndarray, b: np.ndarray, n: int) -> tuple[int, np.ndarray]:
    """Sparse build + connected components: the reference."""
    matrix = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    count, labels = connected_components(matrix, directed=False)
    return int(count), labels


def scipy_end_to_end(warehouse: Warehouse) -> float:
    """The same DuckDB scope + interning + ops as siyu, then scipy; rolled back."""
    cur = warehouse.cursor()
    started = time.perf_counter()
    cur.execute("BEGIN TRANSACTION")
    store.scope_everything(cur)
    _, _, node_order = store.intern_nodes(cur)
    a, b = link_edges(store.load_ops(cur))
    scipy_components(a, b, len(node_order))
    seconds = time.perf_counter() - started
    cur.execute("ROLLBACK")
    cur.close()
    return seconds


def check_partition(root: np.ndarray, labels: np.ndarray, exact: bool) -> None:
    """Each person lies within one component; with ``exact``, persons are components."""
    n = len(labels)
    if not np.array_equal(labels[root], labels):
        raise AssertionError("a siyu person spans two scipy components")
    if exact:
        first = np.full(int(labels.max()) + 1 if n else 0, n, dtype=np.int64)
        np.minimum.at(first, labels, np.arange(n, dtype=np.int64))
        if not np.array_equal(root, first[labels]):
            raise AssertionError("siyu's persons differ from scipy's components")


def warm_up_kernel() -> None:
    """Compile (or load from numba's cache) the kernel outside the timings."""
    tiny = replay.ReplayInput(
        parent=np.arange(2, dtype=np.int64),
        node_slot=np.array([0, -1], dtype=np.int16),
        slot_limit=np.array([1], dtype=np.int16),
        junk=np.zeros(2, dtype=np.bool_),
        first_seq=np.ones(2, dtype=np.int64),
        kind=np.array([replay.KIND_NODE, replay.KIND_LINK], dtype=np.int8),
        a=np.zeros(2, dtype=np.int64),
        b=np.array([-1, 1], dtype=np.int64),
        seq=np.ones(2, dtype=np.int64),
        keep_apart=np.zeros(0, dtype=np.int64),
    )
    replay.replay(tiny)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edges", type=int, default=1_000_000, help="link rows")
    parser.add_argument("--persons", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-noise", action="store_true", help="no shared devices or phones")
    parser.add_argument("--home", type=Path, default=None, help="warehouse dir (default: temp)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        result = run(args, home)
    print(json.dumps(result))
    return 0


def run(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    rules = IdentityRules()
    started = time.perf_counter()
    population = generate(args.persons, args.edges, args.seed, noise=not args.no_noise)
    generate_s = time.perf_counter() - started
    warehouse = Warehouse.open(Settings(home=home))
    started = time.perf_counter()
    rows = load_links(warehouse, population)
    load_s = time.perf_counter() - started
    del population
    setup_rss = peak_rss_mb()
    print(
        f"setup: {rows['links']:,} link rows + {rows['nodes']:,} node rows, "
        f"generated in {generate_s:.1f} s, loaded in {load_s:.1f} s, peak RSS {setup_rss:,.0f} MB",
        file=sys.stderr,
    )
    warm_up_kernel()

    siyu_runs: list[dict[str, float]] = []
    cc_runs: list[float] = []
    e2e_runs: list[float] = []
    stats = None
    components = 0
    for index in range(args.runs):
        seconds, stats, recorder = siyu_replay(warehouse, rules)
        siyu_runs.append(seconds)
        nodes = len(recorder.kept["intern"][2])
        a, b = link_edges(recorder.kept["load_ops"])
        root = recorder.kept["kernel"].root
        del recorder
        t0 = time.perf_counter()
        components, labels = scipy_components(a, b, nodes)
        cc_runs.append(time.perf_counter() - t0)
        check_partition(root, labels, exact=args.no_noise)
        del a, b, root, labels
        e2e_runs.append(scipy_end_to_end(warehouse))
        print(
            f"run {index + 1}: siyu {seconds['total']:.2f} s "
            f"(kernel {seconds['kernel']:.2f}), scipy cc {cc_runs[-1]:.2f} s, "
            f"scipy end to end {e2e_runs[-1]:.2f} s",
            file=sys.stderr,
        )
    assert stats is not None
    stored = warehouse.cursor().execute("SELECT count(DISTINCT person_id) FROM identities")
    stored_persons = int(stored.fetchone()[0])  # type: ignore[index]
    if stored_persons != stats.persons:
        raise AssertionError(f"stored {stored_persons} persons, replay gave {stats.persons}")
    warehouse.close()

    med = {k: statistics.median(r[k] for r in siyu_runs) for k in (*STEPS, "prep", "total")}
    cc = statistics.median(cc_runs)
    e2e = statistics.median(e2e_runs)
    print_table(args, siyu_runs, cc_runs, e2e_runs)
    return {
        "edges": args.edges,
        "persons_generated": args.persons,
        "noise": not args.no_noise,
        "link_rows": rows["links"],
        "node_rows": rows["nodes"],
        "identities": stats.identities,
        "persons": stats.persons,
        "components": components,
        "merges": stats.merges,
        "conflicts": stats.conflicts,
        "junk": stats.junk,
        "partition_check": "equal" if args.no_noise else "refines",
        "load_s": round(load_s, 2),
        "siyu_median_s": {k: round(v, 2) for k, v in med.items()},
        "scipy_cc_median_s": round(cc, 3),
        "scipy_end_to_end_median_s": round(e2e, 2),
        "siyu_total_over_scipy_cc": round(med["total"] / cc, 1),
        "siyu_kernel_over_scipy_cc": round(med["kernel"] / cc, 2),
        "siyu_total_over_scipy_end_to_end": round(med["total"] / e2e, 2),
        "target_60s_met": med["total"] < 60,
        "peak_rss_setup_mb": round(setup_rss),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def print_table(
    args: argparse.Namespace,
    siyu_runs: list[dict[str, float]],
    cc_runs: list[float],
    e2e_runs: list[float],
) -> None:
    columns = [*STEPS, "prep", "total"]
    header = ["run", *[f"siyu {c}" for c in columns], "scipy cc", "scipy e2e"]
    print(f"\n{args.edges:,} edges, {args.persons:,} persons (seconds)", file=sys.stderr)
    print("| " + " | ".join(header) + " |", file=sys.stderr)
    print("|" + " --- |" * len(header), file=sys.stderr)
    for i, (s, cc, e2e) in enumerate(zip(siyu_runs, cc_runs, e2e_runs, strict=True)):
        cells = [str(i + 1), *[f"{s[c]:.2f}" for c in columns], f"{cc:.2f}", f"{e2e:.2f}"]
        print("| " + " | ".join(cells) + " |", file=sys.stderr)
    med = [statistics.median(r[c] for r in siyu_runs) for c in columns]
    cells = ["median", *[f"{m:.2f}" for m in med]]
    cells += [f"{statistics.median(cc_runs):.2f}", f"{statistics.median(e2e_runs):.2f}"]
    print("| " + " | ".join(cells) + " |", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
