"""Experiment results (实验结果): the ``experiment`` analysis.

Exposures come from the events: each person's FIRST ``$experiment_exposure`` of the
experiment between its start and its stop (or the end of the analysed day) puts the
person in the variant that event names. Every metric is measured per exposed person
over the ``days`` days from that first exposure (CUPED covariates over the ``days``
days before it), summed per variant and exposure day by the engine — one small table
whatever the number of persons — and scored in `siyu.analytics.experiment_stats`.

Data-quality checks ride along: a sample-ratio-mismatch test against the weights,
persons whose logged variant is not the one the hash of their person id gives, persons
exposed to more than one variant, variants not in the definition.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from siyu.analytics import experiment_stats as st
from siyu.analytics.exceptions import InvalidRequest, NotFound
from siyu.analytics.experiments import EXPOSURE_EVENT, Definition, Metric, with_variant
from siyu.analytics.scope import Context, check_segment, only_segment
from siyu.identity.resolution import actors
from siyu.segments.models.activity import counted_orders
from siyu.segments.models.config import OrdersConfig
from siyu.segments.models.days import day_of, end_of

_EPOCH: Final = date(1970, 1, 1)
#: Label of exposures without a variant property.
_NO_VARIANT: Final = "(none)"


class Request(BaseModel):
    """``key`` of the experiment; ``segment`` keeps persons now in that set (a slice:
    current membership may itself be an effect of the experiment)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1)
    segment: str | None = None


@dataclass(frozen=True)
class _Window:
    """Exposures counted in [start, end); metric events before ``horizon``."""

    start: datetime
    end: datetime
    horizon: datetime


def analyse(ctx: Context, request: Request) -> dict[str, Any]:
    stored = _stored(ctx, request.key)
    definition = Definition.model_validate_json(stored["definition"])
    if stored["status"] == "draft" or stored["started_at"] is None:
        raise InvalidRequest("key", f"{request.key!r} has not started; no exposures count yet")
    horizon = end_of(ctx.today, ctx.tz)
    end = min(stored["stopped_at"] or horizon, horizon)
    window = _Window(stored["started_at"], end, horizon)
    events = relevant_events(ctx, definition, horizon)
    exposed = first_exposures(ctx, events, definition.key, window)
    if request.segment is not None:
        exposed = only_segment(exposed, ctx, check_segment(ctx, request.segment))
    table = per_person(ctx, definition, exposed, events, window)
    cells = _cells(_aggregate(table, definition, window), definition)
    return _shape(ctx, definition, stored, cells)


def relevant_events(ctx: Context, definition: Definition, horizon: datetime) -> ir.Table:
    """The events results read — exposures and the metrics' events before ``horizon`` —
    with their person, attributed once for all metrics (the identity join is the cost)."""
    names = {EXPOSURE_EVENT} | {m.event for m in definition.metrics if m.event}
    raw = ctx.table("events")
    raw = raw.filter(raw.event.isin(sorted(names)), raw.event_time < ibis.literal(horizon))
    raw = raw.select("seq", "actor", "event", "event_time", "properties")
    # An event's person is its actor's (`siyu.identity.resolution`), joined here after
    # the filter so the engines look up the actors of these records only.
    who = actors(ctx.table("identities"))
    ev = raw.join(who, raw.actor == who.actor_key)
    return ev.select("person_id", "seq", "event", "event_time", "properties")


def first_exposures(ctx: Context, events: ir.Table, key: str, window: _Window) -> ir.Table:
    """One row per exposed person: ``variant`` and ``first_at`` of the first exposure
    (ties by ``seq``), ``variants_seen`` (distinct variants logged)."""
    ev = events.filter(
        events.event == EXPOSURE_EVENT,
        events.event_time >= ibis.literal(window.start),
        events.event_time < ibis.literal(window.end),
    )
    dialect = ctx.facts.dialect
    ev = ev.select(
        "person_id",
        "event_time",
        "seq",
        experiment=dialect.json_text(ev.properties, "experiment"),
        variant=ibis.coalesce(dialect.json_text(ev.properties, "variant"), _NO_VARIANT),
    )
    ev = ev.filter(ev.experiment == key)
    order = ibis.row_number().over(group_by="person_id", order_by=["event_time", "seq"])
    ranked = ev.mutate(rank=order)
    first = ranked.filter(ranked.rank == 0).select("person_id", "variant", first_at="event_time")
    seen = ev.group_by("person_id").aggregate(variants_seen=ev.variant.nunique())
    joined = first.join(seen, "person_id")
    return joined.select("person_id", "variant", "first_at", "variants_seen")


