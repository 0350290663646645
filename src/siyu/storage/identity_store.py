"""DuckDB side of the identity graph: interning ids, loading ops, writing the map.

The replay itself (`siyu.identity.replay`) works on dense integer node ids; this module
turns the ``identity_links`` rows of a *scope* into those arrays and writes the answer
back, set-wise. A scope is a set of whole regions, so replaying it alone gives exactly
what a full replay gives for those ids. A region is a connected component over every row
but those with a junk end (`siyu.identity.graph._regions`): a shared device that crossed
the fan-out limit no longer glues the persons it was seen with into one region, which
every later replay touching one of them would read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: A node's order: seq << 12 | (sub * 2 + end). Ids past the 2,048th of one record (no
#: real record has that many) are left out.
ORDER_SHIFT: Final = 12
MAX_SUB: Final = 1 << (ORDER_SHIFT - 1)

_PID = "'p' || left(md5({t} || chr(31) || {v}), 20)"

#: A conflict still waiting for an operator: its two persons are apart, and no operator
#: decided to keep them so.
OPEN_CONFLICT = "a_person_id <> b_person_id AND rule <> 'keep_apart'"


def person_id_sql(t: str, v: str) -> str:
    """SQL for the person id an identity founds (the same as `person_id_of`)."""
    return _PID.format(t=t, v=v)


#: ``identity_state`` key of the last ``seq`` resolved (events and orders up to it).
WATERMARK: Final = "watermark"


def resolved_through(cur: duckdb.DuckDBPyConnection) -> int:
    """The last ``seq`` identity resolution has applied (0 before the first apply)."""
    return int(state(cur, WATERMARK) or 0)


def person_counts(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Persons, identities, open conflicts and the seq resolved through."""
    row = cur.execute(
        f"""
        SELECT count(DISTINCT person_id), count(*),
               (SELECT count(*) FROM identity_conflicts WHERE {OPEN_CONFLICT}),
               (SELECT CAST(value AS BIGINT) FROM identity_state WHERE key = '{WATERMARK}')
        FROM identities
        """
    ).fetchone()
    persons, identities, conflicts, through = row if row else (0, 0, 0, 0)
    return {
        "persons": int(persons),
        "identities": int(identities),
        "conflicts": int(conflicts),
        "resolved_through_seq": int(through or 0),
    }


def insert_links(cur: duckdb.DuckDBPyConnection, select_sql: str) -> int:
    """Append ``identity_links`` rows from a SELECT (compiled from an Ibis expression)."""
    row = cur.execute(f"INSERT INTO identity_link_rows BY NAME {select_sql}").fetchone()
    return int(row[0]) if row else 0


#: ``identity_link_rows`` columns, in order.
_ROW_COLUMNS: Final = "seq, sub, kind, a_type, a_value, b_type, b_value, origin, ref, seen_at"
#: The per-row columns of ``identity_link_packs`` (lists; the others are per record).
_PACKED: Final = ("sub", "a_node", "b_node")


def _insert_packs(rows_sql: str) -> str:
    """INSERT of ``identity_link_packs`` rows from ``rows_sql`` (``FROM … [WHERE …]``
    over packed rows: ``seq, sub, a_node, b_node, origin, ref, seen_at``), one per record.

    A record's rows go into one list of structs, split into the columns afterwards: one
    list aggregate keeps the columns aligned without sorting (three ``list(… ORDER BY
    sub)`` took 1.2-1.4 s for 900,000 rows against 0.65-0.70 s). Nothing reads a pack's
    rows by position; readers order by ``(seq, sub)`` themselves.
    """
    fields = ", ".join(f"'{c}': {c}" for c in _PACKED)
    columns = ", ".join(f"list_transform(p, lambda x: x.{c})" for c in _PACKED)
    return (
        f"INSERT INTO identity_link_packs SELECT seq, origin, ref, seen_at, {columns}"
        f" FROM (SELECT seq, origin, ref, seen_at, list({{{fields}}}) AS p"
        f" FROM (SELECT seq, sub, a_node, b_node, origin, ref, seen_at {rows_sql})"
        " GROUP BY ALL)"
    )


#: Whether a link row ``l`` changes nothing now, given its ids' ``identities`` rows
#: ``ia`` and ``ib`` (`_IDLE_JOINS`).
_IDLE: Final = (
    f"coalesce(l.kind IN ('node', 'link') AND l.sub < {MAX_SUB} AND ia.person_id IS NOT NULL"
    " AND (l.b_type IS NULL OR ib.person_id = ia.person_id), false)"
)
_IDLE_JOINS: Final = (
    "LEFT JOIN identities ia ON ia.identity_type = l.a_type AND ia.identity_value = l.a_value"
    " LEFT JOIN identities ib ON ib.identity_type = l.b_type AND ib.identity_value = l.b_value"
)


