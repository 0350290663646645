"""DuckDB side of experiments: the ``experiments`` table, and the identity lookups an
assignment makes for a batch of persons at once.

A row holds the validated definition as JSON text (`siyu.analytics.experiments` owns
its shape), the status (``draft`` -> ``running`` -> ``stopped``) and when it changed.
Write functions expect to run inside `Warehouse.transaction`; the lookups read through
any cursor. Person ids are mapped through ``person_overrides`` so a merge never loses
an assignment's person.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import duckdb
import pyarrow as pa

_COLUMNS: Final = (
    "key, name, description, definition, status, created_at, created_by, started_at, stopped_at"
)


@dataclass(frozen=True)
class StoredExperiment:
    """A row of ``experiments``; ``definition`` is JSON text, times naive UTC."""

    key: str
    name: str
    description: str
    definition: str
    status: str
    created_at: datetime
    created_by: str
    started_at: datetime | None
    stopped_at: datetime | None


def get_experiment(cur: duckdb.DuckDBPyConnection, key: str) -> StoredExperiment | None:
    """The experiment ``key``, or None."""
    rows = cur.execute(f"SELECT {_COLUMNS} FROM experiments WHERE key = ?", [key]).fetchall()
    return StoredExperiment(*rows[0]) if rows else None


def list_experiments(cur: duckdb.DuckDBPyConnection) -> list[StoredExperiment]:
    """Every experiment, newest first."""
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM experiments ORDER BY created_at DESC, key"
    ).fetchall()
    return [StoredExperiment(*row) for row in rows]


def experiment_keys(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [str(r[0]) for r in cur.execute("SELECT key FROM experiments ORDER BY key").fetchall()]


def save_experiment(
    cur: duckdb.DuckDBPyConnection,
    key: str,
    *,
    name: str,
    description: str,
    definition: str,
    actor: str,
    at: datetime,
) -> StoredExperiment:
    """Insert a draft, or replace the name, description and definition of ``key``
    (status, creation and start/stop times stay)."""
    cur.execute(
        f"""
        INSERT INTO experiments ({_COLUMNS})
        VALUES ($key, $name, $description, $definition, 'draft', $at, $actor, NULL, NULL)
        ON CONFLICT (key) DO UPDATE SET name = excluded.name,
            description = excluded.description, definition = excluded.definition
        """,
        {
            "key": key,
            "name": name,
            "description": description,
            "definition": definition,
            "at": at,
            "actor": actor,
        },
    )
    saved = get_experiment(cur, key)
    assert saved is not None
    return saved


def set_status(
    cur: duckdb.DuckDBPyConnection, key: str, status: str, *, at: datetime
) -> StoredExperiment:
    """Move ``key`` to ``running`` (``started_at``) or ``stopped`` (``stopped_at``)."""
    column = {"running": "started_at", "stopped": "stopped_at"}[status]
    cur.execute(f"UPDATE experiments SET status = ?, {column} = ? WHERE key = ?", [status, at, key])
    saved = get_experiment(cur, key)
    assert saved is not None
    return saved


# -- persons of an assignment ------------------------------------------------------------


def persons_of_identities(
    cur: duckdb.DuckDBPyConnection, identities: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """``(type, stored value) -> person_id`` for the identities the graph knows."""
    pairs = list(dict.fromkeys(identities))
    if not pairs:
        return {}
    asked = pa.table(
        {"t": [p[0] for p in pairs], "v": [p[1] for p in pairs]},
        schema=pa.schema([("t", pa.string()), ("v", pa.string())]),
    )
    cur.register("_siyu_asked", asked)
    try:
        rows = cur.execute(
            "SELECT a.t, a.v, i.person_id FROM _siyu_asked a JOIN identities i"
            " ON i.identity_type = a.t AND i.identity_value = a.v"
        ).fetchall()
    finally:
        cur.unregister("_siyu_asked")
    return {(str(t), str(v)): str(p) for t, v, p in rows}


def current_persons(cur: duckdb.DuckDBPyConnection, person_ids: Iterable[str]) -> dict[str, str]:
    """``person id -> current person id`` (through merges) for the ids that exist."""
    asked = _ids_table(person_ids)
    if not asked.num_rows:
        return {}
    cur.register("_siyu_asked", asked)
    try:
        # Only the identities of the persons asked about are read (not a DISTINCT of all).
        rows = cur.execute(
            """
            SELECT a.p, coalesce(o.person_id, i.person_id)
            FROM _siyu_asked a
            LEFT JOIN person_overrides o ON o.old_person_id = a.p
            LEFT JOIN (SELECT DISTINCT person_id FROM identities
                       WHERE person_id IN (SELECT p FROM _siyu_asked)) i ON i.person_id = a.p
            WHERE coalesce(o.person_id, i.person_id) IS NOT NULL
            """
        ).fetchall()
    finally:
        cur.unregister("_siyu_asked")
    return {str(a): str(p) for a, p in rows}


def identity_of_persons(
    cur: duckdb.DuckDBPyConnection, person_ids: Iterable[str], personal_types: Collection[str]
) -> dict[str, tuple[str, str]]:
    """One usable identity ``(type, stored value)`` per person: not junk, preferring
    types outside ``personal_types`` (sealed phone or email), then the oldest."""
    asked = _ids_table(person_ids)
    if not asked.num_rows:
        return {}
    cur.register("_siyu_asked", asked)
    try:
        rows = cur.execute(
            """
            SELECT i.person_id, i.identity_type, i.identity_value
            FROM identities i JOIN _siyu_asked a ON a.p = i.person_id
            WHERE NOT i.junk
            QUALIFY row_number() OVER (
                PARTITION BY i.person_id
                ORDER BY split_part(i.identity_type, ':', 1) IN $personal, i.node_order,
                         i.identity_type, i.identity_value) = 1
            """,
            {"personal": sorted(personal_types)},
        ).fetchall()
    finally:
        cur.unregister("_siyu_asked")
    return {str(p): (str(t), str(v)) for p, t, v in rows}


def members_of(cur: duckdb.DuckDBPyConnection, set_key: str, person_ids: Iterable[str]) -> set[str]:
    """Which of ``person_ids`` are now in set ``set_key`` (open memberships)."""
    asked = _ids_table(person_ids)
    if not asked.num_rows:
        return set()
    cur.register("_siyu_asked", asked)
    try:
        rows = cur.execute(
            """
            SELECT DISTINCT a.p FROM _siyu_asked a
            JOIN (SELECT coalesce(o.person_id, m.person_id) AS person_id
                  FROM memberships m LEFT JOIN person_overrides o
                  ON o.old_person_id = m.person_id
                  WHERE m.set_key = $key AND m.exited_at IS NULL) m ON m.person_id = a.p
            """,
            {"key": set_key},
        ).fetchall()
    finally:
        cur.unregister("_siyu_asked")
    return {str(r[0]) for r in rows}


def set_has_members(cur: duckdb.DuckDBPyConnection, set_key: str) -> bool:
    rows = cur.execute(
        "SELECT 1 FROM memberships WHERE set_key = ? AND exited_at IS NULL LIMIT 1", [set_key]
    ).fetchall()
    return bool(rows)


def _ids_table(person_ids: Iterable[str]) -> pa.Table:
    return pa.table({"p": pa.array(list(dict.fromkeys(person_ids)), pa.string())})