def per_person(
    ctx: Context, definition: Definition, exposed: ir.Table, events: ir.Table, window: _Window
) -> ir.Table:
    """Exposed persons with ``day`` (local day number of the first exposure),
    ``assigned`` (the variant the hash gives) and per metric ``i``: ``y{i}`` (the
    value after exposure) and ``x{i}`` (before, CUPED metrics only), 0 when none."""
    anchor = with_variant(exposed, definition.key, definition.variants)
    anchor = anchor.mutate(day=day_of(anchor.first_at, ctx.tz))
    base = anchor
    # Windows read the anchor, not the growing join: each metric adds one join, not a copy
    # of all the previous ones.
    for i, metric in enumerate(definition.metrics):
        rows = _metric_rows(ctx, metric, events, window.horizon)
        span = ibis.interval(days=metric.days)
        first = anchor.first_at
        after = _window_value(anchor, rows, metric, f"y{i}", lo=first, hi=first + span)
        base = _attach(base, after, f"y{i}")
        if metric.cuped:
            before = _window_value(anchor, rows, metric, f"x{i}", lo=first - span, hi=first)
            base = _attach(base, before, f"x{i}")
    return base


def _metric_rows(ctx: Context, metric: Metric, events: ir.Table, horizon: datetime) -> ir.Table:
    """``person_id, at, value``: the records a metric counts (value 1 or the amount), from
    the orders paid before ``horizon`` or from ``events`` (`relevant_events`)."""
    if metric.source == "orders":
        orders = counted_orders(ctx.facts.orders, OrdersConfig(), horizon)
        if metric.how() == "sum":
            value: ir.FloatingValue = orders.net_fen.cast("float64")
        else:
            orders = orders.filter(~orders.refunded)
            value = ibis.literal(1.0)
        return orders.select("person_id", at=orders.paid_at, value=value)
    ev = events.filter(events.event == metric.event)
    dialect = ctx.facts.dialect
    for name, wanted in metric.where.items():
        ev = ev.filter(_matches(ctx, ev.properties, name, wanted))
    if metric.how() == "sum":
        assert metric.property is not None
        value = ibis.coalesce(dialect.json_number(ev.properties, metric.property), 0.0)
    else:
        value = ibis.literal(1.0)
    return ev.select("person_id", at=ev.event_time, value=value)


def _matches(ctx: Context, doc: ir.StringValue, name: str, wanted: Any) -> ir.BooleanValue:
    """Whether property ``name`` equals ``wanted`` (or one of a list): strings as text,
    numbers as numbers (1 matches 1.0), booleans as ``true``/``false``."""
    dialect = ctx.facts.dialect
    values = wanted if isinstance(wanted, list) else [wanted]
    texts = [v for v in values if isinstance(v, str)]
    texts += ["true" if v else "false" for v in values if isinstance(v, bool)]
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    tests: list[ir.BooleanValue] = []
    if texts:
        tests.append(dialect.json_text(doc, name).isin(texts))
    if numbers:
        tests.append(dialect.json_number(doc, name).isin(numbers))
    test = tests[0] if len(tests) == 1 else tests[0] | tests[1]
    matched: ir.BooleanValue = ibis.coalesce(test, False)
    return matched


def _window_value(
    base: ir.Table,
    rows: ir.Table,
    metric: Metric,
    name: str,
    *,
    lo: ir.TimestampValue,
    hi: ir.TimestampValue,
) -> ir.Table:
    """Per exposed person with records in [lo, hi): ``name`` = 1 (conversion) or the sum."""
    bounded = base.select("person_id", lo=lo, hi=hi)
    joined = bounded.join(rows, "person_id")
    inside = joined.filter(joined.at >= joined.lo, joined.at < joined.hi)
    value = inside.value.max() if metric.kind == "conversion" else inside.value.sum()
    return inside.group_by("person_id").aggregate(**{name: value})


def _attach(base: ir.Table, values: ir.Table, name: str) -> ir.Table:
    renamed = values.rename(_pid="person_id")
    joined = base.left_join(renamed, base.person_id == renamed._pid)
    return joined.drop("_pid").mutate(**{name: ibis.coalesce(joined[name], 0.0)})


