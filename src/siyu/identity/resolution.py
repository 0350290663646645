"""Events and orders with their ``person_id``, as Ibis expressions (any backend).

An event's person is the person of its actor — the identity of its ``node`` row
(``sub`` 0) in ``identity_links``. Resolution records that identity on the record itself
(``actor``: the identity's ``node_order``, which never changes); the person is looked up
in the ``identities`` map at query time, so a merge, split or unbind re-attributes
history at once. The lookup is one integer probe into ``identities`` (a few million rows
at most), not a join of every event with every node row (`BENCHMARKS.md`, "Identity on
the record").
"""

from __future__ import annotations

import ibis.expr.types as ir


def actors(identities: ir.Table) -> ir.Table:
    """``actor_key`` -> ``person_id``: the person of every identity, keyed as records'
    ``actor`` column names it."""
    return identities.select(actor_key=identities.node_order, person_id=identities.person_id)


def events_with_person(events: ir.Table, identities: ir.Table) -> ir.Table:
    """``events`` plus ``person_id`` (null for records without ids, e.g. ``item_set``, and
    for records not resolved yet)."""
    who = actors(identities)
    joined = events.left_join(who, events.actor == who.actor_key)
    return joined.drop("actor_key")


def orders_with_person(orders: ir.Table, identities: ir.Table) -> ir.Table:
    """``orders`` plus the buyer's ``person_id``."""
    who = actors(identities)
    joined = orders.left_join(who, orders.actor == who.actor_key)
    return joined.drop("actor_key")
