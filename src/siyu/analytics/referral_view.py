"""The persons of referral trees shaped for charts: generations, K-factors, KOCs, trees.

Input is one row per person of the trees (`siyu.analytics.referral`): person, parent,
root, depth, arrived (the invite's moment; null for seeds), first_seen, orders,
revenue_fen (net, paid since arriving), member_id. Everything here is column-wise numpy
over those rows; descendants add up bottom-up, one vectorised step per generation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from siyu.analytics.exceptions import InvalidRequest

#: Buckets of the invitees-per-person distribution: (label, lowest, highest).
BUCKETS: Final = (
    ("0", 0, 0),
    ("1", 1, 1),
    ("2", 2, 2),
    ("3", 3, 3),
    ("4", 4, 4),
    ("5", 5, 5),
    ("6-10", 6, 10),
    ("11-20", 11, 20),
    ("21+", 21, None),
)
_HOUR: Final = np.timedelta64(3600, "s")


def shape(
    nodes: pd.DataFrame,
    *,
    top: int,
    root: str | None,
    root_text: str | None,
    max_nodes: int,
    cost_fen: float | None,
) -> dict[str, Any]:
    """Summary, generations, distribution, top inviters and a chart-sized tree.

    Example:
        >>> frame = pd.DataFrame({"person": ["a", "b", "c"], "parent": [None, "a", "b"],
        ...     "root": ["a"] * 3, "depth": [0, 1, 2],
        ...     "arrived": pd.to_datetime([None, "2024-05-02", "2024-05-03"]),
        ...     "first_seen": pd.to_datetime(["2024-05-01"] * 3), "orders": [0, 1, 0],
        ...     "revenue_fen": [0, 900, 0], "member_id": ["M1", None, None]})
        >>> view = shape(frame, top=5, root=None, root_text=None, max_nodes=10, cost_fen=None)
        >>> [g["k_factor"] for g in view["generations"]], view["summary"]["k_factor"]
        ([1.0, 1.0, 0.0], 0.6667)
    """
    tree = _Tree(nodes)
    summary = tree.summary(cost_fen)
    return {
        "summary": summary,
        "generations": tree.generations(),
        "invitees_per_person": tree.distribution(),
        "top_inviters": tree.top_inviters(top),
        "tree": tree.chart(root, root_text, max_nodes),
    }


class _Tree:
    """Column arrays of the persons, parents as row numbers (-1: a seed)."""

    def __init__(self, nodes: pd.DataFrame) -> None:
        nodes = nodes.sort_values(["depth", "person"], kind="stable").reset_index(drop=True)
        self.n = n = len(nodes)
        self.person = nodes["person"].astype(str).to_numpy()
        self.member = nodes["member_id"].fillna("").astype(str).to_numpy(dtype=object)
        index = pd.Index(self.person)
        self.parent = index.get_indexer(pd.Index(nodes["parent"].astype(object))).astype(np.int64)
        self.depth = nodes["depth"].to_numpy(dtype=np.int64)
        self.revenue = nodes["revenue_fen"].to_numpy(dtype=np.float64)
        self.paying = nodes["orders"].to_numpy(dtype=np.int64) > 0
        arrived = pd.to_datetime(nodes["arrived"]).fillna(pd.to_datetime(nodes["first_seen"]))
        self.arrival = arrived.to_numpy(dtype="datetime64[us]")
        child = np.flatnonzero(self.parent >= 0)
        self.child = child
        up = self.parent[child]
        self.direct = np.bincount(up, minlength=n).astype(np.int64)
        self.direct_revenue = np.bincount(up, weights=self.revenue[child], minlength=n)
        self.direct_paying = np.bincount(up, weights=self.paying[child], minlength=n)
        self.descendants = np.zeros(n, np.int64)
        self.descendants_revenue = np.zeros(n, np.float64)
        self.height = np.zeros(n, np.int64)
        for depth in range(int(self.depth.max(initial=0)), 0, -1):
            rows = np.flatnonzero(self.depth == depth)
            above = self.parent[rows]
            np.add.at(self.descendants, above, self.descendants[rows] + 1)
            np.add.at(
                self.descendants_revenue, above, self.descendants_revenue[rows] + self.revenue[rows]
            )
            np.maximum.at(self.height, above, self.height[rows] + 1)
        lag = self.arrival[child] - self.arrival[up]
        self.lag_hours = np.full(n, np.nan)
        self.lag_hours[child] = lag / _HOUR

    def summary(self, cost_fen: float | None) -> dict[str, Any]:
        seeds = int((self.depth == 0).sum())
        invitees = self.n - seeds
        invited = self.depth > 0
        revenue = float(self.revenue[invited].sum())
        paying = int(self.paying[invited].sum())
        return {
            "persons": self.n,
            "seeds": seeds,
            "invitees": invitees,
            "depth": int(self.depth.max(initial=0)),
            "k_factor": _ratio(invitees, self.n),
            "amplification": _ratio(self.n, seeds),
            "inviters": int((self.direct > 0).sum()),
            "median_hours_from_inviter": _median(self.lag_hours[invited]),
            "paying_invitees": paying,
            "paying_share": _ratio(paying, invitees),
            "invitees_revenue_fen": revenue,
            "cost_fen": cost_fen,
            "cost_per_invitee_fen": _ratio(cost_fen, invitees) if cost_fen is not None else None,
            "cost_per_paying_invitee_fen": _ratio(cost_fen, paying)
            if cost_fen is not None
            else None,
            "roi": _ratio(revenue - cost_fen, cost_fen) if cost_fen else None,
        }

    def generations(self) -> list[dict[str, Any]]:
        out = []
        deepest = int(self.depth.max(initial=-1))
        for g in range(deepest + 1):
            at = self.depth == g
            persons = int(at.sum())
            invitees = int((self.depth == g + 1).sum())
            paying = int(self.paying[at].sum())
            out.append(
                {
                    "generation": g,
                    "persons": persons,
                    "inviters": int((at & (self.direct > 0)).sum()),
                    "invitees": invitees,
                    "k_factor": _ratio(invitees, persons),
                    "median_hours_from_inviter": _median(self.lag_hours[at]) if g else None,
                    "paying": paying,
                    "paying_share": _ratio(paying, persons),
                    "revenue_fen": float(self.revenue[at].sum()),
                }
            )
        return out

    def distribution(self) -> list[dict[str, Any]]:
        out = []
        for label, low, high in BUCKETS:
            inside = self.direct >= low
            if high is not None:
                inside &= self.direct <= high
            out.append({"invitees": label, "persons": int(inside.sum())})
        return out

    def top_inviters(self, top: int) -> list[dict[str, Any]]:
        rows = np.flatnonzero(self.direct > 0)
        order = np.lexsort((self.person[rows], -self.descendants[rows], -self.direct[rows]))
        return [self._inviter(int(r)) for r in rows[order][:top]]

    def _inviter(self, r: int) -> dict[str, Any]:
        parent = int(self.parent[r])
        return {
            "person_id": self.person[r],
            "member_id": self.member[r] or None,
            "generation": int(self.depth[r]),
            "invited_by": self.person[parent] if parent >= 0 else None,
            "arrived": _when(self.arrival[r]),
            "direct_invitees": int(self.direct[r]),
            "descendants": int(self.descendants[r]),
            "depth_below": int(self.height[r]),
            "paying_invitees": int(self.direct_paying[r]),
            "invitees_revenue_fen": float(self.direct_revenue[r]),
            "descendants_revenue_fen": float(self.descendants_revenue[r]),
            "own_revenue_fen": float(self.revenue[r]),
        }

    def chart(self, root: str | None, root_text: str | None, max_nodes: int) -> dict[str, Any]:
        """Nodes and links of one person's tree (``root``) or of the largest trees,
        breadth first, at most ``max_nodes`` nodes."""
        if root is not None:
            found = np.flatnonzero(self.person == root)
            if not len(found):
                raise InvalidRequest(
                    "root",
                    f"{root_text!r} invited nobody in this scope and was not invited; "
                    "pick a person from top_inviters or widen from/to and campaign",
                )
            starts: Sequence[int] = [int(found[0])]
            total = int(self.descendants[found[0]]) + 1
        else:
            seeds = np.flatnonzero(self.depth == 0)
            order = np.lexsort((self.person[seeds], -self.descendants[seeds]))
            starts = [int(s) for s in seeds[order]]
            total = self.n
        by_parent = self.child[np.argsort(self.parent[self.child], kind="stable")]
        parents = self.parent[by_parent]
        shown: list[int] = []
        for start in starts:
            queue = deque([start])
            while queue and len(shown) < max_nodes:
                at = queue.popleft()
                shown.append(at)
                lo, hi = np.searchsorted(parents, [at, at + 1])
                queue.extend(int(c) for c in by_parent[lo:hi])
            if len(shown) >= max_nodes:
                break
        inside = set(shown)
        nodes = [
            {
                "id": self.person[r],
                "name": self.member[r] or self.person[r],
                "generation": int(self.depth[r]),
                "invitees": int(self.direct[r]),
                "descendants": int(self.descendants[r]),
                "paying": bool(self.paying[r]),
                "revenue_fen": float(self.revenue[r]),
                "arrived": _when(self.arrival[r]),
            }
            for r in shown
        ]
        links = [
            {"source": self.person[self.parent[r]], "target": self.person[r]}
            for r in shown
            if self.parent[r] >= 0 and int(self.parent[r]) in inside
        ]
        return {
            "root": root,
            "nodes": nodes,
            "links": links,
            "shown": len(nodes),
            "total": total,
            "truncated": len(nodes) < total,
        }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(float(numerator) / float(denominator), 4)


def _median(values: np.ndarray) -> float | None:
    kept = values[~np.isnan(values)]
    return round(float(np.median(kept)), 2) if len(kept) else None


def _when(value: np.datetime64) -> str | None:
    if np.isnat(value):
        return None
    return str(np.datetime_as_string(value, unit="s"))
