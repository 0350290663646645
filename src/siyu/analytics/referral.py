"""Referral trees (裂变): who brought whom, generation by generation, and what it paid.

Edges come from invite events, poster QR scenes and share chains
(`siyu.analytics.referral_edges`); one inviter per invitee, the earliest edge winning;
edges of existing users, self-invites and cycles are refused and counted. The trees
grow one generation per Ibis join (`siyu.analytics.referral_tree`); Python then shapes
the persons of the trees (one row each) into:

- generations: persons, inviters, invitees, K-factor (invitees of g + 1 / persons of
  g), median hours from the inviter's arrival to the invitee's, paying share, revenue;
- the distribution of invitees per person, the top inviters (KOC) with their direct
  invitees, all descendants and the revenue those brought;
- cost per acquired user from the campaign's marketing costs;
- the trees as nodes and links for a chart (capped; ``root`` shows one inviter's).

See docs/analytics-referral.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from siyu.analytics.costs import cost_of
from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.referral_edges import (
    STATUSES,
    candidate_edges,
    first_seen,
    in_campaign,
    judged_edges,
)
from siyu.analytics.referral_tree import MAX_DEPTH, Grown, grow
from siyu.analytics.referral_view import shape
from siyu.analytics.request import parse_window
from siyu.analytics.scope import Context, utc_bounds
from siyu.analytics.touches import REFERRAL_PREFIXES, actors_of
from siyu.segments.models.activity import net_orders
from siyu.segments.models.config import DEFAULT_CONFIG
from siyu.storage.temp import temp_tables

#: Scene prefixes may hold what a QR ``scene_str`` or a contact-way ``state`` holds.
_PREFIX: Final = re.compile(r"^[A-Za-z0-9_.:=-]{1,32}$")


class Request(BaseModel):
    """A referral question. ``from``/``to`` (local days, included) select invitees by
    the moment they were brought; ``campaign`` by campaign name, channel code or scene
    prefix."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")
    campaign: str | None = Field(default=None, min_length=1, max_length=64)
    max_depth: int = Field(default=20, ge=1, le=MAX_DEPTH)
    top: int = Field(default=20, ge=1, le=200)
    root: str | None = Field(default=None, min_length=1, max_length=300)
    max_nodes: int = Field(default=300, ge=1, le=5000)
    new_within: str | int | None = "1d"
    scene_prefixes: list[str] = Field(
        default_factory=lambda: list(REFERRAL_PREFIXES), max_length=10
    )

    @field_validator("scene_prefixes")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not _PREFIX.match(prefix):
                raise ValueError(
                    f"scene prefix {prefix!r}: use 1 to 32 letters, digits or _ . : = -"
                )
        return value

    @model_validator(mode="after")
    def _checks(self) -> Request:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"from ({self.date_from}) is after to ({self.date_to}); swap them")
        if self.new_within is not None:
            parse_window(self.new_within, "new_within")
        return self


def analyse(ctx: Context, request: Request) -> dict[str, Any]:
    """The referral trees of the scope asked for, shaped for charts."""
    new_within = None if request.new_within is None else parse_window(request.new_within)
    last = request.date_to or ctx.today
    if last > ctx.today:
        raise InvalidRequest("to", f"to ({last}) is after today ({ctx.today})")
    _, until = utc_bounds(ctx, ctx.today, ctx.today)
    start = utc_bounds(ctx, request.date_from, last)[0] if request.date_from else None
    end = utc_bounds(ctx, last, last)[1]
    identities = ctx.table("identities")
    con = ibis.get_backend(ctx.facts.events)
    with temp_tables(con) as temp:
        candidates = candidate_edges(
            ctx.table("events"),
            actors_of(ctx),
            dialect=ctx.facts.dialect,
            prefixes=request.scene_prefixes,
            until=until,
        )
        judged = temp.materialise(
            judged_edges(candidates, identities, new_within=new_within), "judged"
        )
        counts = judged.group_by("status", "source").aggregate(edges=judged.count())
        tally = counts.to_pyarrow().to_pylist()
        accepted = judged.filter(judged.status == "accepted")
        if request.campaign is not None:
            accepted = _campaign_edges(ctx, accepted, request.campaign, request.scene_prefixes)
        scoped = accepted.filter(accepted.edge_time < end)
        if start is not None:
            scoped = scoped.filter(scoped.edge_time >= start)
        scoped = temp.materialise(scoped, "scoped")
        scope = scoped.group_by("source").aggregate(edges=scoped.count())
        in_scope = {str(r["source"]): int(r["edges"]) for r in scope.to_pyarrow().to_pylist()}
        grown = grow(scoped, request.max_depth, temp.materialise)
        nodes = _node_facts(ctx, grown, until).to_pyarrow().to_pandas()
        root = _root_person(identities, request.root) if request.root else None
    edges = _edge_counts(tally, in_scope, grown)
    earliest = nodes["arrived"].min()
    first_edge = None if pd.isna(earliest) else pd.Timestamp(earliest).to_pydatetime()
    cost = _campaign_cost(ctx, request, first_edge, last)
    answer = shape(
        nodes,
        top=request.top,
        root=root,
        root_text=request.root,
        max_nodes=request.max_nodes,
        cost_fen=cost,
    )
    return {
        "campaign": request.campaign,
        "from": request.date_from,
        "to": last,
        "max_depth": request.max_depth,
        "new_within_seconds": new_within,
        "edges": edges,
        **answer,
    }