def stage_links(cur: duckdb.DuckDBPyConnection, select_sqls: list[str]) -> None:
    """``_id_new``: the rows of SELECTs of link rows, each marked ``idle`` or not.

    A row is idle when it changes nothing now: a node row of an id already held, or a
    link between two ids already in one person (most of a returning user's traffic).
    Idle rows carry their ids' ``node_order`` (``a_node``, ``b_node``) for packing.
    Needs `stage_known`'s tables: the SELECTs derive one event per signature, and the
    events alike (``_id_copies``) get its rows here.
    """
    body = " UNION ALL ".join(f"SELECT {_ROW_COLUMNS} FROM ({sql})" for sql in select_sqls)
    # ``identities`` is read once for both ends of every row, ``held`` joined back by
    # ``(seq, sub)`` (unique: ``sub`` numbers a record's rows, and events and orders
    # draw ``seq`` from one sequence): a join per end read it twice, half of this
    # statement at 2 million ids. The ids' persons are kept for `scope_persons`, which
    # would look the same ids up again otherwise (another 40 ms an apply there).
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_new AS
        WITH l AS MATERIALIZED ({body}),
        ends AS (
            SELECT seq, sub, false AS second, a_type AS t, a_value AS v FROM l
            UNION ALL
            SELECT seq, sub, true, b_type, b_value FROM l WHERE b_type IS NOT NULL
        ),
        held AS (
            SELECT e.seq, e.sub, e.second, i.node_order, i.person_id
            FROM ends e JOIN identities i ON i.identity_type = e.t AND i.identity_value = e.v
        )
        SELECT l.*, ia.node_order AS a_node, ib.node_order AS b_node, {_IDLE} AS idle,
               ia.person_id AS a_person, ib.person_id AS b_person
        FROM l
        LEFT JOIN held ia ON ia.seq = l.seq AND ia.sub = l.sub AND NOT ia.second
        LEFT JOIN held ib ON ib.seq = l.seq AND ib.sub = l.sub AND ib.second
        """
    )
    # The events alike an event derived here (`stage_known`): its rows, as their own.
    cur.execute(
        """
        INSERT INTO _id_new
        SELECT c.seq, l.sub, l.kind, l.a_type, l.a_value, l.b_type, l.b_value, l.origin,
               c.ref, c.seen_at, l.a_node, l.b_node, l.idle, l.a_person, l.b_person
        FROM _id_copies c JOIN _id_new l ON l.seq = c.rep AND l.origin = 'event'
        """
    )


#: What an event's link rows depend on besides its ``seq``, ``event_id`` and time (the
#: inputs of `siyu.identity.links.event_links`), as a 128-bit hash of its JSON: events
#: alike in these give the same rows.
_SIGNATURE: Final = (
    "md5_number(to_json({'u': type = 'unbind', 'a': app_id, 'l': user_id,"
    " 'n': anonymous_id, 'p': previous_id, 'm': identities}))"
)
#: The columns of ``_id_todo``: what `siyu.identity.links.event_links` reads.
TODO_COLUMNS: Final = (
    "seq",
    "event_id",
    "event_time",
    "type",
    "app_id",
    "identities",
    "user_id",
    "anonymous_id",
    "previous_id",
)
#: Signatures remembered at most; the cache is emptied when it grows past this.
_KNOWN_LIMIT: Final = 2_000_000


def stage_known(cur: duckdb.DuckDBPyConnection) -> None:
    """Split pending events into known ones (``_id_hits``), one event per signature of
    the rest (``_id_todo``, to derive) and the others alike (``_id_copies``).

    A known event has the signature of an event resolved before whose rows were all
    idle after its apply (`remember_idle`), with nothing undone since (`forget_idle`
    runs on every replay): its rows are that event's rows with its own ``seq``, ``ref``
    and time, and idle again. So most of a returning user's traffic skips deriving and
    classifying links, which was half of an apply (`BENCHMARKS.md`, "With incremental
    identity resolution").

    Of the other events, those alike in their signature give the same rows, classified
    alike (against the graph before the apply), so only the first of each is derived and
    `stage_links` copies its rows to the rest (``rep`` names it): a burst's new visitors
    come back within the same apply.
    """
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_sig AS SELECT seq, event_id AS ref,"
        f" event_time AS seen_at, {_SIGNATURE} AS sig FROM identity_pending_events"
    )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_hits AS SELECT s.seq, s.ref, s.seen_at, k.sub,"
        " k.a_node, k.b_node FROM _id_sig s JOIN identity_link_known k ON k.sig = s.sig"
    )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_copies AS"
        " SELECT seq, ref, seen_at, min(seq) OVER (PARTITION BY sig) AS rep"
        " FROM _id_sig s ANTI JOIN _id_hits h ON h.seq = s.seq"
    )
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE _id_todo AS SELECT {', '.join(TODO_COLUMNS)}"
        " FROM identity_pending_events e"
        " SEMI JOIN _id_copies c ON c.rep = e.seq"
    )
    cur.execute("DELETE FROM _id_copies WHERE seq = rep")


def remember_idle(cur: duckdb.DuckDBPyConnection, after: pa.Table | None = None) -> None:
    """Remember the signatures of this apply's events whose rows are all idle now.

    Checked against the graph the apply left, so rows this apply made idle count: a
    returning user's second event is then already known, not only the third (a
    visitor's first events found their ids and join them, and change nothing when seen
    again). Rows the rules refused (a conflict) stay not idle, so such events are
    derived every time. A replay forgets every known signature first (`forget_idle`).

    ``after`` (`rows_after`), when the apply only added links, says for each row that
    was not idle before it whether it is now and its ids' ``node_order``: persons only
    grew, so rows idle before still are, and nothing needs to be looked up again. Without
    it the rows are joined to ``identities`` once more (0.3 s of an apply founding
    50,000 visitors' ids, the largest statement).
    """
    if _scalar(cur, "SELECT count(*) FROM identity_link_known") > _KNOWN_LIMIT:
        forget_idle(cur)
    # Events alike in their signature have the same rows, so one event per signature not
    # known yet is enough (a third of the rows of an apply of first sightings): the events
    # `stage_known` left to derive are that, one per signature it did not find known, and
    # since then known signatures were only forgotten. (Asking the known table again
    # scanned all of it: 35 ms an apply at 2 million signatures.)
    picked = "SELECT * FROM _id_new l SEMI JOIN _id_todo t ON t.seq = l.seq"
    if after is None:
        rows = f"""
            SELECT l.seq, l.sub, ia.node_order AS a_node, ib.node_order AS b_node,
                   {_IDLE} AS idle
            FROM ({picked}) l
            {_IDLE_JOINS}
            WHERE l.origin = 'event'
        """
    else:
        cur.register("_id_after", after)
        rows = f"""
            SELECT l.seq, l.sub,
                   CASE WHEN l.idle THEN l.a_node ELSE x.a_node END AS a_node,
                   CASE WHEN l.idle THEN l.b_node ELSE x.b_node END AS b_node,
                   l.idle OR coalesce(x.idle, false) AS idle
            FROM ({picked}) l
            LEFT JOIN _id_after x ON x.seq = l.seq AND x.sub = l.sub
            WHERE l.origin = 'event'
        """
    # One list of structs, split afterwards, as `_insert_packs` does: nothing reads the
    # lists by position (`attach_actors` finds ``sub`` 0 with `list_position`).
    fields = ", ".join(f"'{c}': n.{c}" for c in _PACKED)
    columns = ", ".join(f"list_transform(p, lambda x: x.{c})" for c in _PACKED)
    cur.execute(
        f"""
        INSERT INTO identity_link_known
        SELECT sig, {columns}
        FROM (SELECT s.sig, list({{{fields}}}) AS p
              FROM ({rows}) n JOIN _id_sig s ON s.seq = n.seq
              GROUP BY s.seq, s.sig HAVING bool_and(n.idle))
        """
    )
    if after is not None:
        cur.unregister("_id_after")


def rows_after(ops: dict[str, np.ndarray], root: np.ndarray, node_order: np.ndarray) -> pa.Table:
    """For `remember_idle`: per replayed row (``ops`` of `load_ops`), whether it is idle
    once the replay's persons (``root`` per node) are written, and its ids' node orders.

    The same test as ``_IDLE``: a node row, or a link whose two ids share a person.
    """
    a, b = ops["a"], ops["b"]
    two = b >= 0
    b_safe = np.where(two, b, 0)
    kind = ops["kind"]
    idle = (kind <= _LINK_CODE) & (~two | (root[a] == root[b_safe]))
    return pa.table(
        {
            "seq": pa.array(ops["seq"]),
            "sub": pa.array(ops["sub"]),
            "a_node": pa.array(node_order[a]),
            "b_node": pa.array(node_order[b_safe], mask=~two),
            "idle": pa.array(idle),
        }
    )


def unstage_known(cur: duckdb.DuckDBPyConnection) -> None:
    for name in ("_id_todo", "_id_copies", "_id_hits", "_id_sig"):
        cur.execute(f"DROP TABLE {name}")


def forget_idle(cur: duckdb.DuckDBPyConnection) -> None:
    """Empty the known signatures: after a replay an id's links may be undone."""
    cur.execute("DELETE FROM identity_link_known")


def store_staged(cur: duckdb.DuckDBPyConnection) -> None:
    """Write ``_id_new``: rows that may change the graph as rows, idle ones packed.

    The apply's known events (`stage_known`) are packed too, their rows as remembered.
    """
    cur.execute(f"INSERT INTO identity_link_rows SELECT {_ROW_COLUMNS} FROM _id_new WHERE NOT idle")
    cur.execute(_insert_packs("FROM _id_new WHERE idle"))
    cur.execute(
        "INSERT INTO identity_link_packs"
        " SELECT seq, 'event', ref, seen_at, sub, a_node, b_node FROM _id_hits"
    )


def delete_packed(cur: duckdb.DuckDBPyConnection, gone_sql: str) -> None:
    """Remove packed rows for which ``gone_sql`` (over the packed columns) holds."""
    _rewrite_packs(
        cur,
        f"SELECT *, coalesce({gone_sql}, false) AS hit FROM identity_link_packed",
        keep="NOT hit",
    )


def _rewrite_packs(cur: duckdb.DuckDBPyConnection, rows_sql: str, keep: str = "true") -> None:
    """Rewrite each pack holding a row ``rows_sql`` flags ``hit``, with its rows as
    ``rows_sql`` gives them where ``keep`` holds.

    ``rows_sql`` selects every packed row (`identity_link_packed` columns) plus ``hit``.
    Packs are keyed by ``seq``: one per record.
    """
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _id_packed AS {rows_sql}")
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_hit AS SELECT DISTINCT seq AS pack"
        " FROM _id_packed WHERE hit"
    )
    cur.execute("DELETE FROM identity_link_packs WHERE seq IN (SELECT pack FROM _id_hit)")
    cur.execute(
        _insert_packs(f"FROM _id_packed WHERE {keep} AND seq IN (SELECT pack FROM _id_hit)")
    )
    cur.execute("DROP TABLE _id_packed")
    cur.execute("DROP TABLE _id_hit")


