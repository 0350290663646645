"""The funnel analysis equals ClickHouse's ``windowFunnel`` (chDB) on random data.

A random warehouse (minute-resolution times, so many ties; repeated steps; a step with a
property filter) goes through the product path (`analyse_with`, identities resolved);
the same events with their resolved person are exported once to Arrow and chDB counts
the persons per level with ``windowFunnel(window)`` and ``windowFunnel(window,
'strict_order')``. Step 1 must fall in the date range, later steps within the window
after it: chDB gets that as the first condition and the rows it reads.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from siyu.analytics.scope import Context, context_from
from siyu.analytics.service import analyse_with
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.segments.dialect import utc_midnight
from tests.segments.models.warehouse import Ev, build

chdb = pytest.importorskip("chdb")

TZ = "Asia/Shanghai"
TODAY = date(2024, 3, 10)
NAMES = ("view", "cart", "pay", "other")


def random_events(seed: int = 9) -> list[Ev]:
    """250 persons over ten local days; each has bursts of minute-resolution events."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 1)
    events = []
    for person in range(250):
        for _ in range(rng.choice([1, 1, 2, 3])):
            burst = rng.randrange(10 * 24 * 60)
            for _ in range(rng.choice([1, 2, 4, 6, 9])):
                minute = burst + rng.choice([0, 0, 1, 2, 5, 30, 300, 2000])
                when = start + timedelta(minutes=min(minute, 10 * 24 * 60 - 1))
                name = rng.choices(NAMES, [5, 3, 2, 2])[0]
                props = {"price": rng.choice([10, 60, 120])} if name == "view" else {}
                events.append(Ev(f"u{person}", f"{when:%Y-%m-%d %H:%M}", name, props))
    return events


@pytest.fixture(scope="module")
def data() -> tuple[Context, pa.Table]:
    wh = build(random_events())
    rebuild(wh, IdentityRules())
    ctx = context_from(wh.ibis(), today=TODAY, tz=TZ)
    ev = ctx.facts.events
    table = ev.select("person_id", "event", "event_time", "properties").to_pyarrow()
    micros = pc.cast(table["event_time"], pa.timestamp("us")).cast(pa.int64())
    exported = pa.table(
        {
            "person_id": table["person_id"],
            "event": table["event"],
            "ts": micros,
            "properties": table["properties"],
        }
    )
    return ctx, exported


def chdb_counts(
    events: pa.Table,
    conditions: list[str],
    window: int,
    first: date,
    last: date,
    *,
    strict: bool,
) -> list[int]:
    """Persons reaching each step, by chDB: step 1 in the range, the rest up to the window
    after its end; only rows matching some step are read (as the funnel reads them)."""
    lo = _micros(first)
    hi = _micros(last + timedelta(days=1))
    w = window * 1_000_000
    conds = [f"({conditions[0]}) AND ts < {hi}", *conditions[1:]]
    option = ", 'strict_order'" if strict else ""
    query = f"""
        SELECT level, count() AS persons FROM (
            SELECT person_id, windowFunnel({w}{option})(toUInt64(ts), {", ".join(conds)}) AS level
            FROM Python(table)
            WHERE ts >= {lo} AND ts < {hi + w} AND ({" OR ".join(f"({c})" for c in conds)})
            GROUP BY person_id
        ) WHERE level > 0 GROUP BY level
    """
    frame = run_chdb(query, events)
    per_level = {int(r.level): int(r.persons) for r in frame.itertuples()}
    return [sum(v for k, v in per_level.items() if k >= s) for s in range(1, len(conds) + 1)]


def run_chdb(query: str, table: pa.Table) -> Any:
    """``query`` on chDB, reading ``table`` as ``Python(table)``."""
    return chdb.query(query, "DataFrame")


def _micros(day: date) -> int:
    return int(utc_midnight(day, TZ).replace(tzinfo=UTC).timestamp() * 1_000_000)


CASES = [
    # steps as the request names them, the same as ClickHouse conditions
    (["view", "cart", "pay"], ["event = 'view'", "event = 'cart'", "event = 'pay'"]),
    (
        ["view", "cart", "view", "pay"],
        ["event = 'view'", "event = 'cart'", "event = 'view'", "event = 'pay'"],
    ),
    (
        [
            {"event": "view", "where": [{"property": "price", "op": "gt", "value": 50}]},
            "cart",
            "pay",
            "other",
        ],
        [
            "event = 'view' AND JSONExtractFloat(properties, 'price') > 50",
            "event = 'cart'",
            "event = 'pay'",
            "event = 'other'",
        ],
    ),
    (["cart", "cart", "pay"], ["event = 'cart'", "event = 'cart'", "event = 'pay'"]),
]


@pytest.mark.parametrize(("steps", "conditions"), CASES)
@pytest.mark.parametrize("window", ["90s", "1h", "1d"])
@pytest.mark.parametrize("mode", ["ordered", "strict"])
def test_funnel_equals_chdb_window_funnel(
    data: tuple[Context, pa.Table],
    steps: list[Any],
    conditions: list[str],
    window: str,
    mode: str,
) -> None:
    ctx, events = data
    first, last = date(2024, 3, 2), date(2024, 3, 7)
    body = {"steps": steps, "window": window, "mode": mode, "from": str(first), "to": str(last)}
    result = analyse_with(ctx, "funnel", body)
    seconds = result["window_seconds"]
    expected = chdb_counts(events, conditions, seconds, first, last, strict=mode == "strict")
    assert [s["count"] for s in result["steps"]] == expected
    assert expected[1] > 0


def test_ties_at_one_instant_count_in_step_order() -> None:
    """Three steps logged in the same second (any order in the log) all count, as in
    ClickHouse: at equal times a step follows the steps numbered before it."""
    wh = build(
        [
            Ev("tie", "2024-03-05 10:00", "pay"),
            Ev("tie", "2024-03-05 10:00", "cart"),
            Ev("tie", "2024-03-05 10:00", "view"),
            Ev("late", "2024-03-05 10:00", "cart"),
            Ev("late", "2024-03-05 10:01", "view"),
        ]
    )
    rebuild(wh, IdentityRules())
    ctx = context_from(wh.ibis(), today=TODAY, tz=TZ)
    body = {"steps": ["view", "cart", "pay"], "window": "1h", "from": "2024-03-01"}
    result = analyse_with(ctx, "funnel", body)
    assert [s["count"] for s in result["steps"]] == [2, 1, 1]
    frame = run_chdb(
        "SELECT person_id, windowFunnel(3600000000)(toUInt64(ts), event = 'view', "
        "event = 'cart', event = 'pay') AS level FROM Python(table) GROUP BY person_id "
        "ORDER BY person_id",
        pa.table(
            {
                "person_id": ["tie", "tie", "tie", "late", "late"],
                "event": ["pay", "cart", "view", "cart", "view"],
                "ts": [0, 0, 0, 0, 60_000_000],
            }
        ),
    )
    assert dict(zip(frame.person_id, frame.level, strict=True)) == {"late": 1, "tie": 3}
