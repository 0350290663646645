"""The identity graph service: rebuild, incremental apply and operator decisions.

All three run the same steps on a scope of whole regions (`siyu.storage.identity_store`):
intern the ids, replay the links in ``(seq, sub)`` order with the rules
(`siyu.identity.replay`), write the identities map, the conflicts and the overrides.
A rebuild's scope is everything; an incremental apply's is the regions new links touch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from siyu.identity.exceptions import InvalidIdentity
from siyu.identity.links import event_links, order_links
from siyu.identity.replay import (
    KIND_FORCE,
    KIND_LINK,
    KINDS,
    OUT_CONFLICT,
    OUT_KEPT_APART,
    OUT_MERGED,
    ReplayInput,
    replay,
)
from siyu.identity.rules import IdentityRules
from siyu.progress import Progress, no_progress
from siyu.storage import identity_store as store
from siyu.storage.warehouse import Warehouse

WATERMARK = "watermark"
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


def rebuild(
    warehouse: Warehouse, rules: IdentityRules, progress: Progress = no_progress
) -> ResolveStats:
    """Re-derive every link from events and orders and replay them all."""
    started = time.perf_counter()
    with warehouse.transaction() as cur:
        progress("extracting identity links", 0, 3)
        store.delete_derived_links(cur)
        con = warehouse.ibis()
        watermark = _max_seq(cur)
        store.insert_links(cur, _sql(event_links(con.table("events"), rules)))
        store.insert_links(cur, _sql(order_links(con.table("orders"), rules)))
        store.scope_everything(cur)
        progress("resolving persons", 1, 3)
        stats = _resolve(cur, rules, scoped=False, started=started)
        store.set_state(cur, WATERMARK, str(watermark))
        store.set_state(cur, RULES, rules.fingerprint())
        progress("done", 3, 3)
    return stats


def apply_new(warehouse: Warehouse, rules: IdentityRules) -> ResolveStats | None:
    """Resolve events and orders that arrived since the last apply; None when none did."""
    started = time.perf_counter()
    with warehouse.transaction() as cur:
        done = int(store.state(cur, WATERMARK) or 0)
        latest = _max_seq(cur)
        if latest <= done:
            return None
        fingerprint = store.state(cur, RULES)
        if fingerprint is not None and fingerprint != rules.fingerprint():
            raise InvalidIdentity(
                "the identity rules changed since the graph was built; "
                "run `siyu identity rebuild` to apply them to all data"
            )
        con = warehouse.ibis()
        events = con.table("events")
        orders = con.table("orders")
        store.insert_links(cur, _sql(event_links(events.filter(events.seq > done), rules)))
        store.insert_links(cur, _sql(order_links(orders.filter(orders.seq > done), rules)))
        store.scope_regions(cur, done + 1)
        stats = _resolve(cur, rules, scoped=True, started=started)
        store.set_state(cur, WATERMARK, str(latest))
        if fingerprint is None:
            store.set_state(cur, RULES, rules.fingerprint())
    return stats


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
    apply_new(warehouse, rules)
    with warehouse.transaction() as cur:
        seq = warehouse.reserve_seq(1)
        cur.execute(
            "INSERT INTO identity_links VALUES (?, 0, ?, ?, ?, ?, ?, 'operator', ?, ?)",
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


def person_counts(warehouse: Warehouse) -> dict[str, int]:
    """Persons, identities and open conflicts in the map now."""
    row = (
        warehouse.cursor()
        .execute(
            "SELECT count(DISTINCT person_id), count(*),"
            " (SELECT count(*) FROM identity_conflicts WHERE a_person_id <> b_person_id)"
            " FROM identities"
        )
        .fetchone()
    )
    persons, identities, conflicts = row if row else (0, 0, 0)
    return {"persons": persons, "identities": identities, "conflicts": conflicts}


def rescope(cur: duckdb.DuckDBPyConnection, rules: IdentityRules, regions: list[str]) -> None:
    """Re-resolve whole regions after links were removed (privacy deletion)."""
    if regions:
        store.scope_region_ids(cur, regions)
        _resolve(cur, rules, scoped=True, started=time.perf_counter())


def _resolve(
    cur: duckdb.DuckDBPyConnection, rules: IdentityRules, *, scoped: bool, started: float
) -> ResolveStats:
    nodes = store.intern_nodes(cur)
    ops = store.load_ops(cur)
    n = nodes.num_rows
    if n == 0:
        store.drop_scope(cur)
        return ResolveStats(0, 0, 0, 0, 0, 0, time.perf_counter() - started)
    types = pc.dictionary_encode(nodes.column("t")).combine_chunks()
    type_names = types.dictionary.to_pylist()
    # Slots in (priority, name) order, so a link breaking two limits reports the same
    # (strongest) rule whatever the scope.
    limited = sorted(
        (i for i, name in enumerate(type_names) if rules.rule(name).limit is not None),
        key=lambda i: (-rules.rule(type_names[i]).priority, type_names[i]),
    )
    slot_of_type = np.full(len(type_names), -1, dtype=np.int16)
    slot_of_type[limited] = np.arange(len(limited), dtype=np.int16)
    slot_limit = np.array([rules.rule(type_names[i]).limit for i in limited], dtype=np.int16)
    node_slot = slot_of_type[types.indices.to_numpy(zero_copy_only=False)]

    kinds = pc.dictionary_encode(ops.column("kind")).combine_chunks()
    kind_code = np.array([KINDS[k] for k in kinds.dictionary.to_pylist()], dtype=np.int8)
    kind = (
        kind_code[kinds.indices.to_numpy(zero_copy_only=False)]
        if len(kinds)
        else np.zeros(0, np.int8)
    )
    a = _np(ops, "a")
    b = _np(ops, "b")
    seq = _np(ops, "seq")
    junk = _junk(kind, a, b, node_slot, n, rules.max_fanout)
    data = ReplayInput(
        parent=np.arange(n, dtype=np.int64),
        node_slot=node_slot,
        slot_limit=slot_limit,
        junk=junk,
        first_seq=_np(nodes, "node_order") >> store.ORDER_SHIFT,
        kind=kind,
        a=a,
        b=b,
        seq=seq,
        keep_apart=store.keep_apart_pairs(cur),
    )
    result = replay(data)
    region = _regions(kind, a, b, n)
    bad = np.flatnonzero((result.outcome == OUT_CONFLICT) | (result.outcome == OUT_KEPT_APART))
    rule_names = [type_names[i] for i in limited]
    conflicts = pa.table(
        {
            "op": pa.array(bad.astype(np.int64)),
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
    store.write_result(cur, result.root, region, junk, conflicts, result.merged_away, scoped)
    return ResolveStats(
        links=len(kind),
        identities=n,
        persons=int(np.count_nonzero(result.root == np.arange(n))),
        merges=int(np.count_nonzero(result.outcome == OUT_MERGED)),
        conflicts=len(bad),
        junk=int(np.count_nonzero(junk)),
        seconds=time.perf_counter() - started,
    )


def _junk(
    kind: np.ndarray, a: np.ndarray, b: np.ndarray, node_slot: np.ndarray, n: int, max_fanout: int
) -> np.ndarray:
    """Ids of unlimited types linked to more than ``max_fanout`` ids of limited types."""
    links = ((kind == KIND_LINK) | (kind == KIND_FORCE)) & (b >= 0)
    la, lb = a[links], b[links]
    limited_a = node_slot[la] >= 0
    limited_b = node_slot[lb] >= 0
    loose = np.concatenate([lb[limited_a & ~limited_b], la[limited_b & ~limited_a]])
    strong = np.concatenate([la[limited_a & ~limited_b], lb[limited_b & ~limited_a]])
    pairs = np.unique(loose.astype(np.int64) * n + strong)
    fanout = np.bincount(pairs // n if n else pairs, minlength=n)
    return fanout > max_fanout


def _regions(kind: np.ndarray, a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Each node's region root: the oldest node of its raw component over every row."""
    # Every two-ended row joins a region, keep_apart too: a scope must hold both ends.
    links = b >= 0
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


def _sql(expr: ibis.Table) -> str:
    return str(ibis.to_sql(expr, dialect="duckdb"))