def attach_actors(
    cur: duckdb.DuckDBPyConnection, min_seq: int | None = None, *, staged: bool = False
) -> None:
    """Set ``actor`` on events and orders: the ``node_order`` of each one's actor identity.

    With ``min_seq`` only records from that ``seq`` on (an incremental apply: older
    records keep their actor, whose ``node_order`` never changes). Without it, every
    record (a rebuild, after which rules may name other actors): rows whose actor is
    unchanged are not rewritten, and rows without a node row lose theirs.
    """
    # An apply reads the rows it staged (`stage_links`, ``staged``), others the log.
    source = "_id_new" if staged else "identity_links"
    since = "" if min_seq is None else f" AND l.seq >= {int(min_seq)}"
    # Known events (`stage_known`) name their actor's node_order in their node row
    # (``sub`` 0): an id's node_order never changes while known signatures stand
    # (`forget_idle`).
    known = " UNION ALL SELECT seq, a_node[list_position(sub, 0)] FROM _id_hits" if staged else ""
    # Updating rows in scattered order cost 0.7 s per 100,000 against 0.04 s in table
    # order (a throwaway timing on this machine). A hash join's rows come in the order of
    # its probe side, so the UPDATE below has no ``seq >= min_seq`` filter on the table
    # (the join's own min/max filter still skips the old row groups): with it, DuckDB
    # could estimate the table side smaller, build on it and probe with these rows, and
    # ``seq`` order is not table order (inserts do not keep it). That cost 0.1 s per apply
    # of 40,000 events in three of eight applies, against 2-5 ms. Sorted by ``seq``
    # still, for a probe in table order when the two sides tie.
    if not (staged and min_seq is not None and _stage_actors(cur, int(min_seq))):
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _id_actors AS"
            f" SELECT l.seq, i.node_order FROM {source} l JOIN identities i"
            " ON l.a_type = i.identity_type AND l.a_value = i.identity_value"
            f" WHERE l.kind = 'node'{since}{known} ORDER BY seq"
        )
    for table in ("events", "orders"):
        if min_seq is None:
            cur.execute(
                f"UPDATE {table} SET actor = NULL WHERE actor IS NOT NULL"
                f" AND seq NOT IN (SELECT seq FROM _id_actors)"
            )
        cur.execute(
            f"UPDATE {table} SET actor = a.node_order FROM _id_actors a"
            f" WHERE {table}.seq = a.seq AND {table}.actor IS DISTINCT FROM a.node_order"
        )
    cur.execute("DROP TABLE _id_actors")


