"""Persons: look one up by any of its ids, show, export and delete it (PIPL), list conflicts.

References are ``type:value`` (``phone:13800138000``, ``mp_openid:wx1234:oAbC``,
``login_id:u42``) or a person id (``p…``, old merged ids included). Phone numbers and
emails are normalised and sealed the way they are stored, and shown masked unless
``reveal`` is asked for.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from siyu.identity import pii
from siyu.identity.exceptions import InvalidIdentity, PersonNotFound
from siyu.identity.rules import PER_APP_TYPES, PII_TYPES, IdentityRules, base_type
from siyu.storage.identity_store import (
    OPEN_CONFLICT,
    delete_packed,
    deleted_regions,
    forget_idle,
    person_id_sql,
    stage_deleted_ends,
)
from siyu.storage.warehouse import Warehouse

TIMELINE_LIMIT = 20


def parse_ref(text: str) -> tuple[str, str] | str:
    """``type:value`` as a pair, or a person id as is."""
    text = text.strip()
    if text.startswith("p") and ":" not in text and len(text) == 21:
        return text
    id_type, sep, value = text.partition(":")
    if id_type in PER_APP_TYPES:
        app, sep2, value2 = value.partition(":")
        if not sep2:
            raise InvalidIdentity(
                f"{text!r}: {id_type} is per app; write {id_type}:<appid>:<openid>"
            )
        id_type, value = f"{id_type}:{app}", value2
    if not sep or not id_type or not value.strip():
        raise InvalidIdentity(
            f"{text!r} is not an identity; write type:value, e.g. phone:13800138000 or "
            "login_id:u42, or give a person id (p + 20 hex digits)"
        )
    return id_type, value.strip()


def stored_value(warehouse: Warehouse, id_type: str, value: str) -> str:
    """The value as the warehouse stores it (normalised, sealed for phone and email)."""
    if base_type(id_type) in PII_TYPES:
        return warehouse.sealer.seal(pii.normalise_value(base_type(id_type), value))
    return value


def shown_value(warehouse: Warehouse, id_type: str, value: str, reveal: bool) -> str:
    base = base_type(id_type)
    if base not in PII_TYPES or not warehouse.sealer.is_sealed(value):
        return value
    plain = warehouse.sealer.unseal(value)
    return plain if reveal else pii.mask(base, plain)


def find_person(warehouse: Warehouse, ref: str) -> str:
    """The current person id of ``ref``; raises PersonNotFound."""
    parsed = parse_ref(ref)
    cur = warehouse.cursor()
    if isinstance(parsed, str):
        row = cur.execute(
            "SELECT coalesce((SELECT person_id FROM person_overrides WHERE old_person_id = $p),"
            " (SELECT any_value(person_id) FROM identities WHERE person_id = $p))",
            {"p": parsed},
        ).fetchone()
    else:
        id_type, value = parsed
        row = cur.execute(
            "SELECT person_id FROM identities WHERE identity_type = ? AND identity_value = ?",
            [id_type, stored_value(warehouse, id_type, value)],
        ).fetchone()
    if not row or row[0] is None:
        raise PersonNotFound(
            f"no person holds {ref!r}; check the type and value (`siyu identity export` "
            "lists every identity), or run `siyu identity rebuild` if data was just imported"
        )
    return str(row[0])


def show_person(warehouse: Warehouse, ref: str, *, reveal: bool = False) -> dict[str, Any]:
    """Profile facts, identities, the links between them, conflicts and recent events."""
    person_id = find_person(warehouse, ref)
    cur = warehouse.cursor()
    _person_scope(cur, person_id)
    identities = _rows(
        cur,
        "SELECT identity_type, identity_value, first_seen, junk FROM identities"
        " WHERE person_id = ? ORDER BY node_order",
        [person_id],
    )
    _show(warehouse, identities, reveal, ("identity_type", "identity_value"))
    links = _rows(
        cur,
        """
        SELECT a_type, a_value, b_type, b_value, kind, count(*) AS times,
               min(seen_at) AS first_seen, max(seen_at) AS last_seen
        FROM identity_links l SEMI JOIN _p_ids i ON l.a_type = i.t AND l.a_value = i.v
        WHERE kind <> 'node' GROUP BY ALL ORDER BY first_seen
        """,
    )
    _show(warehouse, links, reveal, ("a_type", "a_value"), ("b_type", "b_value"))
    timeline = _rows(
        cur,
        """
        SELECT e.seq, e.event_time, e.type, e.event, e.source_id, e.carrier, e.properties
        FROM events e SEMI JOIN _p_seqs s ON e.seq = s.seq
        ORDER BY e.event_time DESC, e.seq DESC LIMIT ?
        """,
        [TIMELINE_LIMIT],
    )
    summary = cur.execute(
        "SELECT count(*), min(event_time), max(event_time) FROM events e"
        " SEMI JOIN _p_seqs s ON e.seq = s.seq"
    ).fetchone()
    merged = [
        r["old_person_id"]
        for r in _rows(
            cur, "SELECT old_person_id FROM person_overrides WHERE person_id = ?", [person_id]
        )
    ]
    conflicts = conflict_rows(warehouse, person_id=person_id, reveal=reveal)
    seqs = [r[0] for r in cur.execute("SELECT seq FROM _p_seqs").fetchall()]
    return {
        "person_id": person_id,
        "profile": _profile(warehouse, person_id, seqs),
        "merged_ids": merged,
        "events": summary[0] if summary else 0,
        "first_seen": summary[1] if summary else None,
        "last_seen": summary[2] if summary else None,
        "identities": identities,
        "links": links,
        "conflicts": conflicts,
        "timeline": timeline,
    }


def _profile(warehouse: Warehouse, person_id: str, seqs: list[int]) -> dict[str, Any]:
    """The person's profile (`siyu.identity.profiles`) over its own events."""
    if not seqs:
        return {}
    import ibis

    from siyu.identity.profiles import person_profiles

    con = warehouse.ibis()
    events = con.table("events")
    mine = events.filter(events.seq.isin(seqs)).mutate(person_id=ibis.literal(person_id))
    rows = person_profiles(mine, channels=con.table("channels")).to_pyarrow().to_pylist()
    if not rows:
        return {}
    profile: dict[str, Any] = rows[0]
    profile.pop("person_id", None)
    profile["properties"] = orjson.loads(profile["properties"] or "{}")
    return profile


