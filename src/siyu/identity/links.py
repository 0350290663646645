"""Identity facts from events and orders, as Ibis expressions (the same on every backend).

Every event with at least one identity yields rows of the ``identity_links`` shape, in
replay order ``(seq, sub)``:

* ``sub`` 0, kind ``node``: the event's **actor** — its highest-priority identity. This
  row is also how an event finds its person.
* ``sub`` 1.., kind ``link``: the actor linked to each other identity of the event, in
  priority order, so the strongest ids merge first.
* ``unbind`` events (Sensors ``track_id_unbind``) give kind ``unbind`` rows for the ids in
  their ``identities`` map (their ``user_id`` when the map is empty), and no links.

Ids come from ``user_id`` (``login_id``), ``anonymous_id`` and ``previous_id``
(``anonymous_id``) and the typed ``identities`` map; openids are typed per app
(``mp_openid:<app_id>``). A plain id whose value the map already types (a mini-program
sending its openid as ``distinct_id``, a member id sent as ``userId``) counts once, typed.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from siyu.identity.rules import (
    ANONYMOUS_ID_TYPE,
    PER_APP_TYPES,
    UNDECLARED_PRIORITY,
    USER_ID_TYPE,
    IdentityRules,
)

LINK_COLUMNS = (
    "seq",
    "sub",
    "kind",
    "a_type",
    "a_value",
    "b_type",
    "b_value",
    "origin",
    "ref",
    "seen_at",
)


def event_links(events: ir.Table, rules: IdentityRules) -> ir.Table:
    """The ``identity_links`` rows of ``events``."""
    base = events.select(
        "seq",
        ref=events.event_id,
        seen_at=events.event_time,
        is_unbind=events.type == "unbind",
        app_id=events.app_id,
        identities=events.identities,
        user_id=events.user_id,
        anonymous_id=events.anonymous_id,
        previous_id=events.previous_id,
    )
    plain = [
        _column_nodes(base, base.user_id, USER_ID_TYPE, rules, target_if_no_map=True),
        _column_nodes(base, base.anonymous_id, ANONYMOUS_ID_TYPE, rules),
        _column_nodes(base, base.previous_id, ANONYMOUS_ID_TYPE, rules),
        _map_nodes(base, rules),
    ]
    nodes = ibis.union(*plain, distinct=False)
    return _rank(nodes, rules, "event")


def order_links(orders: ir.Table, rules: IdentityRules) -> ir.Table:
    """The ``identity_links`` rows of ``orders`` (the buyer's ids; no unbinds)."""
    base = orders.select(
        "seq",
        ref=orders.order_id,
        seen_at=orders.paid_at,
        is_unbind=ibis.literal(False),
        app_id=ibis.null("string"),
        identities=orders.identities,
        user_id=orders.user_id,
        member_id=orders.member_id,
    ).filter(ibis._.seq.notnull())
    nodes = ibis.union(
        _column_nodes(base, base.member_id, "member_id", rules),
        _column_nodes(base, base.user_id, USER_ID_TYPE, rules),
        _map_nodes(base, rules),
        distinct=False,
    )
    return _rank(nodes, rules, "order")


def _column_nodes(
    base: ir.Table,
    column: ir.StringColumn,
    id_type: str,
    rules: IdentityRules,
    *,
    target_if_no_map: bool = False,
) -> ir.Table:
    if target_if_no_map:
        # An unbind without an identities map unbinds its user id.
        target = base.is_unbind & (base.identities.isnull() | (base.identities.length() == 0))
    else:
        target = ibis.literal(False)
    # A plain id already typed in the map (an openid sent as userId) is that typed id.
    typed_in_map = base.identities.notnull() & base.identities.values().contains(column)
    return base.filter(column.notnull(), ~typed_in_map).select(
        "seq",
        "ref",
        "seen_at",
        "is_unbind",
        id_type=ibis.literal(id_type),
        id_value=column,
        target=target,
        prio=ibis.literal(rules.rule(id_type).priority, "int16"),
    )


def _map_nodes(base: ir.Table, rules: IdentityRules) -> ir.Table:
    keyed = base.filter(base.identities.notnull()).select(
        "seq",
        "ref",
        "seen_at",
        "is_unbind",
        "app_id",
        "identities",
        key=base.identities.keys().unnest(),
    )
    per_app = keyed.key.isin(sorted(PER_APP_TYPES)) & keyed.app_id.notnull()
    return keyed.select(
        "seq",
        "ref",
        "seen_at",
        "is_unbind",
        id_type=ibis.ifelse(per_app, keyed.key.concat(":", keyed.app_id), keyed.key),
        id_value=keyed.identities.get(keyed.key),
        target=keyed.is_unbind,
        prio=_priority(keyed.key.split(":")[0], rules),
    ).filter(ibis._.id_value.notnull())


def _priority(base: ir.StringValue, rules: IdentityRules) -> ir.IntegerValue:
    """The priority of a base type, computed where ids are collected.

    Computing it inside the ranking window's order (a split and a CASE over every rule
    per comparison key) cost over half of the window's time.
    """
    cases = [(base == name, rule.priority) for name, rule in sorted(rules.rules.items())]
    return ibis.cases(*cases, else_=UNDECLARED_PRIORITY).cast("int16")


def _rank(nodes: ir.Table, rules: IdentityRules, origin: str) -> ir.Table:
    # One row per distinct id of a record; a target of an unbind outranks nothing.
    distinct = nodes.group_by("seq", "id_type", "id_value").aggregate(
        ref=nodes.ref.max(),
        seen_at=nodes.seen_at.max(),
        is_unbind=nodes.is_unbind.max(),
        target=nodes.target.max(),
        prio=nodes.prio.max(),  # one value per type
    )
    order = [
        distinct.target.asc(),
        distinct.prio.desc(),
        distinct.id_type.asc(),
        distinct.id_value.asc(),
    ]
    window = ibis.window(group_by=distinct.seq, order_by=order)
    ranked = distinct.mutate(
        sub=(ibis.row_number().over(window)).cast("int32"),
        a_type=distinct.id_type.first().over(window),
        a_value=distinct.id_value.first().over(window),
    )
    kind = ibis.cases(
        (ranked.target, "unbind"),
        (ranked.sub == 0, "node"),
        (ranked.is_unbind, "skip"),
        else_="link",
    )
    rows = ranked.mutate(kind=kind).filter(ibis._.kind != "skip")
    is_link = rows.kind == "link"
    return rows.select(
        "seq",
        "sub",
        "kind",
        a_type=ibis.ifelse(is_link, rows.a_type, rows.id_type),
        a_value=ibis.ifelse(is_link, rows.a_value, rows.id_value),
        b_type=ibis.ifelse(is_link, rows.id_type, ibis.null("string")),
        b_value=ibis.ifelse(is_link, rows.id_value, ibis.null("string")),
        origin=ibis.literal(origin),
        ref=rows.ref,
        seen_at=rows.seen_at,
    )