def _aggregate(table: ir.Table, definition: Definition, window: _Window) -> pd.DataFrame:
    """Per (logged variant, exposure day): persons, quality counts and metric sums."""
    sums: dict[str, ir.Value] = {
        "n": table.count(),
        "mismatched": (table.variant != table.assigned).cast("int64").sum(),
        "multiple": (table.variants_seen > 1).cast("int64").sum(),
    }
    for i, metric in enumerate(definition.metrics):
        y = table[f"y{i}"].cast("float64")
        sums[f"sy{i}"] = y.sum()
        sums[f"syy{i}"] = (y * y).sum()
        if metric.cuped:
            x = table[f"x{i}"].cast("float64")
            sums[f"sx{i}"] = x.sum()
            sums[f"sxx{i}"] = (x * x).sum()
            sums[f"sxy{i}"] = (x * y).sum()
        cutoff = window.horizon - timedelta(days=metric.days)
        sums[f"full{i}"] = (table.first_at < ibis.literal(cutoff)).cast("int64").sum()
    frame: pd.DataFrame = table.group_by(["variant", "day"]).aggregate(**sums).execute()
    return frame


@dataclass(frozen=True)
class _Cells:
    """The aggregate as arrays (variant x day) in definition order, plus what was left out."""

    days: list[date]
    arrays: dict[str, np.ndarray]
    unknown: dict[str, int]


def _cells(frame: pd.DataFrame, definition: Definition) -> _Cells:
    keys = [v.key for v in definition.variants]
    known = frame[frame.variant.isin(keys)]
    unknown = frame[~frame.variant.isin(keys)].groupby("variant")["n"].sum()
    if known.empty:
        day_numbers = np.zeros(0, dtype=np.int64)
    else:
        day_numbers = np.arange(int(known.day.min()), int(known.day.max()) + 1)
    columns = [c for c in frame.columns if c not in ("variant", "day")]
    arrays = {c: np.zeros((len(keys), len(day_numbers))) for c in columns}
    if len(day_numbers):
        rows = known.variant.map({k: i for i, k in enumerate(keys)}).to_numpy()
        cols = known.day.to_numpy(dtype=np.int64) - int(day_numbers[0])
        for c in columns:
            arrays[c][rows, cols] = known[c].to_numpy(dtype=np.float64, na_value=0.0)
    days = [_EPOCH + timedelta(days=int(d)) for d in day_numbers]
    return _Cells(days, arrays, {str(k): int(v) for k, v in unknown.items()})


def _moments(cells: _Cells, i: int) -> st.Moments:
    a = cells.arrays
    zeros = np.zeros_like(a["n"])
    return st.Moments(
        n=a["n"],
        sum_y=a[f"sy{i}"],
        sum_y2=a[f"syy{i}"],
        sum_x=a.get(f"sx{i}", zeros),
        sum_x2=a.get(f"sxx{i}", zeros),
        sum_xy=a.get(f"sxy{i}", zeros),
    )


def _shape(
    ctx: Context, definition: Definition, stored: dict[str, Any], cells: _Cells
) -> dict[str, Any]:
    persons = cells.arrays["n"].sum(axis=1)
    warnings: list[str] = []
    exposures = exposure_block(definition, cells, persons, warnings)
    metrics = []
    for i, metric in enumerate(definition.metrics):
        if metric.event and metric.event not in ctx.known_events:
            warnings.append(
                f"metric {metric.key!r}: no event {metric.event!r} has been received; "
                "its values are all 0 (check the name)"
            )
        moments = _moments(cells, i).total(axis=1)
        full = cells.arrays[f"full{i}"].sum(axis=1)
        metrics.append(metric_block(definition, metric, moments, full, warnings))
    primary = next(
        i for i, m in enumerate(definition.metrics) if m.key == definition.primary_metric
    )
    series = series_block(
        definition,
        definition.metrics[primary],
        _moments(cells, primary).cumulative(axis=1),
        cells.days,
    )
    return {
        "experiment": {
            "key": definition.key,
            "name": definition.name,
            "status": stored["status"],
            "started_at": stored["started_at"],
            "stopped_at": stored["stopped_at"],
            "control": definition.control,
            "primary": definition.primary_metric,
            "confidence": definition.confidence,
            "variants": [{"key": v.key, "weight": v.weight} for v in definition.variants],
        },
        "exposures": exposures,
        "metrics": metrics,
        "series": series,
        "warnings": warnings,
    }


