"""Attribution (归因): which channels, campaigns, scenes or content brought the conversions.

A conversion is a counted order (``conversion: orders``: paid, not fully refunded;
revenue is the amount net of refunds) or an event (``$SignUp``, ``$AppInstall`` ...).
Its touches are the events of the same person carrying a value of the touch dimension
(`siyu.analytics.touches`) from ``lookback`` before the conversion up to its moment,
ordered by (time, seq). Each model splits the conversion — and its revenue — over them:

- ``first``: all to the first touch; ``last``: all to the last touch;
- ``linear``: equal shares;
- ``time_decay``: shares proportional to ``2^(-age / half_life)``, age counted back from
  the conversion (default half-life 7 days);
- ``position``: 40% first, 40% last, 20% spread over the middle (one touch: 100%; two:
  50/50).

Conversions without any touch in the lookback go to ``(direct)``, so every model hands
out exactly the number of conversions. Costs entered with ``costs.add`` give cost, CAC
(cost per attributed *first* conversion: a person's first order, or first event of that
name) and ROI = (revenue - cost) / cost. See docs/analytics-attribution.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from pydantic import Field, model_validator

from siyu.analytics.costs import costs_by_key
from siyu.analytics.request import AnalysisRequest, parse_window
from siyu.analytics.scope import (
    Context,
    check_event,
    check_segment,
    local_range,
    only_segment,
    utc_bounds,
)
from siyu.analytics.touches import (
    CONTENT_EVENTS,
    REFERRAL_PREFIXES,
    actors_of,
    labels_for,
    touches,
    with_person,
)
from siyu.segments.dialect import PROPERTY_KEY
from siyu.segments.models.activity import stack
from siyu.segments.models.config import DEFAULT_CONFIG
from siyu.storage.temp import temp_tables

MODELS: Final = ("first", "last", "linear", "time_decay", "position")
Model = Literal["first", "last", "linear", "time_decay", "position"]
Touch = Literal["channel", "campaign", "scene", "content"]
#: Label of conversions without a touch in the lookback.
DIRECT: Final = "(direct)"
#: Label of the touch values beyond ``top``, summed.
OTHER: Final = "(other)"
#: Conversions of ``orders`` are the order table's counted orders.
ORDERS: Final = "orders"
#: Days analysed when the request gives no ``from``.
DEFAULT_DAYS: Final = 30
_LN2: Final = math.log(2.0)


class Request(AnalysisRequest):
    """An attribution question; ``from``/``to`` select the conversions (local days)."""

    conversion: str = Field(default=ORDERS, min_length=1, max_length=100)
    touch: Touch = "channel"
    model: Model | None = None
    models: list[Model] | None = Field(default=None, min_length=1, max_length=len(MODELS))
    lookback: str | int = "30d"
    half_life: str | int = "7d"
    content_events: list[str] | None = Field(default=None, min_length=1, max_length=20)
    value_property: str | None = None
    top: int = Field(default=30, ge=1, le=200)
    referral_prefixes: list[str] = Field(
        default_factory=lambda: list(REFERRAL_PREFIXES), max_length=10
    )

    @model_validator(mode="after")
    def _consistent(self) -> Request:
        if self.model is not None and self.models is not None:
            raise ValueError("give model (one) or models (several), not both")
        if self.models is not None and len(set(self.models)) != len(self.models):
            raise ValueError(f"models {self.models} name a model twice; list each once")
        if self.value_property is not None:
            if self.conversion == ORDERS:
                raise ValueError(
                    "value_property is for event conversions; orders carry their net amount"
                )
            if not PROPERTY_KEY.match(self.value_property):
                raise ValueError(f"value_property {self.value_property!r} is not a property name")
        if self.content_events is not None and self.touch != "content":
            raise ValueError("content_events applies to touch 'content' only")
        for prefix in self.referral_prefixes:
            if not prefix.strip() or len(prefix) > 32:
                raise ValueError(f"referral prefix {prefix!r}: use 1 to 32 characters")
        parse_window(self.lookback, "lookback")
        parse_window(self.half_life, "half_life")
        return self

    @property
    def chosen(self) -> list[str]:
        """The models asked for, in the order given (``last`` when none)."""
        if self.models is not None:
            return list(self.models)
        return [self.model or "last"]


def analyse(ctx: Context, request: Request) -> dict[str, Any]:
    """Conversions in the range attributed to touch values by each model asked for."""
    models = request.chosen
    lookback = parse_window(request.lookback, "lookback")
    half_life = parse_window(request.half_life, "half_life")
    if request.conversion != ORDERS:
        check_event(ctx, request.conversion, "conversion")
    content_events: Sequence[str] = CONTENT_EVENTS
    if request.content_events is not None:
        content_events = [
            check_event(ctx, e, f"content_events.{n}") for n, e in enumerate(request.content_events)
        ]
    if request.segment is not None:
        check_segment(ctx, request.segment)
    first_day, last_day = local_range(
        ctx, request.date_from, request.date_to, default_days=DEFAULT_DAYS
    )
    start, end = utc_bounds(ctx, first_day, last_day)

    who = actors_of(ctx)
    conv = only_segment(conversions(ctx, request, end, who), ctx, request.segment)
    conv = conv.filter(conv.conv_time >= start)
    events = ctx.table("events")
    events = events.filter(
        events.event_time >= start - timedelta(seconds=lookback), events.event_time < end
    )
    tp = touches(
        events,
        request.touch,
        dialect=ctx.facts.dialect,
        actors=who,
        channels=ctx.table("channels"),
        content_events=content_events,
        referral_prefixes=request.referral_prefixes,
    )
    # Materialised first: joined to conversions before their person is known, the
    # engine may pair every conversion with every touch in time before matching persons.
    with temp_tables(ibis.get_backend(events)) as temp:
        conv = temp.materialise(conv, "conversions")
        tp = temp.materialise(tp, "touches")
        shares = attributed(conv, tp, lookback=lookback, half_life=half_life, models=models)
        per_value = _per_value(shares, models).to_pyarrow().to_pylist()
        total = (
            conv.aggregate(
                conversions=conv.conv_id.count(),
                revenue=conv.revenue.sum(),
                firsts=conv.is_first.cast(dt.int64).sum(),
            )
            .to_pyarrow()
            .to_pylist()[0]
        )

    costs = costs_by_key(ctx, request.touch, first_day, last_day)
    revenue_known = request.conversion == ORDERS or request.value_property is not None
    rows = _rows(per_value, costs, models, revenue_known)
    rows = _top(rows, request.top, models, revenue_known)
    labels = labels_for(ctx, request.touch, [r["value"] for r in rows], request.referral_prefixes)
    for row in rows:
        row["label"] = labels.get(row["value"], row["value"])
    conversions_total = int(total["conversions"] or 0)
    revenue_total = float(total["revenue"] or 0) if revenue_known else None
    cost_total = sum(costs.values()) if costs else None
    return {
        "conversion": request.conversion,
        "touch": request.touch,
        "models": models,
        "lookback_seconds": lookback,
        "half_life_seconds": half_life if "time_decay" in models else None,
        "from": first_day,
        "to": last_day,
        "segment": request.segment,
        "totals": {
            "conversions": conversions_total,
            "revenue_fen": revenue_total,
            "first_conversions": int(total["firsts"] or 0),
            "direct": next((r["touched"] for r in rows if r["value"] == DIRECT), 0),
            "cost_fen": cost_total,
            "roi": _ratio(revenue_total - cost_total, cost_total)
            if revenue_total is not None and cost_total
            else None,
            "by_model": {
                m: {
                    "conversions": _round(sum(r["models"][m]["conversions"] for r in rows)),
                    "revenue_fen": _round(sum(r["models"][m]["revenue_fen"] or 0 for r in rows), 2)
                    if revenue_known
                    else None,
                }
                for m in models
            },
        },
        "rows": rows,
        "chart": {
            "categories": [r["value"] for r in rows],
            "labels": [r["label"] for r in rows],
            "series": [
                {"model": m, "conversions": [r["models"][m]["conversions"] for r in rows]}
                for m in models
            ],
        },
    }


def conversions(ctx: Context, request: Request, end: datetime, who: ir.Table) -> ir.Table:
    """conv_id, person_id, conv_time, revenue, is_first: every conversion before ``end``
    (event conversions joined to their person through ``who``, `touches.actors_of`).

    ``is_first`` marks a person's first conversion ever (first counted order, or first
    event of that name): attributed firsts are the new customers CAC divides by.
    """
    if request.conversion == ORDERS:
        base = _orders(ctx, end)
    else:
        raw = ctx.table("events")
        raw = raw.filter(raw.event == request.conversion, raw.event_time < end)
        ev = with_person(raw, who)
        value: ir.FloatingValue = (
            ctx.facts.dialect.json_number(ev.properties, request.value_property)
            if request.value_property
            else ibis.literal(None, type=dt.float64)
        )
        base = ev.select(
            conv_id=ev.event_id,
            person_id=ev.person_id,
            conv_time=ev.event_time,
            conv_seq=ev.seq,
            revenue=ibis.coalesce(value, 0.0) if request.value_property else value,
        )
    order = ibis.window(group_by="person_id", order_by=[base.conv_time, base.conv_seq])
    ranked = base.mutate(is_first=ibis.row_number().over(order) == 0)
    return ranked.drop("conv_seq")


def _orders(ctx: Context, end: datetime) -> ir.Table:
    """Counted, not fully refunded orders as conversions (revenue: net fen): the rules of
    `siyu.segments.models.activity.net_orders`, keeping each order's id."""
    orders = ctx.facts.orders
    status = orders.status.lower()
    refund = ibis.coalesce(orders.refund_fen, 0)
    rules = DEFAULT_CONFIG.orders
    unpaid = ibis.coalesce(status.isin(rules.unpaid_statuses), False)
    refunded = ibis.coalesce(status.isin(rules.refunded_statuses), False) | (
        (refund > 0) & (refund >= orders.amount_fen)
    )
    kept = orders.filter(orders.person_id.notnull(), orders.paid_at < end, ~unpaid, ~refunded)
    return kept.select(
        conv_id=kept.order_id,
        person_id=kept.person_id,
        conv_time=kept.paid_at,
        conv_seq=ibis.coalesce(kept.seq, 0),
        revenue=(kept.amount_fen - ibis.coalesce(kept.refund_fen, 0)).cast(dt.float64),
    )


