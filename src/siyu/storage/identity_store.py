"""DuckDB side of the identity graph: interning ids, loading ops, writing the map.

The replay itself (`siyu.identity.replay`) works on dense integer node ids; this module
turns the ``identity_links`` rows of a *scope* into those arrays and writes the answer
back, set-wise. A scope is a set of whole regions (raw connected components over every
link), so replaying it alone gives exactly what a full replay gives for those ids.
"""

from __future__ import annotations

from typing import Final

import duckdb
import numpy as np
import pyarrow as pa

#: A node's order: seq << 12 | (sub * 2 + end). Records carry far fewer than 2,048 ids.
ORDER_SHIFT: Final = 12

_PID = "'p' || left(md5({t} || chr(31) || {v}), 20)"


def person_id_sql(t: str, v: str) -> str:
    """SQL for the person id an identity founds (the same as `person_id_of`)."""
    return _PID.format(t=t, v=v)


def insert_links(cur: duckdb.DuckDBPyConnection, select_sql: str) -> int:
    """Append ``identity_links`` rows from a SELECT (compiled from an Ibis expression)."""
    row = cur.execute(f"INSERT INTO identity_links BY NAME {select_sql}").fetchone()
    return int(row[0]) if row else 0


def delete_derived_links(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop links derived from events and orders (operator decisions stay)."""
    cur.execute("DELETE FROM identity_links WHERE origin IN ('event', 'order')")


def scope_everything(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute("CREATE OR REPLACE TEMP TABLE _id_links AS SELECT * FROM identity_links")


def scope_regions(cur: duckdb.DuckDBPyConnection, min_seq: int) -> int:
    """Scope = the regions touched by links with ``seq >= min_seq``; returns its link count."""
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_touched AS
        SELECT DISTINCT a_type AS t, a_value AS v FROM identity_links WHERE seq >= $s
        UNION
        SELECT DISTINCT b_type, b_value FROM identity_links
        WHERE seq >= $s AND b_type IS NOT NULL
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
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_links AS
        SELECT l.* FROM identity_links l
        SEMI JOIN _id_scope s ON l.a_type = s.t AND l.a_value = s.v
        """
    )
    return _scalar(cur, "SELECT count(*) FROM _id_links")


def scope_region_ids(cur: duckdb.DuckDBPyConnection, regions: list[str]) -> int:
    """Scope = the named regions."""
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_scope AS SELECT identity_type AS t,"
        " identity_value AS v FROM identities WHERE list_contains($r, region_id)",
        {"r": regions},
    )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _id_links AS SELECT l.* FROM identity_links l"
        " SEMI JOIN _id_scope s ON l.a_type = s.t AND l.a_value = s.v"
    )
    return _scalar(cur, "SELECT count(*) FROM _id_links")