def _campaign_edges(
    ctx: Context, accepted: ir.Table, campaign: str, prefixes: Sequence[str]
) -> ir.Table:
    """The accepted edges of ``campaign``; a clear error when no edge ever named it."""
    chosen = accepted.filter(in_campaign(accepted, ctx.table("channels"), campaign))
    if int(chosen.count().to_pyarrow().as_py()):
        return chosen
    seen = accepted.select(name=ibis.coalesce(accepted.campaign, accepted.channel))
    seen = seen.filter(seen.name.notnull())
    names = seen.group_by("name").aggregate(n=seen.count()).to_pyarrow().to_pylist()
    counts: dict[str, int] = {}
    for row in names:
        name = str(row["name"])
        name = next((p for p in prefixes if name.startswith(p)), name)
        counts[name] = counts.get(name, 0) + int(row["n"])
    common = sorted(counts, key=lambda k: (-counts[k], k))[:8]
    raise InvalidRequest(
        "campaign",
        f"no accepted invite names campaign, channel or scene prefix {campaign!r}; "
        f"invites name: {', '.join(common) or 'none yet'}",
    )


def _node_facts(ctx: Context, grown: Grown, until: datetime) -> ir.Table:
    """One row per person of the trees: person, parent, root, depth, arrived, first_seen,
    orders and revenue_fen (paid since arriving; any time for seeds), member_id."""
    nodes = grown.nodes
    identities = ctx.table("identities")
    seen = first_seen(identities.semi_join(nodes, identities.person_id == nodes.person))
    nodes = nodes.left_join(seen, nodes.person == seen.person_id).drop("person_id")
    paid = net_orders(ctx.facts.orders, DEFAULT_CONFIG.orders, until)
    paid = paid.join(nodes.select("person", "arrived"), paid.person_id == nodes.person)
    paid = paid.filter(paid.arrived.isnull() | (paid.paid_at >= paid.arrived))
    spent = paid.group_by("person").aggregate(orders=paid.count(), revenue_fen=paid.net_fen.sum())
    nodes = nodes.left_join(spent, nodes.person == spent.person).drop("person_right")
    members = identities.filter(identities.identity_type == "member_id")
    members = members.semi_join(nodes, members.person_id == nodes.person)
    member = members.group_by("person_id").aggregate(member_id=members.identity_value.min())
    nodes = nodes.left_join(member, nodes.person == member.person_id).drop("person_id")
    return nodes.mutate(
        orders=ibis.coalesce(nodes.orders, 0), revenue_fen=ibis.coalesce(nodes.revenue_fen, 0)
    )


def _root_person(identities: ir.Table, text: str) -> str:
    """The person a ``root`` names: ``type:value`` (member_id:M1) or a person id."""
    named = identities.identity_type.concat(":", identities.identity_value) == text
    found = identities.filter(named | (identities.person_id == text))
    persons = sorted(
        {str(p) for p in found.select("person_id").to_pyarrow()["person_id"].to_pylist()}
    )
    if not persons:
        raise InvalidRequest(
            "root",
            f"no person holds {text!r}; write type:value (member_id:M10338773) or a person id",
        )
    return persons[0]


def _edge_counts(
    tally: Sequence[dict[str, Any]], in_scope: dict[str, int], grown: Grown
) -> dict[str, Any]:
    """Edges found and accepted, by source; those in the scope asked for (campaign,
    from/to); why the refused ones were refused."""
    by_status = dict.fromkeys(STATUSES, 0)
    by_source: dict[str, int] = {}
    for row in tally:
        by_status[str(row["status"])] += int(row["edges"])
        if row["status"] == "accepted":
            source = str(row["source"])
            by_source[source] = by_source.get(source, 0) + int(row["edges"])
    return {
        "found": sum(by_status.values()),
        "accepted": by_status["accepted"],
        "by_source": dict(sorted(by_source.items())),
        "scope": {"edges": sum(in_scope.values()), "by_source": dict(sorted(in_scope.items()))},
        "refused": {
            "unresolved": by_status["unresolved"],
            "self": by_status["self"],
            "not_new": by_status["not_new"],
            "later": by_status["later"],
            "cycle": grown.cycles,
            "too_deep": grown.too_deep,
        },
    }


def _campaign_cost(
    ctx: Context, request: Request, first_edge: datetime | None, last: date
) -> float | None:
    """Marketing cost of the campaign over the analysed days (None: no campaign, or no
    cost entered for it)."""
    if request.campaign is None:
        return None
    first = request.date_from or (
        _local_day(first_edge, ctx.tz) if first_edge is not None else last
    )
    return cost_of(ctx, request.campaign, min(first, last), last)


def _local_day(moment: datetime, tz: str) -> date:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).date()
