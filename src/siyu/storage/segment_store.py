"""DuckDB side of tags and segments: definitions, memberships and their history, sizes.

A *set* is anything a person can be in, named by a set key (``segment:<key>``,
``lifecycle:active``, ``paying``, ``tag:<name>``; see `SET_PREFIXES`). `apply_memberships`
diffs the members a computation produced against the open rows of ``memberships``, set-wise
in SQL: stays that ended get ``exited_at``, new stays a row, and every entry and exit
becomes a ``segment_events`` row for journeys. Reads map person ids through
``person_overrides``, so a merge never splits a person's sets. Manual tags live in
`siyu.storage.tag_store`. Every write function expects to run inside `Warehouse.transaction`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

import duckdb
import orjson
import pyarrow as pa

from siyu.segments.exceptions import (
    InvalidDefinition,
    InvalidSetKey,
    SegmentNotFound,
)

#: Set keys are ``<prefix>:<name>`` with one of these prefixes, or one of `BARE_SETS`.
SET_PREFIXES: Final = (
    "segment",  # a segment definition's key
    "lifecycle",  # one of LIFECYCLE_STAGES
    "rfm",  # an RFM class
    "value",  # a value tier
    "role",  # a role in the private domain (e.g. advocate)
    "interest",  # an interest tag; weight = interest weight
    "channel",  # first-touch channel code
    "tag",  # a manual tag (manual_tags), materialised by apply_manual_tags
)
BARE_SETS: Final = ("paying",)
LIFECYCLE_STAGES: Final = ("new", "active", "silent", "churned", "returning")
DEFINITION_KINDS: Final = ("segment", "tag")
#: Sets `overlap` compares at once: one bit each of a BIGINT mask.
MAX_OVERLAP_SETS: Final = 62

_KEY: Final = re.compile(r"^[\w.-]{1,64}$")
_SNAPSHOT: Final = re.compile(r"^[a-z][a-z0-9_]{0,57}$")
_MAX_SET_NAME: Final = 128

#: Memberships with each person id replaced by the person it was merged into.
_RESOLVED: Final = """
    SELECT m.set_key, coalesce(o.person_id, m.person_id) AS person_id, m.entered_at,
           m.exited_at, m.weight
    FROM memberships m LEFT JOIN person_overrides o ON o.old_person_id = m.person_id
