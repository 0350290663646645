"""Referral trees (裂变树) from accepted invite edges, one generation at a time.

Ibis has no recursive query, so the trees grow in a loop: generation 0 are the seeds
(inviters nobody in scope invited), generation g + 1 the invitees of generation g —
one join per generation, each an Ibis expression cached on the backend, until a
generation is empty or ``max_depth`` is reached.

With one inviter per invitee, an invitee the loop never reaches hangs below a cycle
(A invited B, B invited A) or below the depth cap. `break_cycles` looks at those few
edges in Python: in each cycle it refuses the latest edge (by time, seq), so that
edge's invitee becomes a seed, and the loop runs again from the new seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from siyu.segments.models.activity import stack

#: Deepest generation any request may ask for.
MAX_DEPTH: Final = 50


@dataclass(frozen=True)
class Grown:
    """The persons of the trees and what could not be placed.

    ``nodes``: person, parent (null for seeds), root, depth, arrived (the edge time;
    null for seeds). ``cycles``: edges refused because they closed a cycle.
    ``too_deep``: invitees below ``max_depth``.
    """

    nodes: ir.Table
    cycles: int
    too_deep: int


#: Computes an expression once into a temporary table and returns that table
#: (`siyu.storage.temp.TempTables.materialise`).
Materialise = Callable[[ir.Table, str], ir.Table]


def grow(edges: ir.Table, max_depth: int, materialise: Materialise) -> Grown:
    """The trees of ``edges`` (invitee, inviter, edge_time, edge_seq; one row per
    invitee). Each generation is materialised: the next one joins against it."""
    edges = materialise(edges.select("invitee", "inviter", "edge_time", "edge_seq"), "edges")
    invited = edges.select(invited=edges.invitee)
    seeds = edges.anti_join(invited, edges.inviter == invited.invited)
    parts = _generations(
        edges, seeds.select(person=seeds.inviter).distinct(), max_depth, materialise
    )
    placed = materialise(stack(*parts), "nodes")
    lost = _unplaced(edges, placed)
    refused, too_deep = break_cycles(lost, {str(e["inviter"]) for e in lost if e["placed"]})
    if refused:
        # The refused edges' invitees become seeds of what hung below each cycle.
        more = edges.filter(edges.invitee.isin(refused)).select(person=edges.invitee)
        rest = edges.filter(~edges.invitee.isin(refused))
        parts += _generations(rest, more, max_depth, materialise)
        placed = materialise(stack(*parts), "nodes")
    return Grown(placed, len(refused), too_deep)


def _generations(
    edges: ir.Table, seeds: ir.Table, max_depth: int, materialise: Materialise
) -> list[ir.Table]:
    """Generation tables from ``seeds`` down, one materialised join per generation."""
    frontier = materialise(
        seeds.select(
            "person",
            parent=ibis.null(dt.string),
            root=seeds.person,
            depth=ibis.literal(0, type=dt.int64),
            arrived=ibis.null(dt.timestamp),
        ),
        "gen",
    )
    parts = [frontier]
    for depth in range(1, max_depth + 1):
        nxt = edges.join(frontier, edges.inviter == frontier.person)
        nxt = materialise(
            nxt.select(
                person=nxt.invitee,
                parent=nxt.inviter,
                root=nxt.root,
                depth=ibis.literal(depth, type=dt.int64),
                arrived=nxt.edge_time.cast(dt.timestamp),
            ),
            "gen",
        )
        if not int(nxt.count().to_pyarrow().as_py()):
            break
        parts.append(nxt)
        frontier = nxt
    return parts


def _unplaced(edges: ir.Table, placed: ir.Table) -> list[dict[str, Any]]:
    """The edges the loop did not reach, each with ``placed``: whether its inviter is
    in the trees (then its invitee is below the depth cap, not in a cycle)."""
    lost = edges.anti_join(placed, edges.invitee == placed.person)
    here = placed.select(here=placed.person)
    lost = lost.left_join(here, lost.inviter == here.here)
    rows: list[dict[str, Any]] = (
        lost.mutate(placed=lost.here.notnull()).drop("here").to_pyarrow().to_pylist()
    )
    return rows


def break_cycles(lost: Sequence[dict[str, Any]], placed: set[str]) -> tuple[list[str], int]:
    """(invitees whose edge is refused, count of invitees below the depth cap).

    ``lost`` are the edges the loop did not reach (invitee, inviter, edge_time,
    edge_seq); ``placed`` the inviters among them that are in the trees. Following
    inviters up from each lost invitee ends at a placed person (too deep) or comes back
    on itself (a cycle); each cycle's latest edge is refused.

    Example:
        >>> break_cycles([{"invitee": "a", "inviter": "b", "edge_time": 1, "edge_seq": 1},
        ...               {"invitee": "b", "inviter": "a", "edge_time": 2, "edge_seq": 2}],
        ...              set())
        (['b'], 0)
    """
    edge = {str(e["invitee"]): e for e in lost}
    state: dict[str, str] = {}
    refused: list[str] = []
    for start in sorted(edge):
        path: list[str] = []
        at = start
        while at in edge and at not in state and at not in path:
            path.append(at)
            at = str(edge[at]["inviter"])
        if at in path:
            cycle = path[path.index(at) :]
            latest = max(cycle, key=lambda p: (edge[p]["edge_time"], edge[p]["edge_seq"], p))
            refused.append(latest)
        ending = "deep" if at in placed or state.get(at) == "deep" else "cycle"
        for person in path:
            state[person] = ending
    too_deep = sum(1 for s in state.values() if s == "deep")
    return sorted(refused), too_deep
