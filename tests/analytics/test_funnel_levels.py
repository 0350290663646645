"""The funnel core (`siyu.analytics.funnel_levels`) on random entries with many ties.

Each case is checked against references that share no code with it: chDB's own
``windowFunnel`` (ordered and ``strict_order``), a line-by-line Python port of
ClickHouse's algorithm, and brute force over every chain (exclusions) or every span
(any order). Entries are minute-resolution times over a few hours, so ties are common.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from siyu.analytics import funnel_levels
from siyu.analytics.funnel_steps import ExclusionDef

chdb = pytest.importorskip("chdb")

BASE = datetime(2024, 3, 1, 8, 0)
Entry = tuple[str, datetime, int]  # person, time, step
Mark = tuple[str, datetime, int]  # person, time, exclusion index


def random_entries(seed: int, *, persons: int = 120, steps: int = 4) -> list[Entry]:
    rng = random.Random(seed)
    rows = []
    for p in range(persons):
        for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 12])):
            minute = rng.randrange(240) if rng.random() < 0.7 else rng.choice([0, 30, 60])
            rows.append((f"p{p}", BASE + timedelta(minutes=minute), rng.randint(1, steps)))
    return rows


def random_marks(seed: int, persons: int = 120, kinds: int = 1) -> list[Mark]:
    rng = random.Random(seed * 7 + 1)
    return [
        (
            f"p{rng.randrange(persons)}",
            BASE + timedelta(minutes=rng.randrange(240)),
            rng.randrange(kinds),
        )
        for _ in range(persons)
    ]


def entries_table(rows: Sequence[Entry]) -> pa.Table:
    return pa.table(
        {
            "person_id": pa.array([r[0] for r in rows], pa.string()),
            "t": pa.array([r[1] for r in rows], pa.timestamp("us")),
            "step": pa.array([r[2] for r in rows], pa.int16()),
        }
    )


@pytest.fixture(scope="module")
def con() -> Iterator[Any]:
    backend = ibis.duckdb.connect()
    yield backend
    backend.disconnect()


def ours(con: Any, expr: ibis.Table) -> dict[str, tuple[int, tuple[Any, ...]]]:
    """person -> (level, path)."""
    frame = con.execute(expr)
    paths = [c for c in frame.columns if c.startswith("p") and c[1:].isdigit()]
    out = {}
    for row in frame.to_dict("records"):
        path = tuple(None if row[p] is None or row[p] != row[p] else row[p] for p in paths)
        out[row["person_id"]] = (int(row["level"]), tuple(_py(p) for p in path if p is not None))
    return out


def _py(value: Any) -> datetime:
    moment: datetime = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return moment


def chdb_levels(rows: Sequence[Entry], n: int, window: int, strict: bool) -> dict[str, int]:
    conds = ", ".join(f"step = {k}" for k in range(1, n + 1))
    option = ", 'strict_order'" if strict else ""
    query = f"""
        SELECT person_id, windowFunnel({window * 1_000_000}{option})(
            toUInt64(toUnixTimestamp64Micro(t)), {conds}) AS level
        FROM Python(table) GROUP BY person_id
    """
    frame = run_chdb(query, entries_table(rows))
    return {p: int(level) for p, level in zip(frame.person_id, frame.level, strict=True) if level}


def run_chdb(query: str, table: pa.Table) -> Any:
    """``query`` on chDB, reading ``table`` as ``Python(table)``."""
    return chdb.query(query, "DataFrame")


def clickhouse_port(rows: Sequence[Entry], n: int, window: int, strict: bool) -> dict[str, int]:
    """ClickHouse's getEventLevelNonStrictOnce, line by line, per person."""
    people: dict[str, list[tuple[datetime, int]]] = {}
    for p, t, s in rows:
        people.setdefault(p, []).append((t, s))
    out = {}
    for p, events in people.items():
        events.sort()
        state: list[tuple[datetime, datetime] | None] = [None] * n
        first_event = False
        level = None
        for t, s in events:
            idx = s - 1
            if idx == 0:
                state[0] = (t, t)
                first_event = True
            elif strict and first_event and state[idx - 1] is None:
                level = next(i for i, v in enumerate(state) if v is None)
                break
            elif state[idx - 1] is not None:
                start = state[idx - 1][0]  # type: ignore[index]
                if t <= start + timedelta(seconds=window):
                    state[idx] = (start, t)
                    if idx + 1 == n:
                        level = n
                        break
        if level is None:
            level = max((i + 1 for i, v in enumerate(state) if v is not None), default=0)
        if level:
            out[p] = level
    return out