"""


@dataclass(frozen=True)
class SetDiff:
    """One set after an apply: its size and who entered and exited in that apply."""

    size: int
    entered: int
    exited: int


@dataclass(frozen=True)
class StoredDefinition:
    """A row of ``segment_definitions``; ``definition`` is JSON text."""

    key: str
    kind: str
    name: str
    description: str
    definition: str
    origin: str
    created_at: datetime
    updated_at: datetime
    created_by: str
    archived: bool


# -- names ------------------------------------------------------------------------------


def check_set_key(key: str) -> str:
    """``key`` if it is a set key of the vocabulary; raises InvalidSetKey.

    Example:
        >>> check_set_key("lifecycle:active"), check_set_key("paying")
        ('lifecycle:active', 'paying')
    """
    if key in BARE_SETS:
        return key
    prefix, sep, name = key.partition(":")
    if not sep or prefix not in SET_PREFIXES:
        raise InvalidSetKey(
            f"{key!r} is not a set key; write <kind>:<name> with kind one of "
            f"{', '.join(SET_PREFIXES)}, or one of {', '.join(BARE_SETS)}"
        )
    if not name or len(name) > _MAX_SET_NAME or has_control(name):
        raise InvalidSetKey(
            f"{key!r}: the name after {prefix}: must be 1..{_MAX_SET_NAME} characters "
            "without control characters"
        )
    if prefix == "lifecycle" and name not in LIFECYCLE_STAGES:
        raise InvalidSetKey(
            f"{key!r}: lifecycle stages are {', '.join(LIFECYCLE_STAGES)}; got {name!r}"
        )
    return key


def has_control(text: str) -> bool:
    """Whether ``text`` holds control characters (tabs, line breaks, NUL...)."""
    return any(unicodedata.category(c) == "Cc" for c in text)


def utc_naive(at: datetime | None) -> datetime:
    """``at`` as a naive UTC datetime, the way timestamps are stored; now when None."""
    if at is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if at.tzinfo is not None:
        return at.astimezone(UTC).replace(tzinfo=None)
    return at


# -- definitions ------------------------------------------------------------------------

_DEFINITION_COLUMNS: Final = (
    "key, kind, name, description, definition, origin, created_at, updated_at, created_by, archived"
)


def save_definition(
    cur: duckdb.DuckDBPyConnection,
    key: str,
    *,
    kind: str,
    name: str,
    definition: str | Mapping[str, Any],
    actor: str,
    description: str = "",
    origin: str = "db",
    at: datetime | None = None,
) -> StoredDefinition:
    """Insert or update a definition; ``created_at``/``created_by`` stay, archived is cleared."""
    if not _KEY.match(key):
        raise InvalidSetKey(
            f"segment key {key!r}: use 1..64 letters, digits, '_', '-' or '.' (no spaces)"
        )
    if kind not in DEFINITION_KINDS:
        raise InvalidDefinition("kind", f"{kind!r} is not one of {', '.join(DEFINITION_KINDS)}")
    if origin != "db" and not (origin.startswith("file:") and len(origin) > 5):
        raise InvalidDefinition("origin", f"{origin!r}: use 'db' or 'file:<path>'")
    if not name.strip():
        raise InvalidDefinition("name", "a segment or tag needs a name")
    if isinstance(definition, str):
        try:
            orjson.loads(definition)
        except orjson.JSONDecodeError as exc:
            raise InvalidDefinition("definition", f"not JSON: {exc}") from None
        text = definition
    else:
        text = orjson.dumps(definition).decode()
    now = utc_naive(at)
    cur.execute(
        f"""
        INSERT INTO segment_definitions ({_DEFINITION_COLUMNS})
        VALUES ($key, $kind, $name, $description, $definition, $origin, $at, $at, $actor, false)
        ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, name = excluded.name,
            description = excluded.description, definition = excluded.definition,
            origin = excluded.origin, updated_at = excluded.updated_at, archived = false
        """,
        {
            "key": key,
            "kind": kind,
            "name": name,
            "description": description,
            "definition": text,
            "origin": origin,
            "at": now,
            "actor": actor,
        },
    )
    return get_definition(cur, key)


def get_definition(cur: duckdb.DuckDBPyConnection, key: str) -> StoredDefinition:
    """The definition of ``key`` (archived ones too); raises SegmentNotFound."""
    # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result pending on the cursor.
    rows = cur.execute(
        f"SELECT {_DEFINITION_COLUMNS} FROM segment_definitions WHERE key = ?", [key]
    ).fetchall()
    if not rows:
        raise SegmentNotFound(_not_found(cur, key))
    return StoredDefinition(*rows[0])


def list_definitions(
    cur: duckdb.DuckDBPyConnection, *, include_archived: bool = False, kind: str | None = None
) -> list[StoredDefinition]:
    """Definitions by key; archived ones only when asked."""
    rows = cur.execute(
        f"SELECT {_DEFINITION_COLUMNS} FROM segment_definitions"
        " WHERE ($all OR NOT archived) AND ($kind IS NULL OR kind = $kind) ORDER BY key",
        {"all": include_archived, "kind": kind},
    ).fetchall()
    return [StoredDefinition(*row) for row in rows]


def archive_definition(
    cur: duckdb.DuckDBPyConnection, key: str, *, at: datetime | None = None
) -> None:
    """Mark a definition archived (kept for history; `save_definition` revives it)."""
    get_definition(cur, key)
    cur.execute(
        "UPDATE segment_definitions SET archived = true, updated_at = ? WHERE key = ?",
        [utc_naive(at), key],
    )


def _not_found(cur: duckdb.DuckDBPyConnection, key: str) -> str:
    keys = [str(r[0]) for r in cur.execute("SELECT key FROM segment_definitions").fetchall()]
    close = difflib.get_close_matches(key, keys, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"no segment or tag has the key {key!r}{hint} (list them to see every key)"


# -- memberships ------------------------------------------------------------------------


def apply_memberships(
    cur: duckdb.DuckDBPyConnection, members: pa.Table, set_keys: Sequence[str], at: datetime
) -> dict[str, SetDiff]:
    """Make the open memberships of each key in ``set_keys`` equal ``members``; the diffs.

    ``members`` has ``set_key``, ``person_id`` and optionally ``weight`` (a person listed
    twice keeps the larger weight). A key with no member rows becomes empty; keys not
    in ``set_keys`` are untouched, and rows of such keys are refused. Idempotent: the
    same members again change nothing but the weights. An ``at`` earlier than a key's
    last apply is moved up to it, so each set's history stays in order.
    """
    keys = [check_set_key(k) for k in dict.fromkeys(set_keys)]
    columns = {"set_key": members["set_key"], "person_id": members["person_id"]}
    columns["weight"] = (
        members["weight"]
        if "weight" in members.column_names
        else pa.nulls(members.num_rows, pa.float64())
    )
    with registered(cur, "_seg_in", pa.table(columns)):
        stray = cur.execute(
            "SELECT DISTINCT set_key FROM _seg_in WHERE set_key NOT IN"
            " (SELECT unnest($keys)) ORDER BY 1 LIMIT 5",
            {"keys": keys},
        ).fetchall()
        if stray:
            raise InvalidSetKey(
                f"members of {', '.join(repr(r[0]) for r in stray)} were given but those keys "
                "are not in set_keys; list every key the members belong to"
            )
        return apply_relation(cur, "_seg_in", keys, utc_naive(at))


def apply_relation(
    cur: duckdb.DuckDBPyConnection, source: str, keys: list[str], at: datetime
) -> dict[str, SetDiff]:
    """`apply_memberships` from a relation ``source`` the cursor can see (for sibling stores).

    One full outer join of the members with the open rows finds every entry, exit and
    changed weight; only those rows are written. Sizes are the open counts before plus
    entries minus exits, so the members are never aggregated twice.
    """
    # History never runs backwards: an instant before a key's last apply (a manual tag
    # changed while a computation ran, clocks of two processes) moves up to it.
    last = cur.execute(
        "SELECT max(computed_at) FROM set_sizes WHERE set_key IN (SELECT unnest($keys))",
        {"keys": keys},
    ).fetchall()
    if last and last[0][0] is not None and last[0][0] > at:
        at = last[0][0]
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _seg_keys AS SELECT unnest($keys) AS set_key",
        {"keys": keys},
    )
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _seg_before AS
        SELECT set_key, count(*) AS size FROM memberships
        WHERE exited_at IS NULL AND set_key IN (SELECT set_key FROM _seg_keys) GROUP BY set_key
        """
    )
    # change: 0 exit, 1 entry, 2 new weight.
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _seg_delta AS
        SELECT coalesce(n.set_key, o.set_key) AS set_key,
               coalesce(n.person_id, o.person_id) AS person_id, n.weight,
               CAST(CASE WHEN n.person_id IS NULL THEN 0 WHEN o.person_id IS NULL THEN 1
                         ELSE 2 END AS TINYINT) AS change
        FROM (SELECT set_key, person_id, max(CAST(weight AS DOUBLE)) AS weight FROM {source}
              WHERE person_id IS NOT NULL GROUP BY set_key, person_id) n
        FULL JOIN (SELECT set_key, person_id, weight FROM memberships
                   WHERE exited_at IS NULL AND set_key IN (SELECT set_key FROM _seg_keys)) o
            ON n.set_key = o.set_key AND n.person_id = o.person_id
        WHERE n.person_id IS NULL OR o.person_id IS NULL OR n.weight IS DISTINCT FROM o.weight
        """
    )
    counts = dict(cur.execute("SELECT change, count(*) FROM _seg_delta GROUP BY change").fetchall())
    if counts.get(0):
        cur.execute(
            "UPDATE memberships SET exited_at = $at FROM _seg_delta d"
            " WHERE d.change = 0 AND memberships.exited_at IS NULL"
            " AND memberships.set_key = d.set_key AND memberships.person_id = d.person_id",
            {"at": at},
        )
    if counts.get(2):
        cur.execute(
            "UPDATE memberships SET weight = d.weight FROM _seg_delta d"
            " WHERE d.change = 2 AND memberships.exited_at IS NULL"
            " AND memberships.set_key = d.set_key AND memberships.person_id = d.person_id"
        )
    if counts.get(1):
        cur.execute(
            "INSERT INTO memberships SELECT set_key, person_id, $at, NULL, weight"
            " FROM _seg_delta WHERE change = 1",
            {"at": at},
        )
    # Exits first, then entries, so a person moving between sets leaves before it enters;
    # numbering without a sort keeps this cheap for millions of rows.
    for change, event in ((0, "segment_exited"), (1, "segment_entered")):
        if counts.get(change):
            cur.execute(
                """
                INSERT INTO segment_events
                SELECT (SELECT coalesce(max(seq), 0) FROM segment_events)
                       + row_number() OVER (ORDER BY set_key, person_id),
                       $event, set_key, person_id, $at
                FROM _seg_delta WHERE change = $change
                """,
                {"event": event, "change": change, "at": at},
            )
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _seg_diff AS
        SELECT k.set_key, coalesce(b.size, 0) + coalesce(d.entered, 0) - coalesce(d.exited, 0)
                   AS size,
               coalesce(d.entered, 0) AS entered, coalesce(d.exited, 0) AS exited
        FROM _seg_keys k
        LEFT JOIN _seg_before b USING (set_key)
        LEFT JOIN (SELECT set_key, count(*) FILTER (WHERE change = 1) AS entered,
                          count(*) FILTER (WHERE change = 0) AS exited
                   FROM _seg_delta GROUP BY set_key) d USING (set_key)
        """
    )
    # A second apply at the same instant folds into that instant's size row.
    cur.execute(
        "UPDATE set_sizes SET size = d.size, entered = set_sizes.entered + d.entered,"
        " exited = set_sizes.exited + d.exited FROM _seg_diff d"
        " WHERE set_sizes.set_key = d.set_key AND set_sizes.computed_at = $at",
        {"at": at},
    )
    cur.execute(
        "INSERT INTO set_sizes SELECT d.set_key, $at, d.size, d.entered, d.exited FROM _seg_diff d"
        " WHERE NOT EXISTS (SELECT 1 FROM set_sizes s WHERE s.set_key = d.set_key"
        " AND s.computed_at = $at)",
        {"at": at},
    )
    rows = cur.execute("SELECT set_key, size, entered, exited FROM _seg_diff").fetchall()
    for name in ("_seg_keys", "_seg_before", "_seg_delta", "_seg_diff"):
        cur.execute(f"DROP TABLE IF EXISTS {name}")
    diffs = {str(k): SetDiff(int(s), int(e), int(x)) for k, s, e, x in rows}
    return {k: diffs[k] for k in keys}