def _stage_actors(cur: duckdb.DuckDBPyConnection, min_seq: int) -> bool:
    """``_id_actors`` of an apply from what it staged, without reading all ``identities``;
    False if some staged node row found no actor this way (then the full join runs).

    A node row whose id was held before the apply carries its ``node_order``
    (`stage_links`), which the apply cannot change: it moves only when a privacy deletion
    takes the id's first row. Ids the apply founded are the only ones to look up, and
    their first row is in the batch, so their ``node_order`` is at least ``min_seq <<
    ORDER_SHIFT``: the filter on it lets the scan skip every row group of older ids by
    its min/max (a join over all ``identities`` was 30 ms an apply at 2 million ids,
    however few the events).
    """
    lowest = min_seq << ORDER_SHIFT
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_actors AS
        SELECT seq, a_node AS node_order FROM _id_new
        WHERE kind = 'node' AND seq >= $s AND a_node IS NOT NULL
        UNION ALL
        SELECT l.seq, i.node_order FROM _id_new l
        JOIN (SELECT identity_type, identity_value, node_order FROM identities
              WHERE node_order >= {lowest}) i
          ON l.a_type = i.identity_type AND l.a_value = i.identity_value
        WHERE l.kind = 'node' AND l.seq >= $s AND l.a_node IS NULL
        UNION ALL
        SELECT seq, a_node[list_position(sub, 0)] FROM _id_hits
        ORDER BY seq
        """,
        {"s": min_seq},
    )
    return bool(
        _scalar(
            cur,
            "SELECT (SELECT count(*) FROM _id_actors)"
            f" = (SELECT count(*) FROM _id_new WHERE kind = 'node' AND seq >= {min_seq})"
            " + (SELECT count(*) FROM _id_hits)",
        )
    )


def delete_derived_links(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop links derived from events and orders (operator decisions stay)."""
    cur.execute("DELETE FROM identity_link_rows WHERE origin IN ('event', 'order')")
    cur.execute("DELETE FROM identity_link_packs")
    forget_idle(cur)


def scope_everything(cur: duckdb.DuckDBPyConnection) -> None:
    drop_scope(cur)
    cur.execute("CREATE OR REPLACE TEMP VIEW _id_links AS SELECT * FROM identity_links")


def scope_regions(cur: duckdb.DuckDBPyConnection, min_seq: int) -> int:
    """Scope = the regions touched by links with ``seq >= min_seq``; returns its link count."""
    drop_scope(cur)
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_touched AS
        WITH recent AS (
            SELECT a_type, a_value, b_type, b_value FROM identity_link_rows WHERE seq >= $s
            UNION ALL
            SELECT ia.identity_type, ia.identity_value, ib.identity_type, ib.identity_value
            FROM identity_link_packed p
            JOIN identities ia ON ia.node_order = p.a_node
            LEFT JOIN identities ib ON ib.node_order = p.b_node
            WHERE p.seq >= $s
        )
        SELECT DISTINCT a_type AS t, a_value AS v FROM recent
        UNION
        SELECT DISTINCT b_type, b_value FROM recent WHERE b_type IS NOT NULL
        """,
        {"s": min_seq},
    )
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_scope AS
        SELECT identity_type AS t, identity_value AS v FROM identities
        WHERE region_id IN (
            SELECT i.region_id FROM identities i
            JOIN _id_touched x ON i.identity_type = x.t AND i.identity_value = x.v)
        UNION
        SELECT t, v FROM _id_touched
        """
    )
    return _scope_links(cur)


def _scope_links(cur: duckdb.DuckDBPyConnection) -> int:
    """``_id_links``: every row naming an id of ``_id_scope`` at either end.

    Rows between two scope ids are the scope's own. A row from a scope id to an id
    outside (a *foreign* node, `intern_nodes`) has a junk end, or the two would share a
    region; it is read so that each scope id's age and fan-out count all its rows.
    """
    # Packed rows name their ids by ``node_order``: they are picked by the scope's node
    # orders first and only those are joined to ``identities`` for their names. Read
    # through the ``identity_links`` view, every packed row of the log was joined to
    # ``identities`` twice before the scope could pick any (most of a region replay's
    # time, growing with the log).
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_scope_nodes AS SELECT i.node_order FROM identities i"
        " SEMI JOIN _id_scope s ON i.identity_type = s.t AND i.identity_value = s.v"
    )
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_links AS
        SELECT l.* FROM identity_link_rows l
        LEFT JOIN _id_scope sa ON l.a_type = sa.t AND l.a_value = sa.v
        LEFT JOIN _id_scope sb ON l.b_type = sb.t AND l.b_value = sb.v
        WHERE sa.t IS NOT NULL OR sb.t IS NOT NULL
        UNION ALL
        SELECT p.seq, p.sub, CASE WHEN p.b_node IS NULL THEN 'node' ELSE 'link' END,
               ia.identity_type, ia.identity_value, ib.identity_type, ib.identity_value,
               p.origin, p.ref, p.seen_at
        FROM (
            SELECT * FROM identity_link_packed
            WHERE a_node IN (SELECT node_order FROM _id_scope_nodes)
               OR b_node IN (SELECT node_order FROM _id_scope_nodes)
        ) p
        JOIN identities ia ON ia.node_order = p.a_node
        LEFT JOIN identities ib ON ib.node_order = p.b_node
        """
    )
    cur.execute("DROP TABLE _id_scope_nodes")
    return _scalar(cur, "SELECT count(*) FROM _id_links")


def scope_region_ids(
    cur: duckdb.DuckDBPyConnection, regions: list[str], *, with_kept: bool = False
) -> int:
    """Scope = the named regions; ``with_kept``: and the new ids of `keep_new_ids`."""
    drop_scope(cur)
    kept = " UNION SELECT t, v FROM _id_kept" if with_kept else ""
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_scope AS SELECT identity_type AS t,"
        f" identity_value AS v FROM identities WHERE list_contains($r, region_id){kept}",
        {"r": regions},
    )
    return _scope_links(cur)


def keep_new_ids(cur: duckdb.DuckDBPyConnection, nodes: np.ndarray) -> None:
    """``_id_kept``: the ids new in this batch among the fast path's nodes ``nodes``
    (`scope_persons` indexes), for `scope_region_ids`: they are in no region yet."""
    cur.register("_id_pick_new", pa.table({"idx": pa.array(nodes.astype(np.int64))}))
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_kept AS SELECT t, v FROM _id_nodes"
        " SEMI JOIN _id_pick_new USING (idx) WHERE old_person IS NULL"
    )
    cur.unregister("_id_pick_new")


@contextmanager
def fast_scope_aside(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Keep the fast path's ``_id_nodes`` and ``_id_links`` through a region replay
    (which builds and drops its own), for `write_increment` afterwards."""
    for name in _FAST_TABLES:
        cur.execute(f"ALTER TABLE {name} RENAME TO {name}_fast")
    try:
        yield
    finally:
        cur.execute("DROP TABLE IF EXISTS _id_kept")
        for name in _FAST_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(f"ALTER TABLE {name}_fast RENAME TO {name}")


_FAST_TABLES: Final = ("_id_nodes", "_id_links")


#: Op kinds as the small integers of `siyu.identity.replay` (KINDS).
_KIND_CODE = (
    "CASE kind WHEN 'node' THEN 0 WHEN 'link' THEN 1 WHEN 'force' THEN 2"
    " WHEN 'unbind' THEN 3 ELSE 4 END"
)
#: The code of 'link' in ``_KIND_CODE``; 'node' is the one below it.
_LINK_CODE: Final = 1


