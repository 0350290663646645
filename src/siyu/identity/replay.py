"""Replaying identity links in order: union-find with per-type limits and keep-apart pairs.

The graph is a pure function of the ordered links: a link merges the persons of its two
identities unless the merged person would hold more values of a limited type than the
rule allows (a **conflict**, kept with its evidence) or an operator said to keep the two
apart. A person's id is that of its oldest identity (lowest node index), so when two
persons merge the older one survives. Incremental resolution runs the same kernel on the
persons a batch touches, starting from their stored grouping; a full rebuild runs it on
everything from singletons. Both therefore give the same answer for the same input.

Written with numba because the rule check sits inside the union loop: scipy's
``connected_components`` has no hook for it (it is the speed reference in the benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numba
import numpy as np
import numpy.typing as npt

KIND_NODE: Final = 0
KIND_LINK: Final = 1
KIND_FORCE: Final = 2
KIND_UNBIND: Final = 3
KIND_KEEP_APART: Final = 4
KINDS: Final = {
    "node": KIND_NODE,
    "link": KIND_LINK,
    "force": KIND_FORCE,
    "unbind": KIND_UNBIND,
    "keep_apart": KIND_KEEP_APART,
}

OUT_NONE: Final = 0  # a node row, or both ids already one person
OUT_MERGED: Final = 1
OUT_CONFLICT: Final = 2  # a per-type limit would break
OUT_VOID: Final = 3  # undone by a later unbind
OUT_JUNK: Final = 4  # an end is a junk id
OUT_KEPT_APART: Final = 5  # an operator keeps the two persons apart

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ReplayInput:
    """Nodes (indexed by age) and ops (in replay order) for `replay`."""

    parent: Int64Array  # initial grouping; each group's root is its lowest index
    node_slot: npt.NDArray[np.int16]  # limited-type slot of each node, -1 if unlimited
    slot_limit: npt.NDArray[np.int16]
    junk: npt.NDArray[np.bool_]
    first_seq: Int64Array  # seq of each node's first appearance
    kind: npt.NDArray[np.int8]
    a: Int64Array
    b: Int64Array  # -1 where the op has one end
    seq: Int64Array
    keep_apart: Int64Array  # (k, 2) node pairs never to be one person


@dataclass(frozen=True)
class ReplayResult:
    root: Int64Array  # the person (root node) of each node
    outcome: npt.NDArray[np.int8]  # OUT_* per op
    slot: npt.NDArray[np.int16]  # the slot whose limit a conflict would break, else -1
    merged_away: npt.NDArray[np.bool_]  # nodes whose once-visible person merged away


def void_links(
    kind: npt.NDArray[np.int8], a: Int64Array, b: Int64Array, n: int
) -> npt.NDArray[np.bool_]:
    """Links undone by a later ``unbind`` of either end (ops are in replay order)."""
    idx = np.arange(len(kind), dtype=np.int64)
    last_unbind = np.full(n, -1, dtype=np.int64)
    unbinds = kind == KIND_UNBIND
    np.maximum.at(last_unbind, a[unbinds], idx[unbinds])
    links = (kind == KIND_LINK) | (kind == KIND_FORCE)
    ends_b = np.where(b >= 0, b, a)
    void: npt.NDArray[np.bool_] = links & ((idx < last_unbind[a]) | (idx < last_unbind[ends_b]))
    return void


def replay(data: ReplayInput) -> ReplayResult:
    """Apply the ops of ``data`` in order; see the module docstring."""
    void = void_links(data.kind, data.a, data.b, len(data.parent))
    parent = data.parent.copy()
    pairs = data.keep_apart.reshape(-1, 2) if data.keep_apart.size else np.zeros((0, 2), np.int64)
    outcome, slot, merged_away = _replay(
        parent,
        data.node_slot,
        data.slot_limit,
        data.junk,
        data.first_seq,
        data.kind,
        data.a,
        data.b,
        data.seq,
        void,
        pairs[:, 0].copy(),
        pairs[:, 1].copy(),
    )
    return ReplayResult(parent, outcome, slot, merged_away)


@numba.njit(cache=True, nogil=True)
def _find(parent: Int64Array, x: int) -> int:  # pragma: no cover - compiled
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@numba.njit(cache=True, nogil=True)
def _replay(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    parent, node_slot, slot_limit, junk, first_seq, kind, a, b, seq, void, ka_a, ka_b
):
    n = parent.shape[0]
    m = kind.shape[0]
    n_slots = slot_limit.shape[0]
    counts = np.zeros((n, max(n_slots, 1)), dtype=np.int16)
    kept = np.zeros(n, dtype=np.int32)
    for i in range(n):
        r = _find(parent, i)
        s = node_slot[i]
        if s >= 0:
            counts[r, s] += 1
    for p in range(ka_a.shape[0]):
        kept[_find(parent, ka_a[p])] += 1
        kept[_find(parent, ka_b[p])] += 1
    outcome = np.zeros(m, dtype=np.int8)
    slot = np.full(m, -1, dtype=np.int16)
    merged_away = np.zeros(n, dtype=np.bool_)
    for j in range(m):
        k = kind[j]
        if k not in (KIND_LINK, KIND_FORCE):
            continue
        x = a[j]
        y = b[j]
        if void[j]:
            outcome[j] = OUT_VOID
            continue
        if junk[x] or junk[y]:
            outcome[j] = OUT_JUNK
            continue
        rx = _find(parent, x)
        ry = _find(parent, y)
        if rx == ry:
            continue
        if kept[rx] > 0 and kept[ry] > 0:
            apart = False
            for p in range(ka_a.shape[0]):
                fa = _find(parent, ka_a[p])
                fb = _find(parent, ka_b[p])
                if (fa == rx and fb == ry) or (fa == ry and fb == rx):
                    apart = True
                    break
            if apart:
                outcome[j] = OUT_KEPT_APART
                continue
        if k == KIND_LINK:
            broken = -1
            for s in range(n_slots):
                if counts[rx, s] + counts[ry, s] > slot_limit[s]:
                    broken = s
                    break
            if broken >= 0:
                outcome[j] = OUT_CONFLICT
                slot[j] = broken
                continue
        lo = min(rx, ry)
        hi = max(rx, ry)
        parent[hi] = lo
        for s in range(n_slots):
            counts[lo, s] += counts[hi, s]
        kept[lo] += kept[hi]
        if first_seq[hi] < seq[j]:
            merged_away[hi] = True
        outcome[j] = OUT_MERGED
    for i in range(n):
        parent[i] = _find(parent, i)
    return outcome, slot, merged_away