def current_members(cur: duckdb.DuckDBPyConnection, set_key: str) -> pa.Table:
    """person_id, entered_at, weight of everyone in the set now (merged ids mapped)."""
    return query_arrow(
        cur,
        f"""
        SELECT person_id, min(entered_at) AS entered_at, max(weight) AS weight
        FROM ({_RESOLVED}) WHERE set_key = $key AND exited_at IS NULL
        GROUP BY person_id ORDER BY person_id
        """,
        {"key": set_key},
    )


def members_at(cur: duckdb.DuckDBPyConnection, set_key: str, at: datetime) -> pa.Table:
    """person_id, entered_at, weight of everyone in the set at instant ``at``, from history.

    ``weight`` is the stay's latest weight: weights are not kept as history.
    """
    return query_arrow(
        cur,
        f"""
        SELECT person_id, min(entered_at) AS entered_at, max(weight) AS weight
        FROM ({_RESOLVED})
        WHERE set_key = $key AND entered_at <= $at AND (exited_at IS NULL OR exited_at > $at)
        GROUP BY person_id ORDER BY person_id
        """,
        {"key": set_key, "at": utc_naive(at)},
    )


def size_history(cur: duckdb.DuckDBPyConnection, set_key: str) -> pa.Table:
    """computed_at, size, entered, exited of every apply of the set, oldest first."""
    return query_arrow(
        cur,
        "SELECT computed_at, size, entered, exited FROM set_sizes WHERE set_key = $key"
        " ORDER BY computed_at",
        {"key": set_key},
    )


