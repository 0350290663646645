"""What is in the warehouse: row counts, freshness, quarantine reasons (`siyu status`)."""

from __future__ import annotations

from typing import Any

import duckdb

from siyu.storage import Warehouse
from siyu.storage.identity_store import person_counts, resolved_through


def warehouse_status(warehouse: Warehouse) -> dict[str, Any]:
    """A JSON-ready summary of stored data; cheap enough to call on every status poll."""
    cur = warehouse.cursor()

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return cur.execute(sql).fetchall()

    events = rows(
        "SELECT count(*), min(event_time), max(event_time), max(received_at) FROM events"
    )[0]
    orders = rows("SELECT count(*), coalesce(sum(amount_fen - refund_fen), 0) FROM orders")[0]
    quarantine = rows(
        "SELECT protocol, reason, count(*) AS n FROM quarantine"
        " GROUP BY ALL ORDER BY n DESC, reason LIMIT 10"
    )
    by_carrier = rows("SELECT carrier, count(*) FROM events GROUP BY ALL ORDER BY 2 DESC")
    by_protocol = rows("SELECT protocol, count(*) FROM events GROUP BY ALL ORDER BY 2 DESC")
    by_type = rows("SELECT type, count(*) FROM events GROUP BY ALL ORDER BY 2 DESC")
    imports = rows(
        "SELECT import_id, kind, path, status, rows_accepted, rows_duplicate, rows_rejected,"
        " started_at FROM imports ORDER BY started_at DESC LIMIT 5"
    )
    identity = person_counts(cur)
    through = identity["resolved_through_seq"]
    pending = _pending(cur, through)
    result = {
        "home": str(warehouse.path.parent) if warehouse.path else None,
        "schema_version": warehouse.schema_version(),
        "events": {
            "total": events[0],
            "first_event_time": _iso(events[1]),
            "last_event_time": _iso(events[2]),
            "last_received_at": _iso(events[3]),
            "by_carrier": dict(by_carrier),
            "by_protocol": dict(by_protocol),
            "by_type": dict(by_type),
        },
        "quarantine": {
            "total": rows("SELECT count(*) FROM quarantine")[0][0],
            "top_reasons": [{"protocol": p, "reason": r, "count": n} for p, r, n in quarantine],
        },
        "orders": {"total": orders[0], "net_revenue_fen": int(orders[1])},
        "identity": {
            "persons": identity["persons"],
            "identities": identity["identities"],
            "open_conflicts": identity["conflicts"],
            "resolved_through_seq": through,
            "pending_records": pending,
        },
        "sources": rows("SELECT count(*) FROM sources")[0][0],
        "items": rows("SELECT count(*) FROM items WHERE NOT deleted")[0][0],
        "channels": rows("SELECT count(*) FROM channels")[0][0],
        "recent_imports": [
            {
                "import_id": r[0],
                "kind": r[1],
                "path": r[2],
                "status": r[3],
                "accepted": r[4],
                "duplicate": r[5],
                "rejected": r[6],
                "started_at": _iso(r[7]),
            }
            for r in imports
        ],
    }
    cur.close()
    return result


def resolution_status(warehouse: Warehouse) -> dict[str, int]:
    """How far identity resolution is behind ingestion, for polling while traffic flows.

    `warehouse_status` scans every event and identity (counts by carrier, persons): 22 ms
    of CPU per call at 1.3 million events, against 1.1 ms for this, which reads only the
    watermark and the row groups of unresolved records (medians of 7, a throwaway timing
    on this machine, 2026-11-24).
    """
    cur = warehouse.cursor()
    try:
        through = resolved_through(cur)
        return {"resolved_through_seq": through, "pending_records": _pending(cur, through)}
    finally:
        cur.close()


def _pending(cur: duckdb.DuckDBPyConnection, through: int) -> int:
    """Events and orders past ``through`` (the resolved watermark)."""
    row = cur.execute(
        "SELECT (SELECT count(*) FROM events WHERE seq > $s)"
        " + (SELECT count(*) FROM orders WHERE seq > $s)",
        {"s": through},
    ).fetchone()
    return int(row[0]) if row else 0


def _iso(value: Any) -> str | None:
    return value.isoformat() + "Z" if value is not None else None
