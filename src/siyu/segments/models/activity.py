"""What the models count: the person's own actions and their paid, not refunded orders.

Shared by lifecycle, value tiers and roles so "active" and "paying" mean the same in
each (`ActivityConfig`, `OrdersConfig`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from siyu.segments.models.config import ActivityConfig, ModelsConfig, OrdersConfig
from siyu.segments.models.days import end_of, last_days_start


def matches(column: ir.StringValue, patterns: Sequence[str]) -> ir.BooleanValue:
    """Whether ``column`` is one of ``patterns``; ``name*`` matches a prefix.

    Example:
        >>> str(matches(ibis.literal("profile_set"), ["profile_*"]).execute())
        'True'
    """
    exact = [p for p in patterns if not p.endswith("*")]
    hit: ir.BooleanValue = column.isin(exact) if exact else ibis.literal(False)
    for pattern in patterns:
        if pattern.endswith("*"):
            hit |= column.startswith(pattern[:-1])
    return hit


def stack(first: ir.Table, *rest: ir.Table) -> ir.Table:
    """``UNION ALL`` of tables with the same columns, whatever their nullability (a
    warehouse column may be NOT NULL where a Parquet or temporary copy is not)."""

    def loose(table: ir.Table) -> ir.Table:
        return table.select(
            **{
                name: table[name].cast(kind.copy(nullable=True))
                for name, kind in table.schema().items()
            }
        )

    return loose(first).union(*(loose(t) for t in rest))


def is_acting(events: ir.Table, config: ActivityConfig) -> ir.BooleanValue:
    """Whether an event is the person acting: not of an ignored type or name."""
    ignored = matches(events.type, config.ignored_types) | matches(
        events.event, config.ignored_events
    )
    return ~ignored


def acting_events(events: ir.Table, config: ActivityConfig, until: datetime) -> ir.Table:
    """Events before ``until`` that are the person acting."""
    return events.filter(events.event_time < ibis.literal(until), is_acting(events, config))


def counted_orders(orders: ir.Table, config: OrdersConfig, until: datetime) -> ir.Table:
    """Orders paid before ``until`` that were not left unpaid, with their person.

    Columns: person_id, paid_at, net_fen (amount less refunds), refunded (fully), items.
    """
    kept = orders.filter(
        orders.person_id.notnull(),
        orders.paid_at < ibis.literal(until),
        ~ibis.coalesce(orders.status.lower().isin(config.unpaid_statuses), False),
    )
    status, refund = kept.status.lower(), ibis.coalesce(kept.refund_fen, 0)
    refunded = ibis.coalesce(status.isin(config.refunded_statuses), False) | (
        (refund > 0) & (refund >= kept.amount_fen)
    )
    return kept.select(
        "person_id",
        "paid_at",
        "items",
        net_fen=kept.amount_fen - refund,
        refunded=refunded,
    )


def net_orders(
    orders: ir.Table, config: OrdersConfig, until: datetime, since: datetime | None = None
) -> ir.Table:
    """Counted orders that are not fully refunded, paid in ``[since, until)``."""
    counted = counted_orders(orders, config, until)
    kept = counted.filter(~counted.refunded)
    if since is not None:
        kept = kept.filter(kept.paid_at >= ibis.literal(since))
    return kept


def activity_times(
    events: ir.Table,
    orders: ir.Table,
    *,
    activity: ActivityConfig,
    rules: OrdersConfig,
    until: datetime,
) -> ir.Table:
    """person_id and ``at``: when each acting event happened and each counted order was paid.

    A refunded order still was the person acting, so it counts here.
    """
    acting = acting_events(events, activity, until)
    paid = counted_orders(orders, rules, until)
    return stack(
        acting.select("person_id", at=acting.event_time),
        paid.select("person_id", at=paid.paid_at),
    )


def paying_persons(orders: ir.Table, today: date, tz: str, config: ModelsConfig) -> ir.Table:
    """paying_id: persons with a net order within ``lifecycle.paying_window_days`` (or ever)
    up to the end of ``today`` (付费用户)."""
    window = config.lifecycle.paying_window_days
    since = last_days_start(today, window, tz) if window else None
    paid = net_orders(orders, config.orders, end_of(today, tz), since)
    return paid.select(paying_id=paid.person_id).distinct()
