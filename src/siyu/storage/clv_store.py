"""DuckDB side of churn and lifetime value: fitted models (``clv_fits``) and the latest
per-person scores (``clv_scores``).

A fit row keeps the calibration end, the time unit, how many customers it saw and its
parameters as JSON text; ``clv_scores`` holds one row per scored person and is replaced
whole by each scoring. Write functions expect to run inside `Warehouse.transaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import duckdb
import orjson
import pyarrow as pa

from siyu.storage.segment_store import query_count, registered, utc_naive

#: Columns of ``clv_scores``, in table order.
SCORE_COLUMNS: Final = (
    "person_id",
    "fit_id",
    "scored_at",
    "frequency",
    "recency",
    "age",
    "monetary_fen",
    "p_alive",
    "expected_purchases",
    "horizon_days",
    "clv_fen",
)


@dataclass(frozen=True)
class StoredFit:
    """A row of ``clv_fits``; ``params`` is the decoded JSON."""

    fit_id: str
    fitted_at: datetime
    until: date
    unit: str
    customers: int
    params: dict[str, Any]


def insert_fit(
    cur: duckdb.DuckDBPyConnection,
    fit_id: str,
    *,
    until: date,
    unit: str,
    customers: int,
    params: dict[str, Any],
    fitted_at: datetime | None = None,
) -> StoredFit:
    """Store a fitted model; returns the row as stored."""
    at = utc_naive(fitted_at)
    cur.execute(
        "INSERT INTO clv_fits (fit_id, fitted_at, until, unit, customers, params) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [fit_id, at, until, unit, customers, orjson.dumps(params).decode()],
    )
    return StoredFit(fit_id, at, until, unit, customers, params)


_FIT_COLUMNS: Final = "fit_id, fitted_at, until, unit, customers, params"


def get_fit(cur: duckdb.DuckDBPyConnection, fit_id: str) -> StoredFit | None:
    """The fit ``fit_id``, or None."""
    rows = cur.execute(f"SELECT {_FIT_COLUMNS} FROM clv_fits WHERE fit_id = ?", [fit_id]).fetchall()
    return _fit(rows[0]) if rows else None


def latest_fit(cur: duckdb.DuckDBPyConnection) -> StoredFit | None:
    """The most recently fitted model, or None when there is none."""
    rows = cur.execute(
        f"SELECT {_FIT_COLUMNS} FROM clv_fits ORDER BY fitted_at DESC, fit_id DESC LIMIT 1"
    ).fetchall()
    return _fit(rows[0]) if rows else None


def recent_fits(cur: duckdb.DuckDBPyConnection, limit: int = 20) -> list[StoredFit]:
    """The last ``limit`` fits, newest first."""
    rows = cur.execute(
        f"SELECT {_FIT_COLUMNS} FROM clv_fits ORDER BY fitted_at DESC, fit_id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [_fit(r) for r in rows]


def _fit(row: tuple[Any, ...]) -> StoredFit:
    params: dict[str, Any] = orjson.loads(row[5])
    return StoredFit(str(row[0]), row[1], row[2], str(row[3]), int(row[4]), params)


#: Per-person columns `replace_scores` takes (the rest are the same for every row).
PERSON_COLUMNS: Final = tuple(
    c for c in SCORE_COLUMNS if c not in ("fit_id", "scored_at", "horizon_days")
)


def replace_scores(
    cur: duckdb.DuckDBPyConnection,
    scores: pa.Table,
    *,
    fit_id: str,
    horizon_days: int,
    scored_at: datetime | None = None,
) -> int:
    """Replace every row of ``clv_scores`` by ``scores`` (columns `PERSON_COLUMNS`),
    all from fit ``fit_id`` over ``horizon_days``; returns the rows written."""
    missing = [c for c in PERSON_COLUMNS if c not in scores.column_names]
    if missing:
        raise ValueError(f"scores lack the columns {', '.join(missing)}")
    cur.execute("DELETE FROM clv_scores")
    columns = ", ".join(SCORE_COLUMNS)
    values = ", ".join(
        {"fit_id": "$fit_id", "scored_at": "$at", "horizon_days": "$horizon"}.get(c, c)
        for c in SCORE_COLUMNS
    )
    with registered(cur, "_clv_scores_in", scores.select(list(PERSON_COLUMNS))):
        cur.execute(
            f"INSERT INTO clv_scores ({columns}) SELECT {values} FROM _clv_scores_in",
            {"fit_id": fit_id, "at": utc_naive(scored_at), "horizon": horizon_days},
        )
    return query_count(cur, "SELECT count(*) FROM clv_scores")


def scored_fit(cur: duckdb.DuckDBPyConnection) -> str | None:
    """The fit the current scores came from (None when nothing is scored)."""
    rows = cur.execute("SELECT fit_id FROM clv_scores LIMIT 1").fetchall()
    return str(rows[0][0]) if rows else None