def attributed(
    conv: ir.Table, tp: ir.Table, *, lookback: int, half_life: int, models: Sequence[str]
) -> ir.Table:
    """conv_id, value, revenue, is_first and one weight column per model (``w_<model>``):
    each conversion's share per touch, plus a `DIRECT` row for conversions without one.

    The weights of one conversion sum to 1 in every model.
    """
    window_start = conv.conv_time - ibis.interval(seconds=lookback)
    pairs = conv.join(
        tp,
        [
            conv.person_id == tp.person_id,
            tp.touch_time <= conv.conv_time,
            tp.touch_time >= window_start,
        ],
    ).select(
        conv.conv_id,
        conv.conv_time,
        conv.revenue,
        conv.is_first,
        tp.value,
        tp.touch_time,
        tp.touch_seq,
    )
    joined = pairs
    whole = ibis.window(group_by="conv_id")
    ordered = ibis.window(group_by="conv_id", order_by=[joined.touch_time, joined.touch_seq])
    age = _seconds(joined.conv_time) - _seconds(joined.touch_time)
    joined = joined.mutate(
        n=joined.conv_id.count().over(whole),
        pos=ibis.row_number().over(ordered),
        age=age,
    )
    joined = joined.mutate(youngest=joined.age.min().over(whole))
    # Relative to the newest touch, so old touches cannot underflow every weight to 0.
    joined = joined.mutate(decay=((joined.youngest - joined.age) * (_LN2 / half_life)).exp())
    joined = joined.mutate(decay_sum=joined.decay.sum().over(whole))
    weights = {f"w_{m}": _weight(joined, m) for m in models}
    shares = joined.select("conv_id", "value", "revenue", "is_first", **weights)
    direct = conv.anti_join(pairs, conv.conv_id == pairs.conv_id)
    direct = direct.select(
        "conv_id",
        value=ibis.literal(DIRECT, type=dt.string),
        revenue=direct.revenue,
        is_first=direct.is_first,
        **{f"w_{m}": ibis.literal(1.0, type=dt.float64) for m in models},
    )
    return stack(shares, direct)