def intern_nodes(
    cur: duckdb.DuckDBPyConnection, scoped: bool
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Number the scope's ids by age.

    Ids are keyed by a 128-bit hash of type and value (narrow joins); the text of each is
    read back once, from the row where it first appears. Returns the distinct types and,
    per node index, its type code, ``node_order``, whether it is foreign (``scoped``: an
    end of a scope row outside ``_id_scope``, seen through only some of its rows, so not
    written back) and its stored junk flag (what a foreign node's partial rows cannot
    tell).
    """
    _make_keys(cur, "_id_links", f"WHERE sub < {MAX_SUB}")
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_first AS
        WITH ends AS (
            SELECT ka AS k, (seq << {ORDER_SHIFT}) | (sub * 2) AS node_order
            FROM _id_keys
            UNION ALL
            SELECT kb, (seq << {ORDER_SHIFT}) | (sub * 2 + 1)
            FROM _id_keys WHERE kb IS NOT NULL
        )
        SELECT k, min(node_order) AS node_order FROM ends GROUP BY k
        """
    )
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_nodes AS
        SELECT row_number() OVER (ORDER BY f.node_order) - 1 AS idx, f.k, f.node_order,
               CASE WHEN f.node_order & 1 = 0 THEN l.a_type ELSE l.b_type END AS t,
               CASE WHEN f.node_order & 1 = 0 THEN l.a_value ELSE l.b_value END AS v,
               l.seen_at AS first_seen
        FROM _id_first f
        JOIN _id_links l
          ON l.seq = f.node_order >> {ORDER_SHIFT}
         AND l.sub = (f.node_order & {(1 << ORDER_SHIFT) - 1}) >> 1
        """
    )
    cur.execute("DROP TABLE _id_first")
    types = _number_types(cur)
    if scoped:
        got = cur.execute(
            """
            SELECT y.code, n.node_order, s.t IS NULL AS foreign, coalesce(i.junk, false) AS junk
            FROM _id_nodes n JOIN _id_types y USING (t)
            LEFT JOIN _id_scope s ON s.t = n.t AND s.v = n.v
            LEFT JOIN identities i ON i.identity_type = n.t AND i.identity_value = n.v
            ORDER BY n.idx
            """
        ).fetchnumpy()
        foreign = _array(got["foreign"], np.bool_)
        junk = _array(got["junk"], np.bool_)
    else:
        got = cur.execute(
            "SELECT y.code, n.node_order FROM _id_nodes n JOIN _id_types y USING (t) ORDER BY n.idx"
        ).fetchnumpy()
        foreign = junk = np.zeros(len(got["code"]), dtype=np.bool_)
    return (
        types,
        _array(got["code"], np.int16),
        _array(got["node_order"], np.int64),
        foreign,
        junk,
    )


def load_ops(cur: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """The scope's rows in replay order as integer arrays: kind, a, b, seq, sub."""
    got = cur.execute(
        """
        SELECT l.kind, na.idx AS a, coalesce(nb.idx, -1) AS b, l.seq, l.sub
        FROM _id_keys l
        JOIN _id_nodes na ON l.ka = na.k
        LEFT JOIN _id_nodes nb ON l.kb = nb.k
        ORDER BY l.seq, l.sub
        """
    ).fetchnumpy()
    return {
        "kind": _array(got["kind"], np.int8),
        "a": _array(got["a"], np.int64),
        "b": _array(got["b"], np.int64),
        "seq": _array(got["seq"], np.int64),
        "sub": _array(got["sub"], np.int64),
    }


def no_ops() -> dict[str, np.ndarray]:
    """`load_ops` of an empty scope."""
    empty = np.zeros(0, dtype=np.int64)
    return {"kind": empty.astype(np.int8), "a": empty, "b": empty, "seq": empty, "sub": empty}


