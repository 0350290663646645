"""How far each person got through a funnel: the windowFunnel algorithm as Ibis windows.

Input is the table of *entries* of `siyu.analytics.funnel_steps` (``person_id, t,
step``, maybe ``cohort`` and exclusion gap keys); output is one row per person (and
cohort) with ``level``, the deepest step reached, and ``p1 .. pn``, the instants at which
the chain counted for that person completed each step (null beyond ``level``).

Ordered (ClickHouse ``windowFunnel(window)``, default mode): entries sort by time, then
step number, so a step-``k`` event at the same instant as a step-``k-1`` event (even the
same event) follows it. A chain reaches step ``k`` at a step-``k`` entry when some chain
reached step ``k-1`` at or before it and the entry is at most ``window`` after the
chain's step-1 entry. The latest start is always the best one, and along the valid
step-``k-1`` entries in time order the latest start and every step time of its chain never
decrease; so one running ``max`` per step time over a person's rows, ordered by ``(t,
step)``, carries the best chain forward. One window pass per step, over the valid entries
of the previous step and the entries of this one.

Strict (``windowFunnel(window, 'strict_order')`` over the step events): as ordered, but a
step-``k`` entry that comes after step 1 while step ``k-1`` has not been reached ends the
person's funnel at the steps reached so far.

Any order: a person reaches step ``k`` when some span of at most ``window`` holds an event
of each of steps 1 .. ``k``; spans start at an entry, and for each start the next event
of each step comes from one window pass (``min`` over the following rows).

Example:
    >>> path_columns(3)
    ['p1', 'p2', 'p3']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import ibis
import ibis.expr.types as ir

from siyu.analytics.funnel_steps import ExclusionDef

#: Modes a request may name.
MODES: Final = ("ordered", "strict", "any_order")

#: Computes an expression now into a table to read instead (``TempTables.materialise``).
Materialise = Callable[[ir.Table, str], ir.Table]


def as_is(table: ir.Table, label: str) -> ir.Table:
    """The `Materialise` that computes nothing now: ``table`` stays an expression."""
    return table


def path_columns(n: int) -> list[str]:
    """``p1 .. pn``: the instant each step was completed along the counted chain."""
    return [f"p{k}" for k in range(1, n + 1)]


def gap_columns(exclusions: Sequence[ExclusionDef]) -> list[str]:
    return [f"g{i}" for i in range(len(exclusions))]


def with_gaps(entries: ir.Table, excluded: ir.Table, count: int) -> ir.Table:
    """``entries`` plus ``g0 .. g{count-1}``: how many events of each exclusion the person
    had at or before the entry. Two entries have the same ``gi`` exactly when no event of
    exclusion ``i`` happened after the first and at or before the second."""
    ts = entries.t.type()
    marks = entries.mutate(x=ibis.null("int16"), kind=ibis.literal(1, "int8")).union(
        excluded.select(
            "person_id",
            t=excluded.t.cast(ts),
            step=ibis.literal(0, "int16"),
            **{
                c: ibis.null(entries[c].type())
                for c in entries.columns
                if c not in ("person_id", "t", "step")
            },
            x=excluded.x,
            kind=ibis.literal(0, "int8"),
        ).select(*entries.columns, "x", "kind")
    )
    # Exclusion events sort first at equal times: an entry counts the ones at its instant.
    w = ibis.window(
        group_by=marks.person_id, order_by=[marks.t, marks.kind], preceding=None, following=0
    )
    counted = marks.mutate(
        **{
            f"g{i}": (marks.x == i).fill_null(False).cast("int64").sum().over(w)
            for i in range(count)
        }
    )
    return counted.filter(counted.kind == 1).drop("x", "kind")


def spread_cohorts(entries: ir.Table, window: int, *, before: bool) -> ir.Table:
    """Entries with a ``cohort`` on step 1 only, later steps copied into every cohort of
    their person whose step-1 entries they can follow (within ``window`` after the last
    one; ``before``: also up to ``window`` before the first, for any-order spans)."""
    firsts = entries.filter(entries.step == 1)
    spans = firsts.group_by(["person_id", "cohort"]).aggregate(lo=firsts.t.min(), hi=firsts.t.max())
    later = entries.filter(entries.step != 1).drop("cohort")
    span = ibis.interval(seconds=window)
    low = spans.lo - span if before else spans.lo
    joined = later.join(
        spans,
        [later.person_id == spans.person_id, later.t >= low, later.t <= spans.hi + span],
    )
    return firsts.union(joined.select(*firsts.columns))


def ordered(
    entries: ir.Table,
    n: int,
    window: int,
    *,
    keys: Sequence[str],
    strict: bool = False,
    exclusions: Sequence[ExclusionDef] = (),
    materialise: Materialise = as_is,
) -> ir.Table:
    """``keys, level, p1 .. pn`` for every person (and cohort) with a step-1 entry.

    With ``exclusions`` the entries carry gap keys (`with_gaps`): moving from step
    ``k-1`` to step ``k`` inside an exclusion's steps also requires the same gap key, so
    no excluded event happened between the chain's step ``start`` and its step ``k``.
    ``materialise`` computes each step's valid entries once: the next step, the strict
    check and the result all read them (Spark would otherwise recompute every earlier
    step's pass for each reader).
    """
    span = ibis.interval(seconds=window)
    gaps = gap_columns(exclusions)
    carry = [*keys, *gaps]
    paths = path_columns(n)
    null_ts = ibis.null(entries.t.type())
    first = entries.filter(entries.step == 1)
    previous = first.select(*carry, "t", "step", p1=first.t)
    reached = []
    for k in range(2, n + 1):
        before = paths[: k - 1]
        hits = entries.filter(entries.step == k)
        # Only rows within a window of a row on the other side can meet: drop the rest of
        # the larger side first (a hash join), so the window pass sorts fewer rows. Step 1
        # is the common event; later, the valid entries of the previous step are few.
        candidates = previous
        if k == 2:
            candidates = _near(previous, hits, keys, window, after=True)
        else:
            hits = _near(hits, previous, keys, window, after=False)
        both = candidates.select(*carry, "t", "step", *before).union(
            hits.select(*carry, "t", "step", **{p: null_ts for p in before})
        )
        guarded = [g for g, x in zip(gaps, exclusions, strict=True) if x.covers(k)]
        w = ibis.window(
            group_by=[both[c] for c in (*keys, *guarded)],
            # Step k-1 sorts before step k at equal times: ClickHouse's (time, step) order.
            order_by=[both.t, both.step],
            preceding=None,
            following=0,
        )
        carried = both.mutate(**{p: both[p].max().over(w) for p in before})
        valid = carried.filter(
            carried.step == k, carried.p1.notnull(), carried.t <= carried.p1 + span
        )
        previous = materialise(valid.mutate(**{paths[k - 1]: valid.t}), f"funnel_step{k}")
        reached.append(previous.select(*keys, "t", "step", *paths[:k]))
    deep = _stack(reached, keys, paths)
    cap = _strict_cap(entries, deep, keys) if strict else None
    return _deepest(_entered(first, keys), deep, keys, paths, cap)


def any_order(
    entries: ir.Table,
    n: int,
    window: int,
    *,
    keys: Sequence[str],
    materialise: Materialise = as_is,
) -> ir.Table:
    """``keys, level, p1 .. pn``: the deepest ``k`` such that one span of at most
    ``window`` holds events of steps 1 .. ``k`` in any order. ``pk`` is when the span
    first held all of steps 1 .. ``k`` (the span that started first among the deepest)."""
    span = ibis.interval(seconds=window)
    paths = path_columns(n)
    w = ibis.window(group_by=[entries[c] for c in keys], order_by=entries.t, range=(0, None))
    nxt = [
        ibis.ifelse(entries.step == j, entries.t, ibis.null(entries.t.type())).min().over(w)
        for j in range(1, n + 1)
    ]
    done: list[ir.TimestampValue] = [nxt[0]]
    for j in range(1, n):
        done.append(ibis.greatest(done[-1], nxt[j]))
    limit = entries.t + span
    ok: list[ir.BooleanValue] = []
    for j in range(n):
        fits = nxt[j].notnull() & (nxt[j] <= limit)
        ok.append(fits if j == 0 else ok[-1] & fits)
    level = sum((o.cast("int16") for o in ok[1:]), ok[0].cast("int16"))
    spans = entries.select(
        *keys, "t", step=level, **{p: d for p, d in zip(paths, done, strict=True)}
    )
    spans = spans.filter(spans.step >= 2)
    # Beyond a span's level its completion times mean nothing: blank them.
    spans = spans.mutate(
        **{
            p: ibis.ifelse(spans.step >= i + 1, spans[p], ibis.null(spans[p].type()))
            for i, p in enumerate(paths)
        }
    )
    spans = materialise(spans, "funnel_spans")
    return _deepest(_entered(entries.filter(entries.step == 1), keys), spans, keys, paths, None)


def _near(
    rows: ir.Table, other: ir.Table, keys: Sequence[str], window: int, *, after: bool
) -> ir.Table:
    """``rows`` that have a row of ``other`` of the same person at most ``window`` after
    them (``after``) or before them, judged by buckets of ``window`` seconds: a row in
    bucket ``b`` is kept when ``other`` has one in ``b`` or the next (previous) bucket.
    Keeps every row that can pair; on real data (most viewers never add to cart) far
    fewer than all."""
    marks = other.select(*keys, b=_bucket(other.t, window)).distinct()
    near = marks.union(marks.mutate(b=marks.b - 1 if after else marks.b + 1))
    bucket = _bucket(rows.t, window)
    return rows.semi_join(near, [*(rows[k] == near[k] for k in keys), bucket == near.b])


def _bucket(t: ir.TimestampValue, window: int) -> ir.IntegerValue:
    bucket: ir.IntegerValue = (t.epoch_seconds().floor() // max(window, 1)).cast("int64")
    return bucket


def _stack(parts: list[ir.Table], keys: Sequence[str], paths: list[str]) -> ir.Table:
    """The valid entries of every step >= 2 in one table, later step times null."""
    shaped = [
        part.select(
            *keys,
            "t",
            "step",
            **{p: part[p] if p in part.columns else ibis.null(part.t.type()) for p in paths},
        )
        for part in parts
    ]
    return shaped[0].union(*shaped[1:], distinct=False) if len(shaped) > 1 else shaped[0]


def _strict_cap(entries: ir.Table, deep: ir.Table, keys: Sequence[str]) -> ir.Table:
    """``keys, cap``: where strict order ends a person's funnel early, the steps reached
    when a later step's event came before its previous step was reached."""
    mark_type = "int16"
    marks = entries.select(
        *keys, "t", "step", v=ibis.ifelse(entries.step == 1, 1, ibis.null()).cast(mark_type)
    ).union(deep.select(*keys, "t", "step", v=deep.step.cast(mark_type)), distinct=False)
    w = ibis.window(
        group_by=[marks[c] for c in keys],
        order_by=[marks.t, marks.step],
        preceding=None,
        following=0,
    )
    reach = marks.mutate(reach=marks.v.max().over(w))
    broken = reach.filter(reach.step >= reach.reach + 2)
    return broken.group_by(list(keys)).aggregate(cap=broken.reach.min())


def _entered(first: ir.Table, keys: Sequence[str]) -> ir.Table:
    """``keys, entered_at``: every person (and cohort) with a step-1 entry, and the first."""
    return first.group_by(list(keys)).aggregate(entered_at=first.t.min())


def _deepest(
    entered: ir.Table,
    candidates: ir.Table,
    keys: Sequence[str],
    paths: list[str],
    cap: ir.Table | None,
) -> ir.Table:
    """Per person (and cohort): the level and the path of the earliest candidate at it
    (level 1: the first step-1 entry). One aggregation: the candidate with the highest
    step, then the earliest time, is the smallest ``(-step, t)``."""
    if cap is not None:
        capped = candidates.left_join(cap, list(keys))
        capped = capped.filter(capped.step <= capped.cap.fill_null(1 << 14))
        candidates = capped.select(*candidates.columns)
    first = ibis.struct({"s": -candidates.step, "t": candidates.t})
    deepest = candidates.group_by(list(keys)).aggregate(
        top=candidates.step.max(), **{p: candidates[p].argmin(first) for p in paths}
    )
    result = entered.left_join(deepest, list(keys))
    return result.select(
        *keys,
        level=result.top.fill_null(1).cast("int16"),
        p1=ibis.coalesce(result.p1, result.entered_at),
        **{p: result[p] for p in paths[1:]},
    )