def brute_ordered(
    rows: Sequence[Entry],
    marks: Sequence[Mark],
    n: int,
    window: int,
    exclusions: Sequence[ExclusionDef],
) -> dict[str, int]:
    """The deepest chain in (time, step) order within the window whose guarded moves have
    no excluded event after their exclusion's first step and at or before them."""
    out = {}
    for p in {r[0] for r in rows}:
        events = sorted((t, s) for q, t, s in rows if q == p)
        excluded = [(t, x) for q, t, x in marks if q == p]
        best = 0
        for k in range(1, n + 1):
            by_step = [[e for e in events if e[1] == j] for j in range(1, k + 1)]
            if any(not b for b in by_step):
                break
            if any(_chain_ok(chain, excluded, window, exclusions) for chain in _chains(by_step)):
                best = k
            else:
                break
        if best:
            out[p] = best
    return out


def _chains(by_step: list[list[tuple[datetime, int]]]) -> Iterator[list[tuple[datetime, int]]]:
    def grow(prefix: list[tuple[datetime, int]], j: int) -> Iterator[list[tuple[datetime, int]]]:
        if j == len(by_step):
            yield prefix
            return
        for e in by_step[j]:
            if not prefix or e >= prefix[-1]:
                yield from grow([*prefix, e], j + 1)

    yield from grow([], 0)


def _chain_ok(
    chain: list[tuple[datetime, int]],
    excluded: list[tuple[datetime, int]],
    window: int,
    exclusions: Sequence[ExclusionDef],
) -> bool:
    if chain[-1][0] - chain[0][0] > timedelta(seconds=window):
        return False
    for i, x in enumerate(exclusions):
        if len(chain) <= x.start:
            continue
        start = chain[x.start - 1][0]
        end = chain[min(x.end, len(chain)) - 1][0]
        if any(start < t <= end for t, j in excluded if j == i):
            return False
    return True


def brute_any_order(rows: Sequence[Entry], n: int, window: int) -> dict[str, int]:
    out = {}
    for p in {r[0] for r in rows}:
        events = [(t, s) for q, t, s in rows if q == p]
        if not any(s == 1 for _, s in events):
            continue
        best = 0
        for start, _ in events:
            inside = {s for t, s in events if start <= t <= start + timedelta(seconds=window)}
            level = 0
            while level < n and level + 1 in inside:
                level += 1
            best = max(best, level)
        out[p] = best
    return out


def expected_path(
    rows: Sequence[Entry], person: str, level: int, window: int
) -> tuple[datetime, ...]:
    """The chain the funnel reports times along: the earliest event of the deepest step,
    then, step by step back, the latest event of the previous step that a chain within
    the window reaches it through."""
    events = sorted((t, s) for q, t, s in rows if q == person)
    reach = {k: _reachable(events, k, window) for k in range(1, level + 1)}
    chain = [min(t for t, _ in reach[level])]
    for k in range(level - 1, 0, -1):
        chain.append(max(t for t, _ in reach[k] if (t, k) <= (chain[-1], k + 1)))
    return tuple(reversed(chain))


def _reachable(
    events: list[tuple[datetime, int]], k: int, window: int
) -> list[tuple[datetime, int]]:
    """Entries of step ``k`` that some chain of steps 1 .. k within the window ends at."""
    starts: dict[tuple[datetime, int], datetime] = {}
    for t, s in events:
        if s == 1:
            starts[(t, s)] = t
        elif s <= k:
            prev = [st for (pt, ps), st in starts.items() if ps == s - 1 and (pt, ps) <= (t, s)]
            if prev and t - max(prev) <= timedelta(seconds=window):
                starts[(t, s)] = max(prev)
    return [e for e in starts if e[1] == k]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("window", [0, 600, 3600, 86_400])