def exposure_block(
    definition: Definition, cells: _Cells, persons: np.ndarray, warnings: list[str]
) -> dict[str, Any]:
    """Exposed persons per variant, the sample-ratio test and the data-quality counts."""
    weights = [v.weight for v in definition.variants]
    total = float(persons.sum())
    srm = st.sample_ratio(persons.tolist(), weights)
    mismatched = int(cells.arrays["mismatched"].sum())
    multiple = int(cells.arrays["multiple"].sum())
    unknown = sum(cells.unknown.values())
    if not total:
        warnings.append(
            "no exposures yet: assign persons (`siyu experiment assign`) or send "
            f"{EXPOSURE_EVENT} events"
        )
    if srm.mismatch:
        warnings.append(
            f"sample ratio mismatch (p={srm.p_value:.2g} < {st.SRM_THRESHOLD}): the persons do "
            "not split as the weights say; find the cause (exposures lost or logged twice, "
            "bots, a redirect) before trusting the results"
        )
    if mismatched:
        warnings.append(
            f"{mismatched} persons logged a variant that the hash of their person id does not "
            "give (assigned by another id in the client, or persons merged after exposure)"
        )
    if multiple:
        warnings.append(
            f"{multiple} persons were exposed to more than one variant; each "
            "counts in the variant of their first exposure"
        )
    if unknown:
        names = ", ".join(sorted(cells.unknown))
        warnings.append(
            f"{unknown} persons were first exposed to variants not in the "
            f"definition ({names}); they are left out"
        )
    return {
        "persons": int(total),
        "variants": [
            {
                "variant": v.key,
                "persons": int(persons[j]),
                "share": persons[j] / total if total else None,
                "expected_share": v.weight / sum(weights),
            }
            for j, v in enumerate(definition.variants)
        ],
        "srm": {
            "chi2": srm.chi2,
            "p_value": srm.p_value,
            "threshold": st.SRM_THRESHOLD,
            "mismatch": srm.mismatch,
        },
        "hash_mismatches": mismatched,
        "multiple_variants": multiple,
        "unknown_variants": cells.unknown,
        "first_day": cells.days[0] if cells.days else None,
        "last_day": cells.days[-1] if cells.days else None,
    }


def _compare(
    metric: Metric, m: st.Moments, confidence: float, cuped: st.Cuped | None
) -> st.Comparison:
    """Each treatment (index 1..) against the control (0), along the variant axis."""
    if cuped is not None:
        means, variances = cuped.means, cuped.variances
        return st.compare_means(
            means[0], variances[0], m.n[0], means[1:], variances[1:], m.n[1:], confidence
        )
    if metric.kind == "conversion":
        return st.compare_proportions(m.sum_y[0], m.n[0], m.sum_y[1:], m.n[1:], confidence)
    mean, var = m.mean, m.var
    return st.compare_means(mean[0], var[0], m.n[0], mean[1:], var[1:], m.n[1:], confidence)


def metric_block(
    definition: Definition,
    metric: Metric,
    m: st.Moments,
    full: np.ndarray,
    warnings: list[str],
) -> dict[str, Any]:
    """Per variant: persons, value, and against the control the lift with its intervals,
    p-values (raw and Holm), P(beat), expected loss and a sentence."""
    confidence = definition.confidence
    adjusted = st.cuped(m) if metric.cuped else None
    raw = _compare(metric, m, confidence, None)
    head = _compare(metric, m, confidence, adjusted) if adjusted is not None else raw
    p_holm, reject = st.holm(head.p_value, 1 - confidence)
    higher = metric.direction == "increase"
    if metric.kind == "conversion":
        bayes = st.beta_binomial(m.sum_y, m.n, higher_is_better=higher)
    else:
        means = adjusted.means if adjusted is not None else m.mean
        variances = adjusted.variances if adjusted is not None else m.var
        bayes = st.normal_posterior(means, variances, m.n, higher_is_better=higher)
    opened = int((m.n - full).sum())
    if opened:
        warnings.append(
            f"metric {metric.key!r}: {opened} persons were exposed less than {metric.days} "
            "days ago; their windows are still open"
        )
    rows: list[dict[str, Any]] = []
    for j, variant in enumerate(definition.variants):
        row: dict[str, Any] = {
            "variant": variant.key,
            "control": j == 0,
            "persons": int(m.n[j]),
            "value": m.mean[j],
            "full_window": int(full[j]),
            # Best of all only means something once every variant has persons.
            "p_best": bayes.p_best[j] if m.n.all() else None,
        }
        if metric.kind == "conversion":
            row["conversions"] = int(m.sum_y[j])
        else:
            row["std"] = float(np.sqrt(m.var[j]))
        if adjusted is not None:
            row["adjusted_value"] = adjusted.means[j]
        if j:
            t = j - 1
            row.update(_lift(head, t))
            row.update(
                p_value=head.p_value[t],
                p_value_holm=p_holm[t],
                significant=bool(reject[t]),
                p_beat=bayes.p_beat[j],
                expected_loss=bayes.expected_loss[j],
            )
            if adjusted is not None:
                row["unadjusted"] = {**_lift(raw, t), "p_value": raw.p_value[t]}
            row["verdict"] = verdict(definition, metric, row, holm=len(rows) > 1 or j > 1)
        rows.append(row)
    method = "two-proportion z-test" if metric.kind == "conversion" else "Welch t-test"
    return {
        "key": metric.key,
        "kind": metric.kind,
        "source": metric.source,
        "event": metric.event,
        "aggregate": metric.how(),
        "days": metric.days,
        "direction": metric.direction,
        "primary": metric.key == definition.primary_metric,
        "method": "Welch t-test on CUPED-adjusted values" if adjusted is not None else method,
        "cuped": None
        if adjusted is None
        else {"theta": adjusted.theta, "variance_reduction": adjusted.variance_reduction},
        "variants": rows,
    }


