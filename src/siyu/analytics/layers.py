"""Layers at a glance (分层): persons, paying persons and revenue of every lifecycle stage,
RFM class, value tier and role, and the largest interest tags — the sets of the last
`siyu segments compute` against the orders of the last ``days`` local days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import ibis
from pydantic import Field

from siyu.analytics.request import AnalysisRequest
from siyu.analytics.scope import Context, only_segment
from siyu.segments.definition import LIFECYCLE_STAGES, RFM_CLASSES, ROLES, VALUE_TIERS
from siyu.segments.models.activity import counted_orders
from siyu.segments.models.config import DEFAULT_CONFIG

#: Layer -> (set key prefix, the values in display order; empty: by size).
LAYERS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "lifecycle": ("lifecycle:", LIFECYCLE_STAGES),
    "rfm": ("rfm:", RFM_CLASSES),
    "value_tier": ("value:", VALUE_TIERS),
    "role": ("role:", ROLES),
    "interest": ("interest:", ()),
}
TOP_INTERESTS: Final = 20


class Request(AnalysisRequest):
    """``days`` of orders counted as revenue (default 90); ``segment`` narrows persons."""

    days: int = Field(default=90, ge=1, le=3660)


def analyse(ctx: Context, request: Request) -> dict[str, Any]:
    m = ctx.facts.memberships
    prefixes = [prefix for prefix, _ in LAYERS.values()]
    sets = m.filter(ibis.or_(*[m.set_key.startswith(p) for p in prefixes]))
    sets = only_segment(sets, ctx, request.segment)
    until = ctx.facts.day_start(ctx.today + timedelta(days=1))
    since = ctx.facts.day_start(ctx.today - timedelta(days=request.days - 1))
    orders = counted_orders(ctx.facts.orders, DEFAULT_CONFIG.orders, until)
    orders = orders.filter(orders.paid_at >= since, ~orders.refunded)
    spend = orders.group_by("person_id").aggregate(
        revenue_fen=orders.net_fen.sum(), orders=orders.count()
    )
    joined = sets.left_join(spend, sets.person_id == spend.person_id)
    summary = joined.group_by("set_key").aggregate(
        persons=joined.count(),
        paying=joined.revenue_fen.notnull().sum(),
        revenue_fen=ibis.coalesce(joined.revenue_fen.sum(), 0),
        orders=ibis.coalesce(joined.orders.sum(), 0),
    )
    rows = {r["set_key"]: r for r in summary.to_pyarrow().to_pylist()}
    total = int(ctx.facts.persons.count().execute())
    layers: dict[str, list[dict[str, Any]]] = {}
    for layer, (prefix, order) in LAYERS.items():
        found = (
            [{**_row(rows.get(f"{prefix}{v}"), total), "value": v} for v in order]
            if order
            else sorted(
                (
                    {**_row(r, total), "value": k.removeprefix(prefix)}
                    for k, r in rows.items()
                    if k.startswith(prefix)
                ),
                key=lambda r: (-r["persons"], r["value"]),
            )[:TOP_INTERESTS]
        )
        layers[layer] = found
    return {"persons": total, "days": request.days, "layers": layers}


def _row(row: dict[str, Any] | None, total: int) -> dict[str, Any]:
    persons = int(row["persons"]) if row else 0
    revenue = int(row["revenue_fen"]) if row else 0
    return {
        "persons": persons,
        "share": persons / total if total else None,
        "paying": int(row["paying"]) if row else 0,
        "orders": int(row["orders"]) if row else 0,
        "revenue_fen": revenue,
        "revenue_per_person_fen": revenue / persons if persons else None,
    }