def test_ordered_and_strict_equal_chdb_window_funnel(con: Any, seed: int, window: int) -> None:
    rows = random_entries(seed)
    entries = ibis.memtable(entries_table(rows))
    for strict in (False, True):
        got = ours(
            con, funnel_levels.ordered(entries, 4, window, keys=["person_id"], strict=strict)
        )
        levels = {p: level for p, (level, _) in got.items()}
        assert levels == chdb_levels(rows, 4, window, strict), (seed, window, strict)
        assert levels == clickhouse_port(rows, 4, window, strict)


@pytest.mark.parametrize("seed", range(4))
def test_paths_follow_the_latest_start_to_the_earliest_deepest_event(con: Any, seed: int) -> None:
    rows = random_entries(seed, persons=100)
    window = 3600
    got = ours(
        con,
        funnel_levels.ordered(ibis.memtable(entries_table(rows)), 4, window, keys=["person_id"]),
    )
    checked = 0
    for person, (level, path) in got.items():
        assert len(path) == level
        if level >= 2:
            assert path == expected_path(rows, person, level, window), person
            assert path[-1] - path[0] <= timedelta(seconds=window)
            checked += 1
    assert checked > 10


@pytest.mark.parametrize("seed", range(5))
def test_exclusions_equal_brute_force(con: Any, seed: int) -> None:
    rows = random_entries(seed, persons=80)
    marks = random_marks(seed, persons=80, kinds=2)
    exclusions = [ExclusionDef("x", 1, 3), ExclusionDef("y", 2, 4)]
    entries = ibis.memtable(entries_table(rows))
    excluded = ibis.memtable(
        pa.table(
            {
                "person_id": pa.array([m[0] for m in marks], pa.string()),
                "t": pa.array([m[1] for m in marks], pa.timestamp("us")),
                "x": pa.array([m[2] for m in marks], pa.int16()),
            }
        )
    )
    gapped = funnel_levels.with_gaps(entries, excluded, len(exclusions))
    for window in (1800, 86_400):
        expr = funnel_levels.ordered(gapped, 4, window, keys=["person_id"], exclusions=exclusions)
        levels = {p: level for p, (level, _) in ours(con, expr).items()}
        assert levels == brute_ordered(rows, marks, 4, window, exclusions), (seed, window)


@pytest.mark.parametrize("seed", range(5))
def test_any_order_equals_brute_force(con: Any, seed: int) -> None:
    rows = random_entries(seed, persons=80)
    entries = ibis.memtable(entries_table(rows))
    for window in (0, 900, 7200):
        got = ours(con, funnel_levels.any_order(entries, 4, window, keys=["person_id"]))
        assert {p: level for p, (level, _) in got.items()} == brute_any_order(rows, 4, window)
        for level, path in got.values():
            assert len(path) == level and list(path) == sorted(path)
            if path:
                assert path[-1] - path[0] <= timedelta(seconds=window)


def test_cohorts_are_funnels_of_their_own_step_one_entries(con: Any) -> None:
    """Per cohort (a trend period or a value of step 1) the answer is windowFunnel over
    that cohort's step-1 events and every later-step event."""
    rows = random_entries(11, persons=60)
    rng = random.Random(3)
    cohort = [rng.choice(["a", "b"]) if s == 1 else None for _, _, s in rows]
    table = entries_table(rows).append_column("cohort", pa.array(cohort, pa.string()))
    spread = funnel_levels.spread_cohorts(ibis.memtable(table), 1800, before=False)
    expr = funnel_levels.ordered(spread, 4, 1800, keys=["person_id", "cohort"])
    frame = con.execute(expr)
    got = {(r.person_id, r.cohort): int(r.level) for r in frame.itertuples()}
    for value in ("a", "b"):
        subset = [r for r, c in zip(rows, cohort, strict=True) if r[2] != 1 or c == value]
        expected = clickhouse_port(subset, 4, 1800, strict=False)
        assert {p: lv for (p, c), lv in got.items() if c == value} == expected


def test_one_event_may_serve_two_steps_like_clickhouse(con: Any) -> None:
    """A row that matches steps 1 and 2 gives two entries at one instant: level 2."""
    rows = [("a", BASE, 1), ("a", BASE, 2), ("b", BASE, 2), ("b", BASE, 1)]
    got = ours(
        con, funnel_levels.ordered(ibis.memtable(entries_table(rows)), 2, 60, keys=["person_id"])
    )
    assert (
        {p: lv for p, (lv, _) in got.items()} == {"a": 2, "b": 2} == chdb_levels(rows, 2, 60, False)
    )
