"""DuckDB side of marketing costs (营销成本): what the operator spent on a channel code or a
campaign over a span of local days.

Rows are inserted and deleted whole; an edit is a removal and a new entry, so every
figure keeps who entered it and when. Run writes inside `Warehouse.transaction`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

import duckdb

_COLUMNS: Final = (
    "cost_id",
    "dimension",
    "key",
    "day_from",
    "day_to",
    "cost_fen",
    "note",
    "entered_at",
    "entered_by",
)
_SELECT: Final = f"SELECT {', '.join(_COLUMNS)} FROM marketing_costs"


def insert_cost(
    cur: duckdb.DuckDBPyConnection,
    *,
    cost_id: str,
    dimension: str,
    key: str,
    day_from: date,
    day_to: date,
    cost_fen: int,
    note: str,
    entered_at: datetime,
    entered_by: str,
) -> dict[str, Any]:
    """Store one cost entry; returns it as a row dict."""
    cur.execute(
        f"INSERT INTO marketing_costs ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [cost_id, dimension, key, day_from, day_to, cost_fen, note, entered_at, entered_by],
    )
    found = get_cost(cur, cost_id)
    assert found is not None
    return found


def get_cost(cur: duckdb.DuckDBPyConnection, cost_id: str) -> dict[str, Any] | None:
    """The entry ``cost_id``, or None."""
    rows = cur.execute(f"{_SELECT} WHERE cost_id = ?", [cost_id]).fetchall()
    return _row(rows[0]) if rows else None


def list_costs(
    cur: duckdb.DuckDBPyConnection,
    *,
    dimension: str | None = None,
    key: str | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> list[dict[str, Any]]:
    """Entries, optionally of one dimension and key and overlapping [day_from, day_to],
    newest span first."""
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    if dimension is not None:
        where.append("dimension = ?")
        params.append(dimension)
    if key is not None:
        where.append("key = ?")
        params.append(key)
    if day_from is not None:
        where.append("day_to >= ?")
        params.append(day_from)
    if day_to is not None:
        where.append("day_from <= ?")
        params.append(day_to)
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY day_from DESC, dimension, key, cost_id"
    return [_row(r) for r in cur.execute(sql, params).fetchall()]


def delete_cost(cur: duckdb.DuckDBPyConnection, cost_id: str) -> dict[str, Any] | None:
    """Remove entry ``cost_id``; returns what was removed, or None when there was none."""
    found = get_cost(cur, cost_id)
    if found is not None:
        cur.execute("DELETE FROM marketing_costs WHERE cost_id = ?", [cost_id])
    return found


def key_is_known(cur: duckdb.DuckDBPyConnection, dimension: str, key: str) -> bool:
    """Whether the ``channels`` table has a channel code (``dimension`` channel) or a
    campaign (``campaign``) named ``key``."""
    column = {"channel": "code", "campaign": "campaign"}[dimension]
    rows = cur.execute(f"SELECT count(*) FROM channels WHERE {column} = ?", [key]).fetchall()
    return bool(rows and rows[0][0])


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(_COLUMNS, values, strict=True))
