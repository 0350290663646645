"""The identity graph service: rebuild, incremental apply and operator decisions.

All three run the same steps on a scope of whole regions (`siyu.storage.identity_store`):
intern the ids, replay the links in ``(seq, sub)`` order with the rules
(`siyu.identity.replay`), write the identities map, the conflicts and the overrides.
A rebuild's scope is everything; an incremental apply's is the regions new links touch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from siyu.identity.exceptions import InvalidIdentity
from siyu.identity.links import event_links, order_links
from siyu.identity.replay import (
    KIND_FORCE,
    KIND_KEEP_APART,
    KIND_LINK,
    OUT_CONFLICT,
    OUT_KEPT_APART,
    OUT_MERGED,
    ReplayInput,
    ReplayResult,
    replay,
)
from siyu.identity.rules import IdentityRules
from siyu.progress import Progress, no_progress
from siyu.storage import identity_store as store
from siyu.storage.warehouse import Warehouse

RULES = "rules"


@dataclass(frozen=True)
class ResolveStats:
    """What one rebuild or apply did."""

    links: int
    identities: int
    persons: int
    merges: int
    conflicts: int
    junk: int
    seconds: float
    #: Whether whole regions were replayed (not only continued from stored persons).
    replayed: bool = False


def rebuild(
    warehouse: Warehouse, rules: IdentityRules, progress: Progress = no_progress
) -> ResolveStats:
    """Re-derive every link from events and orders and replay them all."""
    started = time.perf_counter()
    with warehouse.identity_lock, warehouse.transaction() as cur:
        progress("extracting identity links", 0, 3)
        store.delete_derived_links(cur)
        con = warehouse.ibis()
        watermark = _max_seq(cur)
        store.insert_links(cur, _sql(event_links(con.table("events"), rules)))
        store.insert_links(cur, _sql(order_links(con.table("orders"), rules)))
        store.scope_everything(cur)
        progress("resolving persons", 1, 3)
        stats = _resolve(cur, rules, scoped=False, started=started)
        progress("naming each record's actor", 2, 3)
        store.attach_actors(cur)
        store.set_state(cur, store.WATERMARK, str(watermark))
        store.set_state(cur, RULES, rules.fingerprint())
        progress("done", 3, 3)
    return stats


def apply_new(warehouse: Warehouse, rules: IdentityRules) -> ResolveStats | None:
    """Resolve events and orders that arrived since the last apply; None when none did."""
    started = time.perf_counter()
    with warehouse.identity_transaction() as cur:
        done = store.resolved_through(cur)
        latest = _max_seq(cur)
        if latest <= done:
            return None
        fingerprint = store.state(cur, RULES)
        if fingerprint is not None and fingerprint != rules.fingerprint():
            raise InvalidIdentity(
                "the identity rules changed since the graph was built; "
                "run `siyu identity rebuild` to apply them to all data"
            )
        store.stage_known(cur)
        store.stage_links(cur, list(_pending_sql(warehouse, rules)))
        store.store_staged(cur)
        after: pa.Table | None = None
        if store.batch_needs_regions(cur, done + 1):
            store.scope_regions(cur, done + 1)
            stats = _resolve(cur, rules, scoped=True, started=started)
        else:
            stats, after = _apply_fast(cur, rules, done + 1, started)
        store.attach_actors(cur, done + 1, staged=True)
        store.remember_idle(cur, after)
        store.unstage_known(cur)
        cur.execute("DROP TABLE _id_new")
        store.set_state(cur, store.WATERMARK, str(latest))
        if fingerprint is None:
            store.set_state(cur, RULES, rules.fingerprint())
    return stats


def warm(rules: IdentityRules) -> None:
    """Do an apply's one-off work now: compile its SQL and load the compiled replay.

    Two applies of two returning-user events on a throw-away warehouse, so the first
    applies of real traffic do not pay for it (about 1 s of CPU after the imports).
    """
    from siyu.ingest.model import EventRecord, records_to_arrow  # deferred: a cycle

    warehouse = Warehouse.in_memory()
    try:
        for visit in range(2):
            records = [
                EventRecord(
                    event_id=f"warm-{visit}-{n}",
                    type="track",
                    event="warm",
                    event_time=0,
                    received_at=0,
                    source_id="warm",
                    protocol="segment",
                    carrier="web",
                    user_id=f"member-{n}",
                    anonymous_id=f"device-{n}",
                    identities={"unionid": f"union-{n}"},
                )
                for n in range(2)
            ]
            warehouse.append_events(records_to_arrow(records))
            apply_new(warehouse, rules)
    finally:
        warehouse.close()


def add_decision(
    warehouse: Warehouse,
    rules: IdentityRules,
    kind: str,
    a: tuple[str, str],
    b: tuple[str, str] | None,
    actor: str,
) -> ResolveStats:
    """Record an operator's unbind / force / keep_apart and re-resolve what it touches."""
    if kind not in ("unbind", "force", "keep_apart"):
        raise InvalidIdentity(f"unknown decision {kind!r}; use unbind, force or keep_apart")
    if (b is None) != (kind == "unbind"):
        raise InvalidIdentity(f"{kind} takes {'one identity' if kind == 'unbind' else 'two'}")
    started = time.perf_counter()
    with warehouse.identity_lock:
        apply_new(warehouse, rules)
        with warehouse.transaction() as cur:
            return _decide(warehouse, cur, rules, kind, a, b, actor, started)