def _lift(c: st.Comparison, t: int) -> dict[str, Any]:
    return {
        "absolute": {"lift": c.absolute[t], "low": c.absolute_low[t], "high": c.absolute_high[t]},
        "relative": {"lift": c.relative[t], "low": c.relative_low[t], "high": c.relative_high[t]},
    }


def verdict(definition: Definition, metric: Metric, row: dict[str, Any], *, holm: bool) -> str:
    """``b beats control: +12.3% (95% CI +4.1% .. +20.5%), p=0.003, P(beat)=99.8%``."""
    relative, absolute = row["relative"], row["absolute"]
    use = relative if np.isfinite(relative["lift"]) else absolute
    if not np.isfinite(use["lift"]):
        return f"{row['variant']} vs {definition.control}: no persons to compare yet"
    numbers = (use["lift"], use["low"], use["high"])
    if use is relative:
        lift, low, high = (f"{v:+.1%}" for v in numbers)
    elif metric.kind == "conversion":
        lift, low, high = (f"{v * 100:+.1f} pp" for v in numbers)
    else:
        lift, low, high = (f"{v:+.4g}" for v in numbers)
    better = (use["lift"] > 0) == (metric.direction == "increase")
    p = row["p_value_holm"] if holm else row["p_value"]
    p_text = "p<0.001" if p < 0.001 else f"p={p:.3f}"
    if holm:
        p_text += " (Holm)"
    interval = f"({definition.confidence:.0%} CI {low} .. {high})"
    odds = f"P(beat)={row['p_beat']:.1%}"
    if row["significant"]:
        word = "beats" if better else "loses to"
        return f"{row['variant']} {word} {definition.control}: {lift} {interval}, {p_text}, {odds}"
    return (
        f"{row['variant']} vs {definition.control}: {lift} {interval}, {p_text}, {odds} — "
        "not significant"
    )


def series_block(
    definition: Definition, metric: Metric, cumulative: st.Moments, days: list[date]
) -> dict[str, Any]:
    """The primary metric per variant as of each exposure day (persons exposed up to
    that day, with the lift against the control and its interval) for a line chart."""
    if not days:
        return {"metric": metric.key, "days": [], "variants": []}
    adjusted = st.cuped(cumulative) if metric.cuped else None
    c = _compare(metric, cumulative, definition.confidence, adjusted)
    values = adjusted.means if adjusted is not None else cumulative.mean
    out = []
    for j, variant in enumerate(definition.variants):
        entry: dict[str, Any] = {
            "variant": variant.key,
            "persons": cumulative.n[j].astype(np.int64).tolist(),
            "value": values[j].tolist(),
        }
        if j:
            entry.update(
                relative=c.relative[j - 1].tolist(),
                low=c.relative_low[j - 1].tolist(),
                high=c.relative_high[j - 1].tolist(),
                p_value=c.p_value[j - 1].tolist(),
            )
        out.append(entry)
    return {"metric": metric.key, "days": days, "variants": out}


def _stored(ctx: Context, key: str) -> dict[str, Any]:
    table = ctx.table("experiments")
    rows: list[dict[str, Any]] = table.filter(table.key == key).to_pyarrow().to_pylist()
    if not rows:
        keys = [str(k) for k in table.select("key").to_pyarrow()["key"].to_pylist()]
        close = difflib.get_close_matches(key, keys, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise NotFound(f"no experiment {key!r}{hint} (`siyu experiment list` shows them)")
    row = rows[0]
    for column in ("started_at", "stopped_at"):
        moment = row[column]
        if moment is not None and moment.tzinfo is not None:  # Spark reads Parquet as UTC
            row[column] = moment.astimezone(UTC).replace(tzinfo=None)
    return row