def write_result(
    cur: duckdb.DuckDBPyConnection,
    root: np.ndarray,
    region: np.ndarray,
    junk: np.ndarray,
    conflicts: pa.Table,
    merged_away: np.ndarray,
    scoped: bool,
    foreign: np.ndarray,
) -> None:
    """Replace the scope's rows of identities, conflicts and overrides.

    ``conflicts`` has the refused rows' ``seq``, ``sub``, node indexes ``a`` and ``b``
    and the ``rule``. Foreign nodes (`intern_nodes`) are left as stored.
    """
    forget_idle(cur)  # a replay may undo what made remembered events idle
    n = len(root)
    cur.register(
        "_id_result",
        pa.table(
            {
                "idx": pa.array(np.arange(n, dtype=np.int64)),
                "root": pa.array(root.astype(np.int64)),
                "region": pa.array(region.astype(np.int64)),
                "junk": pa.array(junk),
                "merged_away": pa.array(merged_away),
                "foreign": pa.array(foreign),
            }
        ),
    )
    cur.register("_id_conflict_ops", conflicts)
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE _id_own AS"
        f" SELECT idx, {person_id_sql('t', 'v')} AS own_id FROM _id_nodes"
    )
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_map AS
        SELECT n.idx, n.t, n.v, n.node_order, n.first_seen, r.junk, r.merged_away,
               o.own_id, p.own_id AS person_id, g.own_id AS region_id
        FROM _id_nodes n
        JOIN _id_result r ON r.idx = n.idx
        JOIN _id_own o ON o.idx = n.idx
        JOIN _id_own p ON p.idx = r.root
        JOIN _id_own g ON g.idx = r.region
        WHERE NOT r.foreign
        """
    )
    if scoped:
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _id_renumbered AS"
            " SELECT i.node_order AS old, m.node_order AS new FROM identities i"
            " JOIN _id_map m ON m.t = i.identity_type AND m.v = i.identity_value"
            " WHERE m.node_order <> i.node_order"
        )
        clear_scope(cur)
    else:
        cur.execute("DELETE FROM identity_conflicts")
        cur.execute("DELETE FROM person_overrides")
        cur.execute("DELETE FROM identities")
    cur.execute(
        "INSERT INTO identities SELECT t, v, person_id, region_id, node_order, first_seen, junk"
        " FROM _id_map"
    )
    if scoped:
        _renumber(cur)
    _write_overrides_and_conflicts(cur)
    drop_scope(cur)


def clear_scope(cur: duckdb.DuckDBPyConnection) -> None:
    """Remove what is stored of the scope's ids (``_id_scope``): identities, overrides of
    their persons and conflicts (whose ends share a region), to be written again from
    the replay.

    A scope id left without rows (a privacy deletion took them all) is no node of the
    replay, so it is not written again: it goes, as from a rebuild.
    """
    cur.execute(
        "DELETE FROM identity_conflicts c WHERE EXISTS (SELECT 1 FROM _id_scope s"
        " WHERE s.t = c.a_type AND s.v = c.a_value)"
    )
    cur.execute(
        "DELETE FROM person_overrides WHERE old_person_id IN"
        f" (SELECT {person_id_sql('t', 'v')} FROM _id_scope)"
    )
    cur.execute(
        "DELETE FROM identities i WHERE EXISTS (SELECT 1 FROM _id_scope s"
        " WHERE s.t = i.identity_type AND s.v = i.identity_value)"
    )


def _renumber(cur: duckdb.DuckDBPyConnection) -> None:
    """Follow ids whose ``node_order`` moved (``_id_renumbered``: old -> new).

    An id's ``node_order`` is its first row; it moves only when a privacy deletion took
    that row, and then every reference to it follows: the actor of events and orders,
    and packed rows (`_rewrite_packs`).
    """
    if _scalar(cur, "SELECT count(*) FROM _id_renumbered"):
        for table in ("events", "orders"):
            cur.execute(
                f"UPDATE {table} SET actor = r.new FROM _id_renumbered r"
                f" WHERE {table}.actor = r.old"
            )
        _rewrite_packs(
            cur,
            """
            SELECT p.* REPLACE (coalesce(ra.new, p.a_node) AS a_node,
                                coalesce(rb.new, p.b_node) AS b_node),
                   ra.old IS NOT NULL OR rb.old IS NOT NULL AS hit
            FROM identity_link_packed p
            LEFT JOIN _id_renumbered ra ON ra.old = p.a_node
            LEFT JOIN _id_renumbered rb ON rb.old = p.b_node
            """,
        )
    cur.execute("DROP TABLE _id_renumbered")


def _number_types(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """``_id_types``: a small code per identity type of ``_id_nodes``; the names in order."""
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_types AS"
        " SELECT t, CAST(row_number() OVER (ORDER BY t) - 1 AS SMALLINT) AS code"
        " FROM (SELECT DISTINCT t FROM _id_nodes)"
    )
    return [str(r[0]) for r in cur.execute("SELECT t FROM _id_types ORDER BY code").fetchall()]


def _make_keys(cur: duckdb.DuckDBPyConnection, source: str, where: str) -> None:
    """``_id_keys``: the rows of ``source`` with ids as 128-bit keys and kinds as codes."""
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_keys AS
        SELECT seq, sub, CAST({_KIND_CODE} AS TINYINT) AS kind,
               md5_number(a_type || chr(31) || a_value) AS ka,
               CASE WHEN b_type IS NOT NULL
                    THEN md5_number(b_type || chr(31) || b_value) END AS kb
        FROM {source} {where}
        """
    )


def _write_overrides_and_conflicts(cur: duckdb.DuckDBPyConnection) -> None:
    """Overrides of persons merged away and the refused rows, from ``_id_map``."""
    cur.execute(
        "INSERT INTO person_overrides SELECT own_id, person_id FROM _id_map"
        " WHERE merged_away AND own_id <> person_id"
    )
    cur.execute(
        """
        INSERT INTO identity_conflicts
        SELECT l.seq, l.sub, l.a_type, l.a_value, l.b_type, l.b_value,
               ma.person_id, mb.person_id, c.rule, l.origin, l.ref, l.seen_at
        FROM _id_conflict_ops c
        JOIN _id_links l ON l.seq = c.seq AND l.sub = c.sub
        JOIN _id_map ma ON ma.idx = c.a
        JOIN _id_map mb ON mb.idx = c.b
        """
    )
    cur.unregister("_id_result")
    cur.unregister("_id_conflict_ops")


def drop_scope(cur: duckdb.DuckDBPyConnection) -> None:
    tables = ("_id_map", "_id_own", "_id_keys", "_id_nodes", "_id_types", "_id_scope")
    for name in (*tables, "_id_touched"):
        cur.execute(f"DROP TABLE IF EXISTS {name}")
    views = cur.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = '_id_links' AND temporary"
    ).fetchone()
    cur.execute(f"DROP {'VIEW' if views and views[0] else 'TABLE'} IF EXISTS _id_links")


def _array(values: Any, dtype: type) -> np.ndarray:
    """A fetched column as a plain array (DuckDB may hand back a masked one)."""
    out: np.ndarray = np.ma.getdata(values).astype(dtype, copy=False)
    return out


