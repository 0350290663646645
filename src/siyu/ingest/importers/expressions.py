"""SQL expression builders for validating imported columns in DuckDB, set-based.

Every builder takes the (already quoted) expression of a file column and its DuckDB type
and returns SQL text. File column names only reach SQL through `ident` or `literal`,
which quote them; row values never do (they are read by the query, not spliced into it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from siyu.ingest.normalize import JUNK_IDS, MAX_ID_LENGTH

#: Longest ``properties`` / traits / items JSON accepted from one row.
MAX_JSON_BYTES: Final = 1024 * 1024

_NESTED_PREFIXES: Final = ("STRUCT", "MAP", "JSON")
_NUMBER_TYPES: Final = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "DOUBLE",
    }
)
#: 2000-01-01 (as normalize.MIN_TIME_US): earlier times are clock errors, not events.
MIN_TIME_SQL: Final = "TIMESTAMP '2000-01-01'"
_ISO_HINT: Final = (
    " is not a time; use ISO-8601 such as 2026-11-01T08:30:00+08:00, "
    "or epoch seconds or milliseconds"
)


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Check:
    """One validation: rows where ``condition`` holds are rejected with ``message``.

    ``key`` is the message without row values, used to count rejections by reason.
    """

    key: str
    condition: str
    message: str


def reason_sql(checks: list[Check]) -> tuple[str, str]:
    """``(reason, reason_key)`` CASE expressions: the first failing check wins."""
    if not checks:
        return "NULL::VARCHAR", "NULL::VARCHAR"
    reason = " ".join(f"WHEN {c.condition} THEN {c.message}" for c in checks)
    key = " ".join(f"WHEN {c.condition} THEN {literal(c.key)}" for c in checks)
    return f"CASE {reason} END", f"CASE {key} END"


def preview(expr: str, width: int = 40) -> str:
    """SQL for ``'value'`` quoted and cut to ``width`` characters, for reasons."""
    return (
        f"('''' || left({expr}, {width}) || "
        f"CASE WHEN length({expr}) > {width} THEN '...' ELSE '' END || '''')"
    )


def is_nested(dtype: str) -> bool:
    return dtype.upper().startswith(_NESTED_PREFIXES) or dtype.upper().endswith("[]")


def text(column: str | None, dtype: str) -> str:
    """The column as trimmed text, NULL when absent or blank; nested values as JSON."""
    if column is None:
        return "NULL::VARCHAR"
    col = ident(column)
    if dtype.upper() == "VARCHAR":
        return f"nullif(trim({col}), '')"
    if is_nested(dtype):
        return f"CAST(to_json({col}) AS VARCHAR)"
    return f"CAST({col} AS VARCHAR)"


def one_of(expr: str, values: list[str]) -> str:
    """SQL: ``expr`` is one of ``values`` (NULL when ``expr`` is NULL).

    For short lists of known words (types, carriers). DuckDB plans this, like ``IN``, as
    a hash join of every row against the list when later query levels read the result
    (about 0.25 s of operator time per use on 10 M rows, 2026-11-24): cheap for these,
    but id columns use `clean_id`'s pattern instead.
    """
    return f"list_contains([{', '.join(literal(v) for v in values)}], {expr})"


def _regex_escape(text: str) -> str:
    """``text`` as a literal inside an RE2 pattern."""
    return "".join("\\" + ch if ch in r"\.^$|?*+()[]{}-" else ch for ch in text)


_JUNK: Final = sorted(j for j in JUNK_IDS if j)
#: Longest junk placeholder: longer text is never junk, and skips the pattern.
_JUNK_LENGTH: Final = max(len(j) for j in _JUNK)
_JUNK_PATTERN: Final = literal("(?i)" + "|".join(_regex_escape(j) for j in _JUNK))


def clean_id(text_expr: str) -> str:
    """An id: junk placeholders (``null``, ``undefined``, ``0`` ...) become NULL.

    A case-insensitive pattern behind a length test, not ``lower(x) IN (...)`` nor
    `one_of`: DuckDB turns either into a hash join of every row against the list when
    the id is used by later levels of the query, 1.2-2.7 s of CPU per id column of a
    10-million-row import; this costs about a tenth of that (`EXPLAIN ANALYZE` and a
    throwaway timing, 2026-11-24). ``text_expr`` should be a column computed a level
    below (`Trimmed`), so the trimming is not repeated for each use.
    """
    return (
        f"CASE WHEN strlen({text_expr}) <= {_JUNK_LENGTH}"
        f" AND regexp_full_match({text_expr}, {_JUNK_PATTERN}) THEN NULL ELSE {text_expr} END"
    )


class Trimmed:
    """Column text computed one query level below the expressions that use it.

    Calling it with an expression returns the name of a column holding its value
    (``_x_<n>``); `columns` are those columns, for the level below.
    """

    def __init__(self) -> None:
        self.columns: dict[str, str] = {}

    def __call__(self, expr: str) -> str:
        name = f"_x_{len(self.columns)}"
        self.columns[name] = expr
        return name


def id_checks(field: str, text_expr: str) -> list[Check]:
    return [
        Check(
            f"{field} is too long",
            f"length({text_expr}) > {MAX_ID_LENGTH}",
            f"{literal(field + ' is ')} || length({text_expr}) || "
            f"{literal(f' characters; the limit is {MAX_ID_LENGTH}')}",
        )
    ]


def is_time(dtype: str) -> bool:
    """Whether values of ``dtype`` are times already (any text is only their spelling)."""
    upper = dtype.upper()
    return upper.startswith("TIMESTAMP") or upper == "DATE"


def time_raw(column: str | None, dtype: str) -> str:
    """What `time_checks` calls the raw value: the text of a text or number column; a
    time column itself, which cannot fail to be a time (formatting 10 million
    timestamps as text only for the rare message cost about 1 s of an import)."""
    if column is not None and is_time(dtype):
        return ident(column)
    return text(column, dtype)


def time_value(column: str | None, dtype: str) -> str:
    """The column as a UTC ``TIMESTAMP``, NULL when absent or unparseable.

    Text without an offset is read in the session time zone (the project's, set by the
    importer); Parquet ``TIMESTAMP`` without zone is taken as UTC, like siyu's own
    snapshots; numbers are epoch seconds, or milliseconds from 1e11 up.
    """
    if column is None:
        return "NULL::TIMESTAMP"
    col = ident(column)
    upper = dtype.upper()
    if upper in {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}:
        return f"timezone('UTC', {col})"
    if upper.startswith("TIMESTAMP"):
        return f"CAST({col} AS TIMESTAMP)"
    if upper == "DATE":
        return f"timezone('UTC', CAST({col} AS TIMESTAMPTZ))"
    if upper in _NUMBER_TYPES or upper.startswith("DECIMAL"):
        return _epoch(f"CAST({col} AS DOUBLE)")
    t = text(column, dtype)
    number = f"TRY_CAST({t} AS DOUBLE)"
    return (
        f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+(\\.[0-9]+)?') THEN {_epoch(number)} "
        f"ELSE timezone('UTC', TRY_CAST({t} AS TIMESTAMPTZ)) END"
    )


def _epoch(number: str) -> str:
    return (
        f"CASE WHEN abs({number}) >= 1e16 THEN NULL "
        f"WHEN abs({number}) >= 1e11 THEN make_timestamp(CAST({number} * 1000 AS BIGINT)) "
        f"ELSE make_timestamp(CAST({number} * 1000000 AS BIGINT)) END"
    )


def time_checks(field: str, raw_text: str, value: str, *, required: bool) -> list[Check]:
    """Reject missing (when required), unparseable, pre-2000 and future times."""
    checks = []
    if required:
        checks.append(
            Check(f"{field} is empty", f"{raw_text} IS NULL", literal(f"{field} is empty"))
        )
    checks += [
        Check(
            f"{field} is not a time",
            f"{raw_text} IS NOT NULL AND {value} IS NULL",
            f"{literal(field + ' ')} || {preview(f'CAST({raw_text} AS VARCHAR)')} || "
            f"{literal(_ISO_HINT)}",
        ),
        Check(
            f"{field} is before 2000",
            f"{value} < {MIN_TIME_SQL}",
            f"{literal(field + ' ')} || CAST({value} AS VARCHAR) || "
            f"{literal(' UTC is before 2000-01-01; check the column and its time zone')}",
        ),
        Check(
            f"{field} is in the future",
            f"{value} > $now + INTERVAL 1 DAY",
            f"{literal(field + ' ')} || CAST({value} AS VARCHAR) || "
            f"{literal(' UTC is more than a day in the future')}",
        ),
    ]
    return checks


def json_checks(field: str, json_expr: str, json_type: str) -> list[Check]:
    """Reject text that is not valid JSON of ``json_type`` (OBJECT or ARRAY) or too big."""
    noun = "object" if json_type == "OBJECT" else "array"
    return [
        Check(
            f"{field} is too large",
            f"strlen({json_expr}) > {MAX_JSON_BYTES}",
            f"{literal(field + ' is ')} || format('{{:,}}', strlen({json_expr})) || "
            f"{literal(f' bytes; the limit is {MAX_JSON_BYTES:,}')}",
        ),
        Check(
            f"{field} is not a JSON {noun}",
            # One JSON parse per row: valid JSON whose first character opens the type.
            f"{json_expr} IS NOT NULL AND NOT (json_valid({json_expr}) AND "
            f"left(ltrim({json_expr}, ' \t\n\r'), 1) = '{'{' if json_type == 'OBJECT' else '['}')",
            f"{literal(field + ' ')} || {preview(json_expr)} || "
            f"{literal(f' is not a JSON {noun}')}",
        ),
    ]


def json_object_of(columns: list[tuple[str, str]]) -> str:
    """A JSON object of the non-NULL ``(name, dtype)`` columns, for extras and traits."""
    if not columns:
        return "'{}'"
    entries = ", ".join(
        f"{{'k': {literal(name)}, 'v': {_json_value(name, dtype)}}}" for name, dtype in columns
    )
    return (
        f"CAST(to_json(map_from_entries(list_filter([{entries}], "
        f"lambda e: e.v IS NOT NULL))) AS VARCHAR)"
    )


def _json_value(name: str, dtype: str) -> str:
    col = ident(name)
    if dtype.upper() == "VARCHAR":
        return f"to_json(nullif(trim({col}), ''))"
    return f"to_json({col})"


def identities_map(values: dict[str, str]) -> str:
    """A ``MAP(VARCHAR, VARCHAR)`` of identity type -> cleaned value, NULLs left out."""
    if not values:
        return "MAP {}::MAP(VARCHAR, VARCHAR)"
    entries = ", ".join(f"{{'k': {literal(t)}, 'v': {v}}}" for t, v in values.items())
    return (
        f"CAST(map_from_entries(list_filter([{entries}], lambda e: e.v IS NOT NULL)) "
        f"AS MAP(VARCHAR, VARCHAR))"
    )