def intern_nodes(cur: duckdb.DuckDBPyConnection) -> pa.Table:
    """Number the scope's ids by age; returns (idx, t, node_order) ordered by idx."""
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_nodes AS
        WITH ends AS (
            SELECT a_type AS t, a_value AS v,
                   (seq << {ORDER_SHIFT}) | (least(sub, 2047) * 2) AS node_order, seen_at
            FROM _id_links
            UNION ALL
            SELECT b_type, b_value, (seq << {ORDER_SHIFT}) | (least(sub, 2047) * 2 + 1), seen_at
            FROM _id_links WHERE b_type IS NOT NULL
        ), firsts AS (
            SELECT t, v, min(node_order) AS node_order, arg_min(seen_at, node_order) AS first_seen
            FROM ends GROUP BY t, v
        )
        SELECT row_number() OVER (ORDER BY node_order) - 1 AS idx, * FROM firsts
        """
    )
    return cur.sql("SELECT idx, t, node_order FROM _id_nodes ORDER BY idx").to_arrow_table()


def load_ops(cur: duckdb.DuckDBPyConnection) -> pa.Table:
    """The scope's links in replay order: (op, kind, a, b, seq)."""
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _id_ops AS
        SELECT row_number() OVER (ORDER BY l.seq, l.sub) - 1 AS op, l.kind,
               na.idx AS a, coalesce(nb.idx, -1) AS b, l.seq, l.sub,
               l.a_type, l.a_value, l.b_type, l.b_value, l.origin, l.ref, l.seen_at
        FROM _id_links l
        JOIN _id_nodes na ON l.a_type = na.t AND l.a_value = na.v
        LEFT JOIN _id_nodes nb ON l.b_type = nb.t AND l.b_value = nb.v
        """
    )
    return cur.sql("SELECT kind, a, b, seq FROM _id_ops ORDER BY op").to_arrow_table()


def write_result(
    cur: duckdb.DuckDBPyConnection,
    root: np.ndarray,
    region: np.ndarray,
    junk: np.ndarray,
    conflicts: pa.Table,
    merged_away: np.ndarray,
    scoped: bool,
) -> None:
    """Replace the scope's rows of identities, conflicts and overrides."""
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
            }
        ),
    )
    cur.register("_id_conflict_ops", conflicts)
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _id_map AS
        SELECT n.idx, n.t, n.v, n.node_order, n.first_seen, r.junk, r.merged_away,
               {person_id_sql("n.t", "n.v")} AS own_id,
               {person_id_sql("p.t", "p.v")} AS person_id,
               {person_id_sql("g.t", "g.v")} AS region_id
        FROM _id_nodes n
        JOIN _id_result r ON r.idx = n.idx
        JOIN _id_nodes p ON p.idx = r.root
        JOIN _id_nodes g ON g.idx = r.region
        """
    )
    if scoped:
        cur.execute(
            "DELETE FROM identity_conflicts c WHERE EXISTS (SELECT 1 FROM _id_map m"
            " WHERE m.t = c.a_type AND m.v = c.a_value)"
        )
        cur.execute(
            "DELETE FROM person_overrides o WHERE old_person_id IN (SELECT own_id FROM _id_map)"
        )
        cur.execute(
            "DELETE FROM identities i WHERE EXISTS (SELECT 1 FROM _id_map m"
            " WHERE m.t = i.identity_type AND m.v = i.identity_value)"
        )
    else:
        cur.execute("DELETE FROM identity_conflicts")
        cur.execute("DELETE FROM person_overrides")
        cur.execute("DELETE FROM identities")
    cur.execute(
        "INSERT INTO identities SELECT t, v, person_id, region_id, node_order, first_seen, junk"
        " FROM _id_map"
    )
    cur.execute(
        "INSERT INTO person_overrides SELECT own_id, person_id FROM _id_map"
        " WHERE merged_away AND own_id <> person_id"
    )
    cur.execute(
        """
        INSERT INTO identity_conflicts
        SELECT o.seq, o.sub, o.a_type, o.a_value, o.b_type, o.b_value,
               ma.person_id, mb.person_id, c.rule, o.origin, o.ref, o.seen_at
        FROM _id_conflict_ops c
        JOIN _id_ops o ON o.op = c.op
        JOIN _id_map ma ON ma.idx = o.a
        JOIN _id_map mb ON mb.idx = o.b
        """
    )
    cur.unregister("_id_result")
    cur.unregister("_id_conflict_ops")
    drop_scope(cur)


def drop_scope(cur: duckdb.DuckDBPyConnection) -> None:
    for name in ("_id_map", "_id_ops", "_id_nodes", "_id_links", "_id_scope", "_id_touched"):
        cur.execute(f"DROP TABLE IF EXISTS {name}")


def keep_apart_pairs(cur: duckdb.DuckDBPyConnection) -> np.ndarray:
    rows = cur.execute(
        "SELECT a, b FROM _id_ops WHERE kind = 'keep_apart' AND b >= 0 ORDER BY op"
    ).fetchnumpy()
    return np.stack([rows["a"], rows["b"]], axis=1).astype(np.int64).reshape(-1)


def state(cur: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = cur.execute("SELECT value FROM identity_state WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else None


def set_state(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    cur.execute("INSERT OR REPLACE INTO identity_state VALUES (?, ?)", [key, value])


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = cur.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
