"""Value tiers (用户价值分层) and roles (用户角色).

Tiers are exclusive, from purchase frequency, spend and recency plus whether the person
is still around; roles are not (a person can be active, paying and a KOC at once), with
``ordinary`` for whoever has none of the others. docs/models.md gives every rule.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from siyu.segments.dialect import Dialect
from siyu.segments.models.activity import (
    counted_orders,
    is_acting,
    net_orders,
    paying_persons,
    stack,
)
from siyu.segments.models.config import DEFAULT_CONFIG, ModelsConfig
from siyu.segments.models.days import end_of, last_days_start

#: Tier code -> (中文, English), best first.
VALUE_TIERS: Final = {
    "loyal": ("忠诚用户", "loyal"),
    "high_quality": ("优质用户", "high quality"),
    "ordinary": ("普通用户", "ordinary"),
    "low_frequency": ("低频用户", "low frequency"),
    "churned": ("流失用户", "churned"),
}
#: Role code -> (中文, English).
ROLES: Final = {
    "ordinary": ("普通用户", "ordinary"),
    "active": ("活跃用户", "active"),
    "paying": ("付费用户", "paying"),
    "ugc_author": ("UGC作者", "UGC author"),
    "koc": ("KOC", "key opinion consumer"),
}


def value_tiers(
    events: ir.Table,
    orders: ir.Table,
    *,
    today: date,
    tz: str = "Asia/Shanghai",
    config: ModelsConfig = DEFAULT_CONFIG,
) -> ir.Table:
    """person_id, value_tier: one row per person with an event or a counted order.

    First match wins: churned (no activity in ``churn_days``), loyal (``loyal_min_orders``
    net orders in the window and one in ``recent_days``), high_quality (as many as
    ``high_quality_min_orders`` or ``high_quality_min_fen`` spent, and a recent one),
    ordinary (a net order in the window), low_frequency (everyone else).
    """
    rules = config.value
    until = end_of(today, tz)
    people = _people(events, orders, today, tz, config)
    window = net_orders(orders, config.orders, until, last_days_start(today, rules.window_days, tz))
    bought = window.group_by(buyer_id=window.person_id).aggregate(
        orders_n=window.count(), spent_fen=window.net_fen.sum(), last_paid=window.paid_at.max()
    )
    joined = people.left_join(bought, people.person_id == bought.buyer_id)
    n = ibis.coalesce(joined.orders_n, 0)
    recent = ibis.coalesce(
        joined.last_paid >= ibis.literal(last_days_start(today, rules.recent_days, tz)), False
    )
    gone = joined.last_active.isnull() | (
        joined.last_active < ibis.literal(last_days_start(today, rules.churn_days, tz))
    )
    valuable = (n >= rules.high_quality_min_orders) | (
        ibis.coalesce(joined.spent_fen, 0) >= rules.high_quality_min_fen
    )
    tier = ibis.cases(
        (gone, "churned"),
        ((n >= rules.loyal_min_orders) & recent, "loyal"),
        (valuable & (n > 0) & recent, "high_quality"),
        (n > 0, "ordinary"),
        else_="low_frequency",
    )
    return joined.select("person_id", value_tier=tier)


def roles(
    events: ir.Table,
    orders: ir.Table,
    items: ir.Table,
    *,
    today: date,
    tz: str = "Asia/Shanghai",
    config: ModelsConfig = DEFAULT_CONFIG,
    dialect: Dialect,
) -> ir.Table:
    """person_id, role: one row per role a person holds; every person with an event or
    a counted order holds at least one.

    active: activity within ``lifecycle.active_days``; paying: as in lifecycle;
    ugc_author: ``ugc_min_events`` content events in the window plus content items
    naming the person as author; koc: at least ``koc_min_referrals`` other persons whose
    referral events name the person; ordinary: none of these.
    """
    rules = config.roles
    until = end_of(today, tz)
    since = last_days_start(today, rules.window_days, tz) if rules.window_days else None
    people = _people(events, orders, today, tz, config, ugc_events=rules.ugc_events, since=since)
    referrals = _referrals(events, until, since, config, dialect)
    authors = _authors(items, config, dialect)
    named = stack(referrals.select(rid=referrals.referrer), authors.select(rid=authors.author))
    owners = _owners(events, named.distinct())
    brought = referrals.join(owners, referrals.referrer == owners.rid)
    brought = brought.filter(brought.owner != brought.referred)
    koc = brought.group_by(koc_id=brought.owner).aggregate(n=brought.referred.nunique())
    koc = koc.filter(koc.n >= rules.koc_min_referrals).select("koc_id")
    wrote = authors.join(owners, authors.author == owners.rid)
    wrote = wrote.group_by(writer_id=wrote.owner).aggregate(pieces=wrote.item.nunique())
    paying = paying_persons(orders, today, tz, config)

    joined = people
    for part, key in ((paying, "paying_id"), (koc, "koc_id"), (wrote, "writer_id")):
        joined = joined.left_join(part, joined.person_id == part[key])
    active_since = last_days_start(today, config.lifecycle.active_days, tz)
    content = joined.ugc + ibis.coalesce(joined.pieces, 0)
    held = {
        "active": ibis.coalesce(joined.last_active >= ibis.literal(active_since), False),
        "paying": joined.paying_id.notnull(),
        "ugc_author": content >= rules.ugc_min_events,
        "koc": joined.koc_id.notnull(),
    }
    anything: ir.BooleanValue = ibis.literal(False)
    for test in held.values():
        anything |= test
    held["ordinary"] = ~anything
    # A union of filters: DuckDB computes ``joined`` once (a CTE) and this is cheaper
    # than unnesting an array of roles per person.
    parts = [
        joined.filter(test).select("person_id", role=ibis.literal(role, type=dt.string))
        for role, test in held.items()
    ]
    return stack(*parts)


def _people(
    events: ir.Table,
    orders: ir.Table,
    today: date,
    tz: str,
    config: ModelsConfig,
    *,
    ugc_events: tuple[str, ...] = (),
    since: datetime | None = None,
) -> ir.Table:
    """person_id, last_active (null: never acted), ugc (content events since ``since``):
    every person with an event or a counted order up to the end of ``today``, in one
    pass over the events."""
    until = end_of(today, tz)
    seen = events.filter(events.event_time < ibis.literal(until))
    acted = ibis.cases((is_acting(seen, config.activity), seen.event_time), else_=None)
    wrote = seen.event.isin(list(ugc_events)) if ugc_events else ibis.literal(False)
    if since is not None:
        wrote &= seen.event_time >= ibis.literal(since)
    paid = counted_orders(orders, config.orders, until)
    rows = stack(
        seen.select("person_id", at=acted, ugc=wrote.cast(dt.int64)),
        paid.select("person_id", at=paid.paid_at, ugc=ibis.literal(0, type=dt.int64)),
    )
    return rows.group_by("person_id").aggregate(last_active=rows.at.max(), ugc=rows.ugc.sum())


def _referrals(
    events: ir.Table,
    until: datetime,
    since: datetime | None,
    config: ModelsConfig,
    dialect: Dialect,
) -> ir.Table:
    """referred, referrer: who arrived through whom, from the referral events.

    The referrer is named under one of ``referrer_keys`` by a user id or anonymous id.
    JSON is parsed only where the text mentions the key: in a projection, because a
    filter would let DuckDB test the text of every event before the event names.
    """
    rules = config.roles
    ref = events.filter(
        events.event.isin(list(rules.referral_events)), events.event_time < ibis.literal(until)
    )
    if since is not None:
        ref = ref.filter(ref.event_time >= ibis.literal(since))
    texts = [
        ibis.cases(
            (ref.properties.contains(f'"{key}"'), dialect.json_text(ref.properties, key)),
            else_=ibis.null(dt.string),
        ).nullif("")
        for key in rules.referrer_keys
    ]
    ref = ref.select(referred=ref.person_id, referrer=ibis.coalesce(*texts))
    return ref.filter(ref.referrer.notnull())


def _authors(items: ir.Table, config: ModelsConfig, dialect: Dialect) -> ir.Table:
    """item, author: content items (not deleted) whose properties name an author id."""
    keys = config.roles.ugc_item_keys
    live = items.filter(~items.deleted)
    texts = [dialect.json_text(live.properties, key).nullif("") for key in keys]
    named = live.select(item=live.item_type.concat(":", live.item_id), author=ibis.coalesce(*texts))
    return named.filter(named.author.notnull())


def _owners(events: ir.Table, named: ir.Table) -> ir.Table:
    """rid, owner: the persons whose events carry one of the ids ``named.rid`` as user id
    or anonymous id (semi-joins: the named ids are few)."""
    by_user = events.semi_join(named, events.user_id == named.rid)
    by_device = events.semi_join(named, events.anonymous_id == named.rid)
    return stack(
        by_user.select(rid=by_user.user_id, owner=by_user.person_id),
        by_device.select(rid=by_device.anonymous_id, owner=by_device.person_id),
    ).distinct()