def _decide(
    warehouse: Warehouse,
    cur: duckdb.DuckDBPyConnection,
    rules: IdentityRules,
    kind: str,
    a: tuple[str, str],
    b: tuple[str, str] | None,
    actor: str,
    started: float,
) -> ResolveStats:
    """Insert the decision in the log and re-resolve what it touches."""
    seq = warehouse.reserve_seq(1)
    cur.execute(
        "INSERT INTO identity_link_rows VALUES (?, 0, ?, ?, ?, ?, ?, 'operator', ?, ?)",
        [
            seq,
            kind,
            a[0],
            a[1],
            b[0] if b else None,
            b[1] if b else None,
            actor,
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )
    store.scope_regions(cur, seq)
    return _resolve(cur, rules, scoped=True, started=started)


def rescope(cur: duckdb.DuckDBPyConnection, rules: IdentityRules, regions: list[str]) -> None:
    """Re-resolve whole regions after links were removed (privacy deletion)."""
    if regions:
        store.scope_region_ids(cur, regions)
        _resolve(cur, rules, scoped=True, started=time.perf_counter())


def _resolve(
    cur: duckdb.DuckDBPyConnection, rules: IdentityRules, *, scoped: bool, started: float
) -> ResolveStats:
    type_names, node_type, node_order, foreign, stored_junk = store.intern_nodes(cur, scoped)
    n = len(node_order)
    if n == 0:
        if scoped:
            store.clear_scope(cur)  # a deletion took every row of the scope
        store.drop_scope(cur)
        return ResolveStats(0, 0, 0, 0, 0, 0, time.perf_counter() - started)
    ops = store.load_ops(cur)
    limited, node_slot, slot_limit = _slots(type_names, node_type, rules)
    kind, a, b, seq = ops["kind"], ops["a"], ops["b"], ops["seq"]
    # A scope id's rows are all in the scope, so its fan-out is counted whole; a foreign
    # node's are not, and its stored flag stands.
    junk = np.where(foreign, stored_junk, _junk(kind, a, b, node_slot, n, rules.max_fanout))
    apart = (kind == KIND_KEEP_APART) & (b >= 0)
    data = ReplayInput(
        parent=np.arange(n, dtype=np.int64),
        node_slot=node_slot,
        slot_limit=slot_limit,
        junk=junk,
        first_seq=node_order >> store.ORDER_SHIFT,
        kind=kind,
        a=a,
        b=b,
        seq=seq,
        keep_apart=np.stack([a[apart], b[apart]], axis=1).reshape(-1),
    )
    result = replay(data)
    region = _regions(kind, a, b, junk)
    conflicts = _conflicts(result, ops, [type_names[i] for i in limited])
    store.write_result(
        cur, result.root, region, junk, conflicts, result.merged_away, scoped, foreign
    )
    stats = _stats(result, conflicts, int(np.count_nonzero(junk & ~foreign)), started)
    return replace(stats, replayed=True)


def _apply_fast(
    cur: duckdb.DuckDBPyConnection, rules: IdentityRules, min_seq: int, started: float
) -> tuple[ResolveStats, pa.Table | None]:
    """Continue the replay from the stored persons: exact when nothing is undone.

    A batch without unbinds or keep-apart decisions only adds links at the end of the
    replay order, so running them over the persons they touch, as stored, gives what a
    full replay gives. Fan-out junk is left to the next region or full replay.

    Also returns, for `store.remember_idle`, the replayed rows' state afterwards
    (`store.rows_after`); None when whole regions were replayed instead.
    """
    type_names, nodes = store.scope_persons(cur, min_seq)
    n = len(nodes["node_order"])
    if n == 0:
        store.drop_scope(cur)
        stats = ResolveStats(0, 0, 0, 0, 0, 0, time.perf_counter() - started)
        return stats, store.rows_after(store.no_ops(), np.zeros(0, np.int64), nodes["node_order"])
    ops = store.load_ops(cur)
    limited, node_slot, slot_limit = _slots(type_names, nodes["type"], rules)
    kind, a, b, seq = ops["kind"], ops["a"], ops["b"], ops["seq"]
    junk, turned = _junk_after(cur, rules, kind, a, b, node_slot, nodes)
    first: ResolveStats | None = None
    inside = np.zeros(n, dtype=np.bool_)
    if len(turned):
        # Stored ids just became junk: their earlier links are undone. Their regions are
        # replayed first; the batch's rows there go with them, the rest carry on below.
        inside, regions = _turned_scope(cur, a, b, junk, turned, nodes["fresh"])
        first = _replay_inside(cur, rules, inside, regions, started)
        rest = ~(inside[a] & np.where(b >= 0, inside[np.maximum(b, 0)], True))
        ops = {name: values[rest] for name, values in ops.items()}
        kind, a, b, seq = ops["kind"], ops["a"], ops["b"], ops["seq"]
    data = ReplayInput(
        parent=nodes["parent"],
        node_slot=node_slot,
        slot_limit=slot_limit,
        junk=junk,
        first_seq=nodes["node_order"] >> store.ORDER_SHIFT,
        kind=kind,
        a=a,
        b=b,
        seq=seq,
        keep_apart=store.keep_apart_among_nodes(cur),
    )
    result = replay(data)
    region, region_node = _fast_regions(cur, kind, a, b, junk)
    conflicts = _conflicts(result, ops, [type_names[i] for i in limited])
    store.write_increment(
        cur, result.root, region, region_node, conflicts, result.merged_away, junk, inside
    )
    new_junk = int(np.count_nonzero(junk & ~nodes["junk"] & ~inside))
    stats = _stats(result, conflicts, new_junk, started)
    if first is not None:
        # After a replay persons may have split, so rows idle before may not be now:
        # `store.remember_idle` looks them all up again.
        return _joined(first, stats, started), None
    return stats, store.rows_after(ops, result.root, nodes["node_order"])


def _turned_scope(
    cur: duckdb.DuckDBPyConnection,
    a: np.ndarray,
    b: np.ndarray,
    junk: np.ndarray,
    turned: np.ndarray,
    fresh: np.ndarray,
) -> tuple[np.ndarray, list[str]]:
    """The fast path's nodes whose regions a replay must redo once ``turned`` are junk,
    and those stored regions.

    The stored regions of ``turned``, closed over the batch's rows and stored regions as
    `_fast_regions` joins them, so that a row able to merge never crosses the scope's
    edge (one that crosses has a junk end); plus new ids turning junk in this batch that
    a row links to it (the replay would take one for an outside id whose stored flag
    stands, and it has none yet).
    """
    names, code, _ = store.node_regions(cur)
    labels = _batch_components(a, b, junk, code, len(names))
    seed_codes = code[turned][code[turned] >= 0]
    seeds = np.isin(code, seed_codes)
    seeds[turned] = True
    inside: np.ndarray = np.isin(labels, labels[seeds])
    fresh_junk = junk & fresh
    two = b >= 0
    ta, tb = a[two], b[two]
    inside[tb[inside[ta] & fresh_junk[tb]]] = True
    inside[ta[inside[tb] & fresh_junk[ta]]] = True
    return inside, [names[c] for c in np.unique(code[inside & (code >= 0)])]


def _replay_inside(
    cur: duckdb.DuckDBPyConnection,
    rules: IdentityRules,
    inside: np.ndarray,
    regions: list[str],
    started: float,
) -> ResolveStats:
    """Replay ``regions`` (the stored regions of the fast path's ``inside`` nodes) and the
    new ids among those nodes, with every row of the log naming them (this batch's too).

    The fast path's own tables are set aside meanwhile (`store.fast_scope_aside`).
    Replaying every region the batch touched instead, a shop's tablet crossing the limit
    in a burst of 280,000 events replayed them all: 2.0 s of a 2.1 s apply offline.
    """
    store.keep_new_ids(cur, np.flatnonzero(inside))
    with store.fast_scope_aside(cur):
        store.scope_region_ids(cur, regions, with_kept=True)
        return _resolve(cur, rules, scoped=True, started=started)


def _joined(first: ResolveStats, second: ResolveStats, started: float) -> ResolveStats:
    """One apply's stats from a region replay and the fast path after it."""
    return ResolveStats(
        links=first.links + second.links,
        identities=first.identities + second.identities,
        persons=first.persons + second.persons,
        merges=first.merges + second.merges,
        conflicts=first.conflicts + second.conflicts,
        junk=first.junk + second.junk,
        seconds=time.perf_counter() - started,
        replayed=True,
    )


def _stats(result: ReplayResult, conflicts: pa.Table, junk: int, started: float) -> ResolveStats:
    n = len(result.root)
    return ResolveStats(
        links=len(result.outcome),
        identities=n,
        persons=int(np.count_nonzero(result.root == np.arange(n))),
        merges=int(np.count_nonzero(result.outcome == OUT_MERGED)),
        conflicts=conflicts.num_rows,
        junk=junk,
        seconds=time.perf_counter() - started,
    )


def _junk_after(
    cur: duckdb.DuckDBPyConnection,
    rules: IdentityRules,
    kind: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    node_slot: np.ndarray,
    nodes: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Each node's junk flag once the batch is in, and the stored ids of an unlimited type
    it pushes past the fan-out threshold (their earlier links must be undone).

    An id new in the batch has no rows before it, and none of its rows here is idle, so
    the batch's rows count its fan-out whole (as a full replay's `_junk` counts it). If it
    is junk, it merged nothing before either, so the replay can go on from the stored
    persons with it marked junk: a shop's tablet seen with a hundred members in its first
    batch no longer sends the whole batch to a region replay (most of a cold start's
    first apply). Only stored ids need the log (`store.fanout_of`, a scan of it all).
    """
    junk, fresh = nodes["junk"], nodes["fresh"]
    loose, _ = _loose_strong(kind, a, b, node_slot)
    candidates = np.unique(loose[~junk[loose] & ~fresh[loose]])
    total: dict[int, int] = {}
    if len(candidates):
        for node, neighbour_type, count in store.fanout_of(cur, candidates):
            if rules.rule(neighbour_type).limit is not None:
                total[node] = total.get(node, 0) + count
    turned = np.array(
        sorted(node for node, count in total.items() if count > rules.max_fanout), np.int64
    )
    fresh_junk = _junk(kind, a, b, node_slot, len(junk), rules.max_fanout) & fresh
    after: np.ndarray = junk | fresh_junk
    after[turned] = True
    return after, turned


def _fast_regions(
    cur: duckdb.DuckDBPyConnection,
    kind: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    junk: np.ndarray,
) -> tuple[pa.Array, np.ndarray]:
    """Each node's region after the batch: the oldest stored region it joins, if any.

    Returns per node the stored region id its component (`_regions`) continues (null
    for a component of new ids only) and the component's oldest node.
    """
    names, code, age = store.node_regions(cur)
    n = len(code)
    stored = code >= 0
    labels = _batch_components(a, b, junk, code, len(names))
    first = np.full(int(labels.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n, dtype=np.int64))
    # Per component, the stored region with the oldest root wins.
    best = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
    idx = np.flatnonzero(stored)
    order = idx[np.lexsort((age[idx], labels[idx]))]  # by component, oldest first
    _, firsts = np.unique(labels[order], return_index=True)
    best[labels[order[firsts]]] = code[order[firsts]]
    chosen = best[labels]
    region = pa.array(names, pa.string()).take(pa.array(chosen, mask=chosen < 0))
    return region, first[labels]


def _batch_components(
    a: np.ndarray, b: np.ndarray, junk: np.ndarray, code: np.ndarray, regions: int
) -> np.ndarray:
    """Each fast-path node's component label over the batch's rows that join regions
    (`_region_rows`) and the stored regions (``code`` per node, -1 for a new id)."""
    n = len(code)
    stored = np.flatnonzero(code >= 0)
    # Nodes of one stored region are joined through that region's first node here.
    first_of = np.full(regions, n, dtype=np.int64)
    np.minimum.at(first_of, code[stored], stored)
    ends = _region_rows(a, b, junk)
    ea = np.concatenate([a[ends], first_of[code[stored]]])
    eb = np.concatenate([b[ends], stored])
    graph = coo_matrix((np.ones(len(ea), dtype=np.int8), (ea, eb)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    out: np.ndarray = labels
    return out


def _slots(
    type_names: list[str], node_type: np.ndarray, rules: IdentityRules
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Limited types in (priority, name) order, each node's slot, each slot's limit.

    The order makes a link breaking two limits report the same (strongest) rule whatever
    the scope.
    """
    limited = sorted(
        (i for i, name in enumerate(type_names) if rules.rule(name).limit is not None),
        key=lambda i: (-rules.rule(type_names[i]).priority, type_names[i]),
    )
    slot_of_type = np.full(max(len(type_names), 1), -1, dtype=np.int16)
    slot_of_type[limited] = np.arange(len(limited), dtype=np.int16)
    slot_limit = np.array([rules.rule(type_names[i]).limit for i in limited], dtype=np.int16)
    node_slot: np.ndarray = slot_of_type[node_type]
    return limited, node_slot, slot_limit


def _conflicts(result: ReplayResult, ops: dict[str, np.ndarray], rule_names: list[str]) -> pa.Table:
    bad = np.flatnonzero((result.outcome == OUT_CONFLICT) | (result.outcome == OUT_KEPT_APART))
    return pa.table(
        {
            "seq": pa.array(ops["seq"][bad]),
            "sub": pa.array(ops["sub"][bad]),
            "a": pa.array(ops["a"][bad]),
            "b": pa.array(ops["b"][bad]),
            "rule": pa.array(
                [
                    "keep_apart"
                    if result.outcome[i] == OUT_KEPT_APART
                    else rule_names[result.slot[i]]
                    for i in bad
                ],
                pa.string(),
            ),
        }
    )


def _loose_strong(
    kind: np.ndarray, a: np.ndarray, b: np.ndarray, node_slot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The links between an unlimited-type id (loose) and a limited-type id (strong)."""
    links = ((kind == KIND_LINK) | (kind == KIND_FORCE)) & (b >= 0)
    la, lb = a[links], b[links]
    limited_a = node_slot[la] >= 0
    limited_b = node_slot[lb] >= 0
    loose = np.concatenate([lb[limited_a & ~limited_b], la[limited_b & ~limited_a]])
    strong = np.concatenate([la[limited_a & ~limited_b], lb[limited_b & ~limited_a]])
    return loose, strong


def _junk(
    kind: np.ndarray, a: np.ndarray, b: np.ndarray, node_slot: np.ndarray, n: int, max_fanout: int
) -> np.ndarray:
    """Ids of unlimited types linked to more than ``max_fanout`` ids of limited types."""
    loose, strong = _loose_strong(kind, a, b, node_slot)
    pairs = pd.unique(loose.astype(np.int64) * n + strong)  # hashing: no sort needed
    fanout = np.bincount(pairs // n if n else pairs, minlength=n)
    return fanout > max_fanout


def _region_rows(a: np.ndarray, b: np.ndarray, junk: np.ndarray) -> np.ndarray:
    """The rows that join regions: two-ended (keep_apart too: a scope must hold both ends
    of an operator's decision), and neither end junk.

    A junk id's rows merge nothing, so they need not hold their ends in one region; a
    shared device seen with thousands of members would otherwise make one region of
    them all, and each replay touching any of them would read that region whole.
    """
    two = b >= 0
    rows: np.ndarray = two & ~junk[a] & ~junk[np.where(two, b, a)]
    return rows


def _regions(kind: np.ndarray, a: np.ndarray, b: np.ndarray, junk: np.ndarray) -> np.ndarray:
    """Each node's region root: the oldest node of its component over `_region_rows`."""
    n = len(junk)
    links = _region_rows(a, b, junk)
    graph = coo_matrix(
        (np.ones(int(links.sum()), dtype=np.int8), (a[links], b[links])), shape=(n, n)
    )
    _, labels = connected_components(graph, directed=False)
    first = np.full(labels.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n, dtype=np.int64))
    regions: np.ndarray = first[labels]
    return regions


def _np(table: pa.Table, column: str) -> np.ndarray:
    values: np.ndarray = table.column(column).to_numpy().astype(np.int64)
    return values


def _max_seq(cur: duckdb.DuckDBPyConnection) -> int:
    row = cur.execute(
        "SELECT coalesce(greatest((SELECT max(seq) FROM events), (SELECT max(seq) FROM orders)), 0)"
    ).fetchone()
    return int(row[0]) if row else 0


_PENDING_SQL: dict[str, tuple[str, str]] = {}


def _pending_sql(warehouse: Warehouse, rules: IdentityRules) -> tuple[str, str]:
    """The links of unresolved events and orders, compiled once per rule set.

    The ``identity_pending_*`` views select rows past the stored watermark, so the SQL
    does not change between applies (compiling the expression costs ~0.1 s).
    """
    key = rules.fingerprint()
    if key not in _PENDING_SQL:
        con = warehouse.ibis()
        # Over ``_id_todo``: the pending events not known already (`store.stage_known`).
        events = con.table("events").schema()
        todo = ibis.table({c: events[c] for c in store.TODO_COLUMNS}, name="_id_todo")
        _PENDING_SQL[key] = (
            _sql(event_links(todo, rules)),
            _sql(order_links(con.table("identity_pending_orders"), rules)),
        )
    return _PENDING_SQL[key]


def _sql(expr: ibis.Table) -> str:
    return str(ibis.to_sql(expr, dialect="duckdb"))
