"""Export the members of a segment or any set as CSV (导出人群), masked by default.

Columns are chosen from `fixed_columns` (person_id, entered_at, weight), the identity
types (one value per type per person: the first one the person was seen with) and the
model columns of the last compute (``layer_*`` snapshots). A per-app identity type
(``mp_openid``, ``oa_openid``) is either asked for as a whole — each value then reads
``<appid>:<openid>`` — or for one app as ``mp_openid:<appid>`` (the openid alone).

Everything is one set-based query on DuckDB streamed in batches; only the last step,
opening the sealed phone numbers and emails (masked unless ``reveal``), runs per value.
Revealing writes a ``privacy_audit`` row, as `siyu.identity.persons.export_person` does.
"""

from __future__ import annotations

import csv
import difflib
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from siyu.identity.exceptions import InvalidIdentity
from siyu.identity.persons import shown_value
from siyu.identity.rules import PER_APP_TYPES, PII_TYPES, base_type, check_type_name
from siyu.runtime import Runtime
from siyu.segments.exceptions import SegmentError, SegmentNotFound
from siyu.storage import segment_store as store

#: Columns every export can have, from the membership itself.
FIXED_COLUMNS: Final = ("person_id", "entered_at", "weight")
#: Model columns: CSV column -> (snapshot table, its column).
MODEL_COLUMNS: Final = {
    "stage": ("layer_lifecycle", "stage"),
    "paying": ("layer_lifecycle", "paying"),
    "rfm_class": ("layer_rfm", "rfm_class"),
    "r_score": ("layer_rfm", "r_score"),
    "f_score": ("layer_rfm", "f_score"),
    "m_score": ("layer_rfm", "m_score"),
    "monetary_fen": ("layer_rfm", "monetary_fen"),
    "value_tier": ("layer_value", "value_tier"),
    "first_channel": ("layer_channels", "first_channel"),
    "latest_channel": ("layer_channels", "latest_channel"),
}
DEFAULT_COLUMNS: Final = ("person_id", "entered_at", "member_id", "phone")
#: Rows fetched, opened and written per chunk of the stream.
CHUNK_ROWS: Final = 10_000


@dataclass(frozen=True)
class _Identity:
    """An identity column; ``whole_app_type``: a per-app type asked for over all apps."""

    name: str
    id_type: str
    whole_app_type: bool


def set_key_of(key: str) -> str:
    """The set key of ``key``: bare segment keys get ``segment:``, others are checked."""
    if ":" in key or key in store.BARE_SETS:
        return store.check_set_key(key)
    return f"segment:{key}"


def export_columns(runtime: Runtime) -> list[str]:
    """Every column an export can have now (per-app types as ``type:<appid>`` too)."""
    cur = runtime.warehouse.cursor()
    return [*FIXED_COLUMNS, *_identity_types(runtime, cur, with_apps=True), *MODEL_COLUMNS]


def export_segment(
    runtime: Runtime,
    key_or_set: str,
    *,
    columns: Sequence[str] | None = None,
    reveal: bool = False,
    actor: str = "cli",
) -> Iterator[str]:
    """CSV text of the set's current members: the header, then chunks of lines.

    Checks run (and the audit row of a revealing export is written) before this returns,
    so a bad column or an unknown set raises here, not in the middle of the stream.
    """
    wh = runtime.warehouse
    cur = wh.cursor()
    set_key = checked_set(cur, key_or_set)
    names = list(dict.fromkeys(c.strip() for c in (columns or DEFAULT_COLUMNS) if c.strip()))
    if not names:
        raise SegmentError(f"give at least one column, e.g. {','.join(DEFAULT_COLUMNS)}")
    plan = _plan(runtime, cur, names)
    sql, params = _query(cur, set_key, plan)
    pii = [
        (i, col.id_type)
        for i, col in enumerate(plan)
        if isinstance(col, _Identity) and base_type(col.id_type) in PII_TYPES
    ]
    if reveal and pii:
        _audit(cur, wh, set_key, names, [plan[i] for i, _ in pii], actor)
    tz = ZoneInfo(runtime.settings.timezone)
    cur.close()
    # Its own cursor: the checks above may leave a result pending on theirs.
    return _stream(wh.cursor(), wh, sql, params, names, pii, reveal, tz)