def set_overview(cur: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every set ever applied: set_key, size, computed_at, entered, exited (latest apply)."""
    return query_arrow(
        cur,
        "SELECT set_key, size, computed_at, entered, exited FROM set_sizes"
        " QUALIFY row_number() OVER (PARTITION BY set_key ORDER BY computed_at DESC) = 1"
        " ORDER BY set_key",
    )


def overlap(cur: duckdb.DuckDBPyConnection, set_keys: Sequence[str]) -> pa.Table:
    """Persons in both of each ordered pair of sets now: set_a, set_b, persons.

    The full matrix in long form (zeros and the diagonal, which is each set's size,
    included). One pass over the memberships: each person gets a bit mask of the sets
    it is in, and pairs are counted over the few distinct masks.
    """
    keys = list(dict.fromkeys(set_keys))
    if len(keys) > MAX_OVERLAP_SETS:
        raise InvalidSetKey(
            f"overlap compares at most {MAX_OVERLAP_SETS} sets at once; got {len(keys)}"
        )
    return query_arrow(
        cur,
        f"""
        WITH k AS (SELECT key AS set_key, CAST(idx - 1 AS BIGINT) AS bit
                   FROM unnest($keys) WITH ORDINALITY AS u(key, idx)),
        masks AS (
            SELECT bit_or(CAST(1 AS BIGINT) << k.bit) AS mask
            FROM ({_RESOLVED}) m JOIN k USING (set_key)
            WHERE m.exited_at IS NULL GROUP BY m.person_id),
        counted AS (SELECT mask, count(*) AS n FROM masks GROUP BY mask)
        SELECT a.set_key AS set_a, b.set_key AS set_b,
               CAST(coalesce(sum(c.n), 0) AS BIGINT) AS persons
        FROM k a CROSS JOIN k b
        LEFT JOIN counted c
            ON (c.mask >> a.bit) & 1 = 1 AND (c.mask >> b.bit) & 1 = 1
        GROUP BY a.set_key, b.set_key, a.bit, b.bit ORDER BY a.bit, b.bit
        """,
        {"keys": keys},
    )


def person_sets(cur: duckdb.DuckDBPyConnection, person_id: str) -> pa.Table:
    """set_key, entered_at, weight of every set the person is in now (old ids accepted)."""
    return query_arrow(
        cur,
        f"""
        SELECT set_key, min(entered_at) AS entered_at, max(weight) AS weight
        FROM ({_RESOLVED})
        WHERE exited_at IS NULL AND person_id = coalesce(
            (SELECT person_id FROM person_overrides WHERE old_person_id = $p LIMIT 1), $p)
        GROUP BY set_key ORDER BY set_key
        """,
        {"p": person_id},
    )


def segment_events_after(
    cur: duckdb.DuckDBPyConnection, seq: int = 0, limit: int = 100_000
) -> pa.Table:
    """seq, event, set_key, person_id, at of the change events after ``seq``, in order."""
    return query_arrow(
        cur,
        'SELECT seq, event, set_key, person_id, "at" FROM segment_events WHERE seq > $s'
        " ORDER BY seq LIMIT $n",
        {"s": seq, "n": limit},
    )


def replace_snapshot(cur: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> str:
    """Store a model's detail table as ``layer_<name>`` (replacing it); the table name."""
    if not _SNAPSHOT.match(name):
        raise InvalidSetKey(
            f"snapshot name {name!r}: use lower-case letters, digits and '_', starting "
            "with a letter, at most 58 characters"
        )
    target = f"layer_{name}"
    with registered(cur, "_seg_snapshot", table):
        cur.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM _seg_snapshot")
    return target


# -- compute runs -----------------------------------------------------------------------


def start_compute_run(
    cur: duckdb.DuckDBPyConnection, as_of: date | None, *, at: datetime | None = None
) -> str:
    """Record a computation starting (status ``running``); its run id."""
    run_id = uuid.uuid4().hex
    cur.execute(
        "INSERT INTO compute_runs VALUES (?, ?, NULL, ?, 'running', '{}')",
        [run_id, utc_naive(at), as_of],
    )
    return run_id


def finish_compute_run(
    cur: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    detail: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Record how a computation ended (``ok``, ``failed``...) with a JSON detail."""
    cur.execute(
        "UPDATE compute_runs SET finished_at = ?, status = ?, detail = ? WHERE run_id = ?",
        [utc_naive(at), status, orjson.dumps(detail or {}, default=str).decode(), run_id],
    )


def recent_compute_runs(cur: duckdb.DuckDBPyConnection, limit: int = 20) -> pa.Table:
    """The latest computations, newest first."""
    return query_arrow(
        cur,
        "SELECT run_id, started_at, finished_at, as_of, status, detail FROM compute_runs"
        " ORDER BY started_at DESC LIMIT $n",
        {"n": limit},
    )


# -- helpers ----------------------------------------------------------------------------


@contextmanager
def registered(cur: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` visible to SQL as ``name`` for the block."""
    cur.register(name, table)
    try:
        yield
    finally:
        # After a failed statement the transaction is aborted and refuses even this;
        # the view goes with the rollback, and the statement's own error must surface.
        with suppress(duckdb.Error):
            cur.unregister(name)


def query_arrow(
    cur: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> pa.Table:
    """The rows of ``sql`` as Arrow (``cur.sql``: the DB-API path would copy them twice)."""
    table: pa.Table = cur.sql(sql, params=params).to_arrow_table()
    return table


def query_count(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The first column of the first row of ``sql`` as an int (0 when empty or null)."""
    rows = cur.execute(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0
