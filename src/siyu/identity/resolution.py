"""Events and orders with their ``person_id``, as Ibis expressions (any backend).

An event's person is the person of its actor — the ``node`` row (``sub`` 0) of its
``seq`` in ``identity_links`` — looked up in the ``identities`` map. Nothing is written
on the events themselves, so a merge, split or unbind re-attributes them at once.
"""

from __future__ import annotations

import ibis.expr.types as ir


def actors(links: ir.Table, identities: ir.Table) -> ir.Table:
    """``seq`` -> ``person_id`` for every event and order with an actor."""
    nodes = links.filter(links.kind == "node")
    joined = nodes.join(
        identities,
        [
            nodes.a_type == identities.identity_type,
            nodes.a_value == identities.identity_value,
        ],
    )
    return joined.select(actor_seq=joined.seq, person_id=joined.person_id)


def events_with_person(events: ir.Table, links: ir.Table, identities: ir.Table) -> ir.Table:
    """``events`` plus ``person_id`` (null for records without ids, e.g. ``item_set``)."""
    who = actors(links, identities)
    joined = events.left_join(who, events.seq == who.actor_seq)
    return joined.drop("actor_seq")


def orders_with_person(orders: ir.Table, links: ir.Table, identities: ir.Table) -> ir.Table:
    """``orders`` plus the buyer's ``person_id``."""
    who = actors(links, identities)
    joined = orders.left_join(who, orders.seq == who.actor_seq)
    return joined.drop("actor_seq")
