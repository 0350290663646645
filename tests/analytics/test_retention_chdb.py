"""Retention equals ClickHouse's ``retention`` aggregate (chDB) on random data.

The events with their resolved person are exported once to Arrow; chDB assigns the
cohorts itself (local dates through ``toDateTime(..., 'Asia/Shanghai')``, ``toMonday``,
``toStartOfMonth``) and marks each period with one ``retention`` condition, so the
two implementations share nothing but the data.
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
from siyu.segments.models.days import end_of
from siyu.storage import Warehouse
from tests.segments.models.warehouse import Ev, build

chdb = pytest.importorskip("chdb")

TZ = "Asia/Shanghai"
TODAY = date(2024, 3, 20)
#: Periods as chDB spells them: the period of local date ``d`` and the offset between two.
PERIOD_OF = {"day": "d", "week": "toMonday(d)", "month": "toStartOfMonth(d)"}
OFFSET = {
    "day": "dateDiff('day', c.cp, e.pn)",
    "week": "intDiv(dateDiff('day', c.cp, e.pn), 7)",
    "month": "dateDiff('month', c.cp, e.pn)",
}
#: "Any event" leaves out what the lifecycle model does not count as acting.
ACTING = "event NOT IN ('unsubscribe')"


def random_events(seed: int = 5) -> list[Ev]:
    """300 persons over 80 local days around month ends; times to the minute, so many
    fall near local midnight (and near UTC midnight, 08:00 local)."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1)
    events = []
    for person in range(300):
        first = rng.randrange(70 * 24 * 60)
        for _ in range(rng.choice([1, 2, 3, 5, 8, 13])):
            minute = first + int(rng.expovariate(1 / (9 * 24 * 60)))
            when = start + timedelta(minutes=minute)
            if rng.random() < 0.15:  # pile some events around local midnight
                when = when.replace(hour=rng.choice([23, 0]), minute=rng.choice([0, 30, 59]))
            name = rng.choices(["a", "b", "c", "unsubscribe"], [4, 3, 2, 1])[0]
            events.append(Ev(f"u{person}", f"{when:%Y-%m-%d %H:%M}", name))
    return events


@pytest.fixture(scope="module")
def data() -> tuple[Context, pa.Table]:
    wh: Warehouse = build(random_events())
    rebuild(wh, IdentityRules())
    ctx = context_from(wh.ibis(), today=TODAY, tz=TZ)
    ev = ctx.facts.events
    table = ev.select("person_id", "event", "event_time").to_pyarrow()
    micros = pc.cast(table["event_time"], pa.timestamp("us")).cast(pa.int64())
    exported = pa.table({"person_id": table["person_id"], "event": table["event"], "ts": micros})
    return ctx, exported


def chdb_matrix(
    events: pa.Table,
    *,
    start: str | None,
    back: str | None,
    cohort: str,
    period: str,
    periods: int,
    first: date,
    last: date,
) -> dict[str, tuple[int, list[int]]]:
    """cohort -> (size, retained per period) by chDB's ``retention``."""
    lo, hi = _micros(first, TZ), _micros(last + timedelta(days=1), TZ)
    end = int(end_of(TODAY, TZ).replace(tzinfo=UTC).timestamp() * 1_000_000)
    starts = f"event = '{start}'" if start else ACTING
    returns = f"e.event = '{back}'" if back else f"e.{ACTING}"
    if cohort == "any":
        cohorts = f"""
            SELECT person_id, pn AS cp, min(ts) AS s FROM p
            WHERE {starts} AND ts >= {lo} AND ts < {hi} GROUP BY person_id, pn"""
    else:
        cohorts = f"""
            SELECT person_id, argMin(pn, ts) AS cp, min(ts) AS s FROM p WHERE {starts}
            GROUP BY person_id HAVING s >= {lo} AND s < {hi}"""
    marks = ", ".join(
        f"{returns} AND {OFFSET[period]} = {k}" + (" AND e.ts >= c.s" if k == 0 else "")
        for k in range(periods + 1)
    )
    sql = f"""
        WITH p AS (
            SELECT person_id, event, ts, {PERIOD_OF[period]} AS pn FROM (
                SELECT assumeNotNull(person_id) AS person_id, assumeNotNull(event) AS event,
                       assumeNotNull(ts) AS ts, toDate(toDateTime(intDiv(ts, 1000000), '{TZ}')) AS d
                FROM Python(events) WHERE ts < {end})
        ), c AS ({cohorts})
        SELECT toString(cp) AS cohort, count() AS size, sumForEach(r) AS kept FROM (
            SELECT c.person_id, c.cp AS cp, retention(e.ts = c.s, {marks}) AS r
            FROM c INNER JOIN p AS e ON e.person_id = c.person_id
            GROUP BY c.person_id, c.cp
        ) GROUP BY cp ORDER BY cp
    """
    frame: Any = chdb.query(sql, "DataFrame")
    return {
        str(row.cohort): (int(row.size), [int(n) for n in list(row.kept)[1:]])
        for row in frame.itertuples()
    }


def _micros(day: date, tz: str) -> int:
    from siyu.segments.dialect import utc_midnight

    return int(utc_midnight(day, tz).replace(tzinfo=UTC).timestamp() * 1_000_000)


@pytest.mark.parametrize(
    ("start", "back", "cohort", "period", "periods", "first", "last"),
    [
        ("a", "b", "first", "day", 10, date(2024, 1, 5), date(2024, 3, 20)),
        ("a", "a", "any", "day", 7, date(2024, 2, 10), date(2024, 3, 20)),
        (None, None, "first_seen", "week", 6, date(2024, 1, 1), date(2024, 3, 20)),
        ("b", None, "any", "week", 4, date(2024, 1, 10), date(2024, 3, 20)),
        ("a", "c", "first", "month", 2, date(2024, 1, 1), date(2024, 3, 20)),
        (None, None, "first_seen", "day", 30, date(2024, 1, 1), date(2024, 3, 20)),
    ],
)
def test_retention_equals_chdb(
    data: tuple[Context, pa.Table],
    start: str | None,
    back: str | None,
    cohort: str,
    period: str,
    periods: int,
    first: date,
    last: date,
) -> None:
    ctx, events = data
    body: dict[str, Any] = {"cohort": cohort, "period": period, "periods": periods}
    body |= {"from": first.isoformat(), "to": last.isoformat()}
    if start:
        body["start_event"] = start
    if back:
        body["return_event"] = back
    ours = analyse_with(ctx, "retention", body)
    theirs = chdb_matrix(
        events,
        start=start,
        back=back,
        cohort=cohort,
        period=period,
        periods=periods,
        first=first,
        last=last,
    )
    compared = 0
    for row in ours["cohorts"]:
        size, kept = theirs.get(row["cohort"], (0, [0] * (periods + 1)))
        assert row["size"] == size, row["cohort"]
        for k, n in enumerate(row["retained"]):
            if n is not None:  # incomplete periods are null here; chDB counts what it has
                assert n == kept[k], (row["cohort"], k)
                compared += 1
    assert set(theirs) <= {row["cohort"] for row in ours["cohorts"]}
    assert sum(size for size, _ in theirs.values()) > 50 and compared > periods