def _weight(t: ir.Table, model: str) -> ir.FloatingValue:
    """The share of the touch at (0-based) ``pos`` of ``n`` under ``model``."""
    n = t.n.cast(dt.float64)
    one, zero = ibis.literal(1.0), ibis.literal(0.0)
    if model == "first":
        weight = ibis.cases((t.pos == 0, one), else_=zero)
    elif model == "last":
        weight = ibis.cases((t.pos == t.n - 1, one), else_=zero)
    elif model == "linear":
        weight = one / n
    elif model == "time_decay":
        weight = t.decay / t.decay_sum
    elif model == "position":
        ends = (t.pos == 0) | (t.pos == t.n - 1)
        weight = ibis.cases(
            (t.n == 1, one),
            (t.n == 2, ibis.literal(0.5)),
            (ends, ibis.literal(0.4)),
            else_=ibis.literal(0.2) / (n - 2.0),
        )
    else:
        raise ValueError(f"unknown attribution model {model!r}")
    result: ir.FloatingValue = weight.cast(dt.float64)
    return result


def _seconds(ts: ir.TimestampValue) -> ir.IntegerValue:
    value: ir.IntegerValue = ts.truncate("s").epoch_seconds().cast(dt.int64)
    return value


def _per_value(shares: ir.Table, models: Sequence[str]) -> ir.Table:
    """Per touch value: conversions touched and, per model, conversions, revenue, firsts."""
    first = shares.is_first.cast(dt.float64)
    metrics: dict[str, ir.Value] = {"touched": shares.conv_id.nunique()}
    for m in models:
        w = shares[f"w_{m}"]
        metrics[f"{m}__conversions"] = w.sum()
        metrics[f"{m}__revenue"] = (w * shares.revenue).sum()
        metrics[f"{m}__firsts"] = (w * first).sum()
    return shares.group_by("value").aggregate(**metrics)