def state(cur: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = cur.execute("SELECT value FROM identity_state WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else None


def set_state(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    cur.execute("INSERT OR REPLACE INTO identity_state VALUES (?, ?)", [key, value])


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    # fetchall, not fetchone: a result left unread blocks `register` on the cursor
    rows = cur.execute(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


# -- the incremental fast path: touched persons, not regions ----------------------------


def batch_needs_regions(cur: duckdb.DuckDBPyConnection, min_seq: int) -> bool:
    """Whether rows from ``min_seq`` on undo earlier links (unbind, keep_apart)."""
    row = cur.execute(
        "SELECT count(*) FROM identity_link_rows"
        " WHERE seq >= ? AND kind IN ('unbind', 'keep_apart')",
        [min_seq],
    ).fetchone()
    return bool(row and row[0])


def scope_persons(
    cur: duckdb.DuckDBPyConnection, min_seq: int
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Nodes of the persons rows from ``min_seq`` touch, plus the ids new in them.

    Existing nodes keep their stored age, person and region; the returned arrays are per
    node index (age order): type code, node_order, the index of the person's oldest node
    (``parent``; the node itself for new ones), junk, and whether it is new (``fresh``).
    """
    drop_scope(cur)
    # Only the batch's rows that may change something (`stage_links`): idle ones change
    # nothing now or later in this batch, as persons only grow within it.
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_links AS
        SELECT {_ROW_COLUMNS} FROM _id_new
        WHERE NOT idle AND seq >= $s AND sub < {MAX_SUB}
        """,
        {"s": min_seq},
    )
    _make_keys(cur, "_id_links", "")
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_fresh AS
        WITH ends AS (
            SELECT a_type AS t, a_value AS v, (seq << {ORDER_SHIFT}) | (sub * 2) AS o, seen_at
            FROM _id_links
            UNION ALL
            SELECT b_type, b_value, (seq << {ORDER_SHIFT}) | (sub * 2 + 1), seen_at
            FROM _id_links WHERE b_type IS NOT NULL
        )
        SELECT t, v, min(o) AS node_order, arg_min(seen_at, o) AS first_seen
        FROM ends GROUP BY t, v
        """
    )
    # The persons the rows' ids had when staged (`stage_links`; nothing has written
    # ``identities`` since), and all their ids.
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_old AS
        SELECT i.* FROM identities i
        WHERE i.person_id IN (
            SELECT unnest([a_person, b_person]) FROM _id_new
            WHERE NOT idle AND seq >= $s AND sub < {MAX_SUB})
        """,
        {"s": min_seq},
    )
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_nodes AS
        WITH all_nodes AS (
            SELECT identity_type AS t, identity_value AS v, node_order, first_seen, junk,
                   person_id AS old_person, region_id AS old_region
            FROM _id_old
            UNION ALL
            SELECT f.t, f.v, f.node_order, f.first_seen, false, NULL, NULL
            FROM _id_fresh f ANTI JOIN _id_old o ON o.identity_type = f.t
                 AND o.identity_value = f.v
        )
        SELECT row_number() OVER (ORDER BY node_order) - 1 AS idx,
               md5_number(t || chr(31) || v) AS k, *
        FROM all_nodes
        """
    )
    cur.execute("DROP TABLE _id_fresh")
    types = _number_types(cur)
    got = cur.execute(
        """
        SELECT y.code, n.node_order, n.junk,
               coalesce(min(n.idx) OVER (PARTITION BY n.old_person), -1) AS parent,
               n.old_person IS NULL AS fresh
        FROM _id_nodes n JOIN _id_types y USING (t) ORDER BY n.idx
        """
    ).fetchnumpy()
    parent = _array(got["parent"], np.int64)
    fresh = _array(got["fresh"], np.bool_)
    parent[fresh] = np.flatnonzero(fresh)
    return types, {
        "type": _array(got["code"], np.int16),
        "node_order": _array(got["node_order"], np.int64),
        "junk": _array(got["junk"], np.bool_),
        "parent": parent,
        "fresh": fresh,
    }


def keep_apart_among_nodes(cur: duckdb.DuckDBPyConnection) -> np.ndarray:
    """Operator keep-apart pairs whose two ids are both in the scope, as node indexes."""
    got = cur.execute(
        """
        SELECT na.idx AS a, nb.idx AS b
        FROM (SELECT md5_number(a_type || chr(31) || a_value) AS ka,
                     md5_number(b_type || chr(31) || b_value) AS kb
              FROM identity_link_rows WHERE kind = 'keep_apart') l
        JOIN _id_nodes na ON na.k = l.ka JOIN _id_nodes nb ON nb.k = l.kb
        """
    ).fetchnumpy()
    pairs = np.stack([_array(got["a"], np.int64), _array(got["b"], np.int64)], axis=1)
    return pairs.reshape(-1)


def node_regions(cur: duckdb.DuckDBPyConnection) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The stored regions of the scope's nodes: their ids, and per node a region code
    (-1 for new ids) and the region's age (node_order of its oldest id)."""
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_regions AS
        SELECT region_id, CAST(row_number() OVER (ORDER BY region_id) - 1 AS BIGINT) AS code,
               min(node_order) AS age
        FROM identities
        WHERE region_id IN (SELECT DISTINCT old_region FROM _id_nodes)
        GROUP BY region_id
        """
    )
    names = [
        str(r[0]) for r in cur.execute("SELECT region_id FROM _id_regions ORDER BY code").fetchall()
    ]
    got = cur.execute(
        "SELECT coalesce(r.code, -1) AS code, coalesce(r.age, -1) AS age FROM _id_nodes n"
        " LEFT JOIN _id_regions r ON r.region_id = n.old_region ORDER BY n.idx"
    ).fetchnumpy()
    cur.execute("DROP TABLE _id_regions")
    return names, _array(got["code"], np.int64), _array(got["age"], np.int64)


def write_increment(
    cur: duckdb.DuckDBPyConnection,
    root: np.ndarray,
    region: pa.Array,
    region_node: np.ndarray,
    conflicts: pa.Table,
    merged_away: np.ndarray,
    junk: np.ndarray,
    skip: np.ndarray,
) -> None:
    """Apply a fast-path result: new ids, changed persons and regions, overrides, conflicts.

    ``region`` is the region id of each node's raw component when it continues a stored
    region, else null and ``region_node`` (the component's oldest node) names it.
    ``junk`` is each node's flag after the batch: a stored id's stays as stored (one
    turning junk is replayed by region instead), a new id's may be set. Nodes flagged
    ``skip`` are left as they are (a region replay wrote them in this apply).
    """
    n = len(root)
    # Person and region ids are the own ids of a few nodes (roots, the oldest node of a
    # new region, persons merged away): hashed for those only and spread with Arrow,
    # rather than hashing every node and joining the scope to itself three times.
    need = np.unique(np.concatenate([root, region_node, np.flatnonzero(merged_away)]))
    cur.register("_id_need", pa.table({"idx": pa.array(need.astype(np.int64))}))
    own = cur.sql(
        f"SELECT {person_id_sql('t', 'v')} AS own_id FROM _id_nodes"
        " SEMI JOIN _id_need USING (idx) ORDER BY idx"
    ).to_arrow_table()["own_id"]
    cur.unregister("_id_need")

    def own_of(nodes: np.ndarray) -> pa.ChunkedArray:
        return own.take(pa.array(np.searchsorted(need, nodes)))

    cur.register(
        "_id_result",
        pa.table(
            {
                "idx": pa.array(np.arange(n, dtype=np.int64)),
                "person_id": own_of(root),
                "region_id": pc.coalesce(region, own_of(region_node)),
                # only needed where merged away (`_write_overrides_and_conflicts`)
                "own_id": pc.if_else(
                    pa.array(merged_away),
                    own_of(np.where(merged_away, np.arange(n), root)),
                    pa.scalar(None, pa.string()),
                ),
                "merged_away": pa.array(merged_away),
                "junk": pa.array(junk),
                "skip": pa.array(skip),
            }
        ),
    )
    cur.register("_id_conflict_ops", conflicts)
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_map AS
        SELECT n.idx, n.t, n.v, n.node_order, n.first_seen, r.junk, n.old_person,
               n.old_region, r.own_id, r.merged_away, r.person_id, r.region_id
        FROM _id_nodes n JOIN _id_result r ON r.idx = n.idx
        WHERE NOT r.skip
        """
    )
    cur.execute(
        "INSERT INTO identities SELECT t, v, person_id, region_id, node_order, first_seen, junk"
        " FROM _id_map WHERE old_person IS NULL"
    )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_moved AS SELECT DISTINCT old_person, person_id"
        " FROM _id_map WHERE old_person IS NOT NULL AND old_person <> person_id"
    )
    cur.execute(
        "UPDATE identities SET person_id = m.person_id FROM _id_moved m"
        " WHERE identities.person_id = m.old_person"
    )
    cur.execute(
        "UPDATE person_overrides SET person_id = m.person_id FROM _id_moved m"
        " WHERE person_overrides.person_id = m.old_person"
    )
    for end in ("a", "b"):
        cur.execute(
            f"UPDATE identity_conflicts SET {end}_person_id = m.person_id FROM _id_moved m"
            f" WHERE identity_conflicts.{end}_person_id = m.old_person"
        )
    cur.execute(
        "UPDATE identities SET region_id = m.region_id FROM (SELECT DISTINCT old_region,"
        " region_id FROM _id_map WHERE old_region IS NOT NULL AND old_region <> region_id) m"
        " WHERE identities.region_id = m.old_region"
    )
    _write_overrides_and_conflicts(cur)
    for name in ("_id_moved", "_id_old"):
        cur.execute(f"DROP TABLE IF EXISTS {name}")
    drop_scope(cur)


def fanout_of(cur: duckdb.DuckDBPyConnection, nodes: np.ndarray) -> list[tuple[int, str, int]]:
    """For scope nodes ``nodes``: (node, neighbour type, distinct neighbours) over all links."""
    if not len(nodes):
        return []
    cur.register("_id_cand", pa.table({"idx": pa.array(nodes.astype(np.int64))}))
    rows = cur.execute(
        """
        WITH c AS (SELECT n.idx, n.t, n.v, n.node_order FROM _id_nodes n
                   SEMI JOIN _id_cand x USING (idx)),
        pairs AS (
            SELECT c.idx, l.a_type AS nt, l.a_value AS nv FROM identity_link_rows l
            JOIN c ON l.b_type = c.t AND l.b_value = c.v WHERE l.kind IN ('link', 'force')
            UNION
            SELECT c.idx, l.b_type, l.b_value FROM identity_link_rows l
            JOIN c ON l.a_type = c.t AND l.a_value = c.v WHERE l.kind IN ('link', 'force')
            UNION
            SELECT c.idx, i.identity_type, i.identity_value FROM identity_link_packed p
            JOIN c ON p.b_node = c.node_order JOIN identities i ON i.node_order = p.a_node
            UNION
            SELECT c.idx, i.identity_type, i.identity_value FROM identity_link_packed p
            JOIN c ON p.a_node = c.node_order JOIN identities i ON i.node_order = p.b_node
        )
        SELECT idx, nt, count(*) FROM pairs GROUP BY idx, nt
        """
    ).fetchall()
    cur.unregister("_id_cand")
    return [(int(i), str(t), int(c)) for i, t, c in rows]


# -- privacy deletion: what a replay must cover once a person's rows are gone -----------


def stage_deleted_ends(cur: duckdb.DuckDBPyConnection) -> None:
    """``_p_ends``: both ends of every log row a deletion removes.

    The rows of the deleted records (``_p_seqs``) and every row naming one of the
    person's ids (``_p_ids``), as `siyu.identity.persons` deletes them. Call it before
    deleting: their ends' regions, and the ends' ages and fan-outs, change.
    """
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _p_ends AS
        WITH gone AS (
            SELECT l.a_type, l.a_value, l.b_type, l.b_value FROM identity_links l
            LEFT JOIN _p_ids ia ON ia.t = l.a_type AND ia.v = l.a_value
            LEFT JOIN _p_ids ib ON ib.t = l.b_type AND ib.v = l.b_value
            WHERE ia.t IS NOT NULL OR ib.t IS NOT NULL
               OR l.seq IN (SELECT seq FROM _p_seqs)
        )
        SELECT a_type AS t, a_value AS v FROM gone
        UNION
        SELECT b_type, b_value FROM gone WHERE b_type IS NOT NULL
        """
    )


def deleted_regions(
    cur: duckdb.DuckDBPyConnection, limited_types: list[str], max_fanout: int
) -> list[str]:
    """After a deletion: the regions to replay (`siyu.identity.graph.rescope`).

    The stored regions of the removed rows' ends (``_p_ends``), and, for a junk id among
    them now linked to no more than ``max_fanout`` ids of ``limited_types``, the regions
    of all its neighbours (by any two-ended row): no longer junk, its rows join them
    into one region again.
    """
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _p_junk AS
        SELECT i.identity_type AS t, i.identity_value AS v FROM identities i
        JOIN _p_ends e ON e.t = i.identity_type AND e.v = i.identity_value WHERE i.junk
        """
    )
    rows = cur.execute(
        """
        WITH pairs AS (
            SELECT DISTINCT j.t, j.v, l.b_type AS nt, l.b_value AS nv,
                   l.kind IN ('link', 'force') AS linked
            FROM identity_links l
            JOIN _p_junk j ON l.a_type = j.t AND l.a_value = j.v
            WHERE l.b_type IS NOT NULL
            UNION
            SELECT DISTINCT j.t, j.v, l.a_type, l.a_value, l.kind IN ('link', 'force')
            FROM identity_links l
            JOIN _p_junk j ON l.b_type = j.t AND l.b_value = j.v
        ),
        -- fan-out as `siyu.identity.graph._junk` counts it: distinct limited-type ids
        -- linked; every two-ended row (keep_apart too) joins regions once not junk
        released AS (
            SELECT t, v FROM pairs GROUP BY t, v
            HAVING count(DISTINCT (nt, nv)) FILTER (WHERE linked AND list_contains($limited, nt))
                   <= $max
        ),
        touched AS (
            SELECT t, v FROM _p_ends
            UNION
            SELECT p.nt, p.nv FROM pairs p SEMI JOIN released r ON r.t = p.t AND r.v = p.v
        )
        SELECT DISTINCT i.region_id FROM identities i
        JOIN touched x ON x.t = i.identity_type AND x.v = i.identity_value
        ORDER BY 1
        """,
        {"limited": limited_types, "max": max_fanout},
    ).fetchall()
    cur.execute("DROP TABLE _p_junk")
    cur.execute("DROP TABLE _p_ends")
    return [str(r[0]) for r in rows]