def conflict_rows(
    warehouse: Warehouse,
    *,
    person_id: str | None = None,
    reveal: bool = False,
    limit: int = 200,
    open_only: bool = False,
) -> list[dict[str, Any]]:
    """Refused links with their evidence, newest first.

    ``status``: ``open`` (waiting for an operator), ``merged`` (the two persons are one
    now, e.g. after ``siyu identity merge``) or ``kept_apart`` (an operator decided).
    """
    cur = warehouse.cursor()
    rows = _rows(
        cur,
        f"""
        SELECT * FROM (
            SELECT *, CASE WHEN {OPEN_CONFLICT} THEN 'open'
                           WHEN a_person_id = b_person_id THEN 'merged'
                           ELSE 'kept_apart' END AS status
            FROM identity_conflicts
            WHERE $p IS NULL OR a_person_id = $p OR b_person_id = $p)
        WHERE NOT $open_only OR status = 'open'
        ORDER BY seq DESC, sub LIMIT $limit
        """,
        {"p": person_id, "limit": limit, "open_only": open_only},
    )
    _show(warehouse, rows, reveal, ("a_type", "a_value"), ("b_type", "b_value"))
    return rows


def export_person(warehouse: Warehouse, ref: str, actor: str = "cli") -> dict[str, Any]:
    """Everything siyu holds on one person, unmasked (a PIPL access request)."""
    person_id = find_person(warehouse, ref)
    cur = warehouse.cursor()
    _person_scope(cur, person_id)
    identities = _rows(
        cur,
        "SELECT identity_type, identity_value, first_seen FROM identities WHERE person_id = ?",
        [person_id],
    )
    _show(warehouse, identities, True, ("identity_type", "identity_value"))
    events = _rows(
        cur,
        "SELECT * EXCLUDE (event_key) FROM events e SEMI JOIN _p_seqs s ON e.seq = s.seq"
        " ORDER BY seq",
    )
    for event in events:
        event["identities"] = _opened_map(warehouse, event.get("identities"))
    orders = _rows(cur, "SELECT * FROM orders o SEMI JOIN _p_seqs s ON o.seq = s.seq ORDER BY seq")
    for order in orders:
        order["identities"] = _opened_map(warehouse, order.get("identities"))
    with warehouse.transaction() as wcur:
        _audit(wcur, "export", actor, len(identities), len(events), len(orders))
    return {
        "person_id": person_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "identities": identities,
        "events": events,
        "orders": orders,
        "conflicts": conflict_rows(warehouse, person_id=person_id, reveal=True),
    }