def _rows(
    per_value: list[dict[str, Any]],
    costs: dict[str, float],
    models: Sequence[str],
    revenue_known: bool,
) -> list[dict[str, Any]]:
    """Result rows: every value with a share or a cost, largest first (`DIRECT` last)."""
    by_value = {str(r["value"]): r for r in per_value}
    for key in costs:
        by_value.setdefault(key, {"value": key, "touched": 0})
    rows = [
        _row(value, r, costs.get(value), models, revenue_known) for value, r in by_value.items()
    ]
    lead = models[0]
    rows.sort(key=lambda r: (r["value"] == DIRECT, -r["models"][lead]["conversions"], r["value"]))
    return rows


def _row(
    value: str,
    r: dict[str, Any],
    cost: float | None,
    models: Sequence[str],
    revenue_known: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value, "touched": int(r.get("touched") or 0), "cost_fen": cost}
    out["models"] = {
        m: _metrics(
            float(r.get(f"{m}__conversions") or 0.0),
            float(r.get(f"{m}__revenue") or 0.0) if revenue_known else None,
            float(r.get(f"{m}__firsts") or 0.0),
            cost,
        )
        for m in models
    }
    return out


def _metrics(
    conversions: float, revenue: float | None, firsts: float, cost: float | None
) -> dict[str, Any]:
    return {
        "conversions": _round(conversions),
        "revenue_fen": None if revenue is None else _round(revenue, 2),
        "first_conversions": _round(firsts),
        "cost_per_conversion_fen": _ratio(cost, conversions) if cost is not None else None,
        "cac_fen": _ratio(cost, firsts) if cost is not None else None,
        "roi": _ratio(revenue - cost, cost) if cost and revenue is not None else None,
    }


def _top(
    rows: list[dict[str, Any]], top: int, models: Sequence[str], revenue_known: bool
) -> list[dict[str, Any]]:
    """The ``top`` values; the rest summed into one `OTHER` row (`DIRECT` always kept)."""
    direct = [r for r in rows if r["value"] == DIRECT]
    ranked = [r for r in rows if r["value"] != DIRECT]
    if len(ranked) <= top:
        return ranked + direct
    kept, rest = ranked[:top], ranked[top:]
    costs = [r["cost_fen"] for r in rest if r["cost_fen"] is not None]
    cost = sum(costs) if costs else None
    other: dict[str, Any] = {
        "value": OTHER,
        "touched": sum(r["touched"] for r in rest),
        "cost_fen": cost,
        "values": len(rest),
        "models": {
            m: _metrics(
                sum(r["models"][m]["conversions"] for r in rest),
                sum(r["models"][m]["revenue_fen"] for r in rest) if revenue_known else None,
                sum(r["models"][m]["first_conversions"] for r in rest),
                cost,
            )
            for m in models
        },
    }
    return [*kept, other, *direct]


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def _round(value: float, digits: int = 6) -> float:
    return round(float(value), digits)