def _stream(
    cur: duckdb.DuckDBPyConnection,
    warehouse: Any,
    sql: str,
    params: dict[str, Any],
    names: list[str],
    pii: list[tuple[int, str]],
    reveal: bool,
    tz: ZoneInfo,
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    yield buffer.getvalue()
    try:
        reader: pa.RecordBatchReader = cur.sql(sql, params=params).to_arrow_reader(CHUNK_ROWS)
        for batch in reader:
            values = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for i, id_type in pii:
                values[i] = [
                    None if v is None else shown_value(warehouse, id_type, v, reveal)
                    for v in values[i]
                ]
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([_cell(v, tz) for v in row] for row in zip(*values, strict=True))
            yield buffer.getvalue()
    finally:
        cur.close()


def _cell(value: Any, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=UTC)
        return at.astimezone(tz).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return _inert(str(value))


def _inert(text: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP CSV injection): a leading
    ``=``, ``@``, tab or CR, or ``+``/``-`` not starting a number, gets a ``'``."""
    if not text:
        return text
    first = text[0]
    if first in "=@\t\r" or (first in "+-" and not text[1:2].isdigit() and text[1:2] != " "):
        return "'" + text
    return text


def checked_set(cur: duckdb.DuckDBPyConnection, key: str) -> str:
    """The set key of ``key``, which must have been computed; SegmentNotFound otherwise."""
    set_key = set_key_of(key.strip())
    if set_key.startswith("segment:"):
        store.get_definition(cur, set_key.removeprefix("segment:"))
    rows = cur.execute("SELECT count(*) FROM set_sizes WHERE set_key = ?", [set_key]).fetchall()
    if rows and rows[0][0]:
        return set_key
    if set_key.startswith("segment:"):
        raise SegmentError(
            f"{set_key.removeprefix('segment:')!r} has not been computed yet; run "
            "`siyu segments compute` first"
        )
    known = [str(r[0]) for r in cur.execute("SELECT DISTINCT set_key FROM set_sizes").fetchall()]
    close = difflib.get_close_matches(set_key, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise SegmentNotFound(
        f"no set {set_key!r} has been computed{hint} (`siyu segments sets` lists them)"
    )


def _identity_types(
    runtime: Runtime, cur: duckdb.DuckDBPyConnection, *, with_apps: bool
) -> list[str]:
    """Declared identity types and the types found in the warehouse (apps optionally)."""
    found = [
        str(r[0])
        for r in cur.execute(
            "SELECT DISTINCT identity_type FROM identities ORDER BY identity_type"
        ).fetchall()
    ]
    names = dict.fromkeys([*runtime.rules.rules, *(base_type(t) for t in found)])
    if with_apps:
        names |= dict.fromkeys(t for t in found if ":" in t)
    return list(names)


def _plan(
    runtime: Runtime, cur: duckdb.DuckDBPyConnection, names: list[str]
) -> list[str | _Identity]:
    """Each column as a fixed or model column name, or an identity to look up."""
    known_types = set(_identity_types(runtime, cur, with_apps=False))
    plan: list[str | _Identity] = []
    unknown: list[str] = []
    for name in names:
        if name in FIXED_COLUMNS or name in MODEL_COLUMNS:
            plan.append(name)
            continue
        base, sep, app = name.partition(":")
        if sep and base in PER_APP_TYPES and app and _is_type_name(app):
            plan.append(_Identity(name, name, whole_app_type=False))
        elif not sep and name in known_types:
            plan.append(_Identity(name, name, whole_app_type=name in PER_APP_TYPES))
        else:
            unknown.append(name)
    if unknown:
        allowed = [*FIXED_COLUMNS, *sorted(known_types), *MODEL_COLUMNS]
        per_app = ", ".join(f"{t}:<appid>" for t in sorted(PER_APP_TYPES))
        raise SegmentError(
            f"unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}; choose from {', '.join(allowed)} "
            f"(and {per_app} for one app's openid)"
        )
    return plan


def _is_type_name(text: str) -> bool:
    try:
        check_type_name(text)
    except InvalidIdentity:
        return False
    return True


def _query(
    cur: duckdb.DuckDBPyConnection, set_key: str, plan: list[str | _Identity]
) -> tuple[str, dict[str, Any]]:
    """One query: the members, their identities pivoted to columns, the model columns.

    Column names and types come from the checked plan; every value is a parameter.
    """
    params: dict[str, Any] = {"set": set_key}
    identity_aggs: list[str] = []
    identity_filters: list[str] = []
    selects: list[str] = []
    layers = _layer_columns(cur)
    joined: dict[str, str] = {}
    for i, col in enumerate(plan):
        if isinstance(col, _Identity):
            params[f"t{i}"] = col.id_type
            if col.whole_app_type:
                match = f"(i.identity_type = $t{i} OR starts_with(i.identity_type, $t{i} || ':'))"
                value = (
                    f"CASE WHEN i.identity_type = $t{i} THEN i.identity_value ELSE "
                    f"substr(i.identity_type, length($t{i}) + 2) || ':' || i.identity_value END"
                )
            else:
                match = f"i.identity_type = $t{i}"
                value = "i.identity_value"
            identity_aggs.append(f"arg_min({value}, i.node_order) FILTER (WHERE {match}) AS c{i}")
            identity_filters.append(match)
            selects.append(f"ids.c{i}")
        elif col in FIXED_COLUMNS:
            selects.append(f"m.{col}")
        else:
            table, column = MODEL_COLUMNS[col]
            if column not in layers.get(table, ()):
                selects.append("NULL")
                continue
            alias = joined.setdefault(table, f"l{len(joined)}")
            selects.append(f'{alias}."{column}"')
    sql = [
        "WITH m AS (",
        "  SELECT coalesce(o.person_id, s.person_id) AS person_id,",
        "         min(s.entered_at) AS entered_at, max(s.weight) AS weight",
        "  FROM memberships s LEFT JOIN person_overrides o ON o.old_person_id = s.person_id",
        "  WHERE s.set_key = $set AND s.exited_at IS NULL GROUP BY 1)",
    ]
    if identity_aggs:
        sql += [
            ", ids AS (",
            f"  SELECT i.person_id, {', '.join(identity_aggs)}",
            "  FROM identities i SEMI JOIN m ON i.person_id = m.person_id",
            f"  WHERE NOT i.junk AND ({' OR '.join(identity_filters)})",
            "  GROUP BY i.person_id)",
        ]
    sql.append(f"SELECT {', '.join(selects)} FROM m")
    if identity_aggs:
        sql.append("LEFT JOIN ids ON ids.person_id = m.person_id")
    for table, alias in joined.items():
        sql.append(f"LEFT JOIN {table} {alias} ON {alias}.person_id = m.person_id")
    sql.append("ORDER BY m.person_id")
    return "\n".join(sql), params


def _layer_columns(cur: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Columns of the model snapshot tables that exist now (a compute writes them)."""
    tables = sorted({t for t, _ in MODEL_COLUMNS.values()})
    rows = cur.execute(
        "SELECT table_name, column_name FROM duckdb_columns()"
        " WHERE schema_name = 'main' AND NOT internal AND table_name IN (SELECT unnest($t))",
        {"t": tables},
    ).fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(str(table), set()).add(str(column))
    return {t: cols for t, cols in out.items() if "person_id" in cols}


def _audit(
    cur: duckdb.DuckDBPyConnection,
    warehouse: Any,
    set_key: str,
    names: list[str],
    pii: list[str | _Identity],
    actor: str,
) -> None:
    """A ``privacy_audit`` row for an export showing phone numbers or emails unmasked."""
    types = [c.id_type for c in pii if isinstance(c, _Identity)]
    rows = cur.execute(
        """
        WITH m AS (
            SELECT DISTINCT coalesce(o.person_id, s.person_id) AS person_id
            FROM memberships s LEFT JOIN person_overrides o ON o.old_person_id = s.person_id
            WHERE s.set_key = $set AND s.exited_at IS NULL)
        SELECT (SELECT count(*) FROM m),
               (SELECT count(DISTINCT (i.person_id, i.identity_type))
                FROM identities i SEMI JOIN m ON i.person_id = m.person_id
                WHERE NOT i.junk AND i.identity_type IN (SELECT unnest($types)))
        """,
        {"set": set_key, "types": types},
    ).fetchall()
    persons, identities = (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)
    with warehouse.transaction() as wcur:
        wcur.execute(
            "INSERT INTO privacy_audit VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?)",
            [
                str(uuid.uuid4()),
                "segment_export",
                datetime.now(UTC).replace(tzinfo=None),
                actor,
                persons,
                identities,
                f"{set_key} exported unmasked; columns {','.join(names)}",
            ],
        )


__all__ = [
    "DEFAULT_COLUMNS",
    "MODEL_COLUMNS",
    "checked_set",
    "export_columns",
    "export_segment",
    "set_key_of",
]