def delete_person(
    warehouse: Warehouse,
    rules: IdentityRules,
    ref: str,
    actor: str = "cli",
    lake: Path | None = None,
) -> dict[str, Any]:
    """Delete every event, order, identity and link naming a person; keep an audit row.

    Parquet snapshots under ``lake`` are removed too (the next Spark run re-exports).
    """
    with warehouse.identity_lock:
        return _delete(warehouse, rules, ref, actor, lake)


def _delete(
    warehouse: Warehouse, rules: IdentityRules, ref: str, actor: str, lake: Path | None
) -> dict[str, Any]:
    from siyu.identity.graph import apply_new, rescope

    apply_new(warehouse, rules)
    person_id = find_person(warehouse, ref)
    with warehouse.transaction() as cur:
        _person_scope(cur, person_id, naming=True)
        plain = [
            shown_value(warehouse, t, v, True)
            for t, v in cur.execute("SELECT t, v FROM _p_ids").fetchall()
        ]
        stage_deleted_ends(cur)
        counts = {
            "identities": _count(cur, "SELECT count(*) FROM _p_ids"),
            "events": _count(cur, "DELETE FROM events e WHERE e.seq IN (SELECT seq FROM _p_seqs)"),
            "orders": _count(cur, "DELETE FROM orders o WHERE o.seq IN (SELECT seq FROM _p_seqs)"),
        }
        cur.execute(
            "DELETE FROM identity_link_rows l WHERE l.seq IN (SELECT seq FROM _p_seqs)"
            " OR EXISTS (SELECT 1 FROM _p_ids i WHERE (i.t = l.a_type AND i.v = l.a_value)"
            " OR (i.t = l.b_type AND i.v = l.b_value))"
        )
        forget_idle(cur)
        delete_packed(
            cur,
            "seq IN (SELECT seq FROM _p_seqs) OR a_node IN (SELECT node_order FROM _p_ids)"
            " OR b_node IN (SELECT node_order FROM _p_ids)",
        )
        cur.execute(
            "DELETE FROM identity_conflicts c WHERE EXISTS (SELECT 1 FROM _p_ids i"
            " WHERE (i.t = c.a_type AND i.v = c.a_value) OR (i.t = c.b_type AND i.v = c.b_value))"
        )
        cur.execute(
            "DELETE FROM person_overrides WHERE person_id = $p OR old_person_id IN"
            " (SELECT own_id FROM _p_ids)",
            {"p": person_id},
        )
        person_regions = [
            r[0]
            for r in cur.execute(
                "SELECT DISTINCT region_id FROM identities WHERE person_id = ?", [person_id]
            ).fetchall()
        ]
        cur.execute("DELETE FROM identities WHERE person_id = ?", [person_id])
        limited = [
            t
            for (t,) in cur.execute("SELECT DISTINCT identity_type FROM identities").fetchall()
            if rules.rule(t).limit is not None
        ]
        regions = sorted({*person_regions, *deleted_regions(cur, limited, rules.max_fanout)})
        counts["quarantined"] = 0
        for value in {p for p in plain if len(p) >= 6}:
            counts["quarantined"] += _count(
                cur,
                "DELETE FROM quarantine WHERE contains(payload, $v)",
                {"v": value},
            )
        _audit(cur, "delete", actor, counts["identities"], counts["events"], counts["orders"])
        rescope(cur, rules, regions)
    warehouse.cursor().execute("CHECKPOINT")
    if lake is not None and lake.exists():
        shutil.rmtree(lake)
    return {"deleted": True, **counts}


