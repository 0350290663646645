"""Invite edges (邀请关系) of referral trees: who brought whom, from the events.

An event of the invitee names the inviter in one of three ways:

- ``invite``: an explicit invite event property (``inviter``, ``inviter_id``,
  ``referrer``, ``invited_by``), e.g. ``invite_accepted {"inviter": "M1033"}``;
- ``share``: a share-chain property (Sensors' ``$share_distinct_id``, ``share_from``)
  on the launch that followed a shared card;
- ``scene``: a QR scene or WeCom ``state`` starting with a referral prefix
  (``poster:<member id>``), on the follow or first launch through the inviter's poster.

The named id (member id, login id, anonymous id, openid ...) is resolved to a person
through the ``identities`` table (a member id first when one value names several).
Edges are then judged in one pass, each gets a ``status``:

- ``unresolved``: no person holds the id; ``self``: the person named themselves;
- ``not_new``: the invitee had been seen more than ``new_within`` before the edge
  (an existing user scanning a poster is not acquired by it);
- ``later``: the invitee already has an earlier valid edge — the earliest wins, by
  (time, seq); ``accepted`` otherwise.

Cycles cannot be judged edge by edge; `siyu.analytics.referral_tree` refuses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from siyu.analytics.touches import first_text, literal_key, with_person
from siyu.identity.profiles import CAMPAIGN_KEYS, CHANNEL_KEYS
from siyu.segments.dialect import Dialect

#: Properties naming the inviter outright.
INVITE_KEYS: Final = ("inviter", "inviter_id", "referrer", "invited_by")
#: Share-chain properties naming the sharer.
SHARE_KEYS: Final = ("$share_distinct_id", "share_from")
#: Properties holding a QR scene or contact-way state.
SCENE_KEYS: Final = ("scene", "state", "State")
#: Identity types tried first when an id names several persons (lower wins).
_TYPE_RANK: Final = {"member_id": 0, "login_id": 1, "unionid": 2, "anonymous_id": 4}
#: Edge statuses, in the order they are judged.
STATUSES: Final = ("unresolved", "self", "not_new", "later", "accepted")


def candidate_edges(
    events: ir.Table,
    actors: ir.Table,
    *,
    dialect: Dialect,
    prefixes: Sequence[str],
    until: datetime,
) -> ir.Table:
    """invitee, ref, source, edge_time, edge_seq, campaign, channel, scene: every event
    before ``until`` that names an inviter (``ref``: the id as written).

    ``events`` are warehouse events without their person: those naming an inviter are
    picked by their text, then joined to their person (the invitee) through ``actors``.
    """
    own = [*INVITE_KEYS, *SHARE_KEYS]
    test = events.properties.re_search('"(' + "|".join(literal_key(k) for k in own) + ')"')
    for prefix in prefixes:
        test |= events.properties.contains(f'"{prefix}')
    found = with_person(events.filter(events.event_time < until, test), actors)
    explicit = first_text(found, INVITE_KEYS, dialect)
    shared = first_text(found, SHARE_KEYS, dialect)
    scene = first_text(found, SCENE_KEYS, dialect)
    named = [(scene.startswith(p), scene.substr(len(p)).nullif("")) for p in prefixes]
    by_scene = ibis.cases(*named, else_=ibis.null(dt.string)) if named else ibis.null(dt.string)
    source = ibis.cases(
        (explicit.notnull(), "invite"),
        (shared.notnull(), "share"),
        (by_scene.notnull(), "scene"),
        else_=ibis.null(dt.string),
    )
    out = found.select(
        invitee=found.person_id,
        ref=ibis.coalesce(explicit, shared, by_scene),
        source=source,
        edge_time=found.event_time,
        edge_seq=found.seq,
        campaign=first_text(found, CAMPAIGN_KEYS, dialect),
        channel=first_text(found, CHANNEL_KEYS, dialect),
        scene=scene,
    )
    return out.filter(out.ref.notnull())


def resolve_refs(refs: ir.Table, identities: ir.Table) -> ir.Table:
    """ref, inviter: the person holding each id of ``refs.ref`` (not junk identities)."""
    live = identities.filter(~identities.junk)
    wanted = refs.select("ref").distinct()
    hits = wanted.join(live, wanted.ref == live.identity_value)
    rank = ibis.cases(
        *[(hits.identity_type == name, value) for name, value in _TYPE_RANK.items()], else_=3
    )
    order = ibis.struct({"r": rank, "p": hits.person_id})
    return hits.group_by("ref").aggregate(inviter=hits.person_id.argmin(order))


def first_seen(identities: ir.Table) -> ir.Table:
    """person_id, first_seen: when each person's first identity was first seen."""
    return identities.group_by("person_id").aggregate(first_seen=identities.first_seen.min())


def judged_edges(candidates: ir.Table, identities: ir.Table, *, new_within: int | None) -> ir.Table:
    """Candidate edges with ``inviter`` (null: unresolved), ``invitee_seen`` (the
    invitee's first seen) and ``status`` (see `STATUSES`)."""
    who = resolve_refs(candidates, identities)
    edges = candidates.left_join(who, candidates.ref == who.ref).drop("ref_right")
    seen = first_seen(identities)
    edges = edges.left_join(seen, edges.invitee == seen.person_id).drop("person_id")
    edges = edges.rename(invitee_seen="first_seen")
    valid = edges.inviter.notnull() & (edges.inviter != edges.invitee)
    is_new: ir.BooleanValue = ibis.literal(True)
    if new_within is not None:
        earliest = edges.edge_time - ibis.interval(seconds=new_within)
        is_new = edges.invitee_seen.isnull() | (edges.invitee_seen >= earliest)
    edges = edges.mutate(valid=valid & is_new, is_new=is_new)
    order = ibis.window(
        group_by=[edges.invitee, edges.valid], order_by=[edges.edge_time, edges.edge_seq]
    )
    edges = edges.mutate(rank=ibis.row_number().over(order))
    status = ibis.cases(
        (edges.inviter.isnull(), "unresolved"),
        (edges.inviter == edges.invitee, "self"),
        (~edges.is_new, "not_new"),
        (edges.rank > 0, "later"),
        else_="accepted",
    )
    return edges.mutate(status=status).drop("valid", "is_new", "rank")


def in_campaign(edges: ir.Table, channels: ir.Table, campaign: str) -> ir.BooleanValue:
    """Whether an edge belongs to ``campaign``: it names that campaign or channel code,
    its channel code's campaign is it, or its scene starts with it (``poster:``)."""
    codes = channels.filter(channels.campaign == campaign).select("code")
    code_list = [str(c) for c in codes.to_pyarrow()["code"].to_pylist()]
    test: ir.BooleanValue = (
        ibis.coalesce(edges.campaign == campaign, False)
        | ibis.coalesce(edges.channel == campaign, False)
        | ibis.coalesce(edges.scene.startswith(campaign), False)
    )
    if code_list:
        test |= ibis.coalesce(edges.channel.isin(code_list), False)
    return test