def export_map(warehouse: Warehouse, fmt: str, *, reveal: bool = False) -> Iterator[str]:
    """The whole map as CSV or JSON lines: identity_type, identity_value, person_id."""
    if fmt not in ("csv", "jsonl"):
        raise InvalidIdentity(f"unknown export format {fmt!r}; use csv or jsonl")
    cur = warehouse.cursor()
    result = cur.execute(
        "SELECT identity_type, identity_value, person_id FROM identities"
        " WHERE NOT junk ORDER BY person_id, node_order"
    )
    if fmt == "csv":
        yield "identity_type,identity_value,person_id\n"
    while batch := result.fetchmany(10_000):
        for id_type, value, person in batch:
            shown = shown_value(warehouse, id_type, value, reveal)
            if fmt == "csv":
                yield f"{_csv(id_type)},{_csv(shown)},{person}\n"
            else:
                yield (
                    orjson.dumps(
                        {"identity_type": id_type, "identity_value": shown, "person_id": person}
                    ).decode()
                    + "\n"
                )


def _show(
    warehouse: Warehouse, rows: list[dict[str, Any]], reveal: bool, *ends: tuple[str, str]
) -> None:
    """Open (or mask) the sealed values of ``rows`` in place; ends are (type, value) keys."""
    for row in rows:
        for type_key, value_key in ends:
            if row[type_key] is not None:
                row[value_key] = shown_value(warehouse, row[type_key], row[value_key], reveal)


def _opened_map(warehouse: Warehouse, ids: dict[str, str] | None) -> dict[str, str]:
    return {k: shown_value(warehouse, k, v, True) for k, v in (ids or {}).items()}


def _person_scope(cur: duckdb.DuckDBPyConnection, person_id: str, *, naming: bool = False) -> None:
    """Temp tables: the person's ids (_p_ids) and the seqs of its records (_p_seqs).

    With ``naming``, every event and order that names one of the ids counts, including
    other persons' records that carry it as evidence of a refused link.
    """
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _p_ids AS SELECT identity_type AS t, identity_value AS v,"
        f" {person_id_sql('identity_type', 'identity_value')} AS own_id, node_order"
        " FROM identities WHERE person_id = ?",
        [person_id],
    )
    # Packed rows name their ids by node_order: matched as integers, never unpacked to
    # text (a node row is one without a second id).
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _p_seqs AS SELECT DISTINCT seq FROM ("
        " SELECT seq FROM identity_link_rows l"
        " WHERE l.origin IN ('event', 'order') AND ("
        " (l.kind = 'node' OR $naming) AND EXISTS (SELECT 1 FROM _p_ids i"
        " WHERE i.t = l.a_type AND i.v = l.a_value)"
        " OR $naming AND EXISTS (SELECT 1 FROM _p_ids i WHERE i.t = l.b_type AND i.v = l.b_value))"
        " UNION ALL"
        " SELECT seq FROM identity_link_packed p"
        " WHERE p.origin IN ('event', 'order') AND ("
        " (p.b_node IS NULL OR $naming) AND p.a_node IN (SELECT node_order FROM _p_ids)"
        " OR $naming AND p.b_node IN (SELECT node_order FROM _p_ids)))",
        {"naming": naming},
    )


def _audit(
    cur: duckdb.DuckDBPyConnection, action: str, actor: str, ids: int, events: int, orders: int
) -> None:
    cur.execute(
        "INSERT INTO privacy_audit VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
        [
            str(uuid.uuid4()),
            action,
            datetime.now(UTC).replace(tzinfo=None),
            actor,
            ids,
            events,
            orders,
            "personal data removed" if action == "delete" else "full export",
        ],
    )


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    result = cur.execute(sql, params) if params is not None else cur.execute(sql)
    names = [d[0] for d in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _count(cur: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> int:
    row = (cur.execute(sql, params) if params is not None else cur.execute(sql)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _csv(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text
